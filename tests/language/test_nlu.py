"""NLU table tests: one literal utterance, the intent and slots it must give."""

from __future__ import annotations

from datetime import date, time
from decimal import Decimal

import pytest

from ivr.language.nlu import NluResult, normalize, parse

FRIDAY = date(2026, 11, 20)


@pytest.mark.parametrize(
    ("text", "intent"),
    [
        ("não", "deny"),
        ("uhum", "affirm"),
        ("pois não", "affirm"),
        ("não, não sou eu", "wrong_person"),
        ("é ele", "affirm"),
        ("não é ele", "wrong_person"),
        ("ele não tá", "not_available"),
        ("ela não mora mais aqui", "wrong_person"),
        ("não vou conseguir pagar", "cannot_pay"),
        ("ainda não paguei", "deny"),
        ("já paguei", "already_paid"),
        ("nao reconheco essa divida", "dispute"),
        ("quero falar com atendente", "agent"),
        ("já paguei, me passa pra um atendente", "agent"),
        ("não quero falar com atendente não", "deny"),
        ("para de me ligar", "opt_out"),
        ("me liga mais tarde", "callback"),
        ("não me liga mais", "opt_out"),
        ("agora não posso falar", "callback"),
        ("agora não posso pagar", "cannot_pay"),
        ("repete por favor", "repeat"),
        ("quero parcelar", "negotiate"),
        ("cê tá falando com a esposa dele", "not_available"),
        ("pagar eu quero mas não consigo", "cannot_pay"),
        ("não, não consigo", "cannot_pay"),
        ("quanto eu devo", "ask_amount"),  # issue 10: the amount again is its own question
        ("", "unknown"),
        ("   ", "unknown"),
        ("bom dia", "unknown"),
    ],
)
def test_intent(text: str, intent: str) -> None:
    assert parse(text, FRIDAY).intent == intent


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("vou pagar dia vinte e cinco", date(2026, 11, 25)),
        ("pago dia 10", date(2026, 12, 10)),  # the 10th has passed this month
        ("pago dia 20", date(2026, 11, 20)),  # today still counts
        ("dia 5 do mês que vem", date(2026, 12, 5)),
        ("pago 5 de janeiro", date(2027, 1, 5)),
        ("pago 5/12", date(2026, 12, 5)),
        ("pago 2026-12-03", date(2026, 12, 3)),
        ("pago amanhã", date(2026, 11, 21)),
        ("pago depois de amanhã", date(2026, 11, 22)),
        ("pago hoje", date(2026, 11, 20)),
        ("daqui a 4 dias", date(2026, 11, 24)),
        ("daqui a uma semana", date(2026, 11, 27)),
        ("pago na sexta", date(2026, 11, 27)),  # a weekday never means today
        ("segunda que vem", date(2026, 11, 23)),
        ("na próxima quarta", date(2026, 11, 25)),
        ("fim do mês", date(2026, 11, 30)),
        ("paguei ontem", date(2026, 11, 19)),
        ("paguei dia 15", date(2026, 11, 15)),  # paid: the 15th that has gone
        ("vou pagar semana que vem", None),
        ("quando receber eu pago", None),
        ("mês que vem", None),
    ],
)
def test_date(text: str, expected: date | None) -> None:
    assert parse(text, FRIDAY).date == expected


def test_a_day_a_short_month_lacks_is_the_next_month_that_has_it() -> None:
    # issue 10: "dia 31" in February was recorded as 28/02; the debtor means the next 31st.
    assert parse("pago dia 31", date(2027, 2, 10)).date == date(2027, 3, 31)
    assert parse("fim do mês", date(2028, 2, 3)).date == date(2028, 2, 29)


@pytest.mark.parametrize(
    ("text", "amount"),
    [
        ("cento e cinquenta reais", Decimal("150")),
        ("R$ 200", Decimal("200")),
        ("r$ 1.234,56", Decimal("1234.56")),
        ("pago 1234.56", Decimal("1234.56")),
        ("mil e duzentos reais e cinquenta centavos", Decimal("1200.50")),
        ("consigo uns quinhentos", Decimal("500")),
        ("dois mil reais", Decimal("2000")),
        ("2 mil reais", Decimal("2000")),
        ("cinquenta centavos", Decimal("0.50")),
        ("pago dia 25", None),
    ],
)
def test_amount(text: str, amount: Decimal | None) -> None:
    assert parse(text, FRIDAY).amount == amount


@pytest.mark.parametrize(
    ("text", "n"),
    [
        ("em três vezes", 3),
        ("em 3x", 3),
        ("parcelar em quatro", 4),
        ("dá pra fazer em duas parcelas", 2),
        ("12 parcelas", 12),
    ],
)
def test_installments(text: str, n: int) -> None:
    result = parse(text, FRIDAY)
    assert (result.intent, result.installments) == ("negotiate", n)


@pytest.mark.parametrize(
    ("text", "when", "day"),
    [
        ("me liga amanhã às três da tarde", time(15, 0), date(2026, 11, 21)),
        ("liga depois das duas", time(14, 0), None),
        ("me liga às 9 e meia", time(9, 30), None),
        ("pode ligar às 14:30", time(14, 30), None),
        ("me liga às 18h", time(18, 0), None),
        ("liga meio dia", time(12, 0), None),
        ("me liga às oito da noite", time(20, 0), None),
        ("me liga daqui a uma hora", None, None),
    ],
)
def test_callback_time(text: str, when: time | None, day: date | None) -> None:
    result = parse(text, FRIDAY)
    assert (result.intent, result.time, result.date) == ("callback", when, day)


def test_partial_amount_is_still_a_promise() -> None:
    result = parse("não consigo tudo mas pago duzentos dia 5", FRIDAY)
    assert (result.intent, result.amount, result.date) == ("promise_to_pay", Decimal("200"), date(2026, 12, 5))


def test_accents_and_typed_shorthand_do_not_matter() -> None:
    assert parse("vc pode me ligar amanha", FRIDAY) == parse("você pode me ligar amanhã", FRIDAY)
    assert normalize("Pago R$ 1.200,50 dia vinte e cinco!") == "pago 1200.50 reais dia 25"


def test_to_json_shape() -> None:
    data = parse("pago 150 reais dia 25", FRIDAY).to_json()
    assert {k: data[k] for k in ("intent", "date", "amount", "installments", "time")} == {
        "intent": "promise_to_pay",
        "date": "2026-11-25",
        "amount": 150,
        "installments": None,
        "time": None,
    }
    assert 0 < data["confidence"] <= 1 and "dia 25" in data["evidence"]
    cents = NluResult("promise_to_pay", amount=Decimal("10.5"), time=time(9, 5)).to_json()
    assert (cents["amount"], cents["time"], cents["date"]) == (10.5, "09:05", None)


def test_result_is_frozen() -> None:
    result = parse("sim", FRIDAY)
    with pytest.raises(AttributeError):
        result.intent = "deny"  # type: ignore[misc]


def test_every_intent_has_one_rule_and_one_rank() -> None:
    """Adding an intent: an ``Intent`` member, its rule and one ``IntentRecord``; a forgotten one fails here."""
    from ivr.language import nlu
    from ivr.vocabulary import Intent

    rules = set(nlu._RULES)
    assert rules <= {str(i) for i in Intent}
    assert set(nlu._PRIORITY) == rules and len(nlu._PRIORITY) == len(rules)
    assert set(nlu._CONFIDENCE) == rules
    assert {str(i) for i in Intent} - rules == {"unknown"}
