"""What operators see of a running campaign: live progress, and why a given person is (not) called now."""

from __future__ import annotations

import datetime as dt
import re
from typing import Any

from sqlalchemy import func, select

from ivr.campaign import rules
from ivr.campaign.scheduler import explain, next_eligible_at
from ivr.config import Settings
from ivr.db.reports import ANATEL_SHORT_CALL_SHARE
from ivr.db.ledger import ACTIVE_STATES
from ivr.db.models import RIGHT_PARTY_OUTCOMES, Attempt, DialerHealth, DialQueue, Phone, Promise
from ivr.db.reports import find_campaign, placed_short_share, short_call_share
from ivr.db.session import open_database
from ivr.db.debtors import find_debtor
from ivr.privacy import mask_phone


def dialer_state(health: DialerHealth | None) -> str:
    """``dialling`` or ``paused: call service unreachable since <instant>`` (what the dialers last saw)."""
    if health is not None and health.service_unreachable_since is not None:
        return f"paused: call service unreachable since {health.service_unreachable_since.isoformat()}"
    if health is not None and health.throttled:
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
            "next_eligible": "now" if due else (upcoming.isoformat() if upcoming else "nobody left to call"),
            "short_calls_today": f"{short} of {answered_today} answered lasted 6 s or less"
            + (" — WARNING: more than half" if answered_today and short * 2 > answered_today else ""),
            "short_calls_placed_today": describe_short_calls(placed_short, placed, settings),
            "dialer": dialer_state(health),
        }
    return info


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
