"""The HTTP API: bearer tokens, JSON errors with the field, campaigns, import, results, reviews, OpenAPI."""

from __future__ import annotations

from fastapi.testclient import TestClient
from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from ivr.db.models import ApiToken, AuditEntry
from ivr.testing import factories
from tests.web.data import CSV_TEXT, finished_call, open_review


def auth(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


def test_anonymous_and_bad_tokens_get_401(app_client: TestClient, api_token: str) -> None:
    for headers in ({}, {"Authorization": "Bearer ivr_wrong"}, {"Authorization": api_token}):
        r = app_client.get("/api/campaigns", headers=headers)
        assert r.status_code == 401
        assert r.json()["error"].startswith("missing or invalid API token") and r.json()["field"] is None
    assert app_client.post("/api/campaigns", json={}).status_code == 401


def test_token_is_stored_hashed_and_revocable(
    app_client: TestClient, api_token: str, web_sessions: sessionmaker[Session]
) -> None:
    from ivr.web.accounts import revoke_token

    with web_sessions() as s:
        row = s.scalar(select(ApiToken))
        assert row is not None and api_token not in row.token_sha256 and len(row.token_sha256) == 64
    assert app_client.get("/api/campaigns", headers=auth(api_token)).status_code == 200
    with web_sessions.begin() as s:
        revoke_token(s, "erp", "test")
    assert app_client.get("/api/campaigns", headers=auth(api_token)).status_code == 401


def test_create_campaign_and_errors_name_the_field(
    app_client: TestClient, api_token: str, web_sessions: sessionmaker[Session]
) -> None:
    body = {"name": "nov-2026", "creditor": "Banco Exemplo", "policy": {"max_attempts_per_day": 1}}
    r = app_client.post("/api/campaigns", json=body, headers=auth(api_token))
    assert r.status_code == 201 and r.json()["status"] == "draft" and r.json()["policy"] == body["policy"]
    r = app_client.post("/api/campaigns", json=body, headers=auth(api_token))
    assert r.status_code == 400 and r.json() == {"error": "a campanha 'nov-2026' já existe", "field": "name"}
    r = app_client.post(
        "/api/campaigns", json={**body, "name": "b", "policy": {"max_attempts_per_day": -1}}, headers=auth(api_token)
    )
    assert r.status_code == 400 and r.json()["field"] == "policy.max_attempts_per_day"
    assert "\n" not in r.json()["error"]
    r = app_client.post("/api/campaigns", json={"creditor": "x"}, headers=auth(api_token))
    assert r.status_code == 422 and r.json()["field"] == "name"
    with web_sessions() as s:
        assert s.scalar(select(AuditEntry.actor).where(AuditEntry.action == "campaign.create")) == "token:erp"


def test_upload_debts_start_pause_results(
    app_client: TestClient, api_token: str, web_sessions: sessionmaker[Session]
) -> None:
    app_client.post("/api/campaigns", json={"name": "nov", "creditor": "Financeira Exemplo"}, headers=auth(api_token))
    r = app_client.post(
        "/api/campaigns/nov/debts", files={"file": ("d.csv", CSV_TEXT.encode(), "text/csv")}, headers=auth(api_token)
    )
    assert r.status_code == 200, r.text
    assert (r.json()["taken"], r.json()["refused"]) == (2, 1) and r.json()["rejects"][0]["field"] == "cpf"
    r = app_client.post(
        "/api/campaigns/nope/debts", files={"file": ("d.csv", b"x", "text/csv")}, headers=auth(api_token)
    )
    assert r.status_code == 404
    r = app_client.post(
        "/api/campaigns/nov/debts", files={"file": ("d.csv", b"nome\nx\n", "text/csv")}, headers=auth(api_token)
    )
    assert r.status_code == 400 and "missing column" in r.json()["error"]
    assert app_client.post("/api/campaigns/nov/start", headers=auth(api_token)).json()["status"] == "running"
    assert app_client.post("/api/campaigns/nov/pause", headers=auth(api_token)).json()["status"] == "paused"
    r = app_client.post("/api/campaigns/nov/pause", headers=auth(api_token))
    assert r.status_code == 400 and r.json()["field"] == "action"
    assert app_client.post("/api/campaigns/nov/explode", headers=auth(api_token)).status_code == 422
    with web_sessions() as s:
        from ivr.db.models import Campaign

        cid = s.scalar(select(Campaign.id).where(Campaign.name == "nov"))
        assert cid is not None
    finished_call(web_sessions, cid, 50)
    res = app_client.get("/api/campaigns/nov/results", headers=auth(api_token)).json()
    assert res["placed"] == 1 and res["promises"] == 1 and res["promised_amount"] == "150.50"
    assert res["outcomes"] == {"promise_to_pay": 1}


def test_reviews_list_and_resolve(app_client: TestClient, api_token: str, web_sessions: sessionmaker[Session]) -> None:
    cid = factories.campaign(web_sessions)
    debtor_id, attempt_id = finished_call(web_sessions, cid, outcome="transferred")
    review_id = open_review(web_sessions, debtor_id, attempt_id, kind="dispute")
    listed = app_client.get("/api/reviews", headers=auth(api_token)).json()
    assert [r["id"] for r in listed] == [review_id] and listed[0]["reason"] == "dispute"
    assert listed[0]["state"] == "open"
    r = app_client.post(f"/api/reviews/{review_id}/resolve", json={}, headers=auth(api_token))
    assert r.status_code == 422 and r.json()["field"] == "resolution"
    r = app_client.post(
        f"/api/reviews/{review_id}/resolve", json={"resolution": "x", "action": "explode"}, headers=auth(api_token)
    )
    assert r.status_code == 422 and r.json()["field"] == "action"
    r = app_client.post(
        f"/api/reviews/{review_id}/resolve",
        json={"resolution": "contrato conferido", "action": "resume"},
        headers=auth(api_token),
    )
    assert r.status_code == 200 and r.json()["state"] == "resolved" and r.json()["resolved_by"] == "token:erp"
    assert app_client.get("/api/reviews", headers=auth(api_token)).json() == []
    r = app_client.post("/api/reviews/9999/resolve", json={"resolution": "x"}, headers=auth(api_token))
    assert r.status_code == 404 and r.json()["field"] is None


def test_payments_close_debts_and_keep_promises(
    app_client: TestClient, api_token: str, web_sessions: sessionmaker[Session]
) -> None:
    import datetime as dt

    from ivr.db.models import Debt, Promise

    cid = factories.campaign(web_sessions)
    debtor_id, attempt_id = finished_call(web_sessions, cid)  # promised 150.50 in 5 days; contract C1
    today = dt.date.today().isoformat()
    body = {"campaign": "nov", "contract": "C1", "amount": "150.50", "paid_on": today}
    r = app_client.post("/api/payments", json=body, headers=auth(api_token))
    assert r.status_code == 201, r.text
    assert r.json() == {
        "payment_id": r.json()["payment_id"],
        "duplicate": False,
        "debt_closed": True,
        "promises_kept": 1,
        "balance": "0.00",
    }
    assert app_client.post("/api/payments", json=body, headers=auth(api_token)).json()["duplicate"] is True
    r = app_client.post("/api/payments", json={**body, "contract": "NOPE"}, headers=auth(api_token))
    assert r.status_code == 400 and r.json()["field"] == "contract"
    r = app_client.post("/api/payments", json={**body, "amount": "-1"}, headers=auth(api_token))
    assert r.status_code == 422 and r.json()["field"] == "amount"
    with web_sessions() as s:
        assert s.scalar(select(Debt.closed_at).where(Debt.debtor_id == debtor_id)) is not None
        assert s.scalar(select(Promise.status).where(Promise.attempt_id == attempt_id)) == "kept"


def test_dispositions(app_client: TestClient, api_token: str, web_sessions: sessionmaker[Session]) -> None:
    cid = factories.campaign(web_sessions)
    _, attempt_id = finished_call(web_sessions, cid, outcome="transferred")
    r = app_client.post(
        "/api/dispositions", json={"attempt_id": attempt_id, "outcome": "promise_to_pay"}, headers=auth(api_token)
    )
    assert r.status_code == 400 and r.json()["field"] == "promise_date" and "\n" not in r.json()["error"]
    r = app_client.post(
        "/api/dispositions", json={"attempt_id": attempt_id, "outcome": "transferred"}, headers=auth(api_token)
    )
    assert r.status_code == 400 and r.json()["field"] == "outcome"
    r = app_client.post(
        "/api/dispositions",
        json={"attempt_id": attempt_id, "outcome": "cannot_pay", "agent": "ramal-204", "note": "desempregado"},
        headers=auth(api_token),
    )
    assert r.status_code == 201 and r.json() == {
        "attempt_id": attempt_id,
        "outcome": "transferred",
        "disposition": "cannot_pay",
        "disposition_by": "ramal-204",
    }
    r = app_client.post(
        "/api/dispositions", json={"attempt_id": 99999, "outcome": "cannot_pay"}, headers=auth(api_token)
    )
    assert r.status_code == 404


def test_openapi_describes_the_api(app_client: TestClient) -> None:
    spec = app_client.get("/openapi.json").json()
    assert {
        "/api/campaigns",
        "/api/campaigns/{name}/debts",
        "/api/campaigns/{name}/results",
        "/api/reviews",
        "/api/reviews/{review_id}/resolve",
        "/api/payments",
        "/api/dispositions",
    } <= set(spec["paths"])
    assert not any(p.startswith(("/campanhas", "/login")) for p in spec["paths"])  # pages are not API
    assert "Swagger" in app_client.get("/docs").text
