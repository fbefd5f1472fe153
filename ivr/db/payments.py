"""Payments from the creditor's file, and the promises they keep or that break without them.

``import_payments`` reads a CSV with the debtor import's conventions (UTF-8 or Latin-1, ``;`` or ``,``,
header names matched without case or accents: ``contrato;valor pago;data do pagamento``), stores every
good row in one transaction, idempotent per (contract, date, amount), and lists refused rows in
``<file>.rejects.csv`` (line, field, reason). A debt paid in full is closed and never called again
(CDC art. 42); a partial payment lowers the balance the bot speaks. A payment on or before a promise's
deadline (the promised date plus the campaign's grace in business days, ``rules.promise_deadline``)
marks the promise kept; ``settle_promises`` marks those past their deadline without one as broken.

The header matching is a few lines of its own rather than the debtor importer's private helpers: that
module is being split, and the aliases differ (here ``valor pago`` is the amount, ``data`` the payment date).
"""

from __future__ import annotations

import datetime as dt
import os
import re
from collections.abc import Iterable
from dataclasses import dataclass, field
from decimal import Decimal
from pathlib import Path
from zoneinfo import ZoneInfo

from sqlalchemy import func, select
from sqlalchemy.orm import Session, sessionmaker

from ivr.br.formats import parse_amount, parse_date
from ivr.campaign import rules
from ivr.db.csvsource import CsvSource, RejectsWriter, header_key
from ivr.db.models import Attempt, Campaign, Debt, Debtor, Payment, Phone, Promise, utcnow
from ivr.db.reports import find_campaign
from ivr.errors import InputError, IvrError

LOCAL_ZONE = ZoneInfo("America/Sao_Paulo")
CENT = Decimal("0.01")

HEADER_ALIASES: dict[str, tuple[str, ...]] = {
    "contract": ("contrato", "numerocontrato", "contract", "nrcontrato", "numcontrato", "nocontrato"),
    "amount": ("valorpago", "valor", "valorpagamento", "pago", "amount", "valorrecebido"),
    "paid_on": ("datapagamento", "data", "pagamento", "datapagto", "dtpagamento", "paidon", "datarecebimento"),
}
"""Canonical field → accepted header names (normalised: no accents, case, spaces or de/do/da)."""


def _norm_header(text: str) -> str:
    return header_key(text)  # the debtor import's comparison: ``Valor Pago (R$)`` → ``valorpago``


def map_payment_headers(headers: list[str]) -> dict[str, int]:
    """Canonical field → column index; ``InputError`` naming what is missing and the names accepted."""
    # The most specific name wins, wherever its column is: in ``contrato;valor;valor pago;data;data do
    # pagamento`` (a debt export with the payment added) the amount is ``valor pago``, not the debt's ``valor``.
    cols: dict[str, int] = {}
    rank: dict[str, int] = {}
    for i, header in enumerate(headers):
        norm = _norm_header(header)
        for name, aliases in HEADER_ALIASES.items():
            if norm in aliases and aliases.index(norm) < rank.get(name, len(aliases)):
                cols[name], rank[name] = i, aliases.index(norm)
    missing = [f for f in HEADER_ALIASES if f not in cols]
    if missing:
        names = "; ".join(f"{f}: {', '.join(HEADER_ALIASES[f][:3])}" for f in missing)
        raise InputError(f"missing column(s) {', '.join(missing)} (accepted names: {names})")
    return cols


@dataclass
class PaymentReject:
    line: int
    field: str
    reason: str


@dataclass
class PaymentReport:
    path: Path
    taken: int = 0
    """New payments stored."""
    unchanged: int = 0
    """Rows already imported (same contract, date and amount): nothing changed."""
    refused: int = 0
    debts_closed: int = 0
    promises_kept: int = 0
    promises_broken: int = 0
    rejects: list[PaymentReject] = field(default_factory=list)
    rejects_path: Path | None = None


def rejects_path_for(path: Path) -> Path:
    return path.with_name(path.stem + ".rejects.csv")


def _grace(session: Session, campaign_id: int) -> int:
    camp = session.get(Campaign, campaign_id)
    policy = rules.Policy.from_dict(camp.policy or {}) if camp is not None else rules.Policy()
    return policy.promise_grace_business_days


def _states(session: Session, debtor_id: int) -> tuple[str, ...]:
    """Holiday states of the person, as the rules count them: the first number's DDD state and the address."""
    debtor = session.get(Debtor, debtor_id)
    phone_state = session.scalar(select(Phone.state).where(Phone.debtor_id == debtor_id).order_by(Phone.id).limit(1))
    return tuple(dict.fromkeys(s for s in (phone_state, debtor.state if debtor else None) if s))


def promise_deadline_for(session: Session, promise: Promise) -> dt.date:
    """Last day a payment keeps ``promise``: its date plus the grace of the campaign that took it."""
    campaign_id = session.scalar(select(Attempt.campaign_id).where(Attempt.id == promise.attempt_id))
    grace = _grace(session, campaign_id) if campaign_id is not None else rules.Policy().promise_grace_business_days
    return rules.promise_deadline(promise.promised_date, grace, _states(session, promise.debtor_id))


def record_payment(
    session: Session,
    debt: Debt,
    paid_on: dt.date,
    amount: Decimal,
    *,
    source: str | None = None,
    at: dt.datetime | None = None,
) -> tuple[Payment | None, bool, int]:
    """Store one payment of ``debt`` (inside the caller's transaction): (payment or None when it was already
    there, whether the debt is now closed, promises it kept). Also the web console's ``/api/payments``.

    Raises ``InputError`` for an amount ≤ 0.
    """
    at = at or utcnow()
    amount = Decimal(amount).quantize(CENT)
    if amount <= 0:
        raise InputError(f"payment amount {amount} must be above zero")
    existing = session.scalar(
        select(Payment.id).where(Payment.debt_id == debt.id, Payment.paid_on == paid_on, Payment.amount == amount)
    )
    if existing is not None:
        return None, False, 0
    payment = Payment(debt_id=debt.id, paid_on=paid_on, amount=amount, source=source, created_at=at)
    session.add(payment)
    session.flush()
    debt.paid_total = (debt.paid_total or Decimal("0.00")) + amount
    closed = False
    if debt.closed_at is None and debt.paid_total >= debt.total:
        debt.closed_at, debt.closed_reason, closed = at, f"paid in full on {paid_on.isoformat()}", True
    kept = 0
    for promise in session.scalars(
        select(Promise)
        .where(
            Promise.debtor_id == debt.debtor_id,
            Promise.status == "open",
            (Promise.debt_id == debt.id) | Promise.debt_id.is_(None),
        )
        .order_by(Promise.promised_date, Promise.id)
    ):
        made_on = promise.created_at.astimezone(LOCAL_ZONE).date()
        deadline = promise_deadline_for(session, promise)
        if not made_on <= paid_on <= deadline:
            continue
        # A promise paid in parts (two transfers, a boleto and a PIX) is kept once they add up by the deadline.
        paid_in_window = session.scalar(
            select(func.coalesce(func.sum(Payment.amount), 0)).where(
                Payment.debt_id == debt.id, Payment.paid_on >= made_on, Payment.paid_on <= deadline
            )
        ) or Decimal("0")
        if closed or Decimal(paid_in_window) >= promise.amount - CENT:
            promise.status, promise.settled_at, promise.payment_id = "kept", at, payment.id
            kept += 1
            break
    return payment, closed, kept


def settle_promises(session: Session, at: dt.datetime, debtor_ids: Iterable[int] | None = None) -> int:
    """Mark open promises whose deadline is before ``at``'s local day as ``broken``; returns how many.

    The debtor becomes eligible again (the rules' pause ends on the same deadline) and the next call can
    say "No dia X você tinha combinado…" (``CallInfo.broken_promise_date``).
    """
    today = at.astimezone(LOCAL_ZONE).date()
    query = select(Promise).where(Promise.status == "open", Promise.promised_date < today)
    if debtor_ids is not None:
        query = query.where(Promise.debtor_id.in_(list(debtor_ids)))
    broken = 0
    for promise in session.scalars(query):
        if promise_deadline_for(session, promise) < today:
            promise.status, promise.settled_at = "broken", at
            broken += 1
    return broken


def contract_keys(text: str) -> list[str]:
    """The contract id as written, and as the debtor import may have stored it (spaces out, upper case,
    leading zeros of an all-digit id dropped), so ``000123`` in the payments file finds contract ``123``."""
    raw = text.strip()
    key = re.sub(r"\s+", "", raw).upper()
    if key.isdigit():
        key = key.lstrip("0") or "0"
    from ivr.db.rows import canonical_contract

    try:
        canonical = canonical_contract(raw)  # the form the debtor import stores (ivr.db.rows)
    except InputError:
        canonical = key
    return list(dict.fromkeys((raw, key, canonical)))


def _parse_row(record: list[str], cols: dict[str, int], line: int) -> tuple[str, dt.date, Decimal] | PaymentReject:
    def cell(name: str) -> str:
        i = cols[name]
        return record[i].strip() if i < len(record) else ""

    contract = cell("contract")
    if not contract:
        return PaymentReject(line, "contrato", "empty")
    try:
        paid_on = parse_date(cell("paid_on"))
    except (InputError, ValueError) as exc:
        return PaymentReject(line, "data do pagamento", str(exc))
    try:
        amount = parse_amount(cell("amount"))
    except (InputError, ValueError) as exc:
        return PaymentReject(line, "valor pago", str(exc))
    if amount <= 0:
        return PaymentReject(line, "valor pago", f"{cell('amount')!r} must be above zero")
    return contract, paid_on, amount


def import_payments(
    path: str | os.PathLike[str], campaign: str, sessions: sessionmaker[Session], *, at: dt.datetime | None = None
) -> PaymentReport:
    """Import a payments CSV into ``campaign`` in one transaction (see the module docstring).

    The file is read by the debtor import's :class:`~ivr.db.csvsource.CsvSource` (Excel's ``sep=;`` line,
    BOM, CR-only lines, Latin-1) and refused rows are written by its ``RejectsWriter`` (``linha;campo;motivo``
    then the row's own columns, so the rejects file can be fixed and imported again). Line numbers are
    physical lines of the file.

    Raises ``InputError`` (file missing, empty, missing columns) or ``NotFoundError`` (no such campaign).
    """
    at = at or utcnow()
    path = Path(path)
    source = CsvSource.open(path)
    try:
        cols = map_payment_headers(source.headers)
    except InputError as exc:
        raise InputError(f"{path}: line {source.header_line}: {exc}") from None
    report = PaymentReport(path=path)
    refused: list[tuple[PaymentReject, list[str]]] = []
    today = at.astimezone(LOCAL_ZONE).date()
    with sessions.begin() as s:
        camp = find_campaign(s, campaign)
        for rec in source.records():
            line, record = rec.line, rec.fields
            parsed = _parse_row(record, cols, line)
            if isinstance(parsed, PaymentReject):
                refused.append((parsed, record))
                continue
            contract, paid_on, amount = parsed
            if paid_on > today:
                refused.append(
                    (PaymentReject(line, "data do pagamento", f"{paid_on.isoformat()} is in the future"), record)
                )
                continue
            debt = s.scalar(
                select(Debt).where(Debt.campaign_id == camp.id, Debt.contract_id.in_(contract_keys(contract)))
            )
            if debt is None:
                refused.append(
                    (PaymentReject(line, "contrato", f"contract {contract!r} is not in campaign {camp.name!r}"), record)
                )
                continue
            payment, closed, kept = record_payment(s, debt, paid_on, amount, source=path.name, at=at)
            if payment is None:
                report.unchanged += 1
                continue
            report.taken += 1
            report.debts_closed += closed
            report.promises_kept += kept
        report.promises_broken = settle_promises(s, at)
    report.rejects = [r for r, _ in refused]
    report.refused = len(report.rejects)
    rejects = rejects_path_for(path)
    if refused:
        _write_rejects(rejects, source, refused)
        report.rejects_path = rejects
    else:
        rejects.unlink(missing_ok=True)
    return report


def _write_rejects(path: Path, source: CsvSource, refused: list[tuple[PaymentReject, list[str]]]) -> None:
    tmp = path.with_name(path.name + ".tmp")
    try:
        writer = RejectsWriter(tmp, source)  # 0600: contracts and amounts are personal data
        try:
            for reject, fields in refused:
                writer.write(reject.line, reject.field, reject.reason, fields)
        finally:
            writer.close()
    except OSError as exc:
        raise IvrError(f"{path}: cannot write the rejects file: {exc.strerror}") from None
    os.replace(tmp, path)
