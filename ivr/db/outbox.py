"""The outbox as operators read and repair it (``ivr outbox list|retry``); delivery is ``ivr.outbox.delivery``."""

from __future__ import annotations

from collections.abc import Collection

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from ivr.db.models import OutboxEvent, utcnow


def list_events(session: Session, state: str | None, limit: int) -> list[OutboxEvent]:
    """At most ``limit`` events, newest first, only those in ``state`` when given."""
    query = select(OutboxEvent).order_by(OutboxEvent.id.desc()).limit(limit)
    if state:
        query = query.where(OutboxEvent.state == state)
    return list(session.scalars(query))


def count_by_state(session: Session) -> dict[str, int]:
    """How many events are in each state (states with none are absent)."""
    return dict(session.execute(select(OutboxEvent.state, func.count()).group_by(OutboxEvent.state)).tuples().all())


def find_events(session: Session, event_ids: Collection[int], dead: bool) -> list[OutboxEvent]:
    """Every dead event when ``dead``, else the events with these ids (ids that do not exist are left out)."""
    query = select(OutboxEvent)
    query = query.where(OutboxEvent.state == "dead") if dead else query.where(OutboxEvent.id.in_(event_ids))
    return list(session.scalars(query))


def requeue(events: Collection[OutboxEvent]) -> None:
    """Make ``events`` pending again, due now, with their failures and lease cleared."""
    for ev in events:
        ev.state, ev.deliveries, ev.next_attempt_at = "pending", 0, utcnow()
        ev.lease_owner = ev.lease_expires_at = None
