"""Offers by policy: lump sums with discount, installments with down payment and minimum, partial plans.

Property tests (hypothesis) check the one invariant the issue insists on: every plan adds up EXACTLY.
"""

from __future__ import annotations

from datetime import date, timedelta
from decimal import Decimal
from fractions import Fraction

from hypothesis import given, settings, strategies as st

from ivr.dialog.offers import (
    REST,
    Balance,
    InstallmentsOffer,
    LumpSumOffer,
    OfferType,
    PromisePlan,
    Refusal,
    RefusalReason,
    add_months,
    discount_quote,
    installment_plan,
    lump_sum,
    most_installments,
    partial_plan,
    proposal,
    split_evenly,
)

D = Decimal
TODAY = date(2026, 12, 1)  # a Tuesday


def test_lump_sum_discount_on_total() -> None:
    plan = lump_sum(Balance(D("350.00")), LumpSumOffer(D("10"), 3), TODAY, 10)
    assert isinstance(plan, PromisePlan)
    assert plan.offer is OfferType.LUMP_SUM
    assert plan.items[0].date == date(2026, 12, 4)  # "até sexta"
    assert (plan.total, plan.discount, plan.original_balance) == (D("315.00"), D("35.00"), D("350.00"))


def test_lump_sum_discount_on_charges_only() -> None:
    # R$ 350 = 280 principal + 70 interest, fines and fees: 50 % off the charges is R$ 35.
    plan = lump_sum(Balance(D("350.00"), charges=D("70.00")), LumpSumOffer(D("50"), None, "charges"), TODAY, 10)
    assert isinstance(plan, PromisePlan)
    assert plan.total == D("315.00") and plan.discount == D("35.00")
    assert plan.items[0].date == TODAY + timedelta(days=10)  # no pay_within_days: the promise window


def test_discount_rounds_half_up_to_the_cent() -> None:
    plan = lump_sum(Balance(D("100.05")), LumpSumOffer(D("10")), TODAY, 10)
    assert isinstance(plan, PromisePlan)
    assert plan.discount == D("10.01") and plan.total == D("90.04")


def test_discount_only_until_its_deadline_then_the_full_price() -> None:
    offer = LumpSumOffer(D("10"), 3)
    late = lump_sum(Balance(D("350.00")), offer, TODAY, 10, pay_on=TODAY + timedelta(days=5))
    assert isinstance(late, PromisePlan) and late.discount == 0 and late.total == D("350.00")
    beyond = lump_sum(Balance(D("350.00")), offer, TODAY, 10, pay_on=TODAY + timedelta(days=11))
    assert isinstance(beyond, Refusal) and beyond.reason is RefusalReason.DATE_OUTSIDE_WINDOW
    past = lump_sum(Balance(D("350.00")), offer, TODAY, 10, pay_on=TODAY - timedelta(days=1))
    assert isinstance(past, Refusal) and past.reason is RefusalReason.DATE_PAST


def test_no_discount_is_an_explicit_refusal() -> None:
    quote = discount_quote(Balance(D("350.00")), LumpSumOffer(), TODAY, 10)
    assert isinstance(quote, Refusal) and quote.reason is RefusalReason.NO_DISCOUNT


def test_installments_with_down_payment_add_up_and_remainder_on_the_first() -> None:
    offer = InstallmentsOffer(max=4, min_installment=D("50"), down_payment_percent=D("20"))
    plan = installment_plan(Balance(D("350.00")), offer, 3, date(2026, 12, 5), TODAY, 10)
    assert isinstance(plan, PromisePlan) and plan.down_payment
    assert [i.amount for i in plan.items] == [D("70.01"), D("93.33"), D("93.33"), D("93.33")]
    assert [i.date for i in plan.items] == [date(2026, 12, 5), date(2027, 1, 5), date(2027, 2, 5), date(2027, 3, 5)]
    assert plan.total == D("350.00")
    assert [i.amount for i in plan.installments] == [D("93.33")] * 3


def test_installments_without_down_payment_remainder_on_the_first() -> None:
    plan = installment_plan(Balance(D("100.00")), InstallmentsOffer(max=3), 3, TODAY, TODAY, 10)
    assert isinstance(plan, PromisePlan) and not plan.down_payment
    assert [i.amount for i in plan.items] == [D("33.34"), D("33.33"), D("33.33")]


def test_installment_discount_is_taken_before_dividing() -> None:
    plan = installment_plan(
        Balance(D("300.00")), InstallmentsOffer(max=3, discount_percent=D("5")), 3, TODAY, TODAY, 10
    )
    assert isinstance(plan, PromisePlan)
    assert plan.discount == D("15.00") and plan.total == D("285.00")
    assert [i.amount for i in plan.items] == [D("95.00")] * 3


def test_three_times_one_hundred_on_350_is_refused_not_rounded() -> None:
    # The old bot made 3 × 116,67 = 350,01 of "três vezes de cem" without a word.
    quote = installment_plan(
        Balance(D("350.00")), InstallmentsOffer(max=3), 3, TODAY, TODAY, 10, requested_amount=D("100")
    )
    assert isinstance(quote, Refusal) and quote.reason is RefusalReason.AMOUNT_MISMATCH
    assert quote.limit == D("116.66")


def test_minimum_installment_and_too_many() -> None:
    offer = InstallmentsOffer(max=6, min_installment=D("100"))
    low = installment_plan(Balance(D("350.00")), offer, 4, TODAY, TODAY, 10)
    assert isinstance(low, Refusal) and low.reason is RefusalReason.BELOW_MINIMUM and low.limit == 3
    assert most_installments(Balance(D("350.00")), offer) == 3
    many = installment_plan(Balance(D("350.00")), offer, 7, TODAY, TODAY, 10)
    assert isinstance(many, Refusal) and many.reason is RefusalReason.TOO_MANY_INSTALLMENTS and many.limit == 6
    none = installment_plan(Balance(D("350.00")), InstallmentsOffer(max=1), 2, TODAY, TODAY, 10)
    assert isinstance(none, Refusal) and none.reason is RefusalReason.NO_INSTALLMENTS
    assert most_installments(Balance(D("90.00")), offer) == 1


def test_first_installment_past_the_window_is_refused() -> None:
    quote = installment_plan(Balance(D("350.00")), InstallmentsOffer(), 2, TODAY + timedelta(days=30), TODAY, 10)
    assert isinstance(quote, Refusal) and quote.reason is RefusalReason.DATE_OUTSIDE_WINDOW


def test_monthly_dates_clamp_to_month_end() -> None:
    assert add_months(date(2027, 1, 31), 1) == date(2027, 2, 28)
    assert add_months(date(2026, 12, 15), 2) == date(2027, 2, 15)


def test_half_now() -> None:
    plan = partial_plan(Balance(D("350.01")), True, [(TODAY, Fraction(1, 2))], TODAY, 10)
    assert isinstance(plan, PromisePlan) and plan.offer is OfferType.PARTIAL
    assert plan.total == D("175.00") and plan.original_balance == D("350.01")


def test_half_now_and_the_rest_next_month() -> None:
    plan = partial_plan(
        Balance(D("350.01")), True, [(TODAY, Fraction(1, 2)), (add_months(TODAY, 1), REST)], TODAY, 10, horizon_days=90
    )
    assert isinstance(plan, PromisePlan)
    assert [i.amount for i in plan.items] == [D("175.00"), D("175.01")] and plan.total == D("350.01")


def test_half_and_half_remainder_on_the_first() -> None:
    plan = partial_plan(
        Balance(D("350.01")), True, [(TODAY, Fraction(1, 2)), (TODAY + timedelta(days=5), Fraction(1, 2))], TODAY, 10
    )
    assert isinstance(plan, PromisePlan)
    assert [i.amount for i in plan.items] == [D("175.01"), D("175.00")]


def test_two_dates_two_amounts() -> None:
    plan = partial_plan(
        Balance(D("300.00")),
        False,
        [(date(2026, 12, 10), D("150")), (date(2026, 12, 20), D("150"))],
        TODAY,
        10,
        horizon_days=30,
    )
    assert isinstance(plan, PromisePlan)
    assert plan.to_json() == [{"date": "2026-12-10", "amount": "150.00"}, {"date": "2026-12-20", "amount": "150.00"}]


def test_partial_refusals() -> None:
    forbidden = partial_plan(Balance(D("350.00")), False, [(TODAY, Fraction(1, 2))], TODAY, 10)
    assert isinstance(forbidden, Refusal) and forbidden.reason is RefusalReason.PARTIAL_NOT_ALLOWED
    over = partial_plan(
        Balance(D("300.00")), True, [(TODAY, D("200")), (TODAY + timedelta(days=2), D("200"))], TODAY, 10
    )
    assert isinstance(over, Refusal) and over.reason is RefusalReason.OVER_BALANCE
    late = partial_plan(
        Balance(D("300.00")), True, [(TODAY, D("100")), (TODAY + timedelta(days=40), REST)], TODAY, 10, horizon_days=30
    )
    assert isinstance(late, Refusal) and late.reason is RefusalReason.DATE_OUTSIDE_WINDOW


def test_proposal_keeps_the_debtors_terms() -> None:
    plan = proposal(Balance(D("350.00")), [(date(2027, 1, 5), D("350"))])
    assert plan.offer is OfferType.PROPOSAL and plan.total == D("350.00")


def test_split_evenly_examples() -> None:
    assert split_evenly(D("350.00"), 3) == [D("116.68"), D("116.66"), D("116.66")]
    assert split_evenly(D("0.05"), 3) == [D("0.03"), D("0.01"), D("0.01")]


money = st.decimals(min_value=D("1.00"), max_value=D("999999.99"), places=2)
percent = st.decimals(min_value=D("0"), max_value=D("99.99"), places=2)


@settings(max_examples=400, deadline=None)
@given(total=money, count=st.integers(2, 24), down=percent, discount=percent)
def test_every_installment_plan_adds_up_exactly(total: Decimal, count: int, down: Decimal, discount: Decimal) -> None:
    offer = InstallmentsOffer(max=24, down_payment_percent=down, discount_percent=discount)
    quote = installment_plan(Balance(total), offer, count, TODAY, TODAY, 10)
    if isinstance(quote, Refusal):
        assert quote.reason is RefusalReason.BELOW_MINIMUM  # only a cent-sized installment is refused
        return
    assert quote.total == quote.original_balance - quote.discount
    assert all(i.amount == i.amount.quantize(D("0.01")) and i.amount > 0 for i in quote.items)
    regular = quote.installments
    assert len(regular) == count and len({i.amount for i in regular[1:]}) <= 1
    assert quote.items[0].amount >= quote.items[-1].amount or quote.down_payment


@settings(max_examples=300, deadline=None)
@given(
    total=money,
    charges_share=st.decimals(min_value=D("0"), max_value=D("1"), places=2),
    pct=percent,
    applies=st.sampled_from(["total", "charges"]),
)
def test_every_lump_sum_adds_up_exactly(total: Decimal, charges_share: Decimal, pct: Decimal, applies: str) -> None:
    charges = (total * charges_share).quantize(D("0.01"))
    quote = lump_sum(Balance(total, charges), LumpSumOffer(pct, None, applies), TODAY, 10)  # type: ignore[arg-type]
    assert isinstance(quote, PromisePlan)
    assert quote.total + quote.discount == total and quote.total > 0
    if applies == "charges":
        assert quote.discount <= charges


@settings(max_examples=300, deadline=None)
@given(
    total=money,
    shares=st.lists(st.fractions(min_value=Fraction(1, 12), max_value=1, max_denominator=12), min_size=1, max_size=4),
    with_rest=st.booleans(),
)
def test_every_partial_plan_adds_up_exactly(total: Decimal, shares: list[Fraction], with_rest: bool) -> None:
    parts: list[tuple[date, Decimal | Fraction | str]] = [(TODAY + timedelta(days=i), s) for i, s in enumerate(shares)]
    if with_rest:
        parts.append((TODAY + timedelta(days=len(shares)), REST))
    quote = partial_plan(Balance(total), True, parts, TODAY, 10)  # type: ignore[arg-type]
    share = sum(shares, Fraction(0))
    if isinstance(quote, Refusal):
        assert quote.reason in (RefusalReason.OVER_BALANCE, RefusalReason.AMOUNT_MISMATCH)
        return
    if with_rest or share >= 1:
        assert quote.total == total
    else:
        assert quote.total == (total * share.numerator / share.denominator).quantize(D("0.01"), rounding="ROUND_DOWN")
    assert sum((i.amount for i in quote.items), D("0")) == quote.total
