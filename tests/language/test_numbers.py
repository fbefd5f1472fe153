"""pt-BR number words: cardinals to words and spoken numbers back to integers."""

from __future__ import annotations

import pytest

from ivr.language.numbers import number_to_words, scan_numbers, words_to_digits, words_to_number


@pytest.mark.parametrize(
    ("n", "words"),
    [
        (0, "zero"),
        (1, "um"),
        (14, "quatorze"),
        (16, "dezesseis"),
        (21, "vinte e um"),
        (100, "cem"),
        (101, "cento e um"),
        (152, "cento e cinquenta e dois"),
        (999, "novecentos e noventa e nove"),
        (1000, "mil"),
        (1001, "mil e um"),
        (1050, "mil e cinquenta"),
        (1100, "mil e cem"),
        (1200, "mil e duzentos"),
        (1234, "mil duzentos e trinta e quatro"),
        (2000, "dois mil"),
        (2500, "dois mil e quinhentos"),
        (100000, "cem mil"),
        (101000, "cento e um mil"),
        (1000000, "um milhão"),
        (2000000, "dois milhões"),
        (1200000, "um milhão e duzentos mil"),
        (1234000, "um milhão duzentos e trinta e quatro mil"),
        (1000100, "um milhão e cem"),
        (1000000000, "um bilhão"),
        (-5, "menos cinco"),
    ],
)
def test_number_to_words(n: int, words: str) -> None:
    assert number_to_words(n) == words


@pytest.mark.parametrize(
    ("n", "words"),
    [(1, "uma"), (2, "duas"), (22, "vinte e duas"), (200, "duzentas"), (2000, "duas mil"), (2_000_000, "dois milhões")],
)
def test_number_to_words_feminine(n: int, words: str) -> None:
    assert number_to_words(n, feminine=True) == words


@pytest.mark.parametrize(
    ("text", "value"),
    [
        ("cento e cinquenta e dois", 152),
        ("mil e duzentos", 1200),
        ("dois mil", 2000),
        ("vinte e cinco", 25),
        ("quinhentinhos", 500),
        ("catorze", 14),
        ("Três", 3),
        ("tres mil quatrocentos e dez", 3410),
        ("um milhão e quinhentos mil", 1_500_000),
        ("cem mil", 100_000),
        ("2 mil", 2000),
        ("250", 250),
        ("dois três", None),
        ("vinte dezenove", None),
        ("cem reais", None),
        ("", None),
    ],
)
def test_words_to_number(text: str, value: int | None) -> None:
    assert words_to_number(text) == value


def test_scan_splits_dictated_digits_and_finds_numbers_in_text() -> None:
    tokens = "pago dia vinte e cinco uns quinhentos reais".split()
    assert scan_numbers(tokens) == [(2, 5, 25), (6, 7, 500)]
    assert [v for _, _, v in scan_numbers("nove oito sete".split())] == [9, 8, 7]


@pytest.mark.parametrize(
    ("text", "digits"),
    [("nove nove meia um", "9961"), ("zero oito zero zero", "0800"), ("um dois 3", "123"), ("meia dúzia", None)],
)
def test_words_to_digits_reads_meia_as_six(text: str, digits: str | None) -> None:
    assert words_to_digits(text) == digits
