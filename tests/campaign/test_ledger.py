"""The attempt ledger: reconciliation from recorded AMI traces, the single-outcome rule, restart recovery."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from ivr.db.ledger import Ledger, action_id_for, attempt_id_from
from ivr.db.models import Attempt, Phone
from ivr.asterisk.ami import parse_trace
from ivr.testing.factories import make_campaign, make_debtor

TRACES = Path(__file__).parent / "traces"
T0 = dt.datetime(2026, 3, 9, 17, 0, tzinfo=dt.timezone.utc)
FIVE = (9004, 9008, 9099, 9005, 9007)


def _dialing(
    sessions: sessionmaker[Session],
    ids: tuple[int, ...],
    owner: str = "d1",
    started: dt.datetime = T0,
    lease_until: dt.datetime | None = None,
) -> None:
    camp = make_campaign(sessions)
    for attempt_id in ids:
        debtor = make_debtor(sessions, camp, [f"119876{attempt_id:05d}"])
        with sessions.begin() as s:
            phone = s.scalar(select(Phone.id).where(Phone.debtor_id == debtor))
            s.add(
                Attempt(
                    id=attempt_id,
                    campaign_id=camp,
                    debtor_id=debtor,
                    phone_id=phone,
                    state="dialing",
                    lease_owner=owner,
                    lease_expires_at=lease_until or started + dt.timedelta(minutes=1),
                    scheduled_at=started,
                    started_at=started,
                    action_id=action_id_for(attempt_id),
                    uniqueid=action_id_for(attempt_id),
                    trunk="t1",
                )
            )


def _replay(ledger: Ledger, trace: str, start: dt.datetime = T0, step: float = 0.1) -> dt.datetime:
    now = start
    for event in parse_trace((TRACES / trace).read_text()):
        now += dt.timedelta(seconds=step)
        ledger.on_event(event, now)
    return now


def _rows(sessions: sessionmaker[Session]) -> dict[int, Attempt]:
    with sessions() as s:
        return {a.id: a for a in s.scalars(select(Attempt))}


def test_attempt_ids_from_action_ids() -> None:
    assert attempt_id_from(action_id_for(42)) == 42
    assert attempt_id_from("42") == 42
    assert attempt_id_from("vm-acd99fc3") is None
    assert attempt_id_from("") is None


def test_recorded_sandbox_trace_reconciles_every_attempt(sessions: sessionmaker[Session]) -> None:
    _dialing(sessions, FIVE)
    ledger = Ledger(sessions, "d1")
    end = _replay(ledger, "sandbox_five_calls.txt")
    rows = _rows(sessions)
    assert {i: (rows[i].state, rows[i].outcome) for i in FIVE[:4]} == {
        9004: ("ended", "busy"),
        9008: ("ended", "failed"),
        9099: ("ended", "failed"),
        9005: ("ended", "no_answer"),
    }
    answered = rows[9007]
    assert (answered.state, answered.amd_status, answered.hangup_cause) == ("ended", "HUMAN", 16)
    assert answered.answered_at is not None and answered.duration_s is not None and answered.duration_s > 0
    assert answered.outcome is None  # the call service may still write it: wait the grace
    assert answered.ended_at is not None and answered.ended_at <= end
    assert ledger.finalize(answered.ended_at + dt.timedelta(seconds=1), grace_seconds=5) == 0
    assert ledger.finalize(answered.ended_at + dt.timedelta(seconds=10), grace_seconds=5) == 1
    # The collect AGI ran (AgiStatus SUCCESS) but no call service wrote an outcome, nor the dialplan: the
    # service was not there (this trace was recorded without one), so the call is failed, not hung_up.
    assert _rows(sessions)[9007].outcome == "failed"
    with sessions() as s:
        assert set(s.scalars(select(Phone.status))) == {"ok"}  # Reason 0 alone does not prove a bad number


def test_replaying_the_trace_changes_nothing(sessions: sessionmaker[Session]) -> None:
    _dialing(sessions, FIVE)
    ledger = Ledger(sessions, "d1")
    end = _replay(ledger, "sandbox_five_calls.txt")
    ledger.finalize(end + dt.timedelta(seconds=10))
    before = {i: (a.state, a.outcome, a.ended_at, a.duration_s) for i, a in _rows(sessions).items()}
    _replay(ledger, "sandbox_five_calls.txt", start=end + dt.timedelta(minutes=5))
    after = {i: (a.state, a.outcome, a.ended_at, a.duration_s) for i, a in _rows(sessions).items()}
    assert after == before


def test_service_outcome_is_never_overwritten(sessions: sessionmaker[Session]) -> None:
    _dialing(sessions, FIVE)
    ledger = Ledger(sessions, "d1")
    with sessions.begin() as s:
        s.get(Attempt, 9007).outcome = "promise_to_pay"  # type: ignore[union-attr]
        s.get(Attempt, 9004).outcome = "wrong_party"  # type: ignore[union-attr]  # absurd, but it came first
    end = _replay(ledger, "sandbox_five_calls.txt")
    ledger.finalize(end + dt.timedelta(minutes=1))
    rows = _rows(sessions)
    assert (rows[9007].outcome, rows[9004].outcome) == ("promise_to_pay", "wrong_party")


def test_unallocated_number_is_marked_invalid(sessions: sessionmaker[Session]) -> None:
    _dialing(sessions, (9101,))
    _replay(Ledger(sessions, "d1"), "pjsip_unallocated_handwritten.txt")
    row = _rows(sessions)[9101]
    assert (row.state, row.outcome, row.hangup_cause) == ("ended", "failed", 1)
    with sessions() as s:
        assert s.get(Phone, row.phone_id).status == "invalid"  # type: ignore[union-attr]


def test_machine_without_service_outcome_becomes_voicemail(sessions: sessionmaker[Session]) -> None:
    _dialing(sessions, (7,))
    ledger = Ledger(sessions, "d1")
    events = [
        {"Event": "OriginateResponse", "ActionID": "ivr-7", "Response": "Success", "Reason": "4"},
        {"Event": "UserEvent", "UserEvent": "IvrAmd", "AttemptId": "7", "Status": "MACHINE", "Cause": "LONGGREETING"},
        {
            "Event": "UserEvent",
            "UserEvent": "IvrHangup",
            "AttemptId": "7",
            "Cause": "16",
            "AmdStatus": "MACHINE",
            "Outcome": "voicemail",
        },
    ]
    for i, e in enumerate(events):
        ledger.on_event(e, T0 + dt.timedelta(seconds=10 * i))
    ledger.finalize(T0 + dt.timedelta(minutes=5))
    row = _rows(sessions)[7]
    assert (row.outcome, row.duration_s) == ("voicemail", 20.0)


def test_recovery_adopts_live_closes_gone_and_drops_never_dialled(sessions: sessionmaker[Session]) -> None:
    _dialing(sessions, (1, 2, 3, 4), owner="dead", lease_until=T0 + dt.timedelta(seconds=30))
    with sessions.begin() as s:
        s.get(Attempt, 3).state = "leased"  # type: ignore[union-attr]
        a4 = s.get(Attempt, 4)
        assert a4 is not None
        a4.state, a4.answered_at = "answered", T0 + dt.timedelta(seconds=5)
    me = Ledger(sessions, "new")
    assert me.recover({"ivr-1"}, T0 + dt.timedelta(seconds=10), 30, include_own=True).adopted == []  # lease alive
    now = T0 + dt.timedelta(seconds=90)
    got = me.recover({"ivr-1", "unrelated"}, now, 30, include_own=True)
    assert (got.adopted, got.closed, got.dropped) == ([1], [2, 4], [3])
    rows = _rows(sessions)
    assert 3 not in rows  # never originated: nobody was dialled
    assert (rows[1].state, rows[1].lease_owner) == ("dialing", "new")
    assert (rows[2].state, rows[2].outcome) == ("ended", "no_answer")
    assert (rows[4].state, rows[4].outcome) == ("ended", None)
    me.finalize(now + dt.timedelta(seconds=10))
    assert _rows(sessions)[4].outcome == "hung_up"
    again = me.recover(set(), now + dt.timedelta(seconds=1), 30, include_own=False)
    assert (again.adopted, again.closed, again.dropped) == ([], [], [])  # adopted lease is alive now


def test_heartbeat_keeps_a_live_dialer_out_of_recovery(sessions: sessionmaker[Session]) -> None:
    _dialing(sessions, (1,), owner="alive", lease_until=T0 + dt.timedelta(seconds=30))
    Ledger(sessions, "alive", lease_seconds=60).heartbeat(T0 + dt.timedelta(seconds=25))
    got = Ledger(sessions, "other").recover(set(), T0 + dt.timedelta(seconds=60), 30, include_own=False)
    assert got.closed == []
    assert _rows(sessions)[1].state == "dialing"


def test_mark_dialing_only_for_the_lease_holder(sessions: sessionmaker[Session]) -> None:
    _dialing(sessions, (1,), owner="d1")
    with sessions.begin() as s:
        s.get(Attempt, 1).state = "leased"  # type: ignore[union-attr]
    assert Ledger(sessions, "d2").mark_dialing(1, T0) is False
    assert Ledger(sessions, "d1").mark_dialing(1, T0) is True
    assert Ledger(sessions, "d1").mark_dialing(1, T0) is False  # never twice
