"""A reviewer's attacker-style checks (issue 14): bad query strings, hostile amounts, no 500s, no tracebacks."""

from __future__ import annotations

from decimal import Decimal

from fastapi.testclient import TestClient
from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from ivr.db.models import Promise
from tests import factories
from tests.web.conftest import log_in
from tests.web.data import finished_call


def auth(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


def test_bad_query_numbers_are_a_400_page_not_a_500(app_client: TestClient,
                                                    web_sessions: sessionmaker[Session]) -> None:
    factories.campaign(web_sessions)
    log_in(app_client, "operator")
    for url in ("/resultados?promessas_apos=x", "/ao-vivo/eventos?intervalo=abc"):
        r = app_client.get(url)
        assert r.status_code == 400, (url, r.status_code)
        assert "Traceback" not in r.text


def test_disposition_amount_must_be_a_positive_finite_number(app_client: TestClient, api_token: str,
                                                             web_sessions: sessionmaker[Session]) -> None:
    cid = factories.campaign(web_sessions)
    _, attempt_id = finished_call(web_sessions, cid, outcome="transferred")
    for amount in (-5, "-0.01"):
        r = app_client.post("/api/dispositions", json={"attempt_id": attempt_id, "outcome": "promise_to_pay",
                                                       "promise_date": "2026-12-10", "amount": amount},
                            headers=auth(api_token))
        assert r.status_code in (400, 422) and r.json()["field"] == "amount", r.text
    with web_sessions() as s:
        assert not s.scalars(select(Promise).where(Promise.amount < Decimal("0"))).all()


def test_disposition_form_refuses_negative_and_nan_amounts(app_client: TestClient,
                                                           web_sessions: sessionmaker[Session]) -> None:
    cid = factories.campaign(web_sessions)
    _, attempt_id = finished_call(web_sessions, cid, outcome="transferred")
    csrf = log_in(app_client, "supervisor")
    for amount in ("-5,00", "NaN", "Infinity"):
        r = app_client.post(f"/disposicoes/{attempt_id}",
                            data={"outcome": "promise_to_pay", "promise_date": "2026-12-10", "amount": amount,
                                  "csrf_token": csrf})
        assert r.status_code == 400, (amount, r.status_code)
        assert "Traceback" not in r.text
    with web_sessions() as s:
        assert not s.scalars(select(Promise).where(Promise.amount < Decimal("0"))).all()
