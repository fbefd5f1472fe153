"""Outbox events written by the database session itself, in the transaction of what they describe.

``install(sessions)`` hooks a session factory so that whenever a flush adds a ``Promise``, a
``PaymentInstructionRecord``, a ``Callback`` or a ``Review``, or sets an attempt's dialog outcome, an
``OutboxEvent`` is added in the same transaction: built after the flush (the rows have their ids), added
at ``before_commit`` in a fixed order (the promise before its payment instruction, the call last) and
flushed by the commit itself. No code path that stores a result can forget its event, and a rollback takes
the event with it.

Every event body has the shape of ``webhook-events.schema.json`` beside this file::

    {"id": "<idempotency key>", "type": "promise.created", "occurred_at": "2026-12-01T13:05:00+00:00",
     "attempt_id": 42, "campaign_id": 1, "debtor_id": 7, "data": {...}}

Money is a string with two decimals ("315.00"), dates ISO 8601.
"""

from __future__ import annotations

import datetime as dt
import json
import uuid
from decimal import Decimal
from importlib import resources
from typing import Any

from sqlalchemy import event, inspect
from sqlalchemy.orm import Session, sessionmaker

from ivr.db.models import (
    DIALOG_OUTCOMES,
    Attempt,
    Callback,
    Debt,
    Debtor,
    OutboxEvent,
    PaymentInstructionRecord,
    Promise,
    PromisePlanRecord,
    Review,
    utcnow,
)

SCHEMA_FILE = "webhook-events.schema.json"
_ORDER = {
    "promise.created": 0,
    "payment_instruction.requested": 1,
    "callback.scheduled": 2,
    "review.opened": 3,
    "call.completed": 4,
}
_INSTALLED = "_ivr_outbox_installed"


def schema() -> dict[str, Any]:
    """The JSON Schema of every webhook body (shipped in the package)."""
    text = resources.files("ivr.outbox").joinpath(SCHEMA_FILE).read_text(encoding="utf-8")
    data: dict[str, Any] = json.loads(text)
    return data


def body_bytes(payload: dict[str, Any]) -> bytes:
    """The exact bytes POSTed and signed: compact, keys sorted, UTF-8 (the same on every retry)."""
    return json.dumps(payload, sort_keys=True, separators=(",", ":"), ensure_ascii=False).encode("utf-8")


def _money(value: Decimal | None) -> str | None:
    return None if value is None else f"{Decimal(value):.2f}"


def _contract(session: Session, debt_id: int | None) -> str | None:
    if debt_id is None:
        return None
    debt = session.get(Debt, debt_id)
    return debt.contract_id if debt is not None else None


def _attempt(session: Session, attempt_id: int | None) -> Attempt | None:
    return session.get(Attempt, attempt_id) if attempt_id is not None else None


def _plan_payload(plan: PromisePlanRecord) -> dict[str, Any]:
    return {
        "plan_id": plan.id,
        "offer_type": plan.offer_type,
        "original_balance": _money(plan.original_balance),
        "discount": _money(plan.discount),
        "total": _money(plan.total),
        "down_payment": plan.down_payment,
        "items": [{"date": i.due_date.isoformat(), "amount": _money(i.amount)} for i in plan.items],
    }


def _new_event(
    event_type: str, attempt: Attempt | None, debtor_id: int | None, data: dict[str, Any], at: dt.datetime
) -> OutboxEvent:
    key = uuid.uuid4().hex
    body = {
        "id": key,
        "type": event_type,
        "occurred_at": at.isoformat(),
        "attempt_id": attempt.id if attempt is not None else None,
        "campaign_id": attempt.campaign_id if attempt is not None else None,
        "debtor_id": debtor_id,
        "data": data,
    }
    return OutboxEvent(
        event_type=event_type,
        idempotency_key=key,
        attempt_id=body["attempt_id"],
        payload=body,
        state="pending",
        deliveries=0,
        next_attempt_at=at,
    )


def _events_for(session: Session, obj: object, plans: list[PromisePlanRecord]) -> list[OutboxEvent]:
    now = utcnow()
    if isinstance(obj, Promise):
        attempt = _attempt(session, obj.attempt_id)
        debtor = session.get(Debtor, obj.debtor_id)
        plan = next((p for p in plans if p.promise_id == obj.id), None)
        data: dict[str, Any] = {
            "promise_id": obj.id,
            "debtor_name": debtor.name if debtor else None,
            "contract": _contract(session, obj.debt_id),
            "first_date": obj.promised_date.isoformat(),
            "first_amount": _money(obj.amount),
            "installments": obj.installments,
        }
        if plan is not None:
            data.update(_plan_payload(plan))
        else:
            data.update(
                {
                    "offer_type": "installments" if obj.installments > 1 else "lump_sum",
                    "plan_id": None,
                    "items": [{"date": obj.promised_date.isoformat(), "amount": _money(obj.amount)}],
                }
            )
        return [_new_event("promise.created", attempt, obj.debtor_id, data, now)]
    if isinstance(obj, PaymentInstructionRecord):
        attempt = _attempt(session, obj.attempt_id)
        debtor = session.get(Debtor, obj.debtor_id)
        data = {
            "instruction_id": obj.id,
            "method": obj.method,
            "channel": obj.channel,
            "destination": obj.destination,
            "payload": obj.payload,
            "amount": _money(obj.amount),
            "due_date": obj.due_date.isoformat(),
            "debtor_name": debtor.name if debtor else None,
            "plan_id": obj.plan_id,
            "contract": _contract(session, attempt.debt_id if attempt else None),
        }
        return [_new_event("payment_instruction.requested", attempt, obj.debtor_id, data, now)]
    if isinstance(obj, Callback):
        attempt = _attempt(session, obj.attempt_id)
        data = {
            "callback_id": obj.id,
            "due_at": obj.due_at.isoformat() if obj.due_at else None,
            "requested_text": obj.requested_text,
        }
        return [_new_event("callback.scheduled", attempt, obj.debtor_id, data, now)]
    if isinstance(obj, Review):
        attempt = _attempt(session, obj.attempt_id)
        data = {"review_id": obj.id, "reason": obj.kind, "note": obj.note}
        proposed = next((p for p in plans if p.attempt_id == obj.attempt_id and p.offer_type == "proposal"), None)
        if proposed is not None:
            data["proposal"] = _plan_payload(proposed)
        return [_new_event("review.opened", attempt, obj.debtor_id, data, now)]
    return []


def _outcome_set(obj: object) -> bool:
    if not isinstance(obj, Attempt) or obj.outcome not in DIALOG_OUTCOMES:
        return False
    history = inspect(obj).attrs.outcome.history
    return bool(history.added) and not any(h in DIALOG_OUTCOMES for h in history.deleted if h)


def _completed(session: Session, attempt: Attempt) -> OutboxEvent:
    data = {
        "outcome": attempt.outcome,
        "right_party": attempt.right_party,
        "note": attempt.note,
        "contract": _contract(session, attempt.debt_id),
    }
    return _new_event("call.completed", attempt, attempt.debtor_id, data, utcnow())


def _after_flush(session: Session, _ctx: Any) -> None:
    """Build the events of what this flush stored (ids are known now); they are added at commit."""
    pending: list[object] = session.info.pop("_ivr_outbox_new", [])
    changed: list[Attempt] = session.info.pop("_ivr_outbox_outcomes", [])
    if not pending and not changed:
        return
    with session.no_autoflush:
        plans = session.info.setdefault("_ivr_outbox_plans", [])
        plans.extend(o for o in pending if isinstance(o, PromisePlanRecord))
        events = session.info.setdefault("_ivr_outbox_events", [])
        for obj in pending:
            events.extend(_events_for(session, obj, plans))
        events.extend(_completed(session, a) for a in changed)


def _before_flush(session: Session, _ctx: Any, _instances: Any) -> None:
    # Remember what this flush adds: after it, session.new is empty and the ids are known.
    new = [
        o
        for o in session.new
        if isinstance(o, (Promise, PaymentInstructionRecord, Callback, Review, PromisePlanRecord))
    ]
    outcomes = [o for o in (*session.dirty, *session.new) if _outcome_set(o)]
    session.info.setdefault("_ivr_outbox_new", []).extend(new)
    bucket = session.info.setdefault("_ivr_outbox_outcomes", [])
    bucket.extend(a for a in outcomes if all(a is not b for b in bucket))


def _before_commit(session: Session) -> None:
    session.flush()  # what is still pending gets its events too
    events: list[OutboxEvent] = session.info.pop("_ivr_outbox_events", [])
    session.info.pop("_ivr_outbox_plans", None)
    if events:
        # One transaction's events in a fixed order: the promise before its payment instruction, the call last.
        events.sort(key=lambda e: _ORDER[e.event_type])
        session.add_all(events)


def _after_rollback(session: Session) -> None:
    for key in ("_ivr_outbox_new", "_ivr_outbox_outcomes", "_ivr_outbox_events", "_ivr_outbox_plans"):
        session.info.pop(key, None)


def install(sessions: sessionmaker[Session]) -> sessionmaker[Session]:
    """Make every session of ``sessions`` write outbox events (idempotent)."""
    if not getattr(sessions, _INSTALLED, False):
        event.listen(sessions, "before_flush", _before_flush)
        event.listen(sessions, "after_flush_postexec", _after_flush)
        event.listen(sessions, "before_commit", _before_commit)
        event.listen(sessions, "after_rollback", _after_rollback)
        setattr(sessions, _INSTALLED, True)
    return sessions
