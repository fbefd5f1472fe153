"""The scheduler over a real database (SQLite and PostgreSQL): each calling rule, with the instant passed in."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

import pytest
from sqlalchemy import func, select
from sqlalchemy.orm import Session, sessionmaker

from ivr.campaign.rules import Policy
from ivr.campaign.scheduler import Pacing, claim_batch, explain, refresh_queue
from ivr.db.models import Attempt, Callback, Campaign, DialQueue, DoNotCall, Phone, Promise
from ivr.testing.factories import make_campaign, make_debtor, past_attempt

BRT = dt.timezone(dt.timedelta(hours=-3))
MONDAY_2PM = dt.datetime(2026, 3, 9, 14, 0, tzinfo=BRT)
PACING = Pacing(trunk="t1", max_concurrent=10, calls_per_second=0)


def _queue(sessions: sessionmaker[Session], campaign_id: int, at: dt.datetime = MONDAY_2PM) -> None:
    with sessions.begin() as s:
        refresh_queue(s, campaign_id, at, Policy(), reopen=True)


def _claim(
    sessions: sessionmaker[Session],
    campaign_id: int,
    at: dt.datetime = MONDAY_2PM,
    pacing: Pacing = PACING,
    owner: str = "d1",
) -> list[int]:
    return [lease.debtor_id for lease in claim_batch(sessions, campaign_id, at, owner, pacing)]


def _end_all(sessions: sessionmaker[Session], outcome: str) -> None:
    with sessions.begin() as s:
        for a in s.scalars(select(Attempt).where(Attempt.state != "ended")):
            a.state, a.outcome, a.started_at = "ended", outcome, a.scheduled_at


def test_priority_order_and_concurrency_limit(sessions: sessionmaker[Session]) -> None:
    camp = make_campaign(sessions)
    small = make_debtor(sessions, camp, ["11987650001"], amount="100.00")
    big = make_debtor(sessions, camp, ["11987650002"], amount="5000.00")
    old_big = make_debtor(sessions, camp, ["11987650003"], amount="5000.00", due=dt.date(2026, 2, 1))
    _queue(sessions, camp)
    got = _claim(sessions, camp, pacing=Pacing("t1", 2, 0))
    assert got == [big, old_big]  # same amount: the younger delinquency first
    assert _claim(sessions, camp, pacing=Pacing("t1", 2, 0)) == []  # both slots busy
    assert _claim(sessions, camp, pacing=Pacing("t1", 3, 0)) == [small]


def test_calls_per_second_spaces_dial_times(sessions: sessionmaker[Session]) -> None:
    camp = make_campaign(sessions)
    for i in range(3):
        make_debtor(sessions, camp, [f"1198765000{i}"])
    _queue(sessions, camp)
    leases = claim_batch(sessions, camp, MONDAY_2PM, "d1", Pacing("t1", 10, 2.0))
    assert [lease.dial_at - MONDAY_2PM for lease in leases] == [dt.timedelta(seconds=s) for s in (0, 0.5, 1.0)]


def test_outside_window_sets_next_try(sessions: sessionmaker[Session]) -> None:
    camp = make_campaign(sessions)
    debtor = make_debtor(sessions, camp, ["11987650001"])
    saturday = dt.datetime(2026, 3, 14, 10, 0, tzinfo=BRT)
    _queue(sessions, camp, saturday)
    assert _claim(sessions, camp, saturday) == []
    with sessions() as s:
        row = s.get(DialQueue, (camp, debtor))
        assert row is not None and row.next_try_at == dt.datetime(2026, 3, 16, 9, 0, tzinfo=BRT)
    assert _claim(sessions, camp, dt.datetime(2026, 3, 16, 9, 0, tzinfo=BRT)) == [debtor]


def test_acre_number_waits_for_its_own_morning(sessions: sessionmaker[Session]) -> None:
    camp = make_campaign(sessions)
    acre = make_debtor(sessions, camp, ["68999990001"])
    sp = make_debtor(sessions, camp, ["11987650001"])
    at = dt.datetime(2026, 3, 9, 10, 30, tzinfo=BRT)  # 08:30 in Rio Branco (UTC-5)
    _queue(sessions, camp, at)
    assert _claim(sessions, camp, at) == [sp]
    assert _claim(sessions, camp, dt.datetime(2026, 3, 9, 11, 0, tzinfo=BRT)) == [acre]


def test_do_not_call_person_and_number(sessions: sessionmaker[Session]) -> None:
    other = make_campaign(sessions, "other")
    camp = make_campaign(sessions)
    blocked = make_debtor(sessions, camp, ["11987650001"])
    two_numbers = make_debtor(sessions, camp, ["11987650002", "11987650003"])
    with sessions.begin() as s:
        s.add(DoNotCall(debtor_id=blocked, reason="opt_out in campaign other"))
        s.add(DoNotCall(e164="+5511987650002", reason="number opt-out"))
    _queue(sessions, camp)
    leases = claim_batch(sessions, camp, MONDAY_2PM, "d1", PACING)
    assert [(lease.debtor_id, lease.number) for lease in leases] == [(two_numbers, "+5511987650003")]
    assert other  # the list lives outside any campaign


def test_daily_cap_across_numbers_then_next_day(sessions: sessionmaker[Session]) -> None:
    camp = make_campaign(sessions)
    debtor = make_debtor(sessions, camp, ["11987650001", "11987650002"])
    past_attempt(sessions, camp, debtor, MONDAY_2PM - dt.timedelta(hours=4), "no_answer", 0)
    past_attempt(sessions, camp, debtor, MONDAY_2PM - dt.timedelta(hours=3), "no_answer", 1)
    _queue(sessions, camp)
    assert _claim(sessions, camp) == []
    assert _claim(sessions, camp, MONDAY_2PM + dt.timedelta(days=1)) == [debtor]


def test_right_party_reached_today_stops_the_day(sessions: sessionmaker[Session]) -> None:
    camp = make_campaign(sessions)
    debtor = make_debtor(sessions, camp, ["11987650001"])
    past_attempt(sessions, camp, debtor, MONDAY_2PM - dt.timedelta(hours=2), "hung_up", right_party=True)
    _queue(sessions, camp)
    assert _claim(sessions, camp) == []


def test_weekly_cap(sessions: sessionmaker[Session]) -> None:
    camp = make_campaign(sessions, policy={"max_attempts_per_week": 3})
    debtor = make_debtor(sessions, camp, ["11987650001"])
    for days in (1, 2, 3):
        past_attempt(sessions, camp, debtor, MONDAY_2PM - dt.timedelta(days=days), "no_answer")
    _queue(sessions, camp)
    assert _claim(sessions, camp) == []
    # 2026-03-06 (the oldest of the three) leaves the 7-day window on 2026-03-13.
    assert _claim(sessions, camp, MONDAY_2PM + dt.timedelta(days=4)) == [debtor]


def test_retry_delay_by_cause(sessions: sessionmaker[Session]) -> None:
    camp = make_campaign(sessions)
    busy = make_debtor(sessions, camp, ["11987650001"])
    past_attempt(sessions, camp, busy, MONDAY_2PM - dt.timedelta(minutes=10), "busy")
    _queue(sessions, camp)
    assert _claim(sessions, camp) == []
    assert _claim(sessions, camp, MONDAY_2PM + dt.timedelta(minutes=5)) == [busy]


def test_retries_exhausted_never_again(sessions: sessionmaker[Session]) -> None:
    camp = make_campaign(sessions, policy={"retry": {"busy": {"max_attempts": 1}}})
    debtor = make_debtor(sessions, camp, ["11987650001"])
    past_attempt(sessions, camp, debtor, MONDAY_2PM - dt.timedelta(days=1), "busy")
    _queue(sessions, camp)
    assert _claim(sessions, camp) == []
    with sessions() as s:
        assert s.get(DialQueue, (camp, debtor)).next_try_at is None  # type: ignore[union-attr]


def test_invalid_number_skipped(sessions: sessionmaker[Session]) -> None:
    camp = make_campaign(sessions)
    debtor = make_debtor(sessions, camp, ["11987650001", "11987650002"])
    with sessions.begin() as s:
        s.scalars(select(Phone).where(Phone.e164 == "+5511987650001")).one().status = "invalid"
    _queue(sessions, camp)
    leases = claim_batch(sessions, camp, MONDAY_2PM, "d1", PACING)
    assert [(lease.debtor_id, lease.number) for lease in leases] == [(debtor, "+5511987650002")]


def test_promise_pause_until_the_payment_cleared(sessions: sessionmaker[Session]) -> None:
    camp = make_campaign(sessions)
    debtor = make_debtor(sessions, camp, ["11987650001"])
    attempt = past_attempt(sessions, camp, debtor, MONDAY_2PM - dt.timedelta(days=3), "promise_to_pay")
    with sessions.begin() as s:
        s.add(
            Promise(attempt_id=attempt, debtor_id=debtor, promised_date=dt.date(2026, 3, 12), amount=Decimal("100.00"))
        )
    _queue(sessions, camp)
    assert _claim(sessions, camp, dt.datetime(2026, 3, 12, 14, 0, tzinfo=BRT)) == []
    # Thursday's boleto clears on Friday (1 business day of grace): calls resume on Monday.
    assert _claim(sessions, camp, dt.datetime(2026, 3, 13, 9, 0, tzinfo=BRT)) == []
    assert _claim(sessions, camp, dt.datetime(2026, 3, 16, 9, 0, tzinfo=BRT)) == [debtor]


def test_already_paid_pause_two_business_days(sessions: sessionmaker[Session]) -> None:
    camp = make_campaign(sessions)
    debtor = make_debtor(sessions, camp, ["11987650001"])
    friday = dt.datetime(2026, 3, 6, 10, 0, tzinfo=BRT)
    past_attempt(sessions, camp, debtor, friday, "already_paid")
    _queue(sessions, camp)
    # Business days after Friday: Monday and Tuesday; calls resume Wednesday.
    assert _claim(sessions, camp, dt.datetime(2026, 3, 10, 14, 0, tzinfo=BRT)) == []
    assert _claim(sessions, camp, dt.datetime(2026, 3, 11, 9, 0, tzinfo=BRT)) == [debtor]


def test_callback_jumps_the_queue_at_the_time_asked(sessions: sessionmaker[Session]) -> None:
    camp = make_campaign(sessions)
    rich = make_debtor(sessions, camp, ["11987650001"], amount="9000.00")
    asked = make_debtor(sessions, camp, ["11987650002"], amount="10.00")
    when = dt.datetime(2026, 3, 10, 16, 0, tzinfo=BRT)
    attempt = past_attempt(
        sessions, camp, asked, MONDAY_2PM - dt.timedelta(hours=3), "callback_scheduled", right_party=True
    )
    with sessions.begin() as s:
        s.add(Callback(attempt_id=attempt, campaign_id=camp, debtor_id=asked, due_at=when))
    _queue(sessions, camp)
    pacing = Pacing("t1", 1, 0)
    assert _claim(sessions, camp, when - dt.timedelta(hours=1), pacing) == [rich]
    _end_all(sessions, "no_answer")
    got = claim_batch(sessions, camp, when, "d1", pacing)
    assert [(lease.debtor_id, lease.callback) for lease in got] == [(asked, True)]
    with sessions() as s:
        assert s.scalar(select(Callback.done)) is True


def test_person_in_a_call_is_not_leased_twice(sessions: sessionmaker[Session]) -> None:
    camp = make_campaign(sessions)
    other = make_campaign(sessions, "c2")
    debtor = make_debtor(sessions, camp, ["11987650001"])
    with sessions.begin() as s:
        s.add(
            Attempt(
                campaign_id=other,
                debtor_id=debtor,
                phone_id=s.scalar(select(Phone.id).where(Phone.debtor_id == debtor)),
                state="dialing",
                scheduled_at=MONDAY_2PM,
                trunk="t2",
            )
        )
    _queue(sessions, camp)
    assert _claim(sessions, camp) == []
    assert _claim(sessions, camp, MONDAY_2PM + dt.timedelta(minutes=2)) == []
    _end_all(sessions, "no_answer")
    assert _claim(sessions, camp, MONDAY_2PM + dt.timedelta(hours=3)) == [debtor]


def test_paused_campaign_claims_nothing(sessions: sessionmaker[Session]) -> None:
    camp = make_campaign(sessions, status="paused")
    make_debtor(sessions, camp, ["11987650001"])
    _queue(sessions, camp)
    assert _claim(sessions, camp) == []


@pytest.mark.parametrize("hour, callable_", [(14, True), (19, False)])
def test_explain_matches_the_rules(sessions: sessionmaker[Session], hour: int, callable_: bool) -> None:
    camp = make_campaign(sessions)
    debtor = make_debtor(sessions, camp, ["11987650001"])
    with sessions() as s:
        verdict = explain(s, s.get(Campaign, camp), debtor, MONDAY_2PM.replace(hour=hour))  # type: ignore[arg-type]
    assert verdict.eligible is callable_
    assert ("outside_hours" in verdict.reason) is not callable_


def test_refresh_queue_adds_each_person_once(sessions: sessionmaker[Session]) -> None:
    camp = make_campaign(sessions)
    for i in range(3):
        make_debtor(sessions, camp, [f"1198765000{i}"])
    _queue(sessions, camp)
    _queue(sessions, camp)
    with sessions() as s:
        assert s.scalar(select(func.count()).select_from(DialQueue)) == 3
