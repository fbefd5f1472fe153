"""Closing the loop between calls, driven as an operator would: ``ivr simulate --store``, ``ivr review``,
``ivr payments import``, ``ivr disposition`` and ``ivr campaign status --debtor --at --json`` (SQLite and PostgreSQL).
"""

from __future__ import annotations

import datetime as dt
import io
import json
import sys
from decimal import Decimal
from pathlib import Path

import pytest
from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from ivr.cli import main
from ivr.db.models import Attempt, Callback, Debt, DoNotCall, Promise, Review, Turn
from ivr.testing.factories import make_campaign, make_debtor

MON = "2026-03-09T10:00:00-03:00"
"""Monday 9 March 2026, inside every calling window."""


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


class Ops:
    """The operator's commands, run in-process."""

    def __init__(self, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch) -> None:
        self.capsys, self.monkeypatch = capsys, monkeypatch

    def ok(self, *args: str) -> str:
        code, out, err = run(self.capsys, *args)
        assert code == 0, err
        return out

    def simulate(self, campaign: str, debtor: str, at: str, *replies: str) -> dict[str, object]:
        self.monkeypatch.setattr(sys, "stdin", io.StringIO("".join(f"{r}\n" for r in replies)))
        out: dict[str, object] = json.loads(
            self.ok("simulate", "--campaign", campaign, "--debtor", debtor, "--store", "--at", at, "--json")
        )
        return out

    def status(self, campaign: str, debtor: str, at: str) -> dict[str, object]:
        out: dict[str, object] = json.loads(
            self.ok("campaign", "status", campaign, "--debtor", debtor, "--at", at, "--json")
        )
        return out

    def reviews(self, *args: str) -> list[dict[str, object]]:
        out: list[dict[str, object]] = json.loads(self.ok("review", "list", "--json", *args))
        return out


@pytest.fixture
def ops(cli_db: sessionmaker[Session], capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch) -> Ops:
    return Ops(capsys, monkeypatch)


def test_already_paid_review_holds_every_campaign_of_the_creditor_until_resolved(
    cli_db: sessionmaker[Session], ops: Ops
) -> None:
    nov = make_campaign(cli_db, "nov")
    dez = make_campaign(cli_db, "dez")
    other = make_campaign(cli_db, "outro", creditor="Outro Banco")
    person = make_debtor(cli_db, nov, ["11987650001"], n=1)
    for camp, contract in ((dez, "D1"), (other, "O1")):
        with cli_db.begin() as s:
            s.add(
                Debt(
                    campaign_id=camp,
                    debtor_id=person,
                    contract_id=contract,
                    principal=Decimal("10"),
                    total=Decimal("10"),
                    due_date=dt.date(2026, 3, 1),
                )
            )
    out = ops.simulate("nov", "K1", MON, "sim", "já paguei")
    assert out["outcome"] == "already_paid"
    listed = ops.reviews("--open")
    assert [(r["reason"], r["state"], r["debtor_id"]) for r in listed] == [("already_paid", "open", person)]
    review = listed[0]["id"]
    # Two weeks later the 2-business-day pause is long over: the open review alone holds the calls.
    later = "2026-03-23T10:00:00-03:00"
    for campaign, debtor in (("nov", "K1"), ("dez", "D1")):
        why = ops.status(campaign, debtor, later)
        assert why["eligible"] is False
        assert (
            why["reason"] == f"review_open: review {review} open: already_paid since 2026-03-09 (resolve it with "
            "`ivr review resolve`)"
        )
    assert ops.status("outro", "O1", later)["eligible"] is True  # another creditor's campaign is not held
    shown = ops.ok("review", "show", str(review))
    assert "already_paid (open)" in shown and "debtor: já paguei" in shown
    assert (
        ops.ok(
            "review", "resolve", str(review), "--resolution", "não consta pagamento", "--resume", "--by", "ana"
        ).strip()
        == f"review {review} resolved: the debtor may be called again"
    )
    assert ops.status("dez", "D1", later)["eligible"] is True
    resolved = ops.reviews()
    assert (resolved[0]["state"], resolved[0]["resolution"], resolved[0]["resolved_by"]) == (
        "resolved",
        "não consta pagamento",
        "ana",
    )
    assert ops.reviews("--open") == [] and ops.reviews("--campaign", "dez") == []
    code, _, err = run(ops.capsys, "review", "resolve", str(review), "--resolution", "de novo")
    assert code != 0 and err.count("\n") == 1 and "already resolved" in err


@pytest.mark.parametrize(
    ("said", "reason"), [("não reconheço essa dívida", "dispute"), ("isso é golpe", "scam_suspicion")]
)
def test_dispute_or_scam_is_held_the_next_day_and_after(
    cli_db: sessionmaker[Session], ops: Ops, said: str, reason: str
) -> None:
    camp = make_campaign(cli_db, "nov")
    make_debtor(cli_db, camp, ["11987650001"], n=1)
    assert ops.simulate("nov", "K1", MON, "sim", said)["outcome"] == "dispute"
    why = ops.status("nov", "K1", "2026-03-10T10:00:00-03:00")
    assert why["eligible"] is False and f"open: {reason} since 2026-03-09" in str(why["reason"])


def test_resolving_with_close_debt_or_stop_debtor(cli_db: sessionmaker[Session], ops: Ops) -> None:
    camp = make_campaign(cli_db, "nov")
    first = make_debtor(cli_db, camp, ["11987650001"], n=1)
    second = make_debtor(cli_db, camp, ["11987650002"], n=2)
    ops.simulate("nov", "K1", MON, "sim", "já paguei")
    ops.simulate("nov", "K2", MON, "sim", "não reconheço essa dívida")
    ids = {r["debtor_id"]: r["id"] for r in ops.reviews()}
    ops.ok("review", "resolve", str(ids[first]), "--resolution", "pago em 05/03", "--close-debt")
    ops.ok("review", "resolve", str(ids[second]), "--resolution", "pediu para não ligar", "--stop-debtor")
    later = "2026-03-23T10:00:00-03:00"
    assert str(ops.status("nov", "K1", later)["reason"]).startswith("settled: review")
    assert str(ops.status("nov", "K2", later)["reason"]).startswith("do_not_call")
    with cli_db() as s:
        assert s.scalar(select(Debt.closed_at).where(Debt.debtor_id == first)) is not None
        assert s.scalar(select(DoNotCall.debtor_id)) == second


def test_identity_confirmed_then_silence_counts_as_the_right_party_for_the_day(
    cli_db: sessionmaker[Session], ops: Ops
) -> None:
    camp = make_campaign(cli_db, "nov")
    make_debtor(cli_db, camp, ["11987650001"], n=1)
    out = ops.simulate("nov", "K1", MON, "sim", "", "", "")
    assert out["outcome"] in ("no_response", "hung_up")
    why = ops.status("nov", "K1", "2026-03-09T12:00:00-03:00")
    assert why["eligible"] is False and str(why["reason"]).startswith("right_party_reached"), why
    assert ops.status("nov", "K1", "2026-03-10T12:00:00-03:00")["eligible"] is True
    # Without confirming identity, silence is not a contact: the retry rules decide, not the day's stop.
    make_debtor(cli_db, camp, ["11987650002"], n=2)
    ops.simulate("nov", "K2", MON, "", "", "")
    why = ops.status("nov", "K2", "2026-03-09T15:00:00-03:00")
    assert "retry_delay" in str(why["reason"]) and "right_party" not in str(why["reason"]), why


def test_simulate_store_writes_the_call_like_the_service(cli_db: sessionmaker[Session], ops: Ops) -> None:
    camp = make_campaign(cli_db, "nov")
    person = make_debtor(cli_db, camp, ["11987650001"], n=1)
    out = ops.simulate("nov", str(person), MON, "sim", "vou pagar dia 12", "sim")
    assert (out["outcome"], out["promise_date"]) == ("promise_to_pay", "2026-03-12")
    with cli_db() as s:
        attempt = s.scalars(select(Attempt)).one()
        assert attempt.id == out["attempt_id"]
        assert (attempt.state, attempt.outcome, attempt.right_party) == ("ended", "promise_to_pay", True)
        assert attempt.started_at == dt.datetime.fromisoformat(MON)
        turns = s.scalars(select(Turn).where(Turn.attempt_id == attempt.id).order_by(Turn.seq)).all()
        assert [t.text for t in turns if t.speaker == "debtor"] == ["sim", "vou pagar dia 12", "sim"]
        assert s.scalar(select(Promise.promised_date)) == dt.date(2026, 3, 12)
    # Thursday's promise clears on Friday: no call before Monday 16.
    assert ops.status("nov", "K1", "2026-03-13T10:00:00-03:00")["eligible"] is False
    assert ops.status("nov", "K1", "2026-03-16T10:00:00-03:00")["eligible"] is True


def test_a_promise_for_saturday_is_not_followed_by_a_call_on_monday(cli_db: sessionmaker[Session], ops: Ops) -> None:
    camp = make_campaign(cli_db, "nov")
    make_debtor(cli_db, camp, ["11987650001"], n=1)
    assert ops.simulate("nov", "K1", MON, "sim", "vou pagar dia 14", "sim")["promise_date"] == "2026-03-14"
    monday = ops.status("nov", "K1", "2026-03-16T09:00:00-03:00")
    assert monday["eligible"] is False and "no calls before 2026-03-17" in str(monday["reason"])
    assert ops.status("nov", "K1", "2026-03-17T09:00:00-03:00")["eligible"] is True


def _payments(tmp_path: Path, *rows: str, name: str = "pagamentos.csv") -> Path:
    path = tmp_path / name
    path.write_text("contrato;valor pago;data do pagamento\n" + "".join(f"{r}\n" for r in rows), encoding="utf-8")
    return path


def test_payments_close_debts_lower_the_balance_and_are_idempotent(
    cli_db: sessionmaker[Session], ops: Ops, tmp_path: Path
) -> None:
    camp = make_campaign(cli_db, "nov")
    make_debtor(cli_db, camp, ["11987650001"], amount="300.00", n=1)
    make_debtor(cli_db, camp, ["11987650002"], amount="1000.00", n=2)
    file = _payments(
        tmp_path, "K1;300,00;06/03/2026", "K2;250,00;2026-03-06", "K9;1,00;06/03/2026", "K2;abc;06/03/2026"
    )
    out = ops.ok("payments", "import", str(file), "--campaign", "nov", "--at", MON)
    assert out.splitlines()[0] == (
        "pagamentos.csv: 2 payments taken, 0 already imported, 2 refused; 1 debts paid "
        "in full, 0 promises kept, 0 promises broken"
    )
    rejects = (tmp_path / "pagamentos.rejects.csv").read_text(encoding="utf-8-sig")
    assert "4;contrato;contract 'K9' is not in campaign 'nov'" in rejects and "5;valor pago;" in rejects
    assert (tmp_path / "pagamentos.rejects.csv").stat().st_mode & 0o077 == 0
    again = ops.ok("payments", "import", str(file), "--campaign", "nov", "--at", MON)
    assert again.startswith("pagamentos.csv: 0 payments taken, 2 already imported, 2 refused; 0 debts paid")
    paid = ops.status("nov", "K1", MON)
    assert paid["eligible"] is False and str(paid["reason"]).startswith("settled: paid in full on 2026-03-06")
    # The partial payment lowers the balance the bot speaks: R$ 750,00.
    out = ops.simulate("nov", "K2", MON, "sim")
    said = " ".join(str(t["text"]) for t in out["transcript"] if t["speaker"] == "bot")  # type: ignore[attr-defined]
    assert "setecentos e cinquenta reais" in said and "mil reais" not in said
    code, _, err = run(ops.capsys, "payments", "import", str(tmp_path / "nope.csv"), "--campaign", "nov")
    assert code != 0 and err.count("\n") == 1 and "file not found" in err
    bad = tmp_path / "bad.csv"
    bad.write_text("contrato;valor\nK1;1,00\n", encoding="utf-8")
    code, _, err = run(ops.capsys, "payments", "import", str(bad), "--campaign", "nov")
    assert code != 0 and "line 1: missing column(s) paid_on" in err


def test_payment_keeps_a_promise_and_an_unpaid_one_breaks_after_the_grace(
    cli_db: sessionmaker[Session], ops: Ops, tmp_path: Path
) -> None:
    camp = make_campaign(cli_db, "nov")
    make_debtor(cli_db, camp, ["11987650001"], amount="500.00", n=1)
    make_debtor(cli_db, camp, ["11987650002"], amount="500.00", n=2)
    ops.simulate("nov", "K1", MON, "sim", "posso pagar 200 reais no dia 11", "sim")
    ops.simulate("nov", "K2", MON, "sim", "vou pagar dia 11", "sim")
    # Wednesday's promises clear by Thursday 12; on Friday 13 the unpaid one is broken.
    out = ops.ok(
        "payments",
        "import",
        str(_payments(tmp_path, "K1;200,00;11/03/2026")),
        "--campaign",
        "nov",
        "--at",
        "2026-03-13T08:00:00-03:00",
    )
    assert "1 promises kept, 1 promises broken" in out
    with cli_db() as s:
        status = {p.debtor_id: p.status for p in s.scalars(select(Promise))}
    assert sorted(status.values()) == ["broken", "kept"]
    assert ops.status("nov", "K2", "2026-03-13T10:00:00-03:00")["eligible"] is True  # broken: called again
    report = json.loads(ops.ok("report", "nov", "--json"))
    assert report["promise_results"] == {"kept": 1, "broken": 1, "open": 0}
    assert report["promise_kept_rate"] == 50.0
    assert report["promise_results_by_day"] == {"2026-03-09": {"kept": 1, "broken": 1, "open": 0}}
    # The next call of the broken promise knows it (the flow's follow-up).
    from ivr.db.results import load_call

    broken_attempt = ops.simulate("nov", "K2", "2026-03-13T10:00:00-03:00", "sim")["attempt_id"]
    assert load_call(cli_db, int(str(broken_attempt))).broken_promise_date == dt.date(2026, 3, 11)


def test_agent_disposition_supersedes_the_bot_and_counts_for_eligibility(
    cli_db: sessionmaker[Session], ops: Ops
) -> None:
    camp = make_campaign(cli_db, "nov")
    make_debtor(cli_db, camp, ["11987650001"], n=1)
    out = ops.simulate("nov", "K1", MON, "sim", "quero falar com um atendente")
    assert out["outcome"] == "transferred"
    attempt = str(out["attempt_id"])
    said = ops.ok(
        "disposition",
        attempt,
        "--outcome",
        "promise_to_pay",
        "--date",
        "2026-03-20",
        "--amount",
        "150,00",
        "--agent",
        "ana",
    )
    assert (
        said.strip() == f"attempt {attempt}: promise_to_pay recorded by the agent (the bot's outcome was transferred)"
    )
    why = ops.status("nov", "K1", "2026-03-10T10:00:00-03:00")
    assert why["eligible"] is False and "promised to pay on 2026-03-20" in str(why["reason"])
    with cli_db() as s:
        row = s.get(Attempt, int(attempt))
        assert row is not None and (row.outcome, row.disposition, row.disposition_by) == (
            "transferred",
            "promise_to_pay",
            "ana",
        )
        assert s.scalar(select(Promise.amount)) == Decimal("150.00")
    code, _, err = run(ops.capsys, "disposition", attempt, "--outcome", "promise_to_pay")
    assert code != 0 and "needs --date" in err
    code, _, err = run(ops.capsys, "disposition", attempt, "--outcome", "maybe")
    assert code != 0 and err.count("\n") == 1 and "'maybe' is not one of" in err
    ops.ok("disposition", attempt, "--outcome", "dispute")
    assert [r["reason"] for r in ops.reviews()] == ["dispute"]


def test_debtor_is_found_by_contract_id_id_or_cpf(cli_db: sessionmaker[Session], ops: Ops) -> None:
    camp = make_campaign(cli_db, "nov")
    person = make_debtor(cli_db, camp, ["11987650001"], n=7)
    assert ops.status("nov", "K7", MON)["debtor_id"] == person
    assert ops.status("nov", str(person), MON)["debtor_id"] == person
    code, _, err = run(ops.capsys, "campaign", "status", "nov", "--debtor", "K99", "--json")
    assert code == 3 and "contract id of the campaign" in err


def test_pause_drops_calls_leased_but_not_yet_dialled(cli_db: sessionmaker[Session], ops: Ops) -> None:
    from ivr.db.ledger import Ledger

    camp = make_campaign(cli_db, "nov")
    person = make_debtor(cli_db, camp, ["11987650001"], n=1)
    with cli_db.begin() as s:
        s.add(Attempt(campaign_id=camp, debtor_id=person, phone_id=1, state="leased", lease_owner="d1"))
    assert ops.ok("campaign", "pause", "nov").strip() == "campaign 'nov' is paused (1 calls not yet dialled dropped)"
    with cli_db() as s:
        assert s.scalars(select(Attempt)).all() == []
    # A lease taken just before the pause is refused at dial time as well.
    ops.ok("campaign", "resume", "nov")
    with cli_db.begin() as s:
        s.add(Attempt(id=50, campaign_id=camp, debtor_id=person, phone_id=1, state="leased", lease_owner="d1"))
    with cli_db.begin() as s:
        from ivr.db.models import Campaign

        row = s.get(Campaign, camp)
        assert row is not None
        row.status = "paused"
    assert Ledger(cli_db, "d1").mark_dialing(50, dt.datetime.fromisoformat(MON)) is False


def test_transfer_no_agent_opens_a_review_and_a_callback_on_the_same_number(
    cli_db: sessionmaker[Session], ops: Ops
) -> None:
    from ivr.db.ledger import Ledger

    camp = make_campaign(cli_db, "nov")
    make_debtor(cli_db, camp, ["11987650001", "11987650002"], n=1)
    out = ops.simulate("nov", "K1", MON, "sim", "quero falar com um atendente")
    attempt = int(str(out["attempt_id"]))
    with cli_db.begin() as s:
        row = s.get(Attempt, attempt)
        assert row is not None
        row.state, row.ended_at, number = "answered", None, row.phone_id
    ledger = Ledger(cli_db, "d1", transfer_callback_delay=dt.timedelta(minutes=30))
    at = dt.datetime.fromisoformat("2026-03-09T17:50:00-03:00")
    ledger.on_event({"Event": "UserEvent", "UserEvent": "IvrTransfer", "AttemptId": str(attempt)}, at)
    hangup = {
        "Event": "UserEvent",
        "UserEvent": "IvrHangup",
        "AttemptId": str(attempt),
        "Cause": "16",
        "Stage": "transfer",
        "Outcome": "transferred",
        "AgiStatus": "SUCCESS",
        "QueueStatus": "JOINEMPTY",
    }
    ledger.on_event(hangup, at)
    ledger.on_event(hangup, at)  # a second dialer seeing the same broadcast changes nothing
    with cli_db() as s:
        row = s.get(Attempt, attempt)
        assert row is not None and row.queue_status == "JOINEMPTY"
        callback = s.scalars(select(Callback)).one()
        # 17:50 + 30 min is past the 18:00 close: the next allowed time is Tuesday 09:00, same number.
        assert callback.due_at == dt.datetime.fromisoformat("2026-03-10T09:00:00-03:00")
        assert callback.phone_id == number
        assert s.scalars(select(Review.kind)).all() == ["transfer_failed"]
    assert [r["reason"] for r in ops.reviews()] == ["transfer_failed"]
    # The failed transfer does not hold calls; the callback is placed on that number when due.
    why = ops.status("nov", "K1", "2026-03-10T09:00:00-03:00")
    assert why["eligible"] is True and str(why["reason"]).startswith("callback_due: dial ***0001"), why
    report = json.loads(ops.ok("report", "nov", "--json"))
    assert report["transfer_results"] == {"answered": 0, "abandoned": 1}
    assert report["reviews"] == {"open": 1, "resolved": 0}


def test_failed_calls_use_no_daily_attempt(cli_db: sessionmaker[Session], ops: Ops) -> None:
    """AGI failed (service unreachable) or media never connected: `failed`, not `hung_up`, and no cap used."""
    from ivr.db.ledger import Ledger

    camp = make_campaign(cli_db, "nov", policy={"retry": {"failed": {"delay_minutes": 5, "max_attempts": 10}}})
    person = make_debtor(cli_db, camp, ["11987650001"], n=1)
    ledger = Ledger(cli_db, "d1")
    start = dt.datetime.fromisoformat(MON)
    for i, report in enumerate(
        (
            {"AgiStatus": "FAILURE", "Outcome": ""},
            {"AgiStatus": "SUCCESS", "Outcome": "failed"},
            {"AgiStatus": "HANGUP", "Outcome": ""},
        )
    ):
        at = start + dt.timedelta(minutes=10 * i)
        with cli_db.begin() as s:
            row = Attempt(
                campaign_id=camp,
                debtor_id=person,
                phone_id=1,
                state="answered",
                lease_owner="d1",
                scheduled_at=at,
                started_at=at,
                answered_at=at,
            )
            s.add(row)
            s.flush()
            aid = row.id
        ledger.on_event(
            {
                "Event": "UserEvent",
                "UserEvent": "IvrHangup",
                "AttemptId": str(aid),
                "Cause": "16",
                "Stage": "collect",
                **report,
            },
            at + dt.timedelta(seconds=3),
        )
    ledger.finalize(start + dt.timedelta(hours=1), grace_seconds=5)
    with cli_db() as s:
        assert [a.outcome for a in s.scalars(select(Attempt).order_by(Attempt.id))] == ["failed"] * 3
    # Three calls today, none counted: the daily cap of 2 still allows a call (after the retry delay).
    why = ops.status("nov", "K1", "2026-03-09T11:00:00-03:00")
    assert why["eligible"] is True, why


def test_payments_file_with_excel_damage(cli_db: sessionmaker[Session], ops: Ops, tmp_path: Path) -> None:
    """Excel's ``sep=;`` line, a BOM, CRLF, ``R$ 1.234,56``, ``000123`` for contract ``123``, the same payment
    twice, an unknown contract, zero and negative amounts: good rows taken, the others refused with their
    original columns so the rejects file can be fixed and imported again."""
    camp = make_campaign(cli_db, "nov")
    make_debtor(cli_db, camp, ["11987650001"], amount="2000.00", n=1)
    with cli_db.begin() as s:
        s.scalars(select(Debt)).one().contract_id = "123"
    file = tmp_path / "pagamentos.csv"
    file.write_bytes(
        "\ufeffsep=;\r\ncontrato;valor pago;data do pagamento\r\n000123;R$ 1.234,56;06/03/2026\r\n"
        "000123;R$ 1.234,56;06/03/2026\r\n999;5,00;06/03/2026\r\n123;0,00;06/03/2026\r\n"
        "123;-5,00;06/03/2026\r\n".encode()
    )
    out = ops.ok("payments", "import", str(file), "--campaign", "nov", "--at", MON)
    assert out.splitlines()[0] == (
        "pagamentos.csv: 1 payments taken, 1 already imported, 3 refused; 0 debts paid "
        "in full, 0 promises kept, 0 promises broken"
    )
    with cli_db() as s:
        assert s.scalars(select(Debt)).one().paid_total == Decimal("1234.56")
    rejects = (tmp_path / "pagamentos.rejects.csv").read_text(encoding="utf-8-sig").splitlines()
    assert rejects[0] == "sep=;" and rejects[1] == "linha;campo;motivo;contrato;valor pago;data do pagamento"
    assert [r.split(";")[0] for r in rejects[2:]] == ["5", "6", "7"]  # physical lines, counting the sep= line
    assert rejects[2].endswith(";999;5,00;06/03/2026")
    # CR-only line endings (Excel for Mac), Latin-1.
    mac = tmp_path / "mac.csv"
    mac.write_bytes("Contrato;Valor Pago (R$);Data do Pagamento\r123;10,00;07/03/2026\r".encode("cp1252"))
    out = ops.ok("payments", "import", str(mac), "--campaign", "nov", "--at", MON)
    assert out.startswith("mac.csv: 1 payments taken, 0 already imported, 0 refused")


def test_a_promise_paid_in_two_parts_before_its_deadline_is_kept(
    cli_db: sessionmaker[Session], ops: Ops, tmp_path: Path
) -> None:
    camp = make_campaign(cli_db, "nov")
    make_debtor(cli_db, camp, ["11987650001"], amount="500.00", n=1)
    ops.simulate("nov", "K1", MON, "sim", "posso pagar 200 reais no dia 11", "sim")
    out = ops.ok(
        "payments",
        "import",
        str(_payments(tmp_path, "K1;120,00;10/03/2026", "K1;80,00;11/03/2026")),
        "--campaign",
        "nov",
        "--at",
        "2026-03-13T08:00:00-03:00",
    )
    assert "2 payments taken" in out and "1 promises kept, 0 promises broken" in out
    with cli_db() as s:
        assert [p.status for p in s.scalars(select(Promise))] == ["kept"]


def test_already_paid_and_promise_pauses_are_the_creditors_own(cli_db: sessionmaker[Session], ops: Ops) -> None:
    """'Já paguei' or a promise to one creditor pauses that creditor's calls, not another creditor's campaign
    for its own debt (the person's daily caps still count every call)."""
    a = make_campaign(cli_db, "banco", creditor="Banco A")
    b = make_campaign(cli_db, "loja", creditor="Loja B")
    debtor = make_debtor(cli_db, a, ["11987650001"], amount="300.00", n=1)
    make_debtor(cli_db, a, ["11987650002"], amount="300.00", n=2)
    with cli_db.begin() as s:
        s.add(
            Debt(
                campaign_id=b,
                debtor_id=debtor,
                contract_id="L1",
                principal=Decimal("90.00"),
                total=Decimal("90.00"),
                due_date=dt.date(2026, 3, 1),
            )
        )
    ops.simulate("banco", "K1", MON, "sim", "já paguei")
    tuesday = "2026-03-10T10:00:00-03:00"
    assert ops.status("banco", "K1", tuesday)["eligible"] is False
    other = ops.status("loja", "L1", tuesday)
    assert other["eligible"] is True, other["reason"]
    assert ops.simulate("banco", "K2", MON, "sim", "vou pagar dia 14", "sim")["promise_date"] == "2026-03-14"
    with cli_db.begin() as s:
        s.add(
            Debt(
                campaign_id=b,
                debtor_id=debtor + 1,
                contract_id="L2",
                principal=Decimal("90.00"),
                total=Decimal("90.00"),
                due_date=dt.date(2026, 3, 1),
            )
        )
    assert ops.status("banco", "K2", tuesday)["eligible"] is False
    other = ops.status("loja", "L2", tuesday)
    assert other["eligible"] is True, other["reason"]


def test_the_same_disposition_twice_opens_one_review_and_keeps_one_promise(
    cli_db: sessionmaker[Session], ops: Ops
) -> None:
    camp = make_campaign(cli_db, "nov")
    make_debtor(cli_db, camp, ["11987650001"], n=1)
    attempt = str(ops.simulate("nov", "K1", MON, "sim")["attempt_id"])
    for _ in range(2):
        ops.ok("disposition", attempt, "--outcome", "already_paid")
    reviews = json.loads(ops.ok("review", "list", "--open", "--json"))
    assert [(r["reason"], r["attempt_id"]) for r in reviews] == [("already_paid", int(attempt))]
    ops.ok("disposition", attempt, "--outcome", "promise_to_pay", "--date", "2026-03-12", "--amount", "100,00")
    ops.ok("disposition", attempt, "--outcome", "promise_to_pay", "--date", "2026-03-13", "--amount", "120,00")
    with cli_db() as s:
        assert [(p.promised_date, p.amount) for p in s.scalars(select(Promise))] == [
            (dt.date(2026, 3, 13), Decimal("120.00"))
        ]


def test_disposition_date_as_operators_write_it(cli_db: sessionmaker[Session], ops: Ops) -> None:
    camp = make_campaign(cli_db, "nov")
    make_debtor(cli_db, camp, ["11987650001"], n=1)
    attempt = str(ops.simulate("nov", "K1", MON, "sim")["attempt_id"])
    ops.ok("disposition", attempt, "--outcome", "promise_to_pay", "--date", "12/03/2026", "--amount", "R$ 1.234,56")
    with cli_db() as s:
        assert [(p.promised_date, p.amount) for p in s.scalars(select(Promise))] == [
            (dt.date(2026, 3, 12), Decimal("1234.56"))
        ]
    code, _, err = run(ops.capsys, "disposition", attempt, "--outcome", "promise_to_pay", "--date", "31/02/2026")
    assert code != 0 and err.count("\n") == 1 and "is not a date" in err


def test_payments_file_with_the_debts_own_value_and_date_columns(
    cli_db: sessionmaker[Session], ops: Ops, tmp_path: Path
) -> None:
    """A debt export with the payment columns added: ``valor pago``/``data do pagamento`` are the payment,
    not the debt's ``valor``/``data`` that come first."""
    camp = make_campaign(cli_db, "nov")
    make_debtor(cli_db, camp, ["11987650001"], amount="500.00", n=1)
    file = tmp_path / "pagamentos.csv"
    file.write_text(
        "contrato;valor;data;valor pago;data do pagamento\nK1;500,00;01/03/2026;120,00;06/03/2026\n", encoding="utf-8"
    )
    out = ops.ok("payments", "import", str(file), "--campaign", "nov", "--at", MON)
    assert out.startswith("pagamentos.csv: 1 payments taken")
    with cli_db() as s:
        debt = s.scalars(select(Debt)).one()
        assert debt.paid_total == Decimal("120.00") and debt.closed_at is None
