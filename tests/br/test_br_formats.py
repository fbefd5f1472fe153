"""CPF, amounts and dates as Brazilian spreadsheets write them."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

import pytest

from ivr.br.cpf import cpf_with_check_digits, is_valid_cpf, normalize_cpf
from ivr.br.formats import parse_amount, parse_date
from ivr.errors import InputError


@pytest.mark.parametrize(
    ("text", "digits"),
    [
        ("529.982.247-25", "52998224725"),
        ("52998224725", "52998224725"),
        (" 529 982 247 25 ", "52998224725"),
        ("1234567890", "01234567890"),  # leading zero dropped by a spreadsheet
        ("4821357003.0", "04821357003"),  # pandas float: the .0 is not an 11th digit
        ("15184715606.0", "15184715606"),
        ("15184715606,0", "15184715606"),
        ("'04821357003", "04821357003"),  # Excel's text marker
        ('="04821357003"', "04821357003"),
    ],
)
def test_cpf_accepted(text: str, digits: str) -> None:
    assert normalize_cpf(text) == digits


@pytest.mark.parametrize(
    ("text", "reason"),
    [
        ("529.982.247-26", "verificadores"),
        ("111.111.111-11", "verificadores"),
        ("5299822", "11 dígitos"),
        ("529.982.247-2X", "caracteres"),
        ("", "vazio"),
        ("4.82136E+09", "notação científica"),
        ("47.291.836/0001-56", "CNPJ"),
    ],
)
def test_cpf_refused_with_reason(text: str, reason: str) -> None:
    with pytest.raises(InputError, match=reason):
        normalize_cpf(text)


def test_generated_cpfs_are_valid() -> None:
    assert is_valid_cpf(cpf_with_check_digits("529982247"))
    assert cpf_with_check_digits("529982247") == "52998224725"


@pytest.mark.parametrize(
    ("text", "value"),
    [
        ("1.234,56", "1234.56"),
        ("1234,56", "1234.56"),
        ("1234.56", "1234.56"),
        ("1,234.56", "1234.56"),
        ("R$ 1.234,56", "1234.56"),
        ("1.234", "1234.00"),
        ("1.234.567,8", "1234567.80"),
        ("200", "200.00"),
        ("0,5", "0.50"),
    ],
)
def test_amounts(text: str, value: str) -> None:
    assert parse_amount(text) == Decimal(value)


@pytest.mark.parametrize("text", ["abc", "1,2,3", "12.34.56", "-10,00", "", "1.234,567"])
def test_bad_amounts(text: str) -> None:
    with pytest.raises(InputError):
        parse_amount(text)


@pytest.mark.parametrize(
    ("text", "value"),
    [
        ("05/12/2026", dt.date(2026, 12, 5)),
        ("5/12/26", dt.date(2026, 12, 5)),
        ("2026-12-05", dt.date(2026, 12, 5)),
        ("05-12-2026", dt.date(2026, 12, 5)),
        ("2026-12-05T00:00:00", dt.date(2026, 12, 5)),
        ("10/10/2026 00:00", dt.date(2026, 10, 10)),
        ("10/10/2026 00:00:00", dt.date(2026, 10, 10)),
        ("2026-10-10 00:00:00", dt.date(2026, 10, 10)),
        ("05.12.2026", dt.date(2026, 12, 5)),
    ],
)
def test_dates(text: str, value: dt.date) -> None:
    assert parse_date(text) == value


@pytest.mark.parametrize(
    ("text", "reason"),
    [
        ("31/02/2026", "não existe"),
        ("12/2026", "dd/mm/aaaa"),
        ("ontem", "dd/mm"),
        ("46300", "série do Excel"),
        # Years no schedule means: the day after 31/12/9999 overflows the scheduler.
        ("31/12/9999", "fora de 1900 a 2100"),
        ("0001-01-01", "fora de 1900 a 2100"),
        ("01/01/2201", "fora de 1900 a 2100"),
    ],
)
def test_bad_dates(text: str, reason: str) -> None:
    with pytest.raises(InputError, match=reason):
        parse_date(text)
