"""The language faults of issue 10 (section 3), each listed input with its right value."""

from __future__ import annotations

from datetime import date, time
from decimal import Decimal

import pytest

from ivr.language.nlu import parse
from ivr.language.verbalize import say_time_at, verbalize
from ivr.vocabulary import Asked

TODAY = date(2026, 11, 23)


@pytest.mark.parametrize(
    "text",
    [
        "duzentos e cinquenta e noventa centavos",
        "duzentos e cinquenta reais e noventa",
        "duzentos e cinquenta reais com noventa",
        "posso pagar duzentos e cinquenta reais e noventa centavos",
        "pago duzentos e cinquenta e noventa",
    ],
)
def test_cents_with_or_without_reais(text: str) -> None:
    assert parse(text, TODAY).amount == Decimal("250.90")


def test_reais_and_a_count_of_days_is_not_cents() -> None:
    assert parse("pago 250 reais e 10 dias depois o resto", TODAY).amount == Decimal("250")


@pytest.mark.parametrize(
    ("text", "today", "expected"),
    [
        ("pago dia trinta e um", date(2026, 11, 30), date(2026, 12, 31)),
        ("dia trinta", date(2027, 2, 27), date(2027, 3, 30)),
        ("dia trinta e um", date(2026, 4, 10), date(2026, 5, 31)),
        ("dia 29", date(2027, 2, 1), date(2027, 3, 29)),  # 2027 is not a leap year
        ("dia 29", date(2028, 2, 1), date(2028, 2, 29)),  # 2028 is
        ("daqui a um mês", date(2027, 1, 31), date(2027, 2, 28)),  # a month from the 31st: the month's last day
    ],
)
def test_a_day_the_month_lacks_is_the_next_month_that_has_it(text: str, today: date, expected: date) -> None:
    assert parse(text, today).date == expected


def test_not_yet_paid_but_will_pay_is_a_promise_for_the_next_tenth() -> None:
    r = parse("ainda não paguei mas vou pagar dia 10", TODAY)
    assert (r.intent, r.date) == ("promise_to_pay", date(2026, 12, 10))


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("depois do dia 10", date(2026, 12, 11)),
        ("só consigo depois do dia 25", date(2026, 11, 26)),
        ("antes do dia 10", date(2026, 12, 9)),
        ("pago antes do dia 30", date(2026, 11, 29)),
    ],
)
def test_after_and_before_a_day(text: str, expected: date) -> None:
    assert parse(text, TODAY).date == expected


@pytest.mark.parametrize("context", [None, Asked.YES_NO])
def test_sem_problema_after_a_question_is_a_yes(context: Asked | None) -> None:
    assert parse("sem problema", TODAY, context=context).intent == "affirm"


def test_sem_problema_does_not_confirm_identity() -> None:
    assert parse("sem problema", TODAY, context=Asked.IDENTITY, debtor_name="Maria Souza").intent == "unknown"


@pytest.mark.parametrize(
    ("text", "context", "expected"),
    [
        ("me liga às vinte e uma e um", None, time(21, 1)),
        ("vinte e uma e um", Asked.CALLBACK, time(21, 1)),
        ("às quinze e trinta", Asked.CALLBACK, time(15, 30)),
        ("amanhã de tarde", Asked.CALLBACK, time(15, 0)),
        ("liga no fim da tarde", None, time(17, 0)),
        ("me liga de manhã", None, time(10, 0)),
        ("me liga na hora do almoço", None, time(12, 0)),
    ],
)
def test_times(text: str, context: Asked | None, expected: time) -> None:
    assert parse(text, TODAY, context=context).time == expected


@pytest.mark.parametrize(
    ("text", "spoken"),
    [
        ("18:00h", "dezoito horas"),
        ("14:00hs", "quatorze horas"),
        ("às 18:00h", "às dezoito horas"),
        ("às 01:00", "à uma hora"),
        ("às 12:00", "ao meio-dia"),
        ("às 00:00", "à meia-noite"),
        ("9h30", "nove e trinta"),
    ],
)
def test_clock_times_are_spoken_with_the_right_article(text: str, spoken: str) -> None:
    assert verbalize(text) == spoken


@pytest.mark.parametrize(
    ("t", "spoken"),
    [
        (time(1, 0), "à uma hora"),
        (time(12, 0), "ao meio-dia"),
        (time(0, 0), "à meia-noite"),
        (time(13, 0), "às treze horas"),
        (time(21, 1), "às vinte e uma e um"),
    ],
)
def test_say_time_at(t: time, spoken: str) -> None:
    assert say_time_at(t) == spoken


@pytest.mark.parametrize(
    ("text", "context", "intent", "slot", "value"),
    [
        ("quinze", Asked.DATE, "promise_to_pay", "date", date(2026, 12, 15)),
        ("dia vinte e cinco", Asked.DATE, "promise_to_pay", "date", date(2026, 11, 25)),
        ("trezentos", Asked.AMOUNT, "promise_to_pay", "amount", Decimal("300")),
        ("uns quinhentos", Asked.AMOUNT, "promise_to_pay", "amount", Decimal("500")),
        ("três", Asked.INSTALLMENTS, "negotiate", "installments", 3),
        ("em duas vezes", Asked.INSTALLMENTS, "negotiate", "installments", 2),
    ],
)
def test_a_number_alone_is_read_for_the_question_it_answers(
    text: str, context: Asked, intent: str, slot: str, value: object
) -> None:
    r = parse(text, TODAY, context=context)
    assert (r.intent, getattr(r, slot)) == (intent, value)


def test_a_number_alone_without_context_is_not_a_date() -> None:
    assert parse("quinze", TODAY).date is None


@pytest.mark.parametrize("text", ["é a mãe dela", "sou o cunhado", "ela não pode atender"])
def test_relation_words_are_read_for_the_identity_question(text: str) -> None:
    assert parse(text, TODAY, context=Asked.IDENTITY, debtor_name="Maria Souza").intent == "not_available"
