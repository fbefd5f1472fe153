"""CPF (Cadastro de Pessoas Físicas): normalisation and check-digit validation.

Messages are in Portuguese: they reach the rejects file, which the operator fixes in a spreadsheet.
"""

from __future__ import annotations

import re

from ivr.errors import InputError

SCIENTIFIC = re.compile(r"[+-]?\d+(?:[.,]\d+)?[eE][+-]?\d+")
"""A number in scientific notation (``4.51236E+15``): what Excel shows for long numeric identifiers."""
_FLOAT_ARTEFACT = re.compile(r"(\d+)[.,]0+")


def unwrap_spreadsheet_text(text: str) -> str:
    """Undo the tricks spreadsheets use to keep a number as text: ``'0123`` and ``="0123"`` → ``0123``."""
    raw = text.strip()
    if raw.startswith('="') and raw.endswith('"') and len(raw) >= 3:
        raw = raw[2:-1].strip()
    if raw.startswith("'"):
        raw = raw[1:].strip()
    return raw


def refuse_scientific(raw: str, what: str) -> None:
    """``InputError`` with the spreadsheet fix when ``raw`` is an identifier Excel turned into ``4.5E+15``.

    The digits such a cell hides are lost (Excel keeps 15 significant digits), so it cannot be repaired here.
    """
    if ("E" in raw or "e" in raw) and SCIENTIFIC.fullmatch(raw.replace(" ", "")):
        raise InputError(
            f"{what} em notação científica (o Excel perdeu dígitos): formate a coluna como texto "
            "na planilha e exporte de novo"
        )


def _check_digit(digits: str) -> int:
    weight = len(digits) + 1
    total = sum(map(int.__mul__, map(int, digits), range(weight, 1, -1)))
    rest = total % 11
    return 0 if rest < 2 else 11 - rest


def is_valid_cpf(digits: str) -> bool:
    if len(digits) != 11 or not digits.isdigit() or digits == digits[0] * 11:
        return False
    return _check_digit(digits[:9]) == int(digits[9]) and _check_digit(digits[:10]) == int(digits[10])


def normalize_cpf(text: str) -> str:
    """``123.456.789-09`` or ``12345678909`` → the 11 digits; ``InputError`` with the reason otherwise.

    Spreadsheet damage is undone where it is lossless: leading zeros dropped from a CPF stored as a number
    (9 or 10 digits are left-padded), a float artefact (``4821357003.0`` written by pandas: the ``.0`` is
    not an 11th digit), ``'0123...`` and ``="0123..."``. Scientific notation is refused (digits are lost),
    and so is a CNPJ (14 digits) in a ``CPF/CNPJ`` column: this import is for people.
    """
    raw = text.strip()
    if len(raw) == 14 and raw[3] == "." and raw[7] == "." and raw[11] == "-":
        raw = raw[:3] + raw[4:7] + raw[8:11] + raw[12:]  # the common written form, read without regexes
    if len(raw) == 11 and raw.isdigit():
        if not is_valid_cpf(raw):
            raise InputError("os dígitos verificadores do CPF não conferem (erro de digitação?)")
        return raw
    raw = unwrap_spreadsheet_text(raw)
    if not raw:
        raise InputError("CPF vazio")
    refuse_scientific(raw, "CPF")
    if m := _FLOAT_ARTEFACT.fullmatch(raw):
        raw = m[1]
    if not re.fullmatch(r"[\d.\-\s/]+", raw):
        raise InputError("CPF tem caracteres além de dígitos, pontos e traço")
    digits = re.sub(r"\D", "", raw)
    if len(digits) == 14:
        raise InputError("é um CNPJ (empresa), não um CPF: esta importação é só para pessoas físicas")
    if 9 <= len(digits) < 11 and "." not in raw and "-" not in raw:
        digits = digits.zfill(11)
    if len(digits) != 11:
        raise InputError(f"CPF deve ter 11 dígitos, tem {len(digits)}")
    if not is_valid_cpf(digits):
        raise InputError("os dígitos verificadores do CPF não conferem (erro de digitação?)")
    return digits


def cpf_with_check_digits(nine: str) -> str:
    """Complete nine digits into a valid CPF (for generated test data)."""
    first = _check_digit(nine)
    return nine + str(first) + str(_check_digit(nine + str(first)))
