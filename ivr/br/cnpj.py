"""CNPJ (Cadastro Nacional da Pessoa Jurídica): numeric and alphanumeric, with check-digit validation.

Rule (Receita Federal, IN RFB 2.229/2024, alphanumeric CNPJ issued from July 2026): 12 characters
``[0-9A-Z]`` (root and branch) + 2 numeric check digits. Each character is valued ``ord(c) - 48``
(digits keep their value, ``A`` = 17 ... ``Z`` = 42); each check digit is mod 11 with weights 2..9 from
the right, ``0`` when the remainder is below 2, else ``11 - remainder``. A purely numeric CNPJ follows the
same rule, so one function validates both. Written here (15 lines) rather than taken from PyPI: the
packages that know the alphanumeric form are months old and single-author.
"""

from __future__ import annotations

import re

from ivr.errors import InputError

_SHAPE = re.compile(r"[0-9A-Z]{12}[0-9]{2}")
_SEPARATORS = re.compile(r"[\s./-]")


def _check_digit(chars: str) -> int:
    total = sum((ord(c) - 48) * (2 + i % 8) for i, c in enumerate(reversed(chars)))
    rest = total % 11
    return 0 if rest < 2 else 11 - rest


def cnpj_check_digits(twelve: str) -> str:
    """The two check digits of a 12-character CNPJ base (for generated test data)."""
    first = _check_digit(twelve)
    return f"{first}{_check_digit(twelve + str(first))}"


def is_valid_cnpj(chars: str) -> bool:
    """True for 14 canonical characters (``[0-9A-Z]{12}[0-9]{2}``) with matching check digits."""
    if not _SHAPE.fullmatch(chars) or len(set(chars)) == 1:
        return False
    return chars[12:] == cnpj_check_digits(chars[:12])


def normalize_cnpj(text: str) -> str:
    """``47.291.836/0001-58`` or ``12.ABC.345/01DE-35`` → the 14 canonical characters; ``InputError`` otherwise.

    Only dots, slash, dash and spaces are separators; any other text around the number is refused (never
    dropped), and lower-case letters are read as upper case. Repeated characters (``11.111.111/1111-11``)
    pass the arithmetic but are not issued, so they are refused too.
    """
    raw = text.strip()
    if not raw:
        raise InputError("CNPJ is empty")
    chars = _SEPARATORS.sub("", raw).upper()
    if not re.fullmatch(r"[0-9A-Z]+", chars):
        raise InputError(f"CNPJ {raw!r} has characters other than letters, digits, '.', '/' and '-'")
    if len(chars) > 14 and re.search(r"[A-Z]", chars):
        raise InputError(f"CNPJ {raw!r} has text around the number: give only its 14 characters")
    if len(chars) != 14:
        raise InputError(f"CNPJ {raw!r} must have 14 characters, found {len(chars)}")
    if not _SHAPE.fullmatch(chars):
        raise InputError(f"CNPJ {raw!r}: the last two characters (check digits) must be digits")
    if not is_valid_cnpj(chars):
        raise InputError(f"CNPJ {raw!r}: check digits do not match (typo?)")
    return chars


def format_cnpj(chars: str) -> str:
    """``47291836000158`` → ``47.291.836/0001-58``."""
    return f"{chars[:2]}.{chars[2:5]}.{chars[5:8]}/{chars[8:12]}-{chars[12:]}"
