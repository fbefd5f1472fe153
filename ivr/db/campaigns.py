"""Campaigns as the command line manages them: create one (and its creditor), set its policy, list them with
their debts, move one between draft, running, paused and stopped."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal
from typing import Any, NamedTuple

from sqlalchemy import func, select
from sqlalchemy.orm import Session, sessionmaker

from ivr.db.models import Campaign, Creditor, Debt
from ivr.db.reports import find_campaign
from ivr.errors import InputError, NotFoundError


class CampaignSummary(NamedTuple):
    """One line of ``ivr campaign list``."""

    name: str
    creditor: str
    status: str
    debts: int
    owed: Decimal | None
    """Sum of the debts' totals; None when the campaign has no debt."""


class StatusChange(NamedTuple):
    """What ``change_campaign_status`` did besides setting the status."""

    queued: int
    """People (re)queued when the queue was refreshed; 0 when it was not."""
    dropped: int
    """Queued calls not yet dialled that were dropped (the campaign stopped running)."""


def ensure_campaign(
    sessions: sessionmaker[Session], name: str, creditor: str, cnpj: str | None, records: bool
) -> tuple[Campaign, bool]:
    """The campaign ``name``, created (status draft, empty policy) with its creditor when it does not exist.

    The creditor is found by exact name, else created with ``cnpj``. Returns the campaign and whether it was
    created now; its own transaction, committed on return. ``InputError`` for a name or creditor the database
    cannot hold (the greeting says the creditor's name: a blank one is refused too).
    """
    with sessions.begin() as s:
        camp = s.scalar(select(Campaign).where(Campaign.name == name))
        if camp is not None:
            return camp, False
        if not name.strip() or len(name) > 120:
            raise InputError("campaign name: 1 to 120 characters, not blank")
        if not creditor.strip() or len(creditor) > 200:
            raise InputError("--creditor: the creditor's name (1 to 200 characters) is required")
        cred = s.scalar(select(Creditor).where(Creditor.name == creditor))
        if cred is None:
            cred = Creditor(name=creditor, cnpj=cnpj)
            s.add(cred)
            s.flush()
        camp = Campaign(name=name, creditor_id=cred.id, records_calls=records, policy={})
        s.add(camp)
        return camp, True


def set_campaign_policy(session: Session, campaign_id: int, policy: dict[str, Any]) -> None:
    """Replace the policy (rule overrides) of the campaign with this id; ``NotFoundError`` when there is none."""
    camp = session.get(Campaign, campaign_id)
    if camp is None:
        raise NotFoundError(f"campaign {campaign_id} does not exist")
    camp.policy = policy


def campaign_summaries(session: Session) -> list[CampaignSummary]:
    """Every campaign by name with its creditor, status, number of debts and the sum owed."""
    rows = session.execute(
        select(Campaign.name, Creditor.name, Campaign.status, func.count(Debt.id), func.sum(Debt.total))
        .join(Creditor, Creditor.id == Campaign.creditor_id)
        .outerjoin(Debt, Debt.campaign_id == Campaign.id)
        .group_by(Campaign.id, Creditor.name)
        .order_by(Campaign.name)
    ).all()
    return [CampaignSummary(*row) for row in rows]


def change_campaign_status(
    session: Session, name: str, allowed_from: tuple[str, ...], to: str, reopen: bool, now: dt.datetime
) -> StatusChange:
    """Set campaign ``name``'s status to ``to`` if it is one of ``allowed_from`` (``InputError`` otherwise).

    ``reopen``: refresh the dial queue with everyone who has a debt in it (the rules re-checked at ``now``).
    Any status but running drops the queued calls not yet dialled.
    """
    from ivr.campaign.scheduler import campaign_policy, drop_unoriginated, refresh_queue

    camp = find_campaign(session, name)
    if camp.status not in allowed_from:
        raise InputError(
            f"campaign {name!r} is {camp.status}; only a campaign that is {' or '.join(allowed_from)} can become {to}"
        )
    policy = campaign_policy(camp)
    camp.status = to
    queued = refresh_queue(session, camp.id, now, policy, reopen=True) if reopen else 0
    dropped = 0 if to == "running" else drop_unoriginated(session, camp.id, now)
    return StatusChange(queued, dropped)
