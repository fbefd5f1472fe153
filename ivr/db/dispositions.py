"""An agent's result after a transfer (``ivr disposition``, and ``/api/dispositions`` in the web console).

The agent's outcome supersedes the bot's for the rules and the reports (DESIGN: "An agent's disposition
after a transfer supersedes the bot's outcome"): the scheduler reads ``attempts.disposition`` before
``attempts.outcome``. What it implies is stored as for a call outcome (``results.apply_outcome``): a
promise with its date and amount, a callback, a do-not-call entry, or a review.
"""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

from sqlalchemy.orm import Session

from ivr.db.models import DIALOG_OUTCOMES, RIGHT_PARTY_OUTCOMES, Attempt, utcnow
from ivr.db.results import apply_outcome
from ivr.errors import InputError, NotFoundError

DISPOSITION_OUTCOMES: tuple[str, ...] = tuple(o for o in DIALOG_OUTCOMES if o not in ("transferred", "no_response"))
"""What an agent may record: the dialog outcomes, except that the call was transferred or silent."""


def record_disposition(
    session: Session,
    attempt_id: int,
    outcome: str,
    *,
    promise_date: dt.date | None = None,
    amount: Decimal | None = None,
    callback_at: dt.datetime | None = None,
    note: str = "",
    agent: str = "agent",
    at: dt.datetime | None = None,
    timezone: str = "America/Sao_Paulo",
) -> Attempt:
    """Record the agent's ``outcome`` for ``attempt_id`` (inside the caller's transaction).

    ``promise_to_pay`` needs ``promise_date`` (``amount`` defaults to none given, 0.00). A second disposition
    of the same attempt replaces the first's outcome (an agent correcting themselves) but keeps what the first
    stored. Raises ``NotFoundError`` (no attempt) or ``InputError`` (unknown outcome, missing date).
    """
    if outcome not in DISPOSITION_OUTCOMES:
        raise InputError(f"--outcome {outcome!r} is not one of {', '.join(DISPOSITION_OUTCOMES)}")
    if outcome == "promise_to_pay" and promise_date is None:
        raise InputError("--outcome promise_to_pay needs --date (the promised payment date, YYYY-MM-DD)")
    attempt = session.get(Attempt, attempt_id, with_for_update=True)
    if attempt is None:
        raise NotFoundError(f"attempt {attempt_id} is not in the ledger; `ivr report` lists the campaign's calls")
    at = at or utcnow()
    attempt.disposition, attempt.disposition_by, attempt.disposition_at = outcome, agent[:80], at
    if outcome in RIGHT_PARTY_OUTCOMES:
        attempt.right_party = True  # the agent spoke with the debtor: no more calls that day
    if note:
        attempt.note = f"{attempt.note}; agent: {note}"[:2000] if attempt.note else f"agent: {note}"[:2000]
    apply_outcome(
        session,
        attempt,
        outcome,
        promise_date=promise_date,
        promise_amount=amount,
        callback_at=callback_at,
        note=note,
        timezone=timezone,
        at=at,
    )
    session.flush()
    return attempt
