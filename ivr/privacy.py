"""Personal data protection: CPF/phone masking for logs and the CPF HMAC used for joins (LGPD art. 6 III)."""

from __future__ import annotations

import hashlib
import hmac
import logging
import re

# CPF with or without punctuation: 123.456.789-09 or 12345678909 (not inside a longer digit run).
_CPF_RE = re.compile(r"(?<!\d)(\d{3})\.?(\d{3})\.?(\d{3})-?(\d{2})(?!\d)")
# Phones: +55 11 98765-4321, (11) 98765-4321, 11987654321, 5511987654321, 98765-4321, and the malformed
# ones an import refuses ("(11) 88765-4321", "11 9876-543"): those are quoted in error lines too.
_PHONE_RE = re.compile(
    r"(?<![\d*])(?:\+?55[\s.-]?)?(?:\(?\d{2}\)?[\s.-]?)?(?:9[\s.-]?)?\d{4,5}[\s.-]?\d{3,4}(?!\d)"
)


def mask_cpf(cpf: str) -> str:
    """``12345678909`` → ``***.456.789-**`` (the middle six digits stay, as the ANPD guidance shows)."""
    digits = re.sub(r"\D", "", cpf)
    if len(digits) != 11:
        return "***.***.***-**"
    return f"***.{digits[3:6]}.{digits[6:9]}-**"


def mask_phone(phone: str) -> str:
    """Keep only the last four digits: ``+5511987654321`` → ``***4321``."""
    digits = re.sub(r"\D", "", phone)
    return "***" + digits[-4:] if len(digits) >= 4 else "***"


def mask_text(text: str) -> str:
    """Mask every CPF and phone number found in free text."""
    return _PHONE_RE.sub(lambda m: mask_phone(m.group(0)), _CPF_RE.sub(_mask_cpf_match, text))


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
    return f"***.{m.group(2)}.{m.group(3)}-**"


def cpf_hmac(cpf_digits: str, key: bytes) -> str:
    """Keyed hash of the 11 CPF digits: the only form of the CPF the database keeps for lookups."""
    return hmac.new(key, cpf_digits.encode("ascii"), hashlib.sha256).hexdigest()


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
