"""What the console and the API change: campaigns, their state, phones, reviews. Each writes its audit entry
in the same transaction as the change.

Campaign creation applies the CLI's checks (``ivr campaign create``): a 14-digit CNPJ, a policy accepted by
``rules.Policy.from_dict``; state changes follow the CLI's transitions (``ivr campaign start|pause|...``).
"""

from __future__ import annotations

import datetime as dt
from decimal import Decimal
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from ivr.campaign.rules import Policy
from ivr.campaign.scheduler import campaign_policy, refresh_queue
from ivr.db.models import Campaign, Creditor, Phone, Review
from ivr.errors import ConfigError, InputError, NotFoundError
from ivr.web.accounts import audit

TRANSITIONS: dict[str, tuple[tuple[str, ...], str, bool]] = {
    # action: (allowed from, to, re-queue everyone)  — as ivr.cli.campaign_cmds
    "start": (("draft", "stopped", "done"), "running", True),
    "pause": (("running",), "paused", False),
    "resume": (("paused",), "running", True),
    "stop": (("running", "paused", "draft"), "stopped", False),
}


class FieldError(InputError):
    """An input error tied to one form/JSON field."""

    def __init__(self, field: str, message: str) -> None:
        super().__init__(message)
        self.field = field


def clean_cnpj(cnpj: str | None) -> str | None:
    if cnpj is None or not cnpj.strip():
        return None
    digits = "".join(c for c in cnpj if c.isdigit())
    if len(digits) != 14:
        raise FieldError("cnpj", f"CNPJ {cnpj!r} deve ter 14 dígitos")
    return digits


def check_policy(policy: Any) -> dict[str, Any]:
    """The policy object as stored, or FieldError naming the key (the CLI's ``--policy`` rules)."""
    if not isinstance(policy, dict):
        raise FieldError("policy", "policy: must be an object")
    try:
        Policy.from_dict(policy, "policy")
    except ConfigError as exc:
        text = str(exc)
        key = text.removeprefix("policy: ").split(" ", 1)[0].split(".")[0] if text.startswith("policy: ") else ""
        raise FieldError(f"policy.{key}" if key and key not in ("must", "unknown") else "policy", text) from None
    return policy


def create_campaign(
    session: Session,
    name: str,
    creditor: str,
    cnpj: str | None,
    records_calls: bool,
    policy: dict[str, Any],
    actor: str,
) -> Campaign:
    name = name.strip()
    if not name or len(name) > 120:
        raise FieldError("name", "nome da campanha: de 1 a 120 caracteres")
    if not creditor.strip():
        raise FieldError("creditor", "credor: obrigatório")
    cnpj = clean_cnpj(cnpj)
    policy = check_policy(policy)
    if session.scalar(select(Campaign.id).where(Campaign.name == name)) is not None:
        raise FieldError("name", f"a campanha {name!r} já existe")
    cred = session.scalar(select(Creditor).where(Creditor.name == creditor.strip()))
    if cred is None:
        cred = Creditor(name=creditor.strip(), cnpj=cnpj)
        session.add(cred)
        session.flush()
    camp = Campaign(name=name, creditor_id=cred.id, records_calls=records_calls, policy=policy, status="draft")
    session.add(camp)
    session.flush()
    audit(session, actor, "campaign.create", f"campaigns:{camp.id}", f"{name} for {cred.name}")
    return camp


def find_campaign_by(session: Session, ref: int | str) -> Campaign:
    camp = (
        session.get(Campaign, ref)
        if isinstance(ref, int)
        else session.scalar(select(Campaign).where(Campaign.name == ref))
    )
    if camp is None:
        raise NotFoundError(f"campanha {ref!r} não existe")
    return camp


def change_status(session: Session, camp: Campaign, action: str, actor: str, now: dt.datetime) -> str:
    """Apply start/pause/resume/stop; returns the new status. InputError when the transition is not allowed."""
    if action not in TRANSITIONS:
        raise FieldError("action", f"ação {action!r} desconhecida (start, pause, resume, stop)")
    allowed, to, requeue = TRANSITIONS[action]
    if camp.status not in allowed:
        raise FieldError(
            "action", f"a campanha {camp.name!r} está {camp.status}; {action} só vale para {' ou '.join(allowed)}"
        )
    policy = campaign_policy(camp)
    before = camp.status
    camp.status = to
    queued = refresh_queue(session, camp.id, now, policy, reopen=True) if requeue else 0
    audit(
        session,
        actor,
        f"campaign.{action}",
        f"campaigns:{camp.id}",
        f"{before} -> {to}" + (f", {queued} queued" if requeue else ""),
    )
    return to


def restore_phone(session: Session, phone_id: int, actor: str) -> Phone:
    """Undo an ``invalid`` mark: the number may be dialed again."""
    phone = session.get(Phone, phone_id)
    if phone is None:
        raise NotFoundError(f"telefone {phone_id} não existe")
    if phone.status != "invalid":
        raise FieldError("phone", "este telefone não está marcado como inválido")
    phone.status = "ok"
    audit(session, actor, "phone.restore", f"phones:{phone.id}", f"debtor {phone.debtor_id}")
    return phone


def resolve_review(
    session: Session, review_id: int, resolution: str, action: str | None, actor: str, now: dt.datetime
) -> Review:
    """Resolve through ``ivr.db.reviews.resolve_review`` (the CLI's ``ivr review resolve``), audited.

    ``action``: None, ``resume``, ``close_debt`` or ``stop_debtor`` (see that function).
    """
    from ivr.db.reviews import resolve_review as resolve

    if not resolution.strip():
        raise FieldError("resolution", "diga o que foi decidido (resolução)")
    try:
        review = resolve(session, review_id, resolution, action=action or None, resolved_by=actor, at=now)
    except InputError as exc:
        if isinstance(exc, FieldError):
            raise
        raise FieldError("action" if "action" in str(exc) else "review", str(exc)) from None
    audit(session, actor, "review.resolve", f"reviews:{review.id}", f"{action or 'close'}: {resolution[:200]}")
    return review


def record_payment(
    session: Session, campaign: str, contract: str, paid_on: dt.date, amount: Decimal, actor: str
) -> dict[str, Any]:
    """A payment of one debt (campaign + contract id) through ``ivr.db.payments.record_payment``, audited."""
    from ivr.db.models import Debt
    from ivr.db.payments import record_payment as record

    camp = find_campaign_by(session, campaign)
    debt = session.scalar(select(Debt).where(Debt.campaign_id == camp.id, Debt.contract_id == contract))
    if debt is None:
        raise FieldError("contract", f"contrato {contract!r} não existe na campanha {campaign!r}")
    try:
        payment, closed, kept = record(session, debt, paid_on, amount, source=actor)
    except InputError as exc:
        raise FieldError("amount", str(exc)) from None
    audit(session, actor, "payment.record", f"debts:{debt.id}", f"{amount} on {paid_on.isoformat()}")
    return {
        "payment_id": payment.id if payment else None,
        "duplicate": payment is None,
        "debt_closed": closed,
        "promises_kept": kept,
        "balance": str(debt.total - (debt.paid_total or Decimal("0.00"))),
    }


def record_disposition(
    session: Session,
    attempt_id: int,
    outcome: str,
    actor: str,
    *,
    promise_date: dt.date | None = None,
    amount: Decimal | None = None,
    callback_at: dt.datetime | None = None,
    note: str = "",
    agent: str | None = None,
) -> Any:
    """An agent's result after a transfer, through ``ivr.db.dispositions.record_disposition``, audited."""
    from ivr.db.dispositions import record_disposition as record

    try:
        attempt = record(
            session,
            attempt_id,
            outcome,
            promise_date=promise_date,
            amount=amount,
            callback_at=callback_at,
            note=note,
            agent=agent or actor,
        )
    except InputError as exc:
        field = "promise_date" if "--date" in str(exc) else "outcome"
        raise FieldError(field, str(exc).replace("--outcome", "outcome").replace("--date", "promise_date")) from None
    audit(session, actor, "disposition.record", f"attempts:{attempt_id}", outcome)
    return attempt
