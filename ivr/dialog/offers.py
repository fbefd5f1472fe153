"""What the bot may offer under a campaign policy, as pure arithmetic on exact reais (``Decimal``).

Four kinds of plan (``OfferType``): a lump sum ("à vista", with the policy's discount), installments
(optional down payment, minimum installment, discount), a partial plan the debtor proposed ("metade",
"150 dia 10 e 150 dia 20") and the debtor's own proposal past what the policy allows (a person decides).
Every function returns either a ``PromisePlan`` whose items add up EXACTLY to its total, or a ``Refusal``
saying why the policy cannot meet the request: the dialog then hands the debtor to a person, never
substitutes a different plan without a word.

Money rules (the common Brazilian practice):
- a discount is cut from the total, or from the charges only (interest + fines + fees: "desconto nos juros
  e multa"), rounded half-up to the cent;
- when an amount does not divide evenly, the remainder cents go on the FIRST payment of the plan (the down
  payment when there is one), so every later installment is the same figure the bot reads back.
"""

from __future__ import annotations

import calendar
import enum
import re
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import date, timedelta
from decimal import ROUND_DOWN, ROUND_HALF_UP, Decimal, InvalidOperation
from fractions import Fraction
from typing import Any, Literal

CENT = Decimal("0.01")
ZERO = Decimal("0.00")


class OfferType(enum.StrEnum):
    """Where a promise plan came from (stored with the plan, counted in the report)."""

    LUMP_SUM = "lump_sum"
    INSTALLMENTS = "installments"
    PARTIAL = "partial"
    PROPOSAL = "proposal"


OFFER_TYPES: tuple[str, ...] = tuple(str(o) for o in OfferType)


def cents(value: Decimal) -> Decimal:
    """Round half-up to the cent."""
    return value.quantize(CENT, rounding=ROUND_HALF_UP)


def _floor_cents(value: Decimal) -> Decimal:
    return value.quantize(CENT, rounding=ROUND_DOWN)


def add_months(day: date, months: int) -> date:
    """The same day ``months`` later; a day the month lacks becomes its last day (31/01 + 1 → 28/02)."""
    month0 = day.month - 1 + months
    year, month = day.year + month0 // 12, month0 % 12 + 1
    return date(year, month, min(day.day, calendar.monthrange(year, month)[1]))


# --------------------------------------------------------------------------- policy


@dataclass(frozen=True)
class LumpSumOffer:
    """Policy ``offers.lump_sum``."""

    discount_percent: Decimal = ZERO
    """0 ≤ x < 100; 0 offers no discount."""
    pay_within_days: int | None = None
    """Days from the call within which the discounted price holds; None: the campaign's promise window."""
    discount_applies_to: Literal["total", "charges"] = "total"
    """``charges``: the percentage is taken from interest + fines + fees only."""


@dataclass(frozen=True)
class InstallmentsOffer:
    """Policy ``offers.installments``."""

    max: int = 3
    """Installments after the down payment; 1 offers none. Defaults to the policy's ``max_installments``."""
    min_installment: Decimal = ZERO
    """Reais; no installment (down payment included) may be lower."""
    down_payment_percent: Decimal = ZERO
    """Share of the (discounted) total paid first, on the first date; 0: no down payment."""
    discount_percent: Decimal = ZERO
    """Cut from the total before it is divided."""


@dataclass(frozen=True)
class OffersPolicy:
    """Policy ``offers``; the defaults keep the bot's earlier behaviour (no discount, up to 3 installments)."""

    lump_sum: LumpSumOffer = field(default_factory=LumpSumOffer)
    installments: InstallmentsOffer = field(default_factory=InstallmentsOffer)
    partial: bool = True
    """Accept a payment of part of the balance (or a split the debtor proposes) as a promise."""


_LUMP_KEYS = ("discount_percent", "pay_within_days", "discount_applies_to")
_INST_KEYS = ("max", "min_installment", "down_payment_percent", "discount_percent")


def _percent(value: Any, where: str, errors: list[str]) -> Decimal:
    amount = _money(value, where, errors, what="a percentage")
    if amount is not None and amount >= 100:
        errors.append(f"{where} must be below 100, not {value!r}")
        return ZERO
    return amount if amount is not None else ZERO


def _money(value: Any, where: str, errors: list[str], what: str = "an amount in reais") -> Decimal | None:
    if isinstance(value, bool) or not isinstance(value, int | float | str):
        errors.append(f"{where} must be {what} (a number ≥ 0), not {value!r}")
        return None
    try:
        amount = Decimal(str(value).strip())
    except InvalidOperation:
        errors.append(f"{where} must be {what} (a number ≥ 0), not {value!r}")
        return None
    if not amount.is_finite() or amount < 0 or amount != amount.quantize(CENT):
        errors.append(f"{where} must be {what} ≥ 0 with at most 2 decimals, not {value!r}")
        return None
    return amount.quantize(CENT)


def _int(value: Any, where: str, errors: list[str], low: int, high: int) -> int | None:
    if isinstance(value, bool) or not isinstance(value, int) or not low <= value <= high:
        errors.append(f"{where} must be a whole number from {low} to {high}, not {value!r}")
        return None
    return value


def _table(value: Any, where: str, known: Sequence[str], errors: list[str]) -> dict[str, Any]:
    if not isinstance(value, dict):
        errors.append(f"{where} must be an object with the keys {', '.join(known)}")
        return {}
    for key in value:
        if key not in known:
            errors.append(f"{where}: unknown key {key!r} (known: {', '.join(known)})")
    return {k: v for k, v in value.items() if k in known}


def offers_from_dict(
    data: Any, source: str, errors: list[str], promise_window_days: int, max_installments: int | None
) -> OffersPolicy:
    """Policy ``offers`` from JSON; each problem is appended to ``errors`` as one line naming the key.

    ``max_installments`` is the policy's older top-level key when it was given: ``offers.installments.max``
    must agree with it.
    """
    where = f"{source}: offers"
    table = _table(data, where, ("lump_sum", "installments", "partial"), errors)
    lump = LumpSumOffer()
    if "lump_sum" in table:
        spec = _table(table["lump_sum"], f"{where}.lump_sum", _LUMP_KEYS, errors)
        kwargs: dict[str, Any] = {}
        if "discount_percent" in spec:
            kwargs["discount_percent"] = _percent(
                spec["discount_percent"], f"{where}.lump_sum.discount_percent", errors
            )
        if "pay_within_days" in spec:
            days = _int(spec["pay_within_days"], f"{where}.lump_sum.pay_within_days", errors, 0, 60)
            if days is not None and days > promise_window_days:
                errors.append(
                    f"{where}.lump_sum.pay_within_days ({days}) must not be past the promise window "
                    f"(promise_window_days {promise_window_days})"
                )
            kwargs["pay_within_days"] = days
        if "discount_applies_to" in spec:
            applies = spec["discount_applies_to"]
            if applies not in ("total", "charges"):
                errors.append(f'{where}.lump_sum.discount_applies_to must be "total" or "charges", not {applies!r}')
            else:
                kwargs["discount_applies_to"] = applies
        lump = LumpSumOffer(**kwargs)
    inst = InstallmentsOffer(max=max_installments if max_installments is not None else 3)
    if "installments" in table:
        spec = _table(table["installments"], f"{where}.installments", _INST_KEYS, errors)
        kw: dict[str, Any] = {"max": inst.max}
        if "max" in spec:
            count = _int(spec["max"], f"{where}.installments.max", errors, 1, 60)
            if count is not None:
                if max_installments is not None and count != max_installments:
                    errors.append(
                        f"{where}.installments.max ({count}) disagrees with max_installments "
                        f"({max_installments}): give only one of them"
                    )
                kw["max"] = count
        if "min_installment" in spec:
            kw["min_installment"] = (
                _money(spec["min_installment"], f"{where}.installments.min_installment", errors) or ZERO
            )
        for key in ("down_payment_percent", "discount_percent"):
            if key in spec:
                kw[key] = _percent(spec[key], f"{where}.installments.{key}", errors)
        inst = InstallmentsOffer(**kw)
    partial = True
    if "partial" in table:
        if not isinstance(table["partial"], bool):
            errors.append(f"{where}.partial must be true or false, not {table['partial']!r}")
        else:
            partial = table["partial"]
    return OffersPolicy(lump, inst, partial)


# --------------------------------------------------------------------------- results


@dataclass(frozen=True)
class Balance:
    """What the debtor owes, reais. ``charges`` = interest + fines + fees (0 when not itemised)."""

    total: Decimal
    charges: Decimal = ZERO

    def __post_init__(self) -> None:
        if self.total <= 0 or self.charges < 0 or self.charges > self.total:
            raise ValueError(f"a balance needs total > 0 and 0 ≤ charges ≤ total, not {self.total}/{self.charges}")


@dataclass(frozen=True)
class PlanItem:
    date: date
    amount: Decimal
    """Reais, exact cents."""

    def to_json(self) -> dict[str, str]:
        """``{"date": "2026-12-05", "amount": "315.00"}`` (the ``promise_plan`` contract of ``ivr simulate``)."""
        return {"date": self.date.isoformat(), "amount": f"{self.amount:.2f}"}


@dataclass(frozen=True)
class PromisePlan:
    offer: OfferType
    items: tuple[PlanItem, ...]
    original_balance: Decimal
    discount: Decimal = ZERO
    """Reais taken off the balance by the offer."""
    down_payment: bool = False
    """The first item is a down payment ("entrada"), the rest are the installments."""

    def __post_init__(self) -> None:
        if not self.items or any(i.amount <= 0 or i.amount != i.amount.quantize(CENT) for i in self.items):
            raise ValueError("a plan needs at least one item, each a positive amount in cents")
        if [i.date for i in self.items] != sorted(i.date for i in self.items):
            raise ValueError("plan items must be in date order")

    @property
    def total(self) -> Decimal:
        return sum((i.amount for i in self.items), ZERO)

    @property
    def first(self) -> PlanItem:
        return self.items[0]

    @property
    def last_date(self) -> date:
        return self.items[-1].date

    @property
    def installments(self) -> tuple[PlanItem, ...]:
        """The items after the down payment (all of them when there is none)."""
        return self.items[1:] if self.down_payment else self.items

    def to_json(self) -> list[dict[str, str]]:
        return [i.to_json() for i in self.items]


class RefusalReason(enum.StrEnum):
    NO_DISCOUNT = "no_discount"
    """The campaign gives no discount."""
    NO_INSTALLMENTS = "no_installments"
    TOO_MANY_INSTALLMENTS = "too_many_installments"
    BELOW_MINIMUM = "below_minimum_installment"
    AMOUNT_MISMATCH = "amount_mismatch"
    """The debtor's figures do not add up to what the policy allows (e.g. 3 × 100 on R$ 350)."""
    PARTIAL_NOT_ALLOWED = "partial_not_allowed"
    OVER_BALANCE = "over_balance"
    DATE_PAST = "date_past"
    DATE_OUTSIDE_WINDOW = "date_outside_window"
    """Past what the policy accepts: the debtor's proposal, for a person to decide."""


@dataclass(frozen=True)
class Refusal:
    """The policy cannot meet the request: a person decides (transfer or callback), or it becomes a proposal."""

    reason: RefusalReason
    detail: str
    limit: int | Decimal | date | None = None
    """What the policy does allow, to say it (the most installments, the latest date...)."""


Quote = PromisePlan | Refusal


# --------------------------------------------------------------------------- offers


def lump_sum(balance: Balance, offer: LumpSumOffer, today: date, window_days: int, pay_on: date | None = None) -> Quote:
    """One payment of the discounted total.

    The discount holds until ``today + pay_within_days`` (the promise window when unset); a later date inside
    the window gets the full balance; a date past the window is refused as ``DATE_OUTSIDE_WINDOW``.
    ``pay_on`` None means the last day of the discount (the date the bot proposes).
    """
    deadline = today + timedelta(days=offer.pay_within_days if offer.pay_within_days is not None else window_days)
    when = deadline if pay_on is None else pay_on
    if when < today:
        return Refusal(RefusalReason.DATE_PAST, f"{when.isoformat()} is before the call", today)
    if when > today + timedelta(days=window_days):
        return Refusal(
            RefusalReason.DATE_OUTSIDE_WINDOW,
            f"{when.isoformat()} is past the promise window",
            today + timedelta(days=window_days),
        )
    discount = ZERO
    if when <= deadline:
        base = balance.total if offer.discount_applies_to == "total" else balance.charges
        discount = min(cents(base * offer.discount_percent / 100), balance.total - CENT)
    return PromisePlan(OfferType.LUMP_SUM, (PlanItem(when, balance.total - discount),), balance.total, discount)


def discount_quote(balance: Balance, offer: LumpSumOffer, today: date, window_days: int) -> Quote:
    """The answer to "tem desconto à vista?": the discounted lump sum, or ``NO_DISCOUNT``."""
    quote = lump_sum(balance, offer, today, window_days)
    if isinstance(quote, PromisePlan) and quote.discount == 0:
        return Refusal(RefusalReason.NO_DISCOUNT, "the campaign gives no discount for paying at once")
    return quote


def split_evenly(total: Decimal, parts: int) -> list[Decimal]:
    """``total`` in ``parts`` equal cents, the remainder cents on the first: 100 / 3 → 33.34, 33.33, 33.33."""
    if parts < 1:
        raise ValueError("parts must be ≥ 1")
    each = _floor_cents(total / parts)
    return [total - each * (parts - 1), *([each] * (parts - 1))]


def _installment_amounts(net: Decimal, count: int, down_percent: Decimal) -> tuple[list[Decimal], bool]:
    """(amounts, has down payment); the remainder of the even split goes on the first payment."""
    if down_percent > 0:
        down = cents(net * down_percent / 100)
        rest = net - down
        each = _floor_cents(rest / count)
        return [down + (rest - each * count), *([each] * count)], True
    return split_evenly(net, count), False


def most_installments(balance: Balance, offer: InstallmentsOffer) -> int:
    """The largest count the policy allows for this balance (minimum installment included); 1 means none."""
    for count in range(offer.max, 1, -1):
        net = balance.total - cents(balance.total * offer.discount_percent / 100)
        amounts, _ = _installment_amounts(net, count, offer.down_payment_percent)
        if min(amounts) >= offer.min_installment:
            return count
    return 1


def installment_plan(
    balance: Balance,
    offer: InstallmentsOffer,
    count: int,
    first_date: date,
    today: date,
    window_days: int,
    requested_amount: Decimal | None = None,
) -> Quote:
    """``count`` monthly installments (after the down payment, when the policy asks for one).

    The first payment (the down payment, else installment 1) falls on ``first_date``, which must be inside the
    promise window; the others on the same day of the following months. ``requested_amount`` is the
    installment the debtor named ("três vezes de cem"): when the plan's installment differs, ``AMOUNT_MISMATCH``.
    """
    if offer.max < 2:
        return Refusal(RefusalReason.NO_INSTALLMENTS, "the campaign offers no installments")
    if count > offer.max:
        return Refusal(
            RefusalReason.TOO_MANY_INSTALLMENTS, f"{count} installments asked, {offer.max} allowed", offer.max
        )
    if count < 2:
        return Refusal(RefusalReason.NO_INSTALLMENTS, "an installment plan needs at least 2 installments", offer.max)
    if first_date < today:
        return Refusal(RefusalReason.DATE_PAST, f"{first_date.isoformat()} is before the call", today)
    if first_date > today + timedelta(days=window_days):
        return Refusal(
            RefusalReason.DATE_OUTSIDE_WINDOW,
            f"{first_date.isoformat()} is past the promise window",
            today + timedelta(days=window_days),
        )
    discount = cents(balance.total * offer.discount_percent / 100)
    net = balance.total - discount
    amounts, has_down = _installment_amounts(net, count, offer.down_payment_percent)
    if min(amounts) < offer.min_installment or min(amounts) <= 0:
        return Refusal(
            RefusalReason.BELOW_MINIMUM,
            f"an installment would be {min(amounts)}, the minimum is {offer.min_installment}",
            most_installments(balance, offer),
        )
    regular = amounts[-1]
    if requested_amount is not None and cents(requested_amount) != regular:
        return Refusal(
            RefusalReason.AMOUNT_MISMATCH,
            f"{count} × {cents(requested_amount)} asked; the plan's installment is {regular}",
            regular,
        )
    dates = [add_months(first_date, n) for n in range(len(amounts))]
    items = tuple(PlanItem(d, a) for d, a in zip(dates, amounts))
    return PromisePlan(OfferType.INSTALLMENTS, items, balance.total, discount, down_payment=has_down)


REST: Literal["rest"] = "rest"
"""A part whose amount is whatever the others leave ("e o resto mês que vem")."""

PartAmount = Decimal | Fraction | Literal["rest"]
"""Reais, a share of the balance (``Fraction(1, 2)``: "metade") or ``REST``."""


def resolve_parts(balance: Balance, parts: Sequence[PartAmount]) -> list[Decimal]:
    """The reais of each part, in order: shares to the cent (rounded down, the remainder cents on the first part
    when all parts are shares), ``REST`` = what the others leave. ValueError for more than one ``REST``."""
    if sum(1 for a in parts if isinstance(a, str)) > 1:
        raise ValueError("only one part may be the rest")
    amounts: list[Decimal | None] = []
    for amount in parts:
        if isinstance(amount, Fraction):
            amounts.append(_floor_cents(balance.total * amount.numerator / amount.denominator))
        elif isinstance(amount, Decimal):
            amounts.append(cents(amount))
        else:
            amounts.append(None)
    known = sum((a for a in amounts if a is not None), ZERO)
    if None in amounts:
        amounts[amounts.index(None)] = balance.total - known
    elif all(isinstance(a, Fraction) for a in parts):
        share = sum((a for a in parts if isinstance(a, Fraction)), Fraction(0))
        target = balance.total if share >= 1 else _floor_cents(balance.total * share.numerator / share.denominator)
        amounts[0] = (amounts[0] or ZERO) + (target - known)
    return [a for a in amounts if a is not None]


def partial_plan(
    balance: Balance,
    allow_partial: bool,
    parts: Sequence[tuple[date, PartAmount]],
    today: date,
    window_days: int,
    horizon_days: int | None = None,
) -> Quote:
    """The debtor's own split: "metade" / "metade agora e o resto mês que vem" / "150 dia 10 e 150 dia 20".

    Shares are taken to the cent (rounded down) and, when the parts are all shares, the remainder cents go on
    the first part, so "metade e metade" of R$ 350,01 is 175,01 + 175,00. The first part must be inside the
    promise window; later parts within ``horizon_days`` (default: the window). A plan below the balance needs
    ``allow_partial``; a plan above it is ``OVER_BALANCE``.
    """
    if not parts:
        raise ValueError("a partial plan needs at least one part")
    horizon = window_days if horizon_days is None else max(horizon_days, window_days)
    ordered = sorted(parts, key=lambda p: p[0])
    if ordered[0][0] < today:
        return Refusal(RefusalReason.DATE_PAST, f"{ordered[0][0].isoformat()} is before the call", today)
    if ordered[0][0] > today + timedelta(days=window_days):
        return Refusal(
            RefusalReason.DATE_OUTSIDE_WINDOW,
            "the first payment is past the promise window",
            today + timedelta(days=window_days),
        )
    if ordered[-1][0] > today + timedelta(days=horizon):
        return Refusal(
            RefusalReason.DATE_OUTSIDE_WINDOW,
            "the last payment is past what the campaign allows",
            today + timedelta(days=horizon),
        )
    values = resolve_parts(balance, [a for _, a in ordered])
    total = sum(values, ZERO)
    if any(a <= 0 for a in values):
        return Refusal(RefusalReason.AMOUNT_MISMATCH, "a part would be zero or less")
    if total > balance.total:
        return Refusal(
            RefusalReason.OVER_BALANCE, f"the parts add up to {total}, the balance is {balance.total}", balance.total
        )
    if total < balance.total and not allow_partial:
        return Refusal(
            RefusalReason.PARTIAL_NOT_ALLOWED, "the campaign does not accept part of the balance", balance.total
        )
    items = tuple(PlanItem(d, a) for (d, _), a in zip(ordered, values))
    return PromisePlan(OfferType.PARTIAL, items, balance.total)


def proposal(balance: Balance, parts: Sequence[tuple[date, Decimal]]) -> PromisePlan:
    """The debtor's terms that the policy does not allow (e.g. salary day past the window), kept for a person."""
    items = tuple(PlanItem(d, cents(a)) for d, a in sorted(parts, key=lambda p: p[0]))
    return PromisePlan(OfferType.PROPOSAL, items, balance.total)


_HALF = re.compile(r"\b(a\s+)?metade\b")


def mentions_half(text: str) -> bool:
    """ "posso pagar metade", "a metade agora": the debtor speaks of half the balance."""
    return _HALF.search(text.lower()) is not None
