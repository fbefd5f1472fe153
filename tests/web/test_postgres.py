"""The console on the suite's real PostgreSQL (and on SQLite): the day/hour SQL differs per backend."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

from fastapi.testclient import TestClient

from ivr.db.session import dispose_engines, open_database
from ivr.web.accounts import add_user
from ivr.web.app import create_app
from ivr.testing import factories
from tests.web.conftest import PASSWORD, log_in, make_settings
from tests.web.data import finished_call, open_review


def test_console_on_each_backend(db_url: str, tmp_path: Path) -> None:
    settings = make_settings(db_url, tmp_path)
    sessions = open_database(db_url)
    with sessions.begin() as s:
        add_user(s, "supervisor", "supervisor", PASSWORD, "test")
    cid = factories.campaign(sessions)
    debtor_id, attempt_id = finished_call(sessions, cid)
    finished_call(sessions, cid, 2, outcome="transferred", name="José Lima")
    review_id = open_review(sessions, debtor_id, attempt_id)
    _, old = finished_call(sessions, cid, 3, outcome="transferred", name="Ana Reis")
    with sessions.begin() as s:  # two days ago: read from the roll-up table, the others from the ledger
        from ivr.db.models import Attempt

        s.get(Attempt, old).scheduled_at -= dt.timedelta(days=2)  # type: ignore[union-attr]
    try:
        with TestClient(create_app(settings), follow_redirects=False) as client:
            token = log_in(client, "supervisor")
            assert "nov" in client.get("/campanhas").text
            assert client.post(f"/campanhas/{cid}/acao/start", data={"csrf_token": token}).status_code == 303
            page = client.get(f"/resultados?campanha={cid}").text
            assert '<span id="r-placed">3</span>' in page and "R$ 150,50" in page
            again = client.get(f"/resultados?campanha={cid}").text
            assert '<span id="r-placed">3</span>' in again
            with sessions() as s:
                from sqlalchemy import func, select

                from ivr.db.models import ResultsRollup

                assert s.scalar(select(func.sum(ResultsRollup.attempts))) == 1
            assert client.get(f"/resultados?campanha={cid}&uf=SP").status_code == 200
            assert client.get(f"/resultados.xlsx?campanha={cid}").status_code == 200
            assert "vou pagar" in client.get(f"/devedores/{debtor_id}").text
            assert (
                client.post(f"/revisoes/{review_id}/resolver", data={"csrf_token": token, "note": "ok"}).status_code
                == 303
            )
            with client.stream("GET", "/ao-vivo/eventos?intervalo=0.2") as stream:
                line = next(line for line in stream.iter_lines() if line.startswith("data: "))
            assert '"placed_today": 2' in line
    finally:
        dispose_engines()
