"""Reviews: what a person must look at before the bot may call a debtor again (CDC art. 42).

A review is opened with a reason (``ivr.vocabulary.ReviewReason``) by a call outcome (already paid,
dispute, deceased, unreachable person, proposal, scam suspicion, refused verification) or by a failed
transfer. While one of the holding reasons (``HOLDING_REVIEW_REASONS``) is open, the debtor is not called
in any campaign of the same creditor. A person resolves it with a text and, optionally, an action:
``resume`` (call again), ``close_debt`` (the debts of that creditor are closed, never called again) or
``stop_debtor`` (the person goes on the do-not-call list for every campaign).

Every function takes a ``Session`` inside the caller's transaction and never commits, so the CLI and the
web console (``/api/reviews``) share them.
"""

from __future__ import annotations

import datetime as dt
from collections import defaultdict
from collections.abc import Sequence
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy import or_, select, update
from sqlalchemy.orm import Session

from ivr.db.models import Attempt, Campaign, Debt, DialQueue, DoNotCall, Review, Turn, utcnow
from ivr.errors import InputError, NotFoundError
from ivr.vocabulary import HOLDING_REVIEW_REASONS, ReviewReason, ReviewState

LOCAL_ZONE = ZoneInfo("America/Sao_Paulo")
"""Dates operators read (\"since 2026-11-30\") are Brasília dates."""

ACTIONS = ("resume", "close_debt", "stop_debtor")
"""What a resolution may do besides closing the review."""

OUTCOME_REVIEWS: dict[str, ReviewReason] = {
    "already_paid": ReviewReason.ALREADY_PAID,
    "dispute": ReviewReason.DISPUTE,
    "deceased": ReviewReason.DECEASED,
    "unreachable_person": ReviewReason.UNREACHABLE_PERSON,
    "proposal": ReviewReason.PROPOSAL,
}
"""Call (or agent) outcomes that open a review of this reason."""


SCAM_WORDS = ("scam", "golpe", "fraude", "estelionat", "clonad", "falsa", "falso")
"""Words (in the note or what the debtor said) that make a dispute a scam suspicion."""


def reason_for_outcome(outcome: str, note: str = "", said: str = "") -> ReviewReason | None:
    """The review an outcome opens, if any. A dispute in which the debtor (or the note) speaks of a scam is a
    scam suspicion; a ``wrong_party`` after a failed verification is a refused verification (not holding)."""
    text = f"{note} {said}".lower()
    if outcome == "dispute" and any(w in text for w in SCAM_WORDS):
        return ReviewReason.SCAM_SUSPICION
    if outcome == "wrong_party" and "verification" in text:
        return ReviewReason.VERIFICATION_REFUSED
    return OUTCOME_REVIEWS.get(outcome)


def open_review(
    session: Session,
    *,
    debtor_id: int,
    reason: str,
    attempt_id: int | None = None,
    campaign_id: int | None = None,
    note: str | None = None,
    at: dt.datetime | None = None,
) -> Review:
    """Open a review (state ``open``); the creditor comes from the campaign (the attempt's if not given).

    An open review of the same attempt and reason is returned instead of a second one.

    Raises ``InputError`` for a reason outside ``ReviewReason``.
    """
    if reason not in set(ReviewReason):
        raise InputError(f"review reason {reason!r} is not one of {', '.join(ReviewReason)}")
    if attempt_id is not None:  # the same call reported twice (an agent's disposition repeated): one review
        same = session.scalar(
            select(Review).where(
                Review.attempt_id == attempt_id,
                Review.debtor_id == debtor_id,
                Review.kind == str(reason),
                Review.state == str(ReviewState.OPEN),
            )
        )
        if same is not None:
            return same
    if campaign_id is None and attempt_id is not None:
        campaign_id = session.scalar(select(Attempt.campaign_id).where(Attempt.id == attempt_id))
    creditor_id = None
    if campaign_id is not None:
        creditor_id = session.scalar(select(Campaign.creditor_id).where(Campaign.id == campaign_id))
    review = Review(
        debtor_id=debtor_id,
        attempt_id=attempt_id,
        campaign_id=campaign_id,
        creditor_id=creditor_id,
        kind=str(reason),
        note=note or None,
        state=str(ReviewState.OPEN),
        created_at=at or utcnow(),
    )
    session.add(review)
    session.flush()
    return review


def describe_hold(review: Review) -> str:
    """``review 17 open: already_paid since 2026-11-30`` (the words ``ivr campaign status`` prints)."""
    since = review.created_at.astimezone(LOCAL_ZONE).date()
    return f"review {review.id} open: {review.kind} since {since.isoformat()}"


def holds(session: Session, debtor_ids: Sequence[int], creditor_id: int) -> dict[int, list[str]]:
    """Debtor id → descriptions of the open holding reviews that stop calls for ``creditor_id``.

    A review without a creditor (opened outside any campaign) holds for every creditor.
    """
    if not debtor_ids:
        return {}
    out: dict[int, list[str]] = defaultdict(list)
    for review in session.scalars(
        select(Review)
        .where(
            Review.debtor_id.in_(list(debtor_ids)),
            Review.state == str(ReviewState.OPEN),
            Review.kind.in_([str(r) for r in HOLDING_REVIEW_REASONS]),
            or_(Review.creditor_id == creditor_id, Review.creditor_id.is_(None)),
        )
        .order_by(Review.id)
    ):
        out[review.debtor_id].append(describe_hold(review))
    return dict(out)


def review_json(review: Review) -> dict[str, Any]:
    """The shape ``ivr review list --json`` prints for each review (keys fixed: id, reason, state, debtor_id...)."""
    return {
        "id": review.id,
        "reason": review.kind,
        "state": review.state,
        "debtor_id": review.debtor_id,
        "attempt_id": review.attempt_id,
        "campaign_id": review.campaign_id,
        "creditor_id": review.creditor_id,
        "holds_calls": review.kind in set(HOLDING_REVIEW_REASONS) and review.state == ReviewState.OPEN,
        "note": review.note,
        "created_at": review.created_at.isoformat(),
        "resolved_at": review.resolved_at.isoformat() if review.resolved_at else None,
        "resolution": review.resolution,
        "resolved_by": review.resolved_by,
        "action": review.action,
    }


def list_reviews(session: Session, *, campaign_id: int | None = None, open_only: bool = False) -> list[Review]:
    """Reviews, oldest first; ``campaign_id``: those opened by that campaign's calls."""
    query = select(Review).order_by(Review.id)
    if campaign_id is not None:
        query = query.where(Review.campaign_id == campaign_id)
    if open_only:
        query = query.where(Review.state == str(ReviewState.OPEN))
    return list(session.scalars(query))


def get_review(session: Session, review_id: int) -> Review:
    """The review; ``NotFoundError`` if there is none with that id."""
    review = session.get(Review, review_id)
    if review is None:
        raise NotFoundError(f"no review {review_id}; `ivr review list` shows them")
    return review


def review_turns(session: Session, review: Review) -> list[Turn]:
    """The transcript of the call that opened the review (empty when no attempt)."""
    if review.attempt_id is None:
        return []
    return list(session.scalars(select(Turn).where(Turn.attempt_id == review.attempt_id).order_by(Turn.seq)))


def resolve_review(
    session: Session,
    review_id: int,
    resolution: str,
    *,
    action: str | None = None,
    resolved_by: str = "operator",
    at: dt.datetime | None = None,
) -> Review:
    """Resolve an open review with ``resolution`` (required text) and optionally an action (``ACTIONS``).

    ``resume`` makes the debtor due again in the creditor's campaigns (the rules still decide);
    ``close_debt`` closes the debtor's open debts of that creditor; ``stop_debtor`` adds the person to the
    do-not-call list. Raises ``NotFoundError`` (no such review) or ``InputError`` (already resolved, empty
    resolution, unknown action).
    """
    at = at or utcnow()
    if not resolution.strip():
        raise InputError("--resolution must say what was decided")
    if action is not None and action not in ACTIONS:
        raise InputError(f"action {action!r} is not one of {', '.join(ACTIONS)}")
    review = get_review(session, review_id)
    if review.state != ReviewState.OPEN:
        raise InputError(f"review {review_id} is already resolved ({review.resolution})")
    review.state, review.resolution, review.resolved_by = str(ReviewState.RESOLVED), resolution.strip(), resolved_by
    review.resolved_at, review.action = at, action
    campaigns = select(Campaign.id)
    if review.creditor_id is not None:
        campaigns = campaigns.where(Campaign.creditor_id == review.creditor_id)
    if action == "close_debt":
        session.execute(
            update(Debt)
            .where(Debt.debtor_id == review.debtor_id, Debt.closed_at.is_(None), Debt.campaign_id.in_(campaigns))
            .values(closed_at=at, closed_reason=f"review {review.id}: {resolution.strip()}"[:120])
        )
    elif action == "stop_debtor":
        if session.scalar(select(DoNotCall.id).where(DoNotCall.debtor_id == review.debtor_id)) is None:
            session.add(
                DoNotCall(debtor_id=review.debtor_id, reason=f"review {review.id}"[:80], attempt_id=review.attempt_id)
            )
    else:
        # The rules look at the person again now (their queue rows may say "never" while the hold lasted).
        session.execute(
            update(DialQueue)
            .where(DialQueue.debtor_id == review.debtor_id, DialQueue.campaign_id.in_(campaigns))
            .values(next_try_at=at)
        )
    session.flush()
    return review
