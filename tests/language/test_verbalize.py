"""Verbalization for TTS: literal inputs and what the bot must say."""

from __future__ import annotations

from datetime import date, time
from decimal import Decimal

import pytest

from ivr.language.verbalize import (
    say_amount,
    say_date,
    say_digits,
    say_installments,
    say_number,
    say_percent,
    say_time,
    say_weekday,
    verbalize,
)


@pytest.mark.parametrize(
    ("value", "spoken"),
    [
        ("1234.56", "mil duzentos e trinta e quatro reais e cinquenta e seis centavos"),
        ("1", "um real"),
        ("0.01", "um centavo"),
        ("1.01", "um real e um centavo"),
        ("0.50", "cinquenta centavos"),
        ("100", "cem reais"),
        ("150", "cento e cinquenta reais"),
        ("1200", "mil e duzentos reais"),
        ("2000", "dois mil reais"),
        ("1000000", "um milhão de reais"),
        ("3000000", "três milhões de reais"),
        ("1500000", "um milhão e quinhentos mil reais"),
        ("2000000.01", "dois milhões de reais e um centavo"),
        ("0", "zero reais"),
        ("99.999", "cem reais"),
    ],
)
def test_say_amount(value: str, spoken: str) -> None:
    assert say_amount(Decimal(value)) == spoken


def test_say_amount_never_says_zero_reais_with_centavos() -> None:
    assert "zero" not in say_amount(Decimal("0.99"))


def test_say_number() -> None:
    assert say_number(2) == "dois"
    assert say_number(2, feminine=True) == "duas"


@pytest.mark.parametrize(
    ("d", "weekday", "spoken"),
    [
        (date(2026, 12, 5), False, "cinco de dezembro"),
        (date(2026, 12, 1), False, "primeiro de dezembro"),
        (date(2026, 12, 4), True, "sexta-feira, quatro de dezembro"),
        (date(2027, 3, 21), False, "vinte e um de março"),
    ],
)
def test_say_date(d: date, weekday: bool, spoken: str) -> None:
    assert say_date(d, weekday=weekday) == spoken


def test_say_date_with_year_and_weekday_names() -> None:
    assert say_date(date(2026, 12, 5), year=True) == "cinco de dezembro de dois mil e vinte e seis"
    assert say_weekday(date(2026, 11, 22)) == "domingo"
    assert say_weekday(date(2026, 11, 24)) == "terça-feira"


@pytest.mark.parametrize(
    ("t", "spoken"),
    [
        (time(9, 0), "nove horas"),
        (time(1, 0), "uma hora"),
        (time(14, 30), "quatorze e trinta"),
        (time(12, 0), "meio-dia"),
        (time(0, 15), "meia-noite e quinze"),
        (time(21, 1), "vinte e uma e um"),  # minutes are masculine (um minuto)
        (time(22, 0), "vinte e duas horas"),
    ],
)
def test_say_time(t: time, spoken: str) -> None:
    assert say_time(t) == spoken


def test_percent_installments_digits() -> None:
    assert say_percent(Decimal("2.5")) == "dois vírgula cinco por cento"
    assert say_percent(10) == "dez por cento"
    assert say_percent("1.05") == "um vírgula zero cinco por cento"
    assert say_installments(3) == "três parcelas"
    assert say_installments(1) == "uma parcela"
    assert say_installments(2, form="vezes") == "em duas vezes"
    assert say_digits("2026-0456") == "dois zero dois seis, zero quatro cinco seis"
    assert say_digits("996", phone=True) == "nove nove meia"


@pytest.mark.parametrize(
    ("text", "spoken"),
    [
        ("R$ 1.234,56", "mil duzentos e trinta e quatro reais e cinquenta e seis centavos"),
        ("R$1234.56", "mil duzentos e trinta e quatro reais e cinquenta e seis centavos"),
        ("R$ 1,00", "um real"),
        ("R$ 0,01", "um centavo"),
        ("valor de 200 reais", "valor de duzentos reais"),
        ("vence em 05/12/2026", "vence em cinco de dezembro"),
        ("vence em 2026-12-01", "vence em primeiro de dezembro"),
        ("às 14:30", "às quatorze e trinta"),
        ("às 14h", "às quatorze horas"),
        ("às 9h30", "às nove e trinta"),
        ("juros de 2,5%", "juros de dois vírgula cinco por cento"),
        ("em 3x", "em três vezes"),
        ("protocolo 20261234", "protocolo dois zero dois seis um dois três quatro"),
        ("CPF ***.456.789-**", "CPF quatro cinco seis, sete oito nove"),
        ("são 21 dias", "são vinte e um dias"),
        ("1.500 clientes", "mil e quinhentos clientes"),
        ("a 1ª parcela", "a primeira parcela"),
        ("sem números", "sem números"),
        # tricky amounts, dates, times, agreement and digit strings
        ("R$ 0,01", "um centavo"),
        ("R$ 1,00", "um real"),
        ("R$ 100,00", "cem reais"),
        ("R$ 101,00", "cento e um reais"),
        ("R$ 1.000,00", "mil reais"),
        ("R$ 1.001,00", "mil e um reais"),
        ("R$ 1.100,00", "mil e cem reais"),
        ("R$ 1.101,00", "mil cento e um reais"),
        ("R$ 1.234,56", "mil duzentos e trinta e quatro reais e cinquenta e seis centavos"),
        ("R$ 2.500,00", "dois mil e quinhentos reais"),
        ("R$ 21,21", "vinte e um reais e vinte e um centavos"),
        ("R$ 1.000.000,00", "um milhão de reais"),
        ("R$ 2.000.000,00", "dois milhões de reais"),
        ("R$ 1.200.000,00", "um milhão e duzentos mil reais"),
        ("R$ 1.250.000,00", "um milhão duzentos e cinquenta mil reais"),
        # every pair of classes follows the rule, not only the last one
        ("R$ 1.200.200,00", "um milhão e duzentos mil e duzentos reais"),
        ("R$ 1.001.001,00", "um milhão e mil e um reais"),
        ("R$ 1.000.100,00", "um milhão e cem reais"),
        ("R$ 1.000.000,01", "um milhão de reais e um centavo"),
        ("R$ 2 mil", "dois mil reais"),
        ("R$ 1,5 milhão", "um milhão e quinhentos mil reais"),
        ("R$ 3 milhões de reais", "três milhões de reais"),
        ("01/01/2027", "primeiro de janeiro"),
        ("2026-12-05", "cinco de dezembro"),
        ("14:30", "quatorze e trinta"),
        ("8h", "oito horas"),
        ("13h01", "treze e um"),
        ("às 21h", "às vinte e uma horas"),
        ("2,5%", "dois vírgula cinco por cento"),
        ("3x", "três vezes"),
        ("1x", "uma vez"),
        ("em 10x de R$ 99,90", "em dez vezes de noventa e nove reais e noventa centavos"),
        ("2 parcelas de R$ 150,00", "duas parcelas de cento e cinquenta reais"),
        ("22 parcelas", "vinte e duas parcelas"),
        ("1 parcela", "uma parcela"),
        ("2 horas", "duas horas"),
        ("21 dias", "vinte e um dias"),
        ("protocolo 2026112200123", "protocolo dois zero dois seis um um dois dois zero zero um dois três"),
        ("(11) 98765-4321", "um um, nove oito sete meia cinco, quatro três dois um"),
        ("0800 123 4567", "zero oito zero zero, um dois três, quatro cinco meia sete"),
    ],
)
def test_verbalize(text: str, spoken: str) -> None:
    assert verbalize(text) == spoken
