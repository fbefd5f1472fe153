"""Every console route through the framework's test client, with real SQLite (PostgreSQL in test_postgres)."""

from __future__ import annotations

import io
import time
from pathlib import Path

import pytest
from fastapi.testclient import TestClient
from openpyxl import load_workbook
from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from ivr.config import Settings

from ivr.db.models import AuditEntry, Campaign, Phone, Review, WebUser
from ivr.testing import factories
from tests.web.conftest import PASSWORD, csrf_of, log_in
from tests.web.data import CSV_TEXT, finished_call, open_review

PAGES = [
    "/",
    "/campanhas",
    "/importar",
    "/ao-vivo",
    "/resultados",
    "/devedores",
    "/revisoes",
    "/usuarios",
    "/auditoria",
    "/resultados.csv",
    "/resultados.xlsx",
    "/devedores/1",
    "/ao-vivo/eventos",
    "/gravacoes/1",
]
FORMS = [
    "/campanhas",
    "/campanhas/1/acao/start",
    "/importar",
    "/devedores/1/revelar",
    "/telefones/1/reativar",
    "/revisoes/1/resolver",
    "/disposicoes/1",
    "/usuarios",
    "/usuarios/operator/desativar",
    "/logout",
]


def actions(sessions: sessionmaker[Session]) -> list[str]:
    with sessions() as s:
        return [e.action for e in s.scalars(select(AuditEntry).order_by(AuditEntry.id))]


@pytest.mark.parametrize("path", PAGES)
def test_anonymous_pages_redirect_to_login(app_client: TestClient, path: str) -> None:
    r = app_client.get(path)
    assert r.status_code == 303
    assert r.headers["location"].startswith("/login")


def test_htmx_request_without_session_is_told_where_to_log_in(app_client: TestClient) -> None:
    r = app_client.get("/campanhas", headers={"HX-Request": "true"})
    assert r.status_code == 401 and r.headers["HX-Redirect"].startswith("/login")


@pytest.mark.parametrize("path", FORMS)
def test_forms_without_csrf_are_refused(app_client: TestClient, path: str) -> None:
    log_in(app_client, "admin")
    r = app_client.post(path, data={"name": "x"})
    assert r.status_code == 403
    assert "CSRF" in r.text


def test_csrf_of_another_session_is_refused(app_client: TestClient, web_settings: object) -> None:
    token = log_in(app_client, "supervisor")
    app_client.cookies.clear()
    log_in(app_client, "admin")
    r = app_client.post("/campanhas", data={"csrf_token": token, "name": "x", "creditor": "y"})
    assert r.status_code == 403


def test_login_wrong_password_then_right(app_client: TestClient, web_sessions: sessionmaker[Session]) -> None:
    token = csrf_of(app_client.get("/login").text)
    r = app_client.post("/login", data={"username": "operator", "password": "errada", "csrf_token": token})
    assert r.status_code == 401 and "Usuário ou senha incorretos" in r.text
    r = app_client.post("/login", data={"username": "ninguem", "password": "errada", "csrf_token": token})
    assert r.status_code == 401 and "Usuário ou senha incorretos" in r.text  # same words: no user enumeration
    log_in(app_client, "operator")
    assert app_client.get("/campanhas").status_code == 200
    assert "login" in actions(web_sessions)


def test_login_throttled_after_failures(app_client: TestClient, web_sessions: sessionmaker[Session]) -> None:
    token = csrf_of(app_client.get("/login").text)
    for _ in range(5):
        app_client.post("/login", data={"username": "operator", "password": "errada", "csrf_token": token})
    r = app_client.post("/login", data={"username": "operator", "password": PASSWORD, "csrf_token": token})
    assert r.status_code == 401 and "Muitas tentativas" in r.text
    assert "login.locked" in actions(web_sessions)


@pytest.mark.parametrize(
    "target,lands",
    [
        ("/resultados", "/resultados"),
        ("//evil.example/x", "/campanhas"),
        ("/\\evil.example", "/campanhas"),
        ("https://evil.example", "/campanhas"),
    ],
)
def test_login_goes_back_only_to_this_site(app_client: TestClient, target: str, lands: str) -> None:
    token = csrf_of(app_client.get("/login").text)
    r = app_client.post(
        "/login", data={"username": "operator", "password": PASSWORD, "csrf_token": token, "next": target}
    )
    assert r.status_code == 303 and r.headers["location"] == lands


def test_logout_ends_the_session(app_client: TestClient) -> None:
    token = log_in(app_client, "operator")
    assert app_client.post("/logout", data={"csrf_token": token}).status_code == 303
    assert app_client.get("/campanhas").status_code == 303


def test_idle_and_absolute_expiry(app_client: TestClient, monkeypatch: pytest.MonkeyPatch) -> None:
    log_in(app_client, "operator")
    real = time.time
    monkeypatch.setattr("ivr.web.security.time.time", lambda: real() + 31 * 60)  # idle_minutes = 30
    assert app_client.get("/campanhas").status_code == 303
    monkeypatch.setattr("ivr.web.security.time.time", real)
    base = real()  # before the login: the clock below never runs ahead of the login's own time
    log_in(app_client, "operator")
    for minutes in range(20, 481, 20):  # active all shift long: never idle, but 8 h is the limit
        monkeypatch.setattr("ivr.web.security.time.time", lambda m=minutes: base + m * 60)
        assert app_client.get("/campanhas").status_code == 200, minutes
    monkeypatch.setattr("ivr.web.security.time.time", lambda: base + 482 * 60)
    assert app_client.get("/campanhas").status_code == 303


def test_password_change_and_disable_end_open_sessions(
    app_client: TestClient, web_sessions: sessionmaker[Session]
) -> None:
    from ivr.web.accounts import disable_user, set_password

    log_in(app_client, "operator")
    with web_sessions.begin() as s:
        set_password(s, "operator", "outra-senha-longa", "test")
    assert app_client.get("/campanhas").status_code == 303
    with web_sessions.begin() as s:
        set_password(s, "operator", PASSWORD, "test")
    log_in(app_client, "operator")
    with web_sessions.begin() as s:
        disable_user(s, "operator", "test")
    assert app_client.get("/campanhas").status_code == 303


@pytest.mark.parametrize("role,allowed", [("operator", False), ("supervisor", False), ("admin", True)])
def test_admin_pages_per_role(app_client: TestClient, role: str, allowed: bool) -> None:
    log_in(app_client, role)
    for path in ("/usuarios", "/auditoria"):
        assert app_client.get(path).status_code == (200 if allowed else 403)


@pytest.mark.parametrize("role", ["operator", "supervisor", "admin"])
def test_every_role_reads_the_pages(app_client: TestClient, web_sessions: sessionmaker[Session], role: str) -> None:
    cid = factories.campaign(web_sessions)
    debtor_id, _ = finished_call(web_sessions, cid)
    log_in(app_client, role)
    for path in (
        "/campanhas",
        "/importar",
        "/ao-vivo",
        "/resultados",
        "/devedores",
        f"/devedores/{debtor_id}",
        "/revisoes",
    ):
        assert app_client.get(path).status_code == 200, path


def test_operator_cannot_change_anything(app_client: TestClient, web_sessions: sessionmaker[Session]) -> None:
    cid = factories.campaign(web_sessions)
    debtor_id, attempt_id = finished_call(web_sessions, cid)
    review_id = open_review(web_sessions, debtor_id, attempt_id)
    token = log_in(app_client, "operator")
    for path in (
        "/campanhas",
        f"/campanhas/{cid}/acao/start",
        f"/devedores/{debtor_id}/revelar",
        f"/revisoes/{review_id}/resolver",
    ):
        r = app_client.post(path, data={"csrf_token": token, "name": "x", "creditor": "y"})
        assert r.status_code == 403, path
    r = app_client.post(
        "/importar",
        data={"csrf_token": token, "campaign": "nov"},
        files={"file": ("d.csv", CSV_TEXT.encode(), "text/csv")},
    )
    assert r.status_code == 403
    page = app_client.get(f"/devedores/{debtor_id}").text
    assert "Maria A. S." in page and "Maria Aparecida Souza" not in page  # operators see names masked


def test_create_campaign_with_policy_form(app_client: TestClient, web_sessions: sessionmaker[Session]) -> None:
    token = log_in(app_client, "supervisor")
    r = app_client.post(
        "/campanhas",
        data={
            "csrf_token": token,
            "name": "dez-2026",
            "creditor": "Banco Exemplo",
            "cnpj": "12.345.678/0001-90",
            "max_attempts_per_day": "3",
            "verification": "cpf3",
            "allow_transfer": "nao",
            "profile": "SP",
            "retry": '{"busy": {"delay_minutes": 20}}',
        },
    )
    assert r.status_code == 303
    with web_sessions() as s:
        camp = s.scalar(select(Campaign).where(Campaign.name == "dez-2026"))
        assert camp is not None and camp.status == "draft"
        assert camp.policy == {
            "profile": "SP",
            "verification": "cpf3",
            "max_attempts_per_day": 3,
            "allow_transfer": False,
            "retry": {"busy": {"delay_minutes": 20}},
        }
        assert camp.creditor.cnpj == "12345678000190"
    assert "dez-2026" in app_client.get("/campanhas").text
    assert "campaign.create" in actions(web_sessions)


@pytest.mark.parametrize(
    "field,value,words",
    [
        ("listen_timeout_s", "90", "listen_timeout_s must be a number of seconds between 1 and 30"),
        ("max_attempts_per_day", "dois", "max_attempts_per_day"),
        ("retry", '{"busy": {"atraso": 5}}', "unknown key &#39;atraso&#39;"),
        ("cnpj", "123", "14 dígitos"),
    ],
)
def test_create_campaign_refuses_what_the_cli_refuses(
    app_client: TestClient, field: str, value: str, words: str
) -> None:
    token = log_in(app_client, "supervisor")
    r = app_client.post("/campanhas", data={"csrf_token": token, "name": "x", "creditor": "y", field: value})
    assert r.status_code == 422
    assert words in r.text
    assert 'value="x"' in r.text  # the form keeps what was typed


def test_campaign_start_pause_resume_stop(app_client: TestClient, web_sessions: sessionmaker[Session]) -> None:
    cid = factories.campaign(web_sessions)
    token = log_in(app_client, "supervisor")
    for action, status in (("start", "running"), ("pause", "paused"), ("resume", "running"), ("stop", "stopped")):
        assert app_client.post(f"/campanhas/{cid}/acao/{action}", data={"csrf_token": token}).status_code == 303
        with web_sessions() as s:
            assert s.get(Campaign, cid).status == status  # type: ignore[union-attr]
    r = app_client.post(f"/campanhas/{cid}/acao/pause", data={"csrf_token": token})
    assert r.status_code == 400 and "está stopped" in r.text
    assert [a for a in actions(web_sessions) if a.startswith("campaign.")] == [
        "campaign.start",
        "campaign.pause",
        "campaign.resume",
        "campaign.stop",
    ]


def _wait_import(client: TestClient, location: str) -> str:
    for _ in range(200):
        state = client.get(location + "/estado").text
        if "import-summary" in state or 'class="error"' in state:
            return state
        time.sleep(0.05)
    raise AssertionError("import did not finish")


def test_import_upload_progress_summary_rejects(
    app_client: TestClient, web_sessions: sessionmaker[Session], web_settings: Settings
) -> None:
    factories.campaign(web_sessions)
    token = log_in(app_client, "supervisor")
    r = app_client.post(
        "/importar",
        data={"csrf_token": token, "campaign": "nov"},
        files={"file": ("devedores nov.csv", CSV_TEXT.encode("utf-8"), "text/csv")},
    )
    assert r.status_code == 303
    location = r.headers["location"]
    assert "import-progress" in app_client.get(location).text
    state = _wait_import(app_client, location)
    assert '<dd id="taken">2</dd>' in state and '<dd id="refused">1</dd>' in state
    rejects = app_client.get(location + "/recusados")
    assert rejects.status_code == 200 and "cpf" in rejects.text.lower()
    assert {"import", "import.rejects_download"} <= set(actions(web_sessions))
    left = [p for p in Path(web_settings.data_dir, "uploads").rglob("*") if p.is_file()]
    assert [p.name for p in left] == ["devedores_nov.rejects.csv"]  # the upload itself is gone
    assert left[0].stat().st_mode & 0o777 == 0o600


def test_import_of_a_bad_file_says_why(app_client: TestClient, web_sessions: sessionmaker[Session]) -> None:
    factories.campaign(web_sessions)
    token = log_in(app_client, "supervisor")
    r = app_client.post(
        "/importar",
        data={"csrf_token": token, "campaign": "nov"},
        files={"file": ("x.csv", b"nome;valor\nA;1\n", "text/csv")},
    )
    state = _wait_import(app_client, r.headers["location"])
    assert "missing column" in state and "/tmp" not in state


def test_results_page_and_exports(app_client: TestClient, web_sessions: sessionmaker[Session]) -> None:
    cid = factories.campaign(web_sessions)
    finished_call(web_sessions, cid, 1)
    finished_call(web_sessions, cid, 2, outcome="transferred", name="José Lima")
    log_in(app_client, "operator")
    page = app_client.get(f"/resultados?campanha={cid}")
    assert page.status_code == 200
    assert '<span id="r-placed">2</span>' in page.text and "chart-day" in page.text
    assert "R$ 150,50" in page.text
    csv_text = app_client.get(f"/resultados.csv?campanha={cid}").content.decode("utf-8-sig")
    assert "promessa de pagamento" in csv_text and "150,5" in csv_text
    wb = load_workbook(io.BytesIO(app_client.get(f"/resultados.xlsx?campanha={cid}").content))
    assert wb.sheetnames == ["Resumo", "Por dia", "Por hora", "Por UF", "Promessas"]
    assert wb["Resumo"]["B2"].value == 2
    assert app_client.get(f"/resultados?campanha={cid}&de=2026-13-01").status_code == 400
    sp = app_client.get(f"/resultados?campanha={cid}&uf=SP").text
    rj = app_client.get(f"/resultados?campanha={cid}&uf=RJ").text
    assert "R$ 150,50</td>" in sp and "nenhuma promessa no período" in rj
    assert '<span id="r-placed">0</span>' in rj


def test_debtor_page_transcript_reveal_and_phone_restore(
    app_client: TestClient, web_sessions: sessionmaker[Session]
) -> None:
    cid = factories.campaign(web_sessions)
    debtor_id, attempt_id = finished_call(web_sessions, cid)
    with web_sessions.begin() as s:
        phone = s.scalar(select(Phone).where(Phone.debtor_id == debtor_id))
        assert phone is not None
        phone.status, phone_id = "invalid", phone.id
    token = log_in(app_client, "supervisor")
    page = app_client.get(f"/devedores/{debtor_id}").text
    assert "vou pagar dia vinte e cinco" in page and "assistente virtual" in page
    assert "***4321" in page and "98765-4321" not in page and "+5511987654321" not in page
    assert "Pode ser chamado agora?" in page and "nov:" in page
    r = app_client.post(f"/devedores/{debtor_id}/revelar", data={"csrf_token": token})
    assert r.status_code == 200 and "+5511987654321" in r.text
    assert app_client.post(f"/telefones/{phone_id}/reativar", data={"csrf_token": token}).status_code == 303
    with web_sessions() as s:
        assert s.get(Phone, phone_id).status == "ok"  # type: ignore[union-attr]
    assert {"debtor.reveal", "phone.restore"} <= set(actions(web_sessions))
    assert app_client.get("/devedores/99999").status_code == 404
    found = app_client.get("/devedores?q=(11) 98765-4321").text
    assert f'href="/devedores/{debtor_id}"' in found


def test_review_queue_resolve(app_client: TestClient, web_sessions: sessionmaker[Session]) -> None:
    cid = factories.campaign(web_sessions)
    debtor_id, attempt_id = finished_call(web_sessions, cid, outcome="transferred")
    review_id = open_review(web_sessions, debtor_id, attempt_id)
    token = log_in(app_client, "supervisor")
    assert "diz que pagou no dia 3" in app_client.get("/revisoes").text
    r = app_client.post(f"/revisoes/{review_id}/resolver", data={"csrf_token": token, "note": ""})
    assert r.status_code == 400 and "decidido" in r.text  # a resolution must say what was decided
    r = app_client.post(
        f"/revisoes/{review_id}/resolver",
        data={"csrf_token": token, "note": "pagamento conferido", "action": "close_debt"},
        headers={"HX-Request": "true"},
    )
    assert r.status_code == 200 and "resolvida" in r.text
    with web_sessions() as s:
        review = s.get(Review, review_id)
        assert review is not None and review.state == "resolved" and review.resolution == "pagamento conferido"
        assert review.action == "close_debt" and review.resolved_by == "user:supervisor"
        from ivr.db.models import Debt

        assert s.scalar(select(Debt.closed_at).where(Debt.debtor_id == debtor_id)) is not None
    assert "Nenhuma revisão aberta" in app_client.get("/revisoes").text
    r = app_client.post(f"/revisoes/{review_id}/resolver", data={"csrf_token": token, "note": "de novo"})
    assert r.status_code == 400 and "already resolved" in r.text


def test_agent_disposition_from_the_review_page(app_client: TestClient, web_sessions: sessionmaker[Session]) -> None:
    from ivr.db.models import Attempt, Promise

    cid = factories.campaign(web_sessions)
    _, attempt_id = finished_call(web_sessions, cid, outcome="transferred")
    token = log_in(app_client, "supervisor")
    assert f'id="transfer-{attempt_id}"' in app_client.get("/revisoes").text
    r = app_client.post(f"/disposicoes/{attempt_id}", data={"csrf_token": token, "outcome": "promise_to_pay"})
    assert r.status_code == 400 and "promise_date" in r.text
    r = app_client.post(
        f"/disposicoes/{attempt_id}",
        data={"csrf_token": token, "outcome": "promise_to_pay", "promise_date": "2026-12-20", "amount": "1.200,00"},
        headers={"HX-Request": "true"},
    )
    assert r.status_code == 200 and "registrada" in r.text
    with web_sessions() as s:
        a = s.get(Attempt, attempt_id)
        assert a is not None and a.disposition == "promise_to_pay" and a.disposition_by == "user:supervisor"
        amounts = set(s.scalars(select(Promise.amount).where(Promise.attempt_id == attempt_id)))
        assert str(amounts.pop()) == "1200.00"
    assert f'id="transfer-{attempt_id}"' not in app_client.get("/revisoes").text
    assert "disposition.record" in actions(web_sessions)
    page = app_client.get(f"/resultados?campanha={cid}").text  # the agent's result supersedes the bot's
    assert "promessa de pagamento" in page and "transferida" not in page.split('id="promises"')[0]


def test_recording_player_streams_to_supervisors_only(
    app_client: TestClient, web_sessions: sessionmaker[Session], tmp_path: object
) -> None:
    import io
    import wave
    from pathlib import Path

    from ivr.db.models import Recording

    cid = factories.campaign(web_sessions)
    debtor_id, attempt_id = finished_call(web_sessions, cid)
    buf = io.BytesIO()
    with wave.open(buf, "wb") as w:
        w.setnchannels(1), w.setsampwidth(2), w.setframerate(8000), w.writeframes(b"\x00\x01" * 8000)
    path = Path(str(tmp_path)) / "ivr-1.wav"
    path.write_bytes(buf.getvalue())
    with web_sessions.begin() as s:
        s.add(Recording(attempt_id=attempt_id, path=str(path), format="wav", status="stored", duration_s=1.0))
    log_in(app_client, "operator")
    assert app_client.get(f"/gravacoes/{attempt_id}").status_code == 403
    assert "só supervisores ouvem" in app_client.get(f"/devedores/{debtor_id}").text
    app_client.cookies.clear()
    log_in(app_client, "supervisor")
    assert f'src="/gravacoes/{attempt_id}"' in app_client.get(f"/devedores/{debtor_id}").text
    r = app_client.get(f"/gravacoes/{attempt_id}")
    assert r.status_code == 200 and r.headers["content-type"] == "audio/wav" and r.content == buf.getvalue()
    part = app_client.get(f"/gravacoes/{attempt_id}", headers={"Range": "bytes=100-199"})
    assert part.status_code == 206 and part.content == buf.getvalue()[100:200]
    assert actions(web_sessions).count("recording.play") == 1  # the seek is not a second listening
    path.unlink()
    assert app_client.get(f"/gravacoes/{attempt_id}").status_code == 404


def test_admin_manages_users_and_reads_the_audit(app_client: TestClient, web_sessions: sessionmaker[Session]) -> None:
    token = log_in(app_client, "admin")
    r = app_client.post(
        "/usuarios", data={"csrf_token": token, "name": "ana", "role": "operator", "password": "senha-da-ana-1"}
    )
    assert r.status_code == 303
    assert app_client.post("/usuarios/ana/desativar", data={"csrf_token": token}).status_code == 303
    with web_sessions() as s:
        ana = s.scalar(select(WebUser).where(WebUser.name == "ana"))
        assert ana is not None and not ana.active and ana.password_hash.startswith("$argon2id$")
    audit_page = app_client.get("/auditoria").text
    assert "user.add" in audit_page and "user.disable" in audit_page
    r = app_client.post("/usuarios", data={"csrf_token": token, "name": "bia", "role": "operator", "password": "curta"})
    assert "at least 10 characters" in r.text


def test_live_events_stream_a_snapshot(app_client: TestClient, web_sessions: sessionmaker[Session]) -> None:
    import json

    cid = factories.campaign(web_sessions)
    with web_sessions.begin() as s:
        s.get(Campaign, cid).status = "running"  # type: ignore[union-attr]
    debtor_id, phone_id, debt_id = factories.debtor(web_sessions, cid, 7)
    factories.attempt(web_sessions, cid, debtor_id, phone_id, debt_id, state="dialing")
    log_in(app_client, "operator")
    with app_client.stream("GET", "/ao-vivo/eventos?intervalo=0.2") as stream:
        assert stream.headers["content-type"].startswith("text/event-stream")
        for line in stream.iter_lines():
            if line.startswith("data: "):
                snap = json.loads(line[6:])
                break
    assert snap["calls"][0]["stage"] == "chamando" and snap["calls"][0]["number"] == "***4321"
    assert snap["campaigns"] == [{"name": "nov", "status": "running"}]
    assert snap["counters"]["in_progress"] == 1


def test_static_files_are_served_from_the_package(app_client: TestClient) -> None:
    for path in (
        "/static/vendor/htmx-2.0.11.min.js",
        "/static/vendor/chart-4.6.1.umd.min.js",
        "/static/console.css",
        "/docs",
    ):
        assert app_client.get(path).status_code == 200, path
    assert "cdn" not in app_client.get("/docs").text.lower()


def test_results_roll_up_past_hours_and_a_late_disposition_reopens_its_hour(
    web_sessions: sessionmaker[Session],
) -> None:
    import datetime as dt

    from sqlalchemy import func

    from ivr.db.models import Attempt, ResultsRollup, ResultsRollupHour, utcnow
    from ivr.web import queries
    from ivr.web.operations import record_disposition

    cid = factories.campaign(web_sessions)
    _, old = finished_call(web_sessions, cid, 1, outcome="transferred")
    finished_call(web_sessions, cid, 2)  # now: not rolled up yet
    with web_sessions.begin() as s:
        s.get(Attempt, old).scheduled_at -= dt.timedelta(days=3)  # type: ignore[union-attr]
    now = utcnow()
    flt = queries.ResultsFilter(cid, queries.today(now) - dt.timedelta(days=6), queries.today(now))
    with web_sessions() as s:
        first = queries.results(s, flt, now)
        rolled = s.scalar(select(func.sum(ResultsRollup.attempts)))
        hours = s.scalar(select(func.count()).select_from(ResultsRollupHour))
    assert (first.placed, first.totals) == (2, {"transferred": 1, "promise_to_pay": 1})
    assert rolled == 1 and hours is not None and hours > 24 * 5  # every past hour marked, also the empty ones
    with web_sessions.begin() as s:  # the ledger row changes under a rolled-up hour: the roll-up answers
        s.get(Attempt, old).outcome = "busy"  # type: ignore[union-attr]
    with web_sessions() as s:
        assert queries.results(s, flt, now).totals == {"transferred": 1, "promise_to_pay": 1}
    with web_sessions.begin() as s:
        record_disposition(s, old, "cannot_pay", "test")
    with web_sessions() as s:
        assert queries.results(s, flt, utcnow()).totals == {"cannot_pay": 1, "promise_to_pay": 1}
