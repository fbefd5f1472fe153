"""A reviewer's attacker-style checks (issue 14): bad query strings, hostile amounts, no 500s, no tracebacks."""

from __future__ import annotations

from decimal import Decimal
from pathlib import Path

from fastapi.testclient import TestClient
from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from ivr.db.models import Promise
from ivr.testing import factories
from tests.web.conftest import log_in
from tests.web.data import finished_call


def auth(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


def test_bad_query_numbers_are_a_400_page_not_a_500(
    app_client: TestClient, web_sessions: sessionmaker[Session]
) -> None:
    factories.campaign(web_sessions)
    log_in(app_client, "operator")
    for url in ("/resultados?promessas_apos=x", "/ao-vivo/eventos?intervalo=abc"):
        r = app_client.get(url)
        assert r.status_code == 400, (url, r.status_code)
        assert "Traceback" not in r.text


def test_disposition_amount_must_be_a_positive_finite_number(
    app_client: TestClient, api_token: str, web_sessions: sessionmaker[Session]
) -> None:
    cid = factories.campaign(web_sessions)
    _, attempt_id = finished_call(web_sessions, cid, outcome="transferred")
    for amount in (-5, "-0.01"):
        r = app_client.post(
            "/api/dispositions",
            json={
                "attempt_id": attempt_id,
                "outcome": "promise_to_pay",
                "promise_date": "2026-12-10",
                "amount": amount,
            },
            headers=auth(api_token),
        )
        assert r.status_code in (400, 422) and r.json()["field"] == "amount", r.text
    with web_sessions() as s:
        assert not s.scalars(select(Promise).where(Promise.amount < Decimal("0"))).all()


def test_disposition_form_refuses_negative_and_nan_amounts(
    app_client: TestClient, web_sessions: sessionmaker[Session]
) -> None:
    cid = factories.campaign(web_sessions)
    _, attempt_id = finished_call(web_sessions, cid, outcome="transferred")
    csrf = log_in(app_client, "supervisor")
    for amount in ("-5,00", "NaN", "Infinity"):
        r = app_client.post(
            f"/disposicoes/{attempt_id}",
            data={"outcome": "promise_to_pay", "promise_date": "2026-12-10", "amount": amount, "csrf_token": csrf},
        )
        assert r.status_code == 400, (amount, r.status_code)
        assert "Traceback" not in r.text
    with web_sessions() as s:
        assert not s.scalars(select(Promise).where(Promise.amount < Decimal("0"))).all()


def test_recording_that_is_a_symlink_is_not_served(
    app_client: TestClient, web_sessions: sessionmaker[Session], tmp_path: Path
) -> None:
    """Whoever can write to the spool must not make the console stream another file (the web secret, say)."""
    from ivr.db.models import Recording

    cid = factories.campaign(web_sessions)
    _, attempt_id = finished_call(web_sessions, cid)
    secret = tmp_path / "secret.key"
    secret.write_bytes(b"top-secret")
    link = tmp_path / f"ivr-{attempt_id}.wav"
    link.symlink_to(secret)
    with web_sessions.begin() as s:
        s.add(Recording(attempt_id=attempt_id, path=str(link), format="wav", status="stored", duration_s=1.0))
    log_in(app_client, "supervisor")
    r = app_client.get(f"/gravacoes/{attempt_id}")
    assert r.status_code == 404 and b"top-secret" not in r.content


def test_operator_cannot_change_or_reveal(app_client: TestClient, web_sessions: sessionmaker[Session]) -> None:
    cid = factories.campaign(web_sessions)
    debtor_id, attempt_id = finished_call(web_sessions, cid)
    csrf = log_in(app_client, "operator")
    for url in (
        f"/campanhas/{cid}/acao/start",
        f"/campanhas/{cid}/acao/pause",
        f"/devedores/{debtor_id}/revelar",
        "/revisoes/1/resolver",
        f"/disposicoes/{attempt_id}",
        "/telefones/1/reativar",
    ):
        r = app_client.post(url, data={"csrf_token": csrf, "resolution": "x", "outcome": "cannot_pay"})
        assert r.status_code == 403, (url, r.status_code)
    page = app_client.get(f"/devedores/{debtor_id}").text
    assert "Maria Aparecida Souza" not in page


def test_operator_never_sees_a_full_phone(
    app_client: TestClient, api_token: str, web_sessions: sessionmaker[Session]
) -> None:
    from tests.web.data import open_review

    cid = factories.campaign(web_sessions)
    debtor_id, attempt_id = finished_call(web_sessions, cid)
    open_review(web_sessions, debtor_id, attempt_id)
    log_in(app_client, "operator")
    urls = [
        "/campanhas",
        "/ao-vivo",
        "/resultados",
        "/devedores",
        f"/devedores/{debtor_id}",
        "/revisoes",
        "/resultados.csv",
    ]
    for url in urls:
        r = app_client.get(url)
        assert r.status_code == 200, (url, r.status_code)
        assert "987654321" not in r.text and "98765-4321" not in r.text, url
    from ivr.db.models import Campaign

    with web_sessions() as s:
        name = s.get(Campaign, cid).name  # type: ignore[union-attr]
    for url in ("/api/campaigns", "/api/reviews", f"/api/campaigns/{name}/results"):
        r = app_client.get(url, headers=auth(api_token))
        assert r.status_code == 200 and "987654321" not in r.text, url


def test_non_ascii_csrf_token_is_a_403_not_a_500(app_client: TestClient) -> None:
    app_client.get("/login")
    r = app_client.post("/login", data={"username": "admin", "password": "x", "csrf_token": "é"})
    assert r.status_code == 403
    r = app_client.post("/logout", headers={"X-CSRF-Token": b"\xe9"})  # type: ignore[dict-item]
    assert r.status_code == 403


def test_api_results_range_is_checked_like_the_page(
    app_client: TestClient, api_token: str, web_sessions: sessionmaker[Session]
) -> None:
    """A decades-long range would roll up every hour of it (queries.results): refused, as on /resultados."""
    from ivr.db.models import Campaign

    cid = factories.campaign(web_sessions)
    with web_sessions() as s:
        name = s.get(Campaign, cid).name  # type: ignore[union-attr]
    r = app_client.get(f"/api/campaigns/{name}/results?since=2026-12-01&until=2026-01-01", headers=auth(api_token))
    assert r.status_code == 400 and r.json()["field"] == "until", r.text
    r = app_client.get(f"/api/campaigns/{name}/results?since=1990-01-01&until=2026-01-01", headers=auth(api_token))
    assert r.status_code == 400 and r.json()["field"] == "since", r.text
    r = app_client.get(f"/api/campaigns/{name}/results?since=2026-11-01&until=2026-11-30", headers=auth(api_token))
    assert r.status_code == 200, r.text


def test_api_body_that_is_not_json_names_no_bogus_field(app_client: TestClient, api_token: str) -> None:
    r = app_client.post(
        "/api/campaigns", content=b"not json", headers={**auth(api_token), "Content-Type": "application/json"}
    )
    assert r.status_code == 422 and r.json()["field"] is None, r.text
    assert "JSON" in r.json()["error"] and "\n" not in r.json()["error"]


def test_hostile_upload_names_stay_in_the_uploads_dir(
    app_client: TestClient, web_sessions: sessionmaker[Session], web_settings: object, tmp_path: Path
) -> None:
    from tests.web.data import CSV_TEXT

    factories.campaign(web_sessions)
    token = log_in(app_client, "supervisor")
    uploads = Path(web_settings.data_dir, "uploads").resolve()  # type: ignore[attr-defined]
    for name in ("../../x.csv", "/etc/cron.d/x.csv", "..\\..\\x.csv", "....//x.csv"):
        r = app_client.post(
            "/importar",
            data={"csrf_token": token, "campaign": "nov"},
            files={"file": (name, CSV_TEXT.encode("utf-8"), "text/csv")},
        )
        assert r.status_code == 303, (name, r.status_code)
        job = app_client.app.state.imports.jobs[r.headers["location"].rsplit("/", 1)[1]]  # type: ignore[attr-defined]
        assert uploads in job.path.resolve().parents, (name, job.path)
    assert not list(tmp_path.rglob("x.csv")) or all(uploads in p.resolve().parents for p in tmp_path.rglob("x.csv"))
    assert not Path("/etc/cron.d/x.csv").exists()


def test_session_cookie_flags(app_client: TestClient) -> None:
    cookie = app_client.get("/login").headers["set-cookie"].lower()
    assert "httponly" in cookie and "samesite=lax" in cookie and "path=/" in cookie


def test_an_oversized_upload_is_refused_before_it_is_read_whole() -> None:
    import asyncio

    import pytest

    from ivr.errors import IvrError
    from ivr.web.imports import read_upload

    class EndlessUploadFake:
        """Fake UploadFile: an upload that never ends (a real one would have to be gigabytes)."""

        reads = 0

        async def read(self, n: int) -> bytes:
            self.reads += 1
            return b"x" * n

    fake = EndlessUploadFake()
    with pytest.raises(IvrError, match="web.max_upload_mb"):
        asyncio.run(read_upload(fake, 2))
    assert fake.reads == 3


def test_exports_never_write_a_contract_id_as_a_formula() -> None:
    import datetime as dt
    import io

    from openpyxl import load_workbook

    from ivr.web.export import results_csv, results_xlsx
    from ivr.web.queries import PromiseRow, Results

    row = PromiseRow(1, 1, "M***", '=HYPERLINK("http://x","pague")', dt.date(2026, 12, 10), Decimal("10.00"), 1, True)
    wb = load_workbook(io.BytesIO(results_xlsx(Results(), [row])))
    cell = wb["Promessas"]["B2"]
    assert cell.data_type != "f" and not str(cell.value).startswith("=")
    assert ";=HYPERLINK" not in results_csv(Results(), [row]).decode("utf-8-sig")
