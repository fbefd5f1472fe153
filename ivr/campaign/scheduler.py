"""Who to call now: claims the next batch of (debtor, phone, debt) for a campaign, exactly paced, over the ledger.

The pure rules (``ivr.campaign.rules``) decide; this module only feeds them candidates cheaply and writes
leases. ``dial_queue`` holds one row per person per campaign with a priority and the earliest instant the
rules may allow a call, so a batch is an index scan of the due rows by priority, not a read of a million
debtors. Each claim runs in one transaction that holds the trunk's ``dial_pacing`` row lock (so the count
of active calls and the calls-per-second slots are exact across dialer processes) and locks the candidate
debtors' rows with ``FOR UPDATE SKIP LOCKED`` (so two campaigns on different trunks cannot both take the
same person). SQLite ignores the row locks: it is for one dialer process only (see ``ivr.dialer.dialer``).
"""

from __future__ import annotations

import datetime as dt
import logging
import math
from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy import Float, and_, case, delete, func, insert, literal, or_, select, update
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session, sessionmaker

from ivr.campaign import rules
from ivr.campaign.stages import Stage, next_stage_day, stage_for
from ivr.db.ledger import ACTIVE_STATES, action_id_for
from ivr.db.models import (
    Attempt,
    Callback,
    Campaign,
    DialPacing,
    DialQueue,
    Debt,
    Debtor,
    DoNotCall,
    Phone,
    Promise,
    UTCDateTime,
)

log = logging.getLogger(__name__)

RECHECK = dt.timedelta(seconds=60)
"""A person just leased (or busy in another call) is looked at again after this; the rules decide then."""
NEVER_PRIORITY = -1e9


@dataclass(frozen=True)
class Pacing:
    """Limits shared by every dialer process on one trunk."""

    trunk: str
    max_concurrent: int
    calls_per_second: float


@dataclass(frozen=True)
class Lease:
    """An attempt reserved for this dialer: dial ``number`` not before ``dial_at``."""

    attempt_id: int
    action_id: str
    debtor_id: int
    phone_id: int
    debt_id: int | None
    number: str
    """E.164."""
    dial_at: dt.datetime
    callback: bool


@dataclass
class Candidate:
    """What the rules need about one person, loaded in bulk for a batch of candidates."""

    debtor: rules.Debtor
    history: list[rules.Attempt]
    phone_ids: dict[str, int]
    busy: bool
    """An attempt of this person is active right now (any campaign)."""


def campaign_policy(camp: Campaign) -> rules.Policy:
    return rules.Policy.from_dict(camp.policy or {}, source=f"campaign {camp.name!r} policy")


# ---------------------------------------------------------------------------- the queue


def refresh_queue(
    session: Session, campaign_id: int, at: dt.datetime, policy: rules.Policy, *, reopen: bool = False
) -> int:
    """Add every person with debts in the campaign to its queue (priority from amount and age).

    ``reopen``: also make every queued person due now, so the rules look at them again (start/resume:
    new numbers, a removed do-not-call entry, changed policy). Returns how many people are queued.
    """
    today = at.astimezone(dt.timezone(dt.timedelta(hours=-3))).date()
    if session.get_bind().dialect.name == "sqlite":
        days = func.julianday(today.isoformat()) - func.julianday(func.min(Debt.due_date))
    else:
        days = literal(today) - func.min(Debt.due_date)
    days_overdue = case((days > 0, days), else_=0)
    total = func.sum(Debt.total)
    # ln(priority_score): same order as the rules' score, no underflow for very old debts.
    priority = (
        case((total > 0, func.ln(func.cast(total, Float))), else_=NEVER_PRIORITY)
        - math.log(2) * days_overdue / policy.priority_half_life_days
    )
    if policy.stages:
        # The policy's stage order first (early delinquency before late), the balance within a stage.
        rank = case(*[(_stage_covers(days, st), i) for i, st in enumerate(policy.stages)], else_=len(policy.stages))
        priority = priority - STAGE_WEIGHT * rank
    exists = (
        select(DialQueue.debtor_id)
        .where(DialQueue.campaign_id == campaign_id, DialQueue.debtor_id == Debt.debtor_id)
        .exists()
    )
    source = (
        select(
            literal(campaign_id),
            Debt.debtor_id,
            func.min(Debt.id),
            priority,
            literal(at, UTCDateTime()),
            literal(at, UTCDateTime()),
        )
        .where(Debt.campaign_id == campaign_id, ~exists)
        .group_by(Debt.debtor_id)
    )
    columns = ["campaign_id", "debtor_id", "debt_id", "priority", "next_try_at", "updated_at"]
    if session.get_bind().dialect.name == "postgresql":
        # Two dialers starting together both see the person missing; the second insert must not fail.
        session.execute(pg_insert(DialQueue).from_select(columns, source).on_conflict_do_nothing())
    else:
        session.execute(insert(DialQueue).from_select(columns, source))
    if reopen:
        session.execute(
            update(DialQueue)
            .where(
                DialQueue.campaign_id == campaign_id, or_(DialQueue.next_try_at.is_(None), DialQueue.next_try_at > at)
            )
            .values(next_try_at=at)
        )
    return session.scalar(select(func.count()).select_from(DialQueue).where(DialQueue.campaign_id == campaign_id)) or 0


STAGE_WEIGHT = 1000.0
"""Priority points per stage rank: more than any ln(balance) spread, so stage order always wins."""


def _stage_covers(days: Any, stage: Stage) -> Any:
    if stage.to_day is None:
        return days >= stage.from_day
    return and_(days >= stage.from_day, days <= stage.to_day)


def stage_verdict(
    policy: rules.Policy, due_date: dt.date | None, at: dt.datetime, zone: str = "America/Sao_Paulo"
) -> dt.datetime | None | bool:
    """True when the campaign's stages allow a call today (or it has none); else the start of the day the
    debtor enters the next stage (None: never again in this campaign)."""
    if not policy.stages or due_date is None:
        return True
    tz = ZoneInfo(zone)
    today = at.astimezone(tz).date()
    day = (today - due_date).days
    if stage_for(policy.stages, day) is not None:
        return True
    later = next_stage_day(policy.stages, day)
    if later is None:
        return None
    return dt.datetime.combine(due_date + dt.timedelta(days=later), dt.time(0), tzinfo=tz)


def drop_unoriginated(session: Session, campaign_id: int, at: dt.datetime) -> int:
    """Delete the campaign's attempts leased but not yet originated (pause/stop): nobody was dialled, so they
    leave no trace in the person's history; their queue rows are due again for when the campaign resumes."""
    ids = list(
        session.scalars(
            select(Attempt.id)
            .where(Attempt.campaign_id == campaign_id, Attempt.state == "leased")
            .with_for_update(skip_locked=True)
        )
    )
    if not ids:
        return 0
    debtors = list(session.scalars(select(Attempt.debtor_id).where(Attempt.id.in_(ids))))
    session.execute(delete(Attempt).where(Attempt.id.in_(ids), Attempt.state == "leased"))
    session.execute(
        update(DialQueue)
        .where(DialQueue.campaign_id == campaign_id, DialQueue.debtor_id.in_(debtors))
        .values(next_try_at=at)
    )
    return len(ids)


def next_eligible_at(session: Session, campaign_id: int) -> dt.datetime | None:
    """The earliest instant any queued person may be looked at again (None: nobody left)."""
    return session.scalar(select(func.min(DialQueue.next_try_at)).where(DialQueue.campaign_id == campaign_id))


# ---------------------------------------------------------------------------- loading candidates


def load_candidates(
    session: Session, debtor_ids: Sequence[int], campaign: Campaign | None = None
) -> dict[int, Candidate]:
    """Phones, do-not-call, attempt history (all campaigns), promises and callbacks of these people; with
    ``campaign``, also the open reviews holding them for its creditor and whether their debts in it are settled.

    An agent's disposition supersedes the bot's outcome of the same attempt.
    """
    from ivr.db.reviews import holds

    if not debtor_ids:
        return {}
    ids = list(debtor_ids)
    people = {d.id: d for d in session.scalars(select(Debtor).where(Debtor.id.in_(ids)))}
    phones: dict[int, list[Phone]] = defaultdict(list)
    for phone in session.scalars(select(Phone).where(Phone.debtor_id.in_(ids)).order_by(Phone.id)):
        phones[phone.debtor_id].append(phone)
    numbers = [p.e164 for ps in phones.values() for p in ps]
    dnc_people = set(session.scalars(select(DoNotCall.debtor_id).where(DoNotCall.debtor_id.in_(ids))))
    dnc_numbers = set(session.scalars(select(DoNotCall.e164).where(DoNotCall.e164.in_(numbers)))) if numbers else set()
    attempts = session.execute(
        select(
            Attempt.id,
            Attempt.debtor_id,
            Attempt.phone_id,
            Attempt.state,
            Attempt.outcome,
            Attempt.right_party,
            Attempt.started_at,
            Attempt.scheduled_at,
            Attempt.disposition,
            Attempt.campaign_id,
        ).where(Attempt.debtor_id.in_(ids))
    ).all()
    creditor_of: dict[int, int] = {}
    if campaign is not None:
        campaign_ids = {a.campaign_id for a in attempts}
        creditor_of = {
            cid: cred
            for cid, cred in session.execute(
                select(Campaign.id, Campaign.creditor_id).where(Campaign.id.in_(campaign_ids))
            )
        }
    attempt_ids = [a.id for a in attempts]
    promised: dict[int, tuple[dt.date, bool]] = {}
    callbacks: dict[int, tuple[dt.datetime, int | None]] = {}
    if attempt_ids:
        for attempt_id, day, status in session.execute(
            select(Promise.attempt_id, Promise.promised_date, Promise.status)
            .where(Promise.attempt_id.in_(attempt_ids))
            .order_by(Promise.id)
        ):
            promised[attempt_id] = (day, status == "kept")
        for attempt_id, due, phone_id in session.execute(
            select(Callback.attempt_id, Callback.due_at, Callback.phone_id).where(
                Callback.attempt_id.in_(attempt_ids), Callback.due_at.is_not(None)
            )
        ):
            if due is not None:
                callbacks[attempt_id] = (due, phone_id)
    held: dict[int, list[str]] = {}
    settled: dict[int, str] = {}
    if campaign is not None:
        held = holds(session, ids, campaign.creditor_id)
        open_debts: dict[int, int] = defaultdict(int)
        closed: dict[int, str] = {}
        for debtor_id, closed_at, why in session.execute(
            select(Debt.debtor_id, Debt.closed_at, Debt.closed_reason).where(
                Debt.campaign_id == campaign.id, Debt.debtor_id.in_(ids)
            )
        ):
            if closed_at is None:
                open_debts[debtor_id] += 1
            else:
                closed[debtor_id] = why or f"debt closed on {closed_at.date().isoformat()}"
        settled = {d: why for d, why in closed.items() if not open_debts.get(d)}
    number_of = {p.id: p.e164 for ps in phones.values() for p in ps}
    history: dict[int, list[rules.Attempt]] = defaultdict(list)
    busy: set[int] = set()
    for a in attempts:
        if a.state in ACTIVE_STATES:
            busy.add(a.debtor_id)
            continue
        promise = promised.get(a.id)
        callback = callbacks.get(a.id)
        outcome = a.disposition or a.outcome
        history[a.debtor_id].append(
            rules.Attempt(
                number=number_of.get(a.phone_id, ""),
                at=a.started_at or a.scheduled_at,
                # Ended moments ago and the outcome not written yet: count it, retry as a failure.
                outcome=outcome or "failed",
                right_party=a.right_party
                or (a.disposition is not None and a.disposition in rules.RIGHT_PARTY_OUTCOMES),
                promised_date=promise[0] if promise else None,
                promise_kept=promise[1] if promise else False,
                callback_at=callback[0] if callback else None,
                callback_number=number_of.get(callback[1]) if callback and callback[1] is not None else None,
                other_creditor=campaign is not None
                and creditor_of.get(a.campaign_id, campaign.creditor_id) != campaign.creditor_id,
            )
        )
    out: dict[int, Candidate] = {}
    for debtor_id in ids:
        person = people.get(debtor_id)
        if person is None:
            continue
        own = phones.get(debtor_id, [])
        out[debtor_id] = Candidate(
            debtor=rules.Debtor(
                id=str(debtor_id),
                numbers=tuple(p.e164 for p in own),
                state=person.state,
                city=person.city,
                noronha=person.noronha,
                do_not_call=debtor_id in dnc_people,
                invalid_numbers=frozenset(p.e164 for p in own if p.status == "invalid" or p.e164 in dnc_numbers),
                holds=tuple(held.get(debtor_id, ())),
                settled=settled.get(debtor_id),
            ),
            history=history.get(debtor_id, []),
            phone_ids={p.e164: p.id for p in own},
            busy=debtor_id in busy,
        )
    return out


def explain(session: Session, campaign: Campaign, debtor_id: int, at: dt.datetime) -> rules.Eligibility:
    """Why (not) now for one person, with the same rules and data the scheduler uses."""
    cand = load_candidates(session, [debtor_id], campaign).get(debtor_id)
    if cand is None:
        return rules.Eligibility(False, "unknown_debtor: no such debtor")
    if cand.busy:
        return rules.Eligibility(False, "in_call: an attempt for this person is in progress", next_try=at + RECHECK)
    return rules.eligibility(cand.debtor, cand.history, at, campaign_policy(campaign))


# ---------------------------------------------------------------------------- claiming


def _pacing_row(sessions: sessionmaker[Session], trunk: str) -> None:
    """Create the trunk's pacing row once; a concurrent creator wins harmlessly."""
    with sessions() as s:
        if s.get(DialPacing, trunk) is not None:
            return
    try:
        with sessions.begin() as s:
            s.add(DialPacing(trunk=trunk, next_slot_at=None))
    except IntegrityError:
        pass


def active_calls(session: Session, trunk: str) -> int:
    return (
        session.scalar(
            select(func.count()).select_from(Attempt).where(Attempt.trunk == trunk, Attempt.state.in_(ACTIVE_STATES))
        )
        or 0
    )


def claim_batch(
    sessions: sessionmaker[Session],
    campaign_id: int,
    at: dt.datetime,
    owner: str,
    pacing: Pacing,
    *,
    lease_seconds: float = 60.0,
    max_batch: int | None = None,
    scan_rounds: int = 4,
    scan_size: int = 200,
) -> list[Lease]:
    """Lease up to the free concurrency of ``pacing.trunk`` (and ``max_batch``) for ``campaign_id`` at ``at``.

    Due callbacks first, then the queue by priority. Every candidate looked at gets its next try written
    back (the rules' answer), so the next claim does not look at it again before it may be called.
    """
    if at.tzinfo is None:
        raise ValueError("claim_batch needs an aware instant")
    _pacing_row(sessions, pacing.trunk)
    spacing = dt.timedelta(seconds=1.0 / pacing.calls_per_second) if pacing.calls_per_second > 0 else dt.timedelta(0)
    leases: list[Lease] = []
    with sessions.begin() as s:
        slot_row = s.scalars(select(DialPacing).where(DialPacing.trunk == pacing.trunk).with_for_update()).one()
        camp = s.get(Campaign, campaign_id)
        if camp is None or camp.status != "running":
            return []
        policy = campaign_policy(camp)
        free = pacing.max_concurrent - active_calls(s, pacing.trunk)
        if max_batch is not None:
            free = min(free, max_batch)
        for _ in range(scan_rounds):
            if free <= 0:
                break
            size = max(scan_size, free * 4)
            due_callbacks = list(
                s.scalars(
                    select(Callback.debtor_id)
                    .where(
                        Callback.campaign_id == campaign_id,
                        Callback.done.is_(False),
                        Callback.due_at.is_not(None),
                        Callback.due_at <= at,
                    )
                    .order_by(Callback.due_at)
                    .limit(size)
                )
            )
            queued = list(
                s.scalars(
                    select(DialQueue.debtor_id)
                    .where(DialQueue.campaign_id == campaign_id, DialQueue.next_try_at <= at)
                    .order_by(DialQueue.priority.desc(), DialQueue.debtor_id)
                    .limit(size)
                    .with_for_update(skip_locked=True)
                )
            )
            order = list(dict.fromkeys(due_callbacks + queued))
            if not order:
                break
            # The person's row lock makes per-person caps exact across campaigns and dialers.
            locked = set(s.scalars(select(Debtor.id).where(Debtor.id.in_(order)).with_for_update(skip_locked=True)))
            order = [d for d in order if d in locked]
            candidates = load_candidates(s, order, camp)
            due_dates: dict[int, dt.date] = (
                dict(
                    s.execute(
                        select(Debt.debtor_id, func.min(Debt.due_date))
                        .where(Debt.campaign_id == campaign_id, Debt.debtor_id.in_(order))
                        .group_by(Debt.debtor_id)
                    ).all()
                )
                if policy.stages
                else {}
            )
            next_try: dict[int, dt.datetime | None] = {}
            for debtor_id in order:
                cand = candidates.get(debtor_id)
                if cand is None:
                    next_try[debtor_id] = None
                    continue
                if cand.busy:
                    next_try[debtor_id] = at + RECHECK
                    continue
                staged = stage_verdict(policy, due_dates.get(debtor_id), at)
                if staged is not True:
                    next_try[debtor_id] = staged or None  # not in any stage today
                    continue
                verdict = rules.eligibility(cand.debtor, cand.history, at, policy)
                if not verdict.eligible:
                    next_try[debtor_id] = verdict.next_try
                    continue
                if free <= 0:
                    continue  # eligible but no room: stays due for the next claim
                assert verdict.number is not None
                slot = max(at, slot_row.next_slot_at or at)
                slot_row.next_slot_at = slot + spacing
                queue_row = s.get(DialQueue, (campaign_id, debtor_id))
                attempt = Attempt(
                    campaign_id=campaign_id,
                    debtor_id=debtor_id,
                    phone_id=cand.phone_ids[verdict.number],
                    debt_id=queue_row.debt_id if queue_row is not None else None,
                    state="leased",
                    lease_owner=owner,
                    lease_expires_at=slot + dt.timedelta(seconds=lease_seconds),
                    scheduled_at=slot,
                    trunk=pacing.trunk,
                )
                s.add(attempt)
                s.flush()
                attempt.action_id = action_id_for(attempt.id)
                if verdict.callback:
                    # Only this campaign's callbacks: another creditor's promise to call back still stands.
                    s.execute(
                        update(Callback)
                        .where(
                            Callback.debtor_id == debtor_id,
                            Callback.campaign_id == campaign_id,
                            Callback.done.is_(False),
                            Callback.due_at <= at,
                        )
                        .values(done=True)
                    )
                leases.append(
                    Lease(
                        attempt.id,
                        attempt.action_id,
                        debtor_id,
                        attempt.phone_id,
                        attempt.debt_id,
                        verdict.number,
                        slot,
                        verdict.callback,
                    )
                )
                next_try[debtor_id] = at + RECHECK
                free -= 1
            for debtor_id, when in next_try.items():
                s.execute(
                    update(DialQueue)
                    .where(DialQueue.campaign_id == campaign_id, DialQueue.debtor_id == debtor_id)
                    .values(next_try_at=when, updated_at=at)
                )
            if len(queued) < size:
                break  # nothing more is due in the queue
    return leases
