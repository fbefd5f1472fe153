"""Personal data protection (LGPD art. 6 III): CPF/phone masking, the CPF-derived values a debtor row keeps,
and files with personal data created readable by their owner only.

What is stored of a CPF: its HMAC (the join key), a display mask with digits 4-6 only, and the first three
digits only while a campaign verifies identity by them. Digits 1-3 + 4-6 are six of the nine that fix a CPF
(the two check digits follow from the nine), so no combination of stored columns gives the CPF back.
"""

from __future__ import annotations

import contextlib
import hashlib
import hmac
import logging
import os
import re
from collections.abc import Iterable, Iterator
from pathlib import Path
from urllib.parse import quote, urlsplit, urlunsplit
from typing import IO, TYPE_CHECKING, Any

if TYPE_CHECKING:
    from sqlalchemy.orm import Session

# CPF with or without punctuation: 123.456.789-09 or 12345678909 (not inside a longer digit run).
_CPF_RE = re.compile(r"(?<!\d)(\d{3})\.?(\d{3})\.?(\d{3})-?(\d{2})(?!\d)")
# Phones: +55 11 98765-4321, (11) 98765-4321, 11987654321, 5511987654321, 98765-4321, and the malformed
# ones an import refuses ("(11) 88765-4321", "11 9876-543"): those are quoted in error lines too.
_PHONE_RE = re.compile(r"(?<![\d*])(?:\+?55[\s.-]?)?(?:\(?\d{2}\)?[\s.-]?)?(?:9[\s.-]?)?\d{4,5}[\s.-]?\d{3,4}(?!\d)")


CPF_MASK_BLANK = "***.***.***-**"
CPF_VERIFICATION = "cpf3"
"""The campaign policy's ``verification`` value that asks for the first three CPF digits."""


def mask_cpf(cpf: str) -> str:
    """``12345678909`` → ``***.456.***-**``: digits 4-6 only.

    The usual ``***.456.789-**`` (digits 4-9) plus the three digits kept for verification would be all nine
    digits that determine a CPF, so this mask stops at six.
    """
    digits = re.sub(r"\D", "", cpf)
    if len(digits) != 11:
        return CPF_MASK_BLANK
    return f"***.{digits[3:6]}.***-**"


def debtor_cpf_values(cpf_digits: str, key: bytes, verification: str | None) -> dict[str, str]:
    """The CPF-derived columns written for a debtor imported into a campaign whose policy has ``verification``.

    Always ``cpf_hmac`` and ``cpf_masked``; ``cpf_prefix`` (digits 1-3) only when that campaign verifies
    identity by them (``"cpf3"``). Debtors are shared by campaigns: an import into a ``cpf3`` campaign also
    fills the prefix of a debtor first imported elsewhere (the file has the CPF), and an import elsewhere
    never clears it (the ``cpf3`` campaign still needs it). Callers write every key returned.
    """
    values = {"cpf_hmac": cpf_hmac(cpf_digits, key), "cpf_masked": mask_cpf(cpf_digits)}
    if verification == CPF_VERIFICATION:
        values["cpf_prefix"] = cpf_digits[:3]
    return values


def keep_cpf_prefixes(session: Session, cpfs: Iterable[str], key: bytes, verification: str | None) -> None:
    """For an import into a campaign that verifies by CPF: give debtors already stored without their first
    three digits (first imported into another campaign) those digits. Nothing for any other campaign."""
    if verification != CPF_VERIFICATION:
        return
    from sqlalchemy import bindparam, update

    from ivr.db.models import Base

    debtors = Base.metadata.tables["debtors"]  # Core executemany: one UPDATE by the unique HMAC per row
    rows = [{"h": cpf_hmac(c, key), "p": c[:3]} for c in cpfs]
    if rows:
        session.execute(
            update(debtors)
            .where(debtors.c.cpf_hmac == bindparam("h"), debtors.c.cpf_prefix.is_(None))
            .values(cpf_prefix=bindparam("p")),
            rows,
        )


_DIGIT_RUN_RE = re.compile(r"\d(?:[\s.\-/]?\d)*")
CPF_FRAGMENT_DIGITS = 5
"""Runs of this many digits or more in free text are never stored: five digits of a CPF past digit 4 reach
digits 7-9, which with the stored digits 1-6 rebuild it. Shorter runs stay (amounts, years, the 3 digits a
cpf3 check asks for)."""
_CONTRACT_WINDOW = 7
"""A contract id is refused when it holds this many digits in a row of the debtor's own CPF."""


def holds_cpf_fragment(text: str, cpf_digits: str | None = None, window: int = _CONTRACT_WINDOW) -> bool:
    """Whether ``text`` has a run of ``CPF_FRAGMENT_DIGITS`` or more digits (separators allowed) — or, given
    ``cpf_digits``, any seven digits in a row of that CPF among its digits (``CT-52998224725-01``; contract
    numbers are long digit runs, so only the debtor's own digits count there; ``window`` digits in a row, 9 for
    a phone cell, whose digits are all meant to be there).

    For free-text import columns (name, city, contract): with digits 1-6 stored, any of digits 7-9 gives the
    CPF back, so a value that may carry them is refused rather than stored.
    """
    if cpf_digits is not None:
        joined = "".join(c for c in text if c.isdigit())
        return any(cpf_digits[i : i + window] in joined for i in range(len(cpf_digits) - window + 1))
    return any(sum(c.isdigit() for c in m.group(0)) >= CPF_FRAGMENT_DIGITS for m in _DIGIT_RUN_RE.finditer(text))


def mask_phone(phone: str) -> str:
    """Keep only the last four digits: ``+5511987654321`` → ``***4321``."""
    digits = re.sub(r"\D", "", phone)
    return "***" + digits[-4:] if len(digits) >= 4 else "***"


# A mask of the earlier form (digits 4-9 shown) quoted in text, e.g. from a database not yet migrated.
_OLD_MASK_RE = re.compile(r"\*{3}\.(\d{3})\.\d{3}-\*{2}")


def mask_text(text: str) -> str:
    """Mask every CPF and phone number found in free text (CPFs as ``***.456.***-**``, phones as ``***4321``)."""
    text = _OLD_MASK_RE.sub(lambda m: f"***.{m.group(1)}.***-**", text)
    return _PHONE_RE.sub(lambda m: mask_phone(m.group(0)), _CPF_RE.sub(_mask_cpf_match, text))


# Five or more digits in a row (spaces, dots or hyphens between them): a CPF keyed with digits lost or
# without its check digits, part of one, an account number. Dates keep their slashes (25/11/2026).
_LONG_DIGITS_RE = re.compile(r"(?<![\d*])\d(?:[\s.\-]?\d){%d,}(?!\d)" % (CPF_FRAGMENT_DIGITS - 1))
_TOKEN_RE = re.compile(r"[^\s,;:.!?]+")


def _mask_spoken_numbers(text: str) -> str:
    """Number words read out in a row ("cinco dois nove nove oito...", "quinhentos e vinte e nove novecentos...")
    that make five or more digits: hidden like keyed digits. "cento e cinquenta", "dois mil e vinte e seis" stay."""
    from ivr.language.numbers import is_number_word, scan_numbers, strip_accents

    tokens = [(m.start(), m.end(), strip_accents(m.group(0)).lower()) for m in _TOKEN_RE.finditer(text)]
    out: list[str] = []
    last = i = 0
    while i < len(tokens):
        j = i
        while j < len(tokens) and (
            tokens[j][2].isdigit() or is_number_word(tokens[j][2]) or (tokens[j][2] == "e" and j > i)
        ):
            j += 1
        while j > i and tokens[j - 1][2] == "e":
            j -= 1
        if j == i:
            i += 1
            continue
        if all(token.isdigit() for _, _, token in tokens[i:j]):
            i = j  # digits alone: _LONG_DIGITS_RE's business ("dia 25, 150,50" is not one number)
            continue
        digits, words = 0, list[str]()
        for _, _, token in tokens[i:j] + [(0, 0, "0")]:  # a sentinel flushes the last words
            if token.isdigit():
                digits += sum(len(str(value)) for _, _, value in scan_numbers(words)) + len(token)
                words = []
            else:
                words.append(token)
        digits -= 1  # the sentinel
        if digits >= CPF_FRAGMENT_DIGITS:
            out += [text[last : tokens[i][0]], "*" * digits]
            last = tokens[j - 1][1]
        i = j
    return "".join(out) + text[last:]


def mask_utterance(text: str) -> str:
    """What a caller said or keyed, as stored (turns, notes): CPFs masked as ``***.456.***-**``, any other run
    of five or more digits (keyed, or read out as number words) hidden whole; phone numbers thus whole too.

    Stricter than the log mask: with digits 1-6 stored (prefix and display mask), any of digits 7-9 rebuilds a
    CPF, and the phone mask keeps four digits of whatever it masks (a CPF keyed with tones lost: 8 digits).
    Up to four digits stay (amounts, years, the verification answer): a caller reading out only digits 7-9
    cannot be told from an amount.
    """
    text = _CPF_RE.sub(_mask_cpf_match, _OLD_MASK_RE.sub(lambda m: f"***.{m.group(1)}.***-**", text))
    text = _LONG_DIGITS_RE.sub(lambda m: "*" * sum(c.isdigit() for c in m.group(0)), text)
    text = _mask_spoken_numbers(text)
    return _PHONE_RE.sub(lambda m: mask_phone(m.group(0)), text)


def _looks_like_mobile(digits: str) -> bool:
    from ivr.br.ddd import area_code

    return len(digits) == 11 and digits[2] == "9" and area_code(int(digits[:2])) is not None


def _mask_cpf_match(m: re.Match[str]) -> str:
    # Eleven bare digits may be a mobile number (DDD + 9 digits): only valid CPFs are masked as CPFs here;
    # the rest fall through to the phone mask, so either way the number is hidden.
    from ivr.br.cpf import is_valid_cpf

    raw = m.group(0)
    if raw.isdigit() and (not is_valid_cpf(raw) or _looks_like_mobile(raw)):
        return raw  # left for the phone mask
    return f"***.{m.group(2)}.***-**"


def cpf_hmac(cpf_digits: str, key: bytes) -> str:
    """Keyed hash of the 11 CPF digits: the only form of the CPF the database keeps for lookups."""
    return hmac.new(key, cpf_digits.encode("ascii"), hashlib.sha256).hexdigest()


PRIVATE_UMASK = 0o077
PRIVATE_FILE_MODE = 0o600


_SECRET_QUERY_NAME = re.compile(r"token|key|secret|sig|pass|auth|credential", re.IGNORECASE)


def redact_url(url: str) -> str:
    """``url`` fit for a log line or ``ivr config show``: the password of its user info and the values of
    query parameters that look like credentials (``token``, ``api_key``, ``sig``…) become ``***``.

    >>> redact_url("https://user:pw@hooks.example/x?token=abc&campaign=nov")
    'https://user:***@hooks.example/x?token=***&campaign=nov'
    """
    head, slashes, rest = url.partition("//")
    userinfo, at, host_and_rest = rest.rpartition("@")
    try:
        parts = urlsplit(url)
        if at and ":" in userinfo and "@" not in parts.netloc:
            # A password holding an unencoded / ? or # ends the netloc early: the parsed parts would show it.
            parts = urlsplit(f"{head}{slashes}{quote(userinfo.partition(':')[0], safe='')}:***@{host_and_rest}")
        netloc = parts.netloc
        if "@" in netloc:
            userinfo, _, host = netloc.rpartition("@")
            user, colon, _ = userinfo.partition(":")
            netloc = f"{user}:***@{host}" if colon else netloc
        query = "&".join(
            f"{name}={'***' if value and _SECRET_QUERY_NAME.search(name) else value}" if sep else name
            for name, sep, value in (pair.partition("=") for pair in parts.query.split("&") if pair)
        )
        return urlunsplit((parts.scheme, netloc, parts.path, query, parts.fragment))
    except ValueError:  # not a URL at all: it may hold a secret anywhere
        return "<redacted>"


def restrict_umask() -> int:
    """Make every file this process creates owner-only (0600 files, 0700 folders); returns the old mask.

    Called first thing by the ``ivr`` command: databases, keys, rejects, reports, audio caches and recordings
    hold personal data (LGPD art. 46: security measures), whichever command creates them.
    """
    return os.umask(PRIVATE_UMASK)


def create_private_file(path: str | os.PathLike[str]) -> Path:
    """Create ``path`` empty with mode 0600 if it does not exist, and set 0600 on it either way.

    For files another library then opens by name (the SQLite database): they keep the mode they were created with.
    """
    path = Path(path)
    fd = os.open(path, os.O_WRONLY | os.O_CREAT, PRIVATE_FILE_MODE)
    try:
        os.fchmod(fd, PRIVATE_FILE_MODE)
    finally:
        os.close(fd)
    return path


@contextlib.contextmanager
def open_private(path: str | os.PathLike[str], mode: str = "w", **kwargs: Any) -> Iterator[IO[Any]]:
    """``open(path, mode)`` for writing a file with personal data, created (or truncated) with mode 0600."""
    if not any(c in mode for c in "wax"):
        raise ValueError("open_private is for writing")
    flags = os.O_WRONLY | os.O_CREAT | (os.O_EXCL if "x" in mode else 0) | (os.O_APPEND if "a" in mode else 0)
    if "w" in mode:
        flags |= os.O_TRUNC
    fd = os.open(path, flags, PRIVATE_FILE_MODE)
    try:
        os.fchmod(fd, PRIVATE_FILE_MODE)
        fh = os.fdopen(fd, mode, **kwargs)
    except BaseException:
        os.close(fd)
        raise
    with fh:
        yield fh


class MaskingFilter(logging.Filter):
    """Rewrites each record's final message with CPFs and phones masked."""

    def filter(self, record: logging.LogRecord) -> bool:
        try:
            message = record.getMessage()
        except Exception:  # a bad format string must not lose the record
            message = str(record.msg)
        record.msg = mask_text(message)
        record.args = None
        if record.exc_info:
            # Tracebacks quote values (SQL parameters, channel names): format and mask them here.
            record.exc_text = mask_text(logging.Formatter().formatException(record.exc_info))
            record.exc_info = None
        return True


def setup_logging(level: str = "INFO", log_format: str = "text") -> None:
    """Root logging to stderr with masking on every handler's path; ``log_format`` ``text`` or ``json``
    (``ivr.logs``: attempt id, campaign and call stage as fields)."""
    from ivr.logs import ContextFilter, formatter

    handler = logging.StreamHandler()
    handler.setFormatter(formatter(log_format))
    handler.addFilter(MaskingFilter())
    handler.addFilter(ContextFilter())
    root = logging.getLogger()
    root.handlers[:] = [handler]
    root.setLevel(level.upper())
    # Migration chatter is noise for operators; failures still surface as errors.
    logging.getLogger("alembic").setLevel(max(logging.WARNING, root.level))
