"""What operators see of a running campaign: live progress, and why a given person is (not) called now."""

from __future__ import annotations

import datetime as dt
import re
from collections import Counter
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from ivr.campaign import rules
from ivr.campaign.scheduler import campaign_policy, explain, load_candidates, next_eligible_at
from ivr.config import Settings
from ivr.db.reports import ANATEL_SHORT_CALL_SHARE
from ivr.db.ledger import ACTIVE_STATES
from ivr.db.models import RIGHT_PARTY_OUTCOMES, Attempt, Campaign, DialerHealth, DialQueue, Phone, Promise
from ivr.db.reports import find_campaign, placed_short_share, short_call_share
from ivr.db.session import open_database
from ivr.db.debtors import find_debtor
from ivr.privacy import mask_phone


DIALER_SEEN_S = 60.0
"""A dialer writes its heartbeat (``dialer_health.checked_at``) at every queue refresh (``dialer.queue_refresh_seconds``,
10 s) and service check; none for this long means no dialer runs on the campaign."""
OPERATORS_ZONE = ZoneInfo("America/Sao_Paulo")
"""Instants are shown in Brasília time, as ``--debtor`` and the calling windows are."""


def local(instant: dt.datetime) -> str:
    """ISO 8601 with the Brasília offset, e.g. ``2026-12-07T09:00:00-03:00``."""
    return instant.astimezone(OPERATORS_ZONE).isoformat(timespec="seconds")


def dialer_state(health: DialerHealth | None, campaign_status: str = "running", now: dt.datetime | None = None) -> str:
    """What the campaign's dialers are doing, from what they last wrote: ``dialling``, ``paused: call service
    unreachable since <instant>``, ``throttled: …``, ``no dialer has run yet …``, ``no dialer seen since
    <instant> …`` or ``not dialling: the campaign is <status>``."""
    if campaign_status != "running":
        return f"not dialling: the campaign is {campaign_status}"
    now = now or dt.datetime.now(dt.timezone.utc)
    seen = health.checked_at if health is not None else None
    if seen is None:
        return "no dialer has run yet (start one: ivr campaign run, or the unit ivr-dialer@<campaign>)"
    if (now - seen).total_seconds() > DIALER_SEEN_S:
        return f"no dialer seen since {local(seen)} (is ivr-dialer@<campaign> running?)"
    assert health is not None
    if health.service_unreachable_since is not None:
        return f"paused: call service unreachable since {local(health.service_unreachable_since)}"
    if health.throttled:
        return "throttled: short calls near the Anatel threshold"
    return "dialling"


def describe_short_calls(short: int, placed: int, settings: Settings) -> str:
    """The Anatel figure: share of all calls placed today (answered or not) that lasted 6 s or less."""
    d = settings.dialer
    share = 100.0 * short / placed if placed else 0.0
    text = f"{short} of {placed} placed calls lasted 6 s or less ({share:.1f}%)"
    if placed >= d.short_call_min_calls:
        if share >= 100.0 * ANATEL_SHORT_CALL_SHARE:
            text += f" — WARNING: at the Anatel threshold of {ANATEL_SHORT_CALL_SHARE:.0%}"
        elif share >= 100.0 * d.short_call_throttle_share:
            text += f" — throttled (limit {d.short_call_throttle_share:.0%}, Anatel {ANATEL_SHORT_CALL_SHARE:.0%})"
    return text


def campaign_status(settings: Settings, name: str, at: dt.datetime) -> dict[str, Any]:
    sessions = open_database(settings.database_url)
    with sessions() as s:
        camp = find_campaign(s, name)
        mine = Attempt.campaign_id == camp.id

        def count(*where: Any) -> int:
            return s.scalar(select(func.count()).select_from(Attempt).where(mine, *where)) or 0

        promises = (
            s.scalar(
                select(func.count()).select_from(Promise).join(Attempt, Attempt.id == Promise.attempt_id).where(mine)
            )
            or 0
        )
        queued = s.scalar(select(func.count()).select_from(DialQueue).where(DialQueue.campaign_id == camp.id)) or 0
        due = (
            s.scalar(
                select(func.count())
                .select_from(DialQueue)
                .where(DialQueue.campaign_id == camp.id, DialQueue.next_try_at <= at)
            )
            or 0
        )
        upcoming = next_eligible_at(s, camp.id)
        next_eligible = "now" if due else (local(upcoming) if upcoming else "nobody left to call")
        if due:
            next_eligible = _due_now(s, camp, at)
        short, answered_today = short_call_share(s, at, campaign_id=camp.id)
        placed_short, placed = placed_short_share(s, at, campaign_id=camp.id)
        health = s.get(DialerHealth, camp.id)
        info = {
            "campaign": camp.name,
            "status": camp.status,
            "dialed": count(Attempt.state != "leased"),
            "answered": count(Attempt.answered_at.is_not(None)),
            "right_party_contacts": count((Attempt.outcome.in_(RIGHT_PARTY_OUTCOMES)) | Attempt.right_party.is_(True)),
            "promises": promises,
            "transfers": count(Attempt.outcome == "transferred"),
            "active_calls": count(Attempt.state.in_(ACTIVE_STATES)),
            "people_queued": queued,
            "people_due_now": due,
            "next_eligible": next_eligible,
            "short_calls_today": f"{short} of {answered_today} answered lasted 6 s or less"
            + (" — WARNING: more than half" if answered_today and short * 2 > answered_today else ""),
            "short_calls_placed_today": describe_short_calls(placed_short, placed, settings),
            "dialer": dialer_state(health, camp.status),
        }
    return info


CHECKED_DUE = 50
"""How many of the people due now ``ivr campaign status`` runs the calling rules on (highest priority first)."""


def _due_now(s: Session, camp: Campaign, at: dt.datetime) -> str:
    """``now`` when one of the first ``CHECKED_DUE`` people due may really be called at ``at`` (the queue's due
    time is when the rules look again, not a promise: the calling window, caps and retry delays decide),
    else the earliest instant the rules give them, with the most common reason."""
    ids = list(
        s.scalars(
            select(DialQueue.debtor_id)
            .where(DialQueue.campaign_id == camp.id, DialQueue.next_try_at <= at)
            .order_by(DialQueue.priority.desc(), DialQueue.debtor_id)
            .limit(CHECKED_DUE)
        )
    )
    policy = campaign_policy(camp)
    verdicts = [
        rules.eligibility(c.debtor, c.history, at, policy) for c in load_candidates(s, ids, camp).values() if not c.busy
    ]
    if not verdicts or any(v.eligible for v in verdicts):
        return "now"
    # "no_number_callable: 4321: closed_day: …" says it per number: the number's own reason is the news.
    reason = Counter(
        v.reason.split(": ", 2)[-1] if v.reason.startswith("no_number_callable: ") else v.reason for v in verdicts
    ).most_common(1)
    later = [v.next_try for v in verdicts if v.next_try is not None]
    when = local(min(later)) if later else "not before a person changes something"
    return f"{when} (not now: {reason[0][0]})"


def explain_debtor(settings: Settings, campaign: str, ref: str, at: dt.datetime) -> dict[str, Any]:
    """``ref``: the debtor's database id, CPF (any punctuation) or one of their contract ids in the campaign.

    JSON keys: ``eligible`` (bool) and ``reason`` (``code: explanation``) are the contract outside checks use;
    ``callable`` is the same value under its older name.
    """
    sessions = open_database(settings.database_url)
    with sessions() as s:
        camp = find_campaign(s, campaign)
        key = settings.hmac_key(create=False) if len(re.sub(r"\D", "", ref)) == 11 else None
        debtor = find_debtor(s, ref, camp.id, key)
        verdict = explain(s, camp, debtor.id, at)
        policy = rules.Policy.from_dict(camp.policy or {})
        numbers = []
        for phone in s.scalars(select(Phone).where(Phone.debtor_id == debtor.id).order_by(Phone.id)):
            window = rules.check(
                phone.e164,
                at,
                profile=policy.profile,
                state=debtor.state,
                noronha=debtor.noronha and phone.ddd == 81,
                city=debtor.city,
                calendar=policy.local_calendar(),
            )
            numbers.append({"number": mask_phone(phone.e164), "status": phone.status, "window": window.to_json()})
        return {
            "debtor": f"{debtor.id} {debtor.cpf_masked}",
            "debtor_id": debtor.id,
            "eligible": verdict.eligible,
            "callable": verdict.eligible,
            "reason": verdict.reason,
            "next_try": verdict.next_try.isoformat() if verdict.next_try else None,
            "numbers": numbers,
        }
