"""Amounts and dates as Brazilian spreadsheets write them: ``1.234,56``, ``1234.56``, ``dd/mm/aaaa``, ISO."""

from __future__ import annotations

import datetime as dt
import re
from decimal import Decimal, InvalidOperation

from ivr.errors import InputError

_BR_GROUPED = re.compile(r"\d{1,3}(?:\.\d{3})+(?:,\d{1,2})?")
_BR_PLAIN = re.compile(r"\d+,\d{1,2}")
_US_GROUPED = re.compile(r"\d{1,3}(?:,\d{3})+(?:\.\d{1,2})?")
_DOT = re.compile(r"\d+(?:\.\d{1,2})?")
CENT = Decimal("0.01")


def parse_amount(text: str) -> Decimal:
    """Parse a money amount; InputError says why it cannot be read.

    Accepted: ``1.234,56``, ``1234,56``, ``1234.56``, ``1,234.56``, ``1234``, with an optional ``R$``.
    A lone ``1.234`` is read as one thousand two hundred thirty-four (Brazilian grouping), never 1.234.
    """
    raw = text.strip().replace("R$", "").replace("\u00a0", "").replace(" ", "")
    if not raw:
        raise InputError("amount is empty")
    if raw.startswith("-"):
        raise InputError(f"amount {text.strip()!r} is negative")
    if _BR_GROUPED.fullmatch(raw) or _BR_PLAIN.fullmatch(raw):
        normal = raw.replace(".", "").replace(",", ".")
    elif _US_GROUPED.fullmatch(raw):
        normal = raw.replace(",", "")
    elif _DOT.fullmatch(raw):
        normal = raw
    else:
        raise InputError(f"amount {text.strip()!r} is not a number like 1.234,56 or 1234.56")
    try:
        value = Decimal(normal).quantize(CENT)
    except InvalidOperation:  # pragma: no cover - the patterns above only admit digits
        raise InputError(f"amount {text.strip()!r} is not a number") from None
    if value >= Decimal("1000000000000"):
        raise InputError(f"amount {text.strip()!r} is too large")
    return value


_DMY = re.compile(r"(\d{1,2})[/.-](\d{1,2})[/.-](\d{4}|\d{2})")
_ISO = re.compile(r"(\d{4})-(\d{2})-(\d{2})(?:[T ].*)?")


def parse_date(text: str) -> dt.date:
    """``05/12/2026``, ``5/12/26``, ``05-12-2026`` (day first) or ISO ``2026-12-05``."""
    raw = text.strip()
    if not raw:
        raise InputError("date is empty")
    try:
        if m := _ISO.fullmatch(raw):
            return dt.date(int(m[1]), int(m[2]), int(m[3]))
        if m := _DMY.fullmatch(raw):
            year = int(m[3])
            if year < 100:
                year += 2000
            return dt.date(year, int(m[2]), int(m[1]))
    except ValueError:
        raise InputError(f"date {raw!r} does not exist in the calendar") from None
    raise InputError(f"date {raw!r} is not dd/mm/aaaa or aaaa-mm-dd")
