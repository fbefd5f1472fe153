"""What a call produced, written as it happens: answer, turns, the single outcome and what it implies.

Called by the call service (in a worker thread). Each function is one short transaction, so a crash of
the service loses nothing already said.
"""

from __future__ import annotations

import datetime as dt
import logging
from dataclasses import dataclass
from decimal import Decimal
from zoneinfo import ZoneInfo

from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from ivr.db.models import (
    Attempt,
    Callback,
    Campaign,
    Creditor,
    Debt,
    DoNotCall,
    PaymentInstructionRecord,
    Phone,
    Promise,
    PromisePlanItem,
    PromisePlanRecord,
    Turn,
    utcnow,
)
from ivr.dialog.offers import PromisePlan
from ivr.errors import NotFoundError
from ivr.privacy import mask_utterance
from ivr.payment.instructions import DebtPaymentData, PaymentInstruction

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class CallInfo:
    """Everything the dialog needs about one attempt, loaded once when the call is answered."""

    attempt_id: int
    debtor_id: int
    debtor_name: str
    creditor_name: str
    amount: Decimal
    due_date: dt.date
    records_calls: bool
    policy: dict[str, object]
    cpf_prefix: str | None
    """First 3 CPF digits; None unless a campaign verifying by CPF (cpf3) has this debtor (see ivr.privacy)."""
    birth_year: int | None
    timezone: str
    """The debtor's phone zone: 'today' and callback times are local to the debtor."""
    phone_e164: str = ""
    """The number this call is on (callbacks are offered inside its calling window and placed to it)."""
    address_state: str | None = None
    noronha: bool = False
    charges: Decimal = Decimal("0.00")
    """Interest + fines + fees of the campaign's debts (a discount may apply to these only)."""
    mobile: bool = False
    """The number called is a mobile (SMS and WhatsApp can reach it)."""
    payment_data: DebtPaymentData = DebtPaymentData()
    """Boleto line, payment link and e-mail of the debt, when the import had them."""
    broken_promise_date: dt.date | None = None
    """Follow-up: the date of the debtor's latest broken promise ("No dia X você tinha combinado…")."""


def load_call(sessions: sessionmaker[Session], attempt_id: int) -> CallInfo:
    """What the dialog needs about ``attempt_id``; ``NotFoundError`` when it is not in the ledger or has no debt."""
    with sessions() as s:
        return load_call_in(s, attempt_id)


def load_call_in(s: Session, attempt_id: int) -> CallInfo:
    """``load_call`` inside an open session (e.g. a rolled-back simulated attempt)."""
    row = s.execute(
        select(Attempt, Campaign, Creditor.name, Phone.timezones, Phone.e164)
        .join(Campaign, Campaign.id == Attempt.campaign_id)
        .join(Creditor, Creditor.id == Campaign.creditor_id)
        .join(Phone, Phone.id == Attempt.phone_id)
        .where(Attempt.id == attempt_id)
    ).first()
    if row is None:
        raise NotFoundError(f"attempt {attempt_id} is not in the ledger")
    attempt, campaign, creditor, zones, e164 = row
    debtor = attempt.debtor
    debt = attempt.debt
    if debt is None:
        debt = s.scalars(
            select(Debt).where(Debt.debtor_id == debtor.id, Debt.campaign_id == campaign.id).order_by(Debt.due_date)
        ).first()
    if debt is None:
        raise NotFoundError(f"attempt {attempt_id}: the debtor has no debt in campaign {campaign.name!r}")
    # The balance the bot speaks: open debts only, payments already imported taken off.
    open_debts = list(
        s.scalars(
            select(Debt).where(Debt.debtor_id == debtor.id, Debt.campaign_id == campaign.id, Debt.closed_at.is_(None))
        )
    )
    amount = sum((d.balance for d in open_debts), Decimal("0.00"))
    charges = sum((d.interest + d.fines + d.fees for d in open_debts), Decimal("0.00"))
    broken = s.scalar(
        select(Promise.promised_date)
        .where(Promise.debtor_id == debtor.id, Promise.status == "broken")
        .order_by(Promise.promised_date.desc())
        .limit(1)
    )
    return CallInfo(
        attempt_id=attempt.id,
        debtor_id=debtor.id,
        debtor_name=debtor.name,
        creditor_name=creditor,
        amount=amount,
        due_date=debt.due_date,
        records_calls=campaign.records_calls,
        policy=dict(campaign.policy or {}),
        cpf_prefix=debtor.cpf_prefix,
        birth_year=debtor.birth_date.year if debtor.birth_date else None,
        timezone=zones.split(",")[0],
        phone_e164=e164,
        address_state=debtor.state,
        noronha=debtor.noronha,
        charges=max(Decimal("0.00"), min(charges, amount)),
        mobile=_is_mobile(e164),
        payment_data=DebtPaymentData.of(debt, debtor),
        broken_promise_date=broken,
    )


def _is_mobile(e164: str) -> bool:
    """Brazilian mobiles have 9 subscriber digits starting with 9 (+55 DD 9XXXX-XXXX)."""
    digits = e164.removeprefix("+55")
    return len(digits) == 11 and digits[2] == "9"


def mark_answered(
    sessions: sessionmaker[Session], attempt_id: int, channel: str, uniqueid: str, at: dt.datetime | None = None
) -> None:
    """The service saw the call answered; the dialer may have seen it first (then only fill gaps)."""
    at = at or utcnow()
    with sessions.begin() as s:
        attempt = s.get(Attempt, attempt_id, with_for_update=True)
        if attempt is None:
            raise NotFoundError(f"attempt {attempt_id} is not in the ledger")
        attempt.answered_at = attempt.answered_at or at
        attempt.channel = attempt.channel or channel
        attempt.uniqueid = attempt.uniqueid or uniqueid
        if attempt.state in ("leased", "dialing"):
            attempt.state = "answered"


def record_turn(
    sessions: sessionmaker[Session],
    attempt_id: int,
    seq: int,
    speaker: str,
    text: str,
    intent: str | None = None,
    confidence: float | None = None,
    started_at: dt.datetime | None = None,
    latency_ms: float | None = None,
) -> None:
    with sessions.begin() as s:
        # A caller may key or say a whole CPF or phone number: their turns keep it masked (ivr.privacy). The bot's
        # own words never hold one and may carry numbers the debtor needs (a protocol number).
        text = text if speaker == "bot" else mask_utterance(text)
        s.add(
            Turn(
                attempt_id=attempt_id,
                seq=seq,
                speaker=speaker,
                text=text,
                intent=intent,
                confidence=confidence,
                started_at=started_at or utcnow(),
                latency_ms=latency_ms,
            )
        )


NOT_RIGHT_PARTY_OUTCOMES = frozenset(
    {
        "no_answer",
        "busy",
        "failed",
        "voicemail",
        "wrong_party",
        "not_available",
        "deceased",
        "unreachable_person",
    }
)
"""Outcomes that say the debtor was not the one on the line, whatever the identity flag says."""


def is_right_party(outcome: str, identity_confirmed: bool) -> bool:
    """The debtor in person was reached: they confirmed who they are and the call did not end as someone else.

    Identity confirmed and then silence or a hang-up still counts (no more calls that day, DESIGN rules table).
    """
    return identity_confirmed and outcome not in NOT_RIGHT_PARTY_OUTCOMES


def apply_outcome(
    s: Session,
    attempt: Attempt,
    outcome: str,
    *,
    promise_date: dt.date | None = None,
    promise_amount: Decimal | None = None,
    installments: int | None = None,
    callback_at: dt.date | dt.datetime | None = None,
    note: str = "",
    timezone: str = "America/Sao_Paulo",
    at: dt.datetime | None = None,
    review: str | None = None,
) -> None:
    """What an outcome implies, inside the caller's transaction: a promise, a callback (on the attempt's
    number), a do-not-call entry, or a review (``ivr.db.reviews.reason_for_outcome``).

    Shared by the call service's outcome and an agent's disposition (``ivr.db.dispositions``).
    """
    from ivr.db.reviews import open_review, reason_for_outcome

    at = at or utcnow()
    if outcome == "promise_to_pay" and promise_date is not None:
        # An agent correcting a promise of this call updates the open one (same id: its plan and events
        # still point at it) instead of adding a second promise for one call.
        earlier = s.scalar(
            select(Promise)
            .where(Promise.attempt_id == attempt.id, Promise.status == "open")
            .order_by(Promise.id.desc())
            .limit(1)
        )
        if earlier is not None:
            earlier.promised_date, earlier.amount = promise_date, promise_amount or Decimal("0.00")
            earlier.installments = installments or 1
        else:
            s.add(
                Promise(
                    attempt_id=attempt.id,
                    debtor_id=attempt.debtor_id,
                    debt_id=attempt.debt_id,
                    promised_date=promise_date,
                    amount=promise_amount or Decimal("0.00"),
                    installments=installments or 1,
                    confirmed=True,
                    created_at=at,
                )
            )
    elif outcome == "callback_scheduled":
        due: dt.datetime | None = None
        if isinstance(callback_at, dt.datetime):
            due = callback_at if callback_at.tzinfo else callback_at.replace(tzinfo=ZoneInfo(timezone))
        elif isinstance(callback_at, dt.date):
            due = dt.datetime.combine(callback_at, dt.time(10, 0), ZoneInfo(timezone))
        s.add(
            Callback(
                attempt_id=attempt.id,
                campaign_id=attempt.campaign_id,
                debtor_id=attempt.debtor_id,
                due_at=due,
                requested_text=note[:200] or None,
                phone_id=attempt.phone_id,
                created_at=at,
            )
        )
    elif outcome == "opt_out":
        if s.scalar(select(DoNotCall.id).where(DoNotCall.debtor_id == attempt.debtor_id)) is None:
            s.add(
                DoNotCall(
                    debtor_id=attempt.debtor_id, reason="asked to stop calling", attempt_id=attempt.id, created_at=at
                )
            )
    said = ""
    if outcome == "dispute":
        said = " ".join(s.scalars(select(Turn.text).where(Turn.attempt_id == attempt.id, Turn.speaker == "debtor")))
    reason = review or reason_for_outcome(outcome, note, said)
    if reason is not None:
        open_review(
            s,
            debtor_id=attempt.debtor_id,
            reason=reason,
            attempt_id=attempt.id,
            campaign_id=attempt.campaign_id,
            note=note or None,
            at=at,
        )


def record_outcome(
    sessions: sessionmaker[Session],
    attempt_id: int,
    outcome: str,
    *,
    promise_date: dt.date | None = None,
    promise_amount: Decimal | None = None,
    installments: int | None = None,
    callback_at: dt.date | dt.datetime | None = None,
    note: str = "",
    timezone: str = "America/Sao_Paulo",
    identity_confirmed: bool = True,
    review: str | None = None,
    protocol: str | None = None,
    plan: PromisePlan | None = None,
    payment: PaymentInstruction | None = None,
    at: dt.datetime | None = None,
) -> bool:
    """Set the attempt's single outcome and what follows from it; False when an outcome was already set.

    ``identity_confirmed``: the person confirmed being the debtor during the call; with it, any outcome but
    those of ``NOT_RIGHT_PARTY_OUTCOMES`` is a right-party contact. ``review``: a ``ReviewReason`` the dialog
    asks for explicitly (else the outcome decides, ``ivr.db.reviews.reason_for_outcome``). ``protocol`` is the
    call's protocol number, stored on the attempt. ``plan``: the promise's plan (stored with its items; for
    ``proposal`` the debtor's terms, with a review). ``payment``: how to pay and where to send it. Their outbox
    events are written in this same transaction (ivr.outbox.events). ``at``: when (default now; the simulator
    passes its instant).
    """
    note = mask_utterance(note)  # notes quote what the caller said (callback times, reasons): no CPF or phone
    with sessions.begin() as s:
        attempt = s.get(Attempt, attempt_id, with_for_update=True)
        if attempt is None:
            raise NotFoundError(f"attempt {attempt_id} is not in the ledger")
        if attempt.outcome is not None:
            log.warning("attempt %s: outcome %s not stored, it already has %s", attempt_id, outcome, attempt.outcome)
            return False
        attempt.outcome = outcome
        if protocol:
            attempt.protocol = protocol
        # A transfer, callback or opt-out asked for by someone who never confirmed being the debtor is not a
        # right-party contact (it must not stop the day's calls as if the debtor had been reached).
        attempt.right_party = is_right_party(outcome, identity_confirmed)
        if note:
            attempt.note = note[:2000]
        if outcome == "promise_to_pay" and plan is not None:
            promise = Promise(
                attempt_id=attempt.id,
                debtor_id=attempt.debtor_id,
                debt_id=attempt.debt_id,
                promised_date=plan.first.date,
                amount=plan.first.amount,
                installments=len(plan.installments),
                confirmed=True,
                created_at=at or utcnow(),
            )
            s.add(promise)
            stored = _store_plan(s, attempt, plan, promise)
            if payment is not None:
                _store_payment(s, attempt, payment, stored)
            apply_outcome(s, attempt, outcome, note=note, timezone=timezone, at=at, review=review)
        else:
            if outcome == "proposal" and plan is not None:
                _store_plan(s, attempt, plan, None)
                note = note or "the debtor proposed terms the policy does not allow"
            apply_outcome(
                s,
                attempt,
                outcome,
                promise_date=promise_date,
                promise_amount=promise_amount,
                installments=installments,
                callback_at=callback_at,
                note=note,
                timezone=timezone,
                at=at,
                review=review,
            )
        if payment is not None and outcome != "promise_to_pay":
            _store_payment(s, attempt, payment, None)  # asked for how to pay without a promise
        return True


def _store_plan(s: Session, attempt: Attempt, plan: PromisePlan, promise: Promise | None) -> PromisePlanRecord:
    record = PromisePlanRecord(
        attempt_id=attempt.id,
        debtor_id=attempt.debtor_id,
        debt_id=attempt.debt_id,
        promise=promise,
        offer_type=str(plan.offer),
        original_balance=plan.original_balance,
        discount=plan.discount,
        total=plan.total,
        down_payment=plan.down_payment,
        items=[PromisePlanItem(seq=n, due_date=i.date, amount=i.amount) for n, i in enumerate(plan.items, 1)],
    )
    s.add(record)
    return record


def _store_payment(s: Session, attempt: Attempt, payment: PaymentInstruction, plan: PromisePlanRecord | None) -> None:
    s.flush()  # the plan's id, for the instruction's row and its event
    s.add(
        PaymentInstructionRecord(
            attempt_id=attempt.id,
            debtor_id=attempt.debtor_id,
            plan_id=plan.id if plan else None,
            method=payment.method,
            channel=payment.channel,
            destination=payment.destination,
            payload=payment.payload,
            amount=payment.amount,
            due_date=payment.due_date,
        )
    )
    log.info(
        "attempt %s: %s by %s to %s requested", attempt.id, payment.method, payment.channel, payment.destination_masked
    )


def store_call_action(
    sessions: sessionmaker[Session],
    info: CallInfo,
    action: object,
    seq: int,
    started_at: dt.datetime,
    identity_confirmed: bool,
    latency_ms: float | None = None,
) -> None:
    """Store one dialog action of a call (a turn or the outcome) exactly as the call service does.

    The one write path of both ``ivr serve`` (``CallRecorder``) and ``ivr simulate --store``; other
    actions (say, listen, hang up) store nothing.
    """
    from ivr.dialog.engine import RecordOutcome, RecordTurn

    if isinstance(action, RecordTurn):
        record_turn(
            sessions,
            info.attempt_id,
            seq,
            action.speaker,
            action.text,
            action.intent,
            action.confidence,
            started_at,
            latency_ms,
        )
    elif isinstance(action, RecordOutcome):
        record_outcome(
            sessions,
            info.attempt_id,
            action.outcome,
            promise_date=action.promise_date,
            promise_amount=action.promise_amount,
            installments=action.installments,
            callback_at=action.callback_at,
            note=action.note,
            timezone=info.timezone,
            identity_confirmed=identity_confirmed,
            at=started_at,
            review=action.review,
            protocol=action.protocol,
            plan=action.plan,
            payment=action.payment,
        )
