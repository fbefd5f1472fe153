"""Brazilian phone numbers as people write them, normalised to E.164 (``+55DDNNNNNNNNN``).

Accepts the usual writings: ``(11) 98765-4321``, ``+55 11 98765-4321``, ``11987654321``,
``011 98765-4321`` (long-distance trunk 0), ``55 11 98765 4321``. Rejects anything that is not a
dialable Brazilian subscriber number, with a reason the operator can act on.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from ivr.br.ddd import area_code
from ivr.errors import InputError

# Separators people put in numbers; anything else (letters, '#', '*') is an error, not noise.
_SEPARATORS = re.compile(r"[\s().\-/]")


@dataclass(frozen=True)
class Phone:
    e164: str
    """``+55`` + DDD + subscriber number, digits only after the plus."""
    ddd: int
    state: str
    """Two-letter UF of the DDD."""
    timezones: tuple[str, ...]
    """IANA zones from the DDD (Noronha is never assumed here: it depends on the address)."""
    mobile: bool
    """True for 9-digit subscriber numbers (which always start with 9)."""

    @property
    def national(self) -> str:
        """DDD + subscriber number, the 10 or 11 digits dialled inside Brazil after the trunk 0."""
        return self.e164[3:]


def _national_digits(text: str) -> str:
    raw = text.strip()
    if not raw:
        raise InputError("empty phone number")
    plus = raw.startswith("+")
    digits = _SEPARATORS.sub("", raw[1:] if plus else raw)
    if not digits.isdigit():
        raise InputError(f"phone {text!r}: only digits, spaces, '+', '(', ')', '-', '.' and '/' are allowed")
    if plus:
        if not digits.startswith("55"):
            raise InputError(f"phone {text!r}: not a Brazilian number (country code must be +55)")
        return digits[2:]
    if digits.startswith("00"):
        raise InputError(f"phone {text!r}: international prefix without country code; write it as +55 DDD NUMBER")
    if digits.startswith("0"):
        # Long-distance trunk prefix ("011 ..."); carrier-selection codes (0 + CSP) are not guessed.
        digits = digits[1:]
    # Without '+', 12 or 13 digits can only be 55 + a national number (national numbers have 10 or 11).
    if len(digits) in (12, 13) and digits.startswith("55"):
        digits = digits[2:]
    return digits


def parse_phone(text: str) -> Phone:
    """Parse a Brazilian phone number in any common writing; raise ``InputError`` saying why it is unusable."""
    digits = _national_digits(text)
    if len(digits) not in (10, 11):
        raise InputError(
            f"phone {text!r}: wrong length ({len(digits)} digits after the country code); "
            "expected DDD + 8 digits (landline) or DDD + 9 digits (mobile)"
        )
    ddd = int(digits[:2])
    area = area_code(ddd)
    if area is None:
        raise InputError(f"phone {text!r}: {digits[:2]} is not a Brazilian DDD (area code)")
    subscriber = digits[2:]
    if len(subscriber) == 9:
        if subscriber[0] != "9":
            raise InputError(f"phone {text!r}: a 9-digit (mobile) number must start with 9")
        mobile = True
    else:
        if subscriber[0] in "6789":
            raise InputError(
                f"phone {text!r}: 8-digit number starting with {subscriber[0]} looks like a mobile "
                "missing the leading 9 (mobiles have 9 digits since 2016)"
            )
        if subscriber[0] not in "2345":
            raise InputError(f"phone {text!r}: a landline number must start with 2, 3, 4 or 5")
        mobile = False
    return Phone(e164="+55" + digits, ddd=ddd, state=area.state, timezones=area.timezones, mobile=mobile)


def normalize_phone(text: str) -> str:
    """The E.164 form (``+5511987654321``) of a Brazilian number; ``InputError`` when it is not one."""
    return parse_phone(text).e164
