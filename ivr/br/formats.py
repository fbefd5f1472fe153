"""Amounts and dates as Brazilian spreadsheets write them: ``1.234,56``, ``1234.56``, ``dd/mm/aaaa``, ISO.

Messages are in Portuguese: they reach the rejects file, which the operator fixes in a spreadsheet.
"""

from __future__ import annotations

import datetime as dt
import re
from decimal import Decimal, InvalidOperation
from typing import Literal

from ivr.br.text import fold
from ivr.errors import InputError

CENT = Decimal("0.01")
DecimalMark = Literal[",", ".", "?"]
"""The decimal mark of a file's amounts: ``,`` (pt-BR), ``.``, or ``?`` (unknown or mixed: no guessing)."""

_INT = re.compile(r"\d+")
_COMMA_DECIMAL = re.compile(r"\d+,\d{1,2}|\d{1,3}(?:\.\d{3})+,\d{1,2}")
_DOT_DECIMAL = re.compile(r"\d+\.\d{1,2}|\d{1,3}(?:,\d{3})+\.\d{1,2}")
_DOT_GROUPS = re.compile(r"\d{1,3}(?:\.\d{3}){2,}")
_COMMA_GROUPS = re.compile(r"\d{1,3}(?:,\d{3}){2,}")
_ONE_DOT_GROUP = re.compile(r"\d{1,3}\.\d{3}")
_ONE_COMMA_GROUP = re.compile(r"\d{1,3},\d{3}")
_SCIENTIFIC = re.compile(r"\d+(?:[.,]\d+)?[eE][+-]?\d+")


def _clean_amount(text: str) -> str:
    return re.sub(r"[\s\u00a0]", "", text.strip().replace("R$", "").replace("r$", ""))


def amount_evidence(text: str) -> DecimalMark | None:
    """The decimal mark an amount proves by its own shape, or None when it proves nothing.

    ``1.234,56``, ``99,9`` and ``1.234.567`` prove ``,``; ``1,234.56``, ``99.90`` and ``1,234,567`` prove
    ``.``; ``150``, ``150,000`` and ``1.234`` prove nothing (a comma or dot before exactly three digits may
    be either mark).
    """
    raw = _clean_amount(text)
    if _COMMA_DECIMAL.fullmatch(raw) or _DOT_GROUPS.fullmatch(raw):
        return ","
    if _DOT_DECIMAL.fullmatch(raw) or _COMMA_GROUPS.fullmatch(raw):
        return "."
    return None


def decide_decimal_mark(marks: set[str], delimiter: str) -> DecimalMark:
    """A file's decimal mark from the marks its amounts prove (:func:`amount_evidence` of each).

    One mark proven: that one. Both: ``?`` (nothing ambiguous is guessed). None: ``,`` for a ``;`` or tab
    file (a pt-BR export), ``?`` for a ``,`` file.
    """
    if marks == {","}:
        return ","
    if marks == {"."}:
        return "."
    if marks:
        return "?"
    return "," if delimiter in ";\t" else "?"


def parse_amount(text: str, decimal: DecimalMark | None = None) -> Decimal:
    """Parse a money amount in reais, quantised to cents; ``InputError`` says why it cannot be read.

    Accepted: ``1.234,56``, ``1234,56``, ``1234.56``, ``1,234.56``, ``1234``, ``1.234.567``, with an optional
    ``R$``. ``decimal`` is the file's decimal mark (see :func:`amount_evidence`): a single group of three
    digits after a separator (``150,000``, ``1.234``) is read as thousands only when the file's mark is the
    other one; with the mark unknown (``?``) or equal, it is refused as ambiguous. ``decimal=None`` keeps the
    Brazilian default for a lone value: ``1.234`` is one thousand two hundred thirty-four, ``150,000`` is
    refused. More than two decimals, scientific notation and negative amounts are refused.
    """
    shown = text.strip()
    raw = _clean_amount(text)
    if not raw:
        raise InputError("valor vazio")
    if raw in ("-", "\u2013"):
        return Decimal("0.00")  # Excel's accounting format shows zero as "R$ -"
    if raw.startswith("-") or (raw.startswith("(") and raw.endswith(")")):
        raise InputError(f"valor {shown!r} é negativo")
    if _SCIENTIFIC.fullmatch(raw):
        raise InputError(f"valor {shown!r} está em notação científica: formate a coluna como número na planilha")
    if _INT.fullmatch(raw):
        normal = raw
    elif _COMMA_DECIMAL.fullmatch(raw) or _DOT_GROUPS.fullmatch(raw):
        normal = raw.replace(".", "").replace(",", ".")
    elif _DOT_DECIMAL.fullmatch(raw) or _COMMA_GROUPS.fullmatch(raw):
        normal = raw.replace(",", "")
    elif _ONE_COMMA_GROUP.fullmatch(raw):
        if decimal != ".":
            raise InputError(
                f"valor {shown!r} é ambíguo (vírgula seguida de três dígitos): escreva {raw.replace(',', '.')},00 "
                f"para milhares ou {raw.split(',')[0]},{raw.split(',')[1][:2]} para centavos"
            )
        normal = raw.replace(",", "")
    elif _ONE_DOT_GROUP.fullmatch(raw):
        if decimal not in (",", None):
            raise InputError(
                f"valor {shown!r} é ambíguo (ponto seguido de três dígitos) num arquivo que usa ponto como "
                f"separador decimal: escreva {raw.replace('.', '')}.00 para milhares"
            )
        normal = raw.replace(".", "")
    elif re.fullmatch(r"\d+[.,]\d{3,}", raw):
        raise InputError(f"valor {shown!r} tem mais de dois decimais: use reais e centavos (1.234,56)")
    else:
        raise InputError(f"valor {shown!r} não é um número como 1.234,56 ou 1234.56")
    try:
        value = Decimal(normal).quantize(CENT)
    except InvalidOperation:  # pragma: no cover - the patterns above only admit digits
        raise InputError(f"valor {shown!r} não é um número") from None
    if value >= Decimal("1000000000000"):
        raise InputError(f"valor {shown!r} é grande demais")
    return value


_DMY = re.compile(r"(\d{1,2})[/.-](\d{1,2})[/.-](\d{4}|\d{2})(?:[ T]\d{1,2}:\d{2}(?::\d{2}(?:\.\d+)?)?)?")
_ISO = re.compile(r"(\d{4})-(\d{1,2})-(\d{1,2})(?:[T ]\d{1,2}:\d{2}(?::\d{2}(?:\.\d+)?)?(?:Z|[+-]\d{2}:?\d{2})?)?")
_PLACEHOLDER_DATES = {dt.date(1900, 1, 1), dt.date(1899, 12, 30), dt.date(1899, 12, 31), dt.date(1, 1, 1)}


def is_placeholder_date(text: str) -> bool:
    """``00/00/0000``, ``01/01/1900``, ``30/12/1899`` (Excel's and LibreOffice's day zero), ``0001-01-01``:
    what systems write for "no date". Such a value means missing, not a date."""
    raw = text.strip()
    if re.fullmatch(r"[0/.\-: ]+", raw):
        return True
    try:
        return _calendar_date(raw) in _PLACEHOLDER_DATES
    except InputError:
        return False


DATE_YEARS = (1900, 2100)
"""A due, payment, promise or birth date outside these years is a typo (``31/12/9999``, ``0001-01-01``); the day after
9999-12-31 does not even exist for the scheduler."""


def parse_date(text: str, *, today: dt.date | None = None, past: bool = False) -> dt.date:
    """``_calendar_date``, refused when its year is outside ``DATE_YEARS``."""
    day = _calendar_date(text, today=today, past=past)
    if not DATE_YEARS[0] <= day.year <= DATE_YEARS[1]:
        raise InputError(f"data {text.strip()!r} fora de {DATE_YEARS[0]} a {DATE_YEARS[1]}: erro de digitação?")
    return day


def _calendar_date(text: str, *, today: dt.date | None = None, past: bool = False) -> dt.date:
    """``05/12/2026``, ``5/12/26``, ``05-12-2026``, ``05.12.2026`` (day first) or ISO ``2026-12-05``,
    each optionally followed by a time (``10/10/2026 00:00``, ``2026-10-10 00:00:00``), which is dropped.

    A two-digit year is 20yy; with ``past=True`` (birth dates) it is the latest such year not after
    ``today`` (``15/03/85`` → 1985). ``InputError`` when the text is not a date or not in the calendar.
    """
    raw = text.strip()
    if not raw:
        raise InputError("data vazia")
    try:
        if m := _ISO.fullmatch(raw):
            return dt.date(int(m[1]), int(m[2]), int(m[3]))
        if m := _DMY.fullmatch(raw):
            year = int(m[3])
            if len(m[3]) == 2:
                year += 2000
                if past and year > (today or dt.date.today()).year:
                    year -= 100
            return dt.date(year, int(m[2]), int(m[1]))
    except ValueError:
        raise InputError(f"a data {raw!r} não existe no calendário") from None
    if re.fullmatch(r"\d{5}(?:[.,]\d+)?", raw):
        raise InputError(f"data {raw!r} é um número de série do Excel: formate a coluna como data (dd/mm/aaaa)")
    raise InputError(f"data {raw!r} não está como dd/mm/aaaa ou aaaa-mm-dd")


_NO_VALUE_WORDS = {
    "nao possui",
    "nao tem",
    "nao informado",
    "nao informada",
    "sem telefone",
    "sem numero",
    "sem fone",
    "sem celular",
    "sem",
    "nenhum",
    "nenhuma",
    "nao",
    "na",
    "n a",
    "nd",
    "n d",
    "null",
    "none",
    "nan",
    "x",
    "inexistente",
    "nao consta",
    "sem email",
    "sem e mail",
    "sem boleto",
    "sem link",
}


def is_placeholder(text: str) -> bool:
    """True for what exports write in an empty optional cell: ``-``, ``0``, ``(00) 0000-0000``, ``#N/D``,
    ``NAO POSSUI``, ``sem telefone``, ``null``... (compared folded: case and accents ignored)."""
    raw = text.strip()
    if not raw or re.fullmatch(r"[\s0().\-/*_#]+", raw):
        return True
    words = re.sub(r"[^a-z0-9]+", " ", fold(raw)).strip()
    return words in _NO_VALUE_WORDS
