"""CPF (Cadastro de Pessoas Físicas): normalisation and check-digit validation."""

from __future__ import annotations

import re

from ivr.errors import InputError


def _check_digit(digits: str) -> int:
    weight = len(digits) + 1
    total = sum(int(d) * (weight - i) for i, d in enumerate(digits))
    rest = total % 11
    return 0 if rest < 2 else 11 - rest


def is_valid_cpf(digits: str) -> bool:
    if len(digits) != 11 or not digits.isdigit() or digits == digits[0] * 11:
        return False
    return _check_digit(digits[:9]) == int(digits[9]) and _check_digit(digits[:10]) == int(digits[10])


def normalize_cpf(text: str) -> str:
    """``123.456.789-09`` or ``12345678909`` → the 11 digits; InputError with the reason otherwise.

    Spreadsheets drop leading zeros from CPFs stored as numbers, so 9 or 10 digits are left-padded.
    """
    raw = text.strip()
    if not raw:
        raise InputError("CPF is empty")
    if not re.fullmatch(r"[\d.\-\s/]+", raw):
        raise InputError("CPF has characters other than digits, dots and a dash")
    digits = re.sub(r"\D", "", raw)
    if 9 <= len(digits) < 11 and "." not in raw and "-" not in raw:
        digits = digits.zfill(11)
    if len(digits) != 11:
        raise InputError(f"CPF must have 11 digits, found {len(digits)}")
    if not is_valid_cpf(digits):
        raise InputError("CPF check digits do not match (typo?)")
    return digits


def cpf_with_check_digits(nine: str) -> str:
    """Complete nine digits into a valid CPF (for generated test data)."""
    first = _check_digit(nine)
    return nine + str(first) + str(_check_digit(nine + str(first)))
