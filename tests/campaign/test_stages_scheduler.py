"""Stages of the collection ruler in the scheduler: who is called today, and in which order (real databases)."""

from __future__ import annotations

import datetime as dt

from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from ivr.campaign.rules import Policy
from ivr.campaign.scheduler import Pacing, claim_batch, refresh_queue
from ivr.db.models import DialQueue
from ivr.testing.factories import make_campaign, make_debtor

BRT = dt.timezone(dt.timedelta(hours=-3))
MONDAY_2PM = dt.datetime(2026, 3, 9, 14, 0, tzinfo=BRT)
TODAY = MONDAY_2PM.date()
STAGES = {
    "stages": [
        {"from_day": -5, "to_day": 0, "flow": "reminder"},
        {"from_day": 1, "to_day": 30, "flow": "early"},
        {"from_day": 31, "to_day": 90, "flow": "late"},
    ]
}


def test_stage_order_then_balance_and_days_outside_every_stage(sessions: sessionmaker[Session]) -> None:
    camp = make_campaign(sessions, policy=STAGES)
    days = lambda n: TODAY - dt.timedelta(days=n)  # noqa: E731
    late_big = make_debtor(sessions, camp, ["11987650001"], amount="9000.00", due=days(45))
    early_small = make_debtor(sessions, camp, ["11987650002"], amount="100.00", due=days(10))
    early_big = make_debtor(sessions, camp, ["11987650003"], amount="2000.00", due=days(20))
    reminder = make_debtor(sessions, camp, ["11987650004"], amount="50.00", due=days(-3))
    too_soon = make_debtor(sessions, camp, ["11987650005"], amount="9999.00", due=days(-12))
    too_old = make_debtor(sessions, camp, ["11987650006"], amount="9999.00", due=days(200))
    policy = Policy.from_dict(STAGES)
    with sessions.begin() as s:
        refresh_queue(s, camp, MONDAY_2PM, policy, reopen=True)
    leases = claim_batch(sessions, camp, MONDAY_2PM, "d1", Pacing("t1", 10, 0))
    assert [lease.debtor_id for lease in leases] == [reminder, early_big, early_small, late_big]
    with sessions() as s:
        next_try = dict(s.execute(select(DialQueue.debtor_id, DialQueue.next_try_at)).all())
    # Due in 12 days: the reminder stage starts 5 days before the due date.
    assert next_try[too_soon] == dt.datetime.combine(days(-12) - dt.timedelta(days=5), dt.time(0), tzinfo=BRT)
    assert next_try[too_old] is None  # past the last stage: never again in this campaign


def test_without_stages_everyone_as_before(sessions: sessionmaker[Session]) -> None:
    camp = make_campaign(sessions)
    ahead = make_debtor(sessions, camp, ["11987650001"], amount="100.00", due=TODAY + dt.timedelta(days=12))
    with sessions.begin() as s:
        refresh_queue(s, camp, MONDAY_2PM, Policy(), reopen=True)
    assert [lease.debtor_id for lease in claim_batch(sessions, camp, MONDAY_2PM, "d1", Pacing("t1", 10, 0))] == [ahead]
