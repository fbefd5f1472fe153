"""How a transfer to the agents' queue ended, from the dialplan's hang-up report (``IvrHangup``).

The dialplan (``[ivr-transfer]``) sets ``IVR_QUEUE_STATUS``: ``WAITING`` while the caller is in the queue,
then Asterisk's ``QUEUESTATUS`` when Queue() gives up (TIMEOUT, FULL, JOINEMPTY, LEAVEEMPTY, JOINUNAVAIL,
LEAVEUNAVAIL), or ``JOINEMPTY`` when no agent is ready and the caller is not put in the queue at all.
At hang-up, ``WAITING`` with ``ABANDONED=TRUE`` means the caller hung up while waiting; ``WAITING`` without
it means an agent took the call. When no agent answered, a ``transfer_failed`` review is opened and a real
callback is scheduled at the next allowed time on the same number: what the caller was told
("vamos retornar a sua ligação").
"""

from __future__ import annotations

import datetime as dt

from sqlalchemy import select
from sqlalchemy.orm import Session

from ivr.campaign import rules
from ivr.db.models import Attempt, Callback, Campaign, Debtor, Phone
from ivr.db.reviews import open_review
from ivr.vocabulary import ReviewReason

ANSWERED = "ANSWERED"
ABANDONED = "ABANDONED"


def queue_result(status: str | None, abandoned: str | None) -> str:
    """The stored ``queue_status`` from the IvrHangup fields ``QueueStatus`` and ``Abandoned``."""
    status = (status or "").strip().upper()
    if status == "WAITING":
        return ABANDONED if (abandoned or "").strip().upper() == "TRUE" else ANSWERED
    return status or ABANDONED  # hung up before the queue was reached


def callback_time(session: Session, attempt: Attempt, at: dt.datetime, delay: dt.timedelta) -> dt.datetime:
    """The next instant ≥ ``at + delay`` the attempt's number may be called (its window, holidays)."""
    phone = session.get(Phone, attempt.phone_id)
    debtor = session.get(Debtor, attempt.debtor_id)
    camp = session.get(Campaign, attempt.campaign_id)
    earliest = at + delay
    if phone is None or debtor is None or camp is None:
        return earliest
    policy = rules.Policy.from_dict(camp.policy or {})
    target = rules.resolve_target(phone.e164, policy.profile, debtor.state, debtor.noronha and phone.ddd == 81)
    return rules.next_open(earliest, target) or earliest


def transfer_ended(
    session: Session,
    attempt: Attempt,
    status: str,
    at: dt.datetime,
    *,
    hold_s: float | None = None,
    agent: str | None = None,
    callback_delay: dt.timedelta = dt.timedelta(minutes=30),
) -> Callback | None:
    """Store how the attempt's transfer ended (inside the caller's transaction; the first report wins).

    Not answered: a ``transfer_failed`` review and a callback on the same number (returned). Answered:
    the agent and hold time are kept; the agent's result comes back with ``ivr disposition``.
    """
    if attempt.queue_status is not None:
        return None
    attempt.queue_status = status[:16]
    attempt.queue_hold_s = hold_s
    attempt.agent = (agent or None) and agent[:80]
    if status == ANSWERED:
        return None
    open_review(
        session,
        debtor_id=attempt.debtor_id,
        reason=ReviewReason.TRANSFER_FAILED,
        attempt_id=attempt.id,
        campaign_id=attempt.campaign_id,
        note=f"no agent answered the transfer (queue: {status})",
        at=at,
    )
    due = callback_time(session, attempt, at, callback_delay)
    callback = Callback(
        attempt_id=attempt.id,
        campaign_id=attempt.campaign_id,
        debtor_id=attempt.debtor_id,
        due_at=due,
        requested_text="no agent answered the transfer",
        phone_id=attempt.phone_id,
    )
    session.add(callback)
    return callback


def pending_transfer_callbacks(session: Session, campaign_id: int) -> list[Callback]:
    """Open callbacks a failed transfer left for this campaign, soonest first."""
    return list(
        session.scalars(
            select(Callback)
            .where(
                Callback.campaign_id == campaign_id,
                Callback.done.is_(False),
                Callback.requested_text == "no agent answered the transfer",
            )
            .order_by(Callback.due_at)
        )
    )
