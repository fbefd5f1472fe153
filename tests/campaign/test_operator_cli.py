"""``ivr campaign start|pause|resume|stop|status``, ``ivr report`` additions, and one-line errors."""

from __future__ import annotations

import datetime as dt
import json
from pathlib import Path

import pytest
from sqlalchemy.orm import Session, sessionmaker

from ivr.cli import main
from ivr.db.models import Attempt
from ivr.testing.factories import make_campaign, make_debtor, past_attempt

BRT = dt.timezone(dt.timedelta(hours=-3))


def run(capsys: pytest.CaptureFixture[str], *args: str) -> tuple[int, str, str]:
    try:
        main(list(args))
        code = 0
    except SystemExit as exc:
        code = int(exc.code or 0)
    out, err = capsys.readouterr()
    return code, out, err


@pytest.fixture
def cli_db(sessions: sessionmaker[Session], db_url: str, monkeypatch: pytest.MonkeyPatch) -> sessionmaker[Session]:
    monkeypatch.setenv("IVR_DATABASE_URL", db_url)
    return sessions


def test_lifecycle_and_status(cli_db: sessionmaker[Session], capsys: pytest.CaptureFixture[str]) -> None:
    camp = make_campaign(cli_db, status="draft")
    debtor = make_debtor(cli_db, camp, ["11987650001"], state="SP")
    past_attempt(cli_db, camp, debtor, dt.datetime(2026, 3, 9, 10, 0, tzinfo=BRT), "busy")
    code, out, _ = run(capsys, "campaign", "start", "c1")
    assert (code, out.strip()) == (0, "campaign 'c1' is running (1 people queued)")
    code, _, err = run(capsys, "campaign", "resume", "c1")
    assert (
        code == 2 and err.strip() == "ivr: campaign 'c1' is running; only a campaign that is paused can become running"
    )
    assert run(capsys, "campaign", "pause", "c1")[1].strip() == "campaign 'c1' is paused"
    assert run(capsys, "campaign", "resume", "c1")[1].strip() == "campaign 'c1' is running (1 people queued)"
    code, out, _ = run(capsys, "campaign", "status", "c1", "--json")
    info = json.loads(out)
    assert (info["status"], info["dialed"], info["active_calls"], info["people_queued"]) == ("running", 1, 0, 1)
    # Running, but no dialer has ever run on it: the operator must not read "dialling".
    assert info["dialer"].startswith("no dialer has run yet")
    code, out, _ = run(
        capsys, "campaign", "status", "c1", "--debtor", str(debtor), "--at", "2026-03-09T10:05:00-03:00", "--json"
    )
    why = json.loads(out)
    assert why["callable"] is False and why["reason"].startswith("no_number_callable: 0001: retry_delay")
    assert why["numbers"][0]["number"] == "***0001" and why["numbers"][0]["window"]["callable"] is True
    code, out, _ = run(capsys, "campaign", "status", "c1", "--debtor", str(debtor), "--at", "2026-03-09T11:00:00-03:00")
    assert out.startswith(f"{debtor} ***.000.000-**: callable")
    assert run(capsys, "campaign", "stop", "c1")[1].strip() == "campaign 'c1' is stopped"
    assert json.loads(run(capsys, "campaign", "status", "c1", "--json")[1])["dialer"] == (
        "not dialling: the campaign is stopped"
    )


def test_the_dialer_line_follows_the_dialers_heartbeat() -> None:
    from ivr.campaign.status import dialer_state
    from ivr.db.models import DialerHealth

    now = dt.datetime(2026, 12, 7, 13, 0, tzinfo=dt.timezone.utc)
    fresh = DialerHealth(campaign_id=1, throttled=False, checked_at=now - dt.timedelta(seconds=10))
    assert dialer_state(fresh, "running", now) == "dialling"
    assert dialer_state(fresh, "paused", now) == "not dialling: the campaign is paused"
    stale = DialerHealth(campaign_id=1, throttled=False, checked_at=now - dt.timedelta(minutes=5))
    assert dialer_state(stale, "running", now).startswith("no dialer seen since 2026-12-07T09:55:00-03:00")
    down = DialerHealth(
        campaign_id=1, throttled=False, checked_at=now, service_unreachable_since=now - dt.timedelta(minutes=1)
    )
    assert dialer_state(down, "running", now) == "paused: call service unreachable since 2026-12-07T09:59:00-03:00"


def test_unknown_debtor_and_campaign_are_one_line(
    cli_db: sessionmaker[Session], capsys: pytest.CaptureFixture[str]
) -> None:
    make_campaign(cli_db)
    code, out, err = run(capsys, "campaign", "status", "c1", "--debtor", "999")
    assert code == 3 and err.count("\n") == 1 and "no debtor '999'" in err
    code, out, err = run(capsys, "campaign", "start", "nope")
    assert code == 3 and err.count("\n") == 1 and "does not exist" in err


@pytest.mark.parametrize("command", [["campaign", "run"], ["dialer"]])
def test_a_bad_as_of_names_its_own_option(
    cli_db: sessionmaker[Session], capsys: pytest.CaptureFixture[str], command: list[str]
) -> None:
    make_campaign(cli_db)
    code, _, err = run(capsys, *command, "c1", "--as-of", "amanhã")
    assert code == 2 and err.startswith("ivr: --as-of 'amanhã' is not ISO 8601")
    code, _, err = run(capsys, *command, "c1", "--as-of", "9999-01-01")
    assert code == 2 and err.startswith("ivr: --as-of '9999-01-01': the year must be")


def test_report_rates_by_day_state_and_csv(
    cli_db: sessionmaker[Session], capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    camp = make_campaign(cli_db)
    rj = make_debtor(cli_db, camp, ["21987650001"], state="RJ")
    sp = make_debtor(cli_db, camp, ["11987650002"])
    day1 = dt.datetime(2026, 3, 9, 10, 0, tzinfo=BRT)
    past_attempt(cli_db, camp, rj, day1, "no_answer")
    for debtor, outcome in ((rj, "transferred"), (sp, "hung_up")):
        a = past_attempt(cli_db, camp, debtor, day1 + dt.timedelta(days=1), outcome)
        with cli_db.begin() as s:
            row = s.get(Attempt, a)
            assert row is not None
            row.answered_at, row.duration_s = row.started_at, 30.0
    code, out, _ = run(capsys, "report", "c1", "--json", "--csv", str(tmp_path / "r.csv"))
    rep = json.loads(out)
    assert rep["rates"] == {"rpc": 50.0, "promise": 0.0, "transfer": 100.0}
    assert rep["by_day"] == {"2026-03-09": {"no_answer": 1}, "2026-03-10": {"transferred": 1, "hung_up": 1}}
    assert rep["by_state"] == {"RJ": {"no_answer": 1, "transferred": 1}, "SP": {"hung_up": 1}}
    csv_text = (tmp_path / "r.csv").read_text(encoding="utf-8-sig")
    assert "rate;transfer_rate_pct;100,0" in csv_text and "state;RJ:transferred;1" in csv_text


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["", "--creditor", "Banco"], "ivr: campaign name: 1 to 120 characters, not blank"),
        (["   ", "--creditor", "Banco"], "ivr: campaign name: 1 to 120 characters, not blank"),
        (["x" * 121, "--creditor", "Banco"], "ivr: campaign name: 1 to 120 characters, not blank"),
        (["nov", "--creditor", ""], "ivr: --creditor: the creditor's name (1 to 200 characters) is required"),
        (["nov", "--creditor", "B" * 201], "ivr: --creditor: the creditor's name (1 to 200 characters) is required"),
    ],
)
def test_a_campaign_name_or_creditor_the_database_cannot_hold_is_one_line(
    cli_db: sessionmaker[Session], capsys: pytest.CaptureFixture[str], args: list[str], message: str
) -> None:
    # A blank creditor is said in the greeting; a 500-character name is a DataError on PostgreSQL.
    code, _, err = run(capsys, "campaign", "create", *args)
    assert (code, err) == (2, message + "\n")
    assert run(capsys, "campaign", "list")[1].count("Banco") == 0


def test_import_creating_its_campaign_checks_the_name_too(
    cli_db: sessionmaker[Session], capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    csv = tmp_path / "d.csv"
    csv.write_text("nome;cpf;telefone;valor;vencimento;contrato\n", encoding="utf-8")
    code, _, err = run(capsys, "import", str(csv), "--campaign", "nov", "--creditor", " ")
    assert (code, err) == (2, "ivr: --creditor: the creditor's name (1 to 200 characters) is required\n")


def test_due_people_outside_the_calling_window_are_not_called_now(
    cli_db: sessionmaker[Session], capsys: pytest.CaptureFixture[str]
) -> None:
    """The queue says when the rules look again; the status must not promise a call the window forbids."""
    camp = make_campaign(cli_db, status="draft")
    make_debtor(cli_db, camp, ["11987650001"], state="SP")
    assert run(capsys, "campaign", "start", "c1")[0] == 0
    # Instants after the real clock (start queues everyone as due now): a Saturday night at least a week
    # ahead, then the Monday after; a week with a holiday on either day is skipped.
    import holidays

    day = dt.date.today() + dt.timedelta(days=7)
    day += dt.timedelta(days=(5 - day.weekday()) % 7)
    while {day, day + dt.timedelta(days=2)} & set(
        holidays.country_holidays("BR", subdiv="SP", years=[day.year, day.year + 1])
    ):
        day += dt.timedelta(days=7)
    monday_date = day + dt.timedelta(days=2)
    saturday_night = f"{day.isoformat()}T22:00:00-03:00"
    info = json.loads(run(capsys, "campaign", "status", "c1", "--at", saturday_night, "--json")[1])
    assert info["people_due_now"] == 1
    # This campaign opens on Saturdays until 14:00, and on Mondays at 08:00.
    assert info["next_eligible"] == (
        f"{monday_date.isoformat()}T08:00:00-03:00 (not now: outside_hours: 22:00 local is after 14:00)"
    )
    monday = f"{monday_date.isoformat()}T10:00:00-03:00"
    assert json.loads(run(capsys, "campaign", "status", "c1", "--at", monday, "--json")[1])["next_eligible"] == "now"
