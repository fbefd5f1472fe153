"""What operators see of a running campaign: live progress, and why a given person is (not) called now."""

from __future__ import annotations

import datetime as dt
import re
from typing import Any

from sqlalchemy import func, select

from ivr.campaign import rules
from ivr.campaign.scheduler import explain, next_eligible_at
from ivr.config import Settings
from ivr.db.ledger import ACTIVE_STATES
from ivr.db.models import RIGHT_PARTY_OUTCOMES, Attempt, DialQueue, Debtor, Phone, Promise
from ivr.db.reports import find_campaign, short_call_share
from ivr.db.session import open_database
from ivr.errors import NotFoundError
from ivr.privacy import cpf_hmac, mask_cpf, mask_phone


def campaign_status(settings: Settings, name: str, at: dt.datetime) -> dict[str, Any]:
    sessions = open_database(settings.database_url)
    with sessions() as s:
        camp = find_campaign(s, name)
        mine = Attempt.campaign_id == camp.id

        def count(*where: Any) -> int:
            return s.scalar(select(func.count()).select_from(Attempt).where(mine, *where)) or 0

        promises = s.scalar(select(func.count()).select_from(Promise).join(Attempt, Attempt.id == Promise.attempt_id)
                            .where(mine)) or 0
        queued = s.scalar(select(func.count()).select_from(DialQueue).where(DialQueue.campaign_id == camp.id)) or 0
        due = s.scalar(select(func.count()).select_from(DialQueue)
                       .where(DialQueue.campaign_id == camp.id, DialQueue.next_try_at <= at)) or 0
        upcoming = next_eligible_at(s, camp.id)
        short, answered_today = short_call_share(s, at, campaign_id=camp.id)
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
                                 + (" — WARNING: more than half" if answered_today and short * 2 > answered_today
                                    else ""),
        }
    return info


def explain_debtor(settings: Settings, campaign: str, ref: str, at: dt.datetime) -> dict[str, Any]:
    """``ref``: the debtor's database id or CPF (any punctuation)."""
    sessions = open_database(settings.database_url)
    digits = re.sub(r"\D", "", ref)
    with sessions() as s:
        camp = find_campaign(s, campaign)
        if len(digits) == 11:
            debtor = s.scalar(select(Debtor).where(Debtor.cpf_hmac == cpf_hmac(digits, settings.hmac_key(create=False))))
        else:
            debtor = s.get(Debtor, int(digits)) if digits and len(digits) < 10 else None  # ids fit 32 bits
        if debtor is None:
            shown = mask_cpf(digits) if len(digits) == 11 else ref  # a CPF typed here is not echoed back
            raise NotFoundError(f"no debtor {shown!r}: give the id from `ivr report` or the CPF")
        verdict = explain(s, camp, debtor.id, at)
        policy = rules.Policy.from_dict(camp.policy or {})
        numbers = []
        for phone in s.scalars(select(Phone).where(Phone.debtor_id == debtor.id).order_by(Phone.id)):
            window = rules.check(phone.e164, at, profile=policy.profile, state=debtor.state,
                                 noronha=debtor.noronha and phone.ddd == 81, city=debtor.city,
                                 calendar=policy.local_calendar())
            numbers.append({"number": mask_phone(phone.e164), "status": phone.status, "window": window.to_json()})
        return {
            "debtor": f"{debtor.id} {debtor.cpf_masked}",
            "callable": verdict.eligible,
            "reason": verdict.reason,
            "next_try": verdict.next_try.isoformat() if verdict.next_try else None,
            "numbers": numbers,
        }
