"""Brazilian phone numbers as people write them, normalised to E.164 (``+55DDNNNNNNNNN``).

Accepts the usual writings: ``(11) 98765-4321``, ``+55 11 98765-4321``, ``11987654321``,
``011 98765-4321`` (long-distance trunk 0), ``55 11 98765 4321``, ``0055 11 ...`` (international prefix),
``(0xx11) 98765-4321`` and ``0xx21 3456-7891`` (the old "0 + carrier" placeholder), ``+55 (011) ...``,
``11987654321.0`` (a float written by pandas), and
carrier selection codes (``0 15 11 98765-4321``: trunk 0 + a two-digit carrier code + DDD + number, Anatel
Resolução 73/1998 CSP). Rejects anything that is not a dialable Brazilian subscriber number, with a reason
in Portuguese the operator can act on; the number itself is quoted masked (last four digits), even when
it is malformed (LGPD art. 6 III).
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from ivr.br.ddd import area_code
from ivr.errors import InputError

# Separators people put in numbers; anything else (letters, '#', '*') is an error, not noise.
_SEPARATORS = re.compile(r"[\s().\-/]")
# "0xx11", "(0XX11)", "0 xx 21": xx stood for the carrier code the caller picks.
_XX = re.compile(r"0\s*[xX]\s*[xX]")


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


def masked(text: str) -> str:
    """How a phone is quoted in messages: its last four digits only (``***4321``), whatever its shape."""
    digits = re.sub(r"\D", "", text)
    return "***" + digits[-4:] if len(digits) >= 4 else "***"


_FLOAT = re.compile(r"(\+?\d{10,})[.,]0+")


class _Unusable(Exception):
    """Why a non-empty text is not a dialable number (the caller adds the masked number)."""


def _national_digits(text: str) -> str:
    raw = _XX.sub("0", text.strip())
    if m := _FLOAT.fullmatch(raw):
        raw = m[1]  # a number a spreadsheet or pandas stored as a float: "11987654321.0"
    if not raw:
        raise InputError("telefone vazio")
    plus = raw.startswith("+")
    digits = _SEPARATORS.sub("", raw[1:] if plus else raw)
    if not digits.isdigit():
        raise _Unusable("só dígitos, espaços, '+', '(', ')', '-', '.' e '/' são permitidos")
    if not plus and digits.startswith("00"):
        if not digits.startswith("0055"):
            raise _Unusable("não é um número brasileiro (o código do país deve ser 55)")
        plus, digits = True, digits[2:]
    if plus:
        if not digits.startswith("55"):
            raise _Unusable("não é um número brasileiro (o código do país deve ser +55)")
        digits = digits[2:]
        if digits.startswith("0"):  # "+55 (011) ...": a trunk 0 written after the country code
            digits = digits[1:]
        return digits
    if digits.startswith("0"):
        digits = digits[1:]  # long-distance trunk prefix ("011 ...")
        if len(digits) in (12, 13) and area_code(int(digits[2:4])) is not None:
            return digits[2:]  # a carrier selection code (CSP) between the trunk 0 and the DDD
        return digits
    # Without '+', 12 or 13 digits can only be 55 + a national number (national numbers have 10 or 11).
    if len(digits) in (12, 13) and digits.startswith("55"):
        digits = digits[2:]
    return digits


def parse_phone(text: str) -> Phone:
    """Parse a Brazilian phone number in any common writing; raise ``InputError`` saying why it is unusable."""
    try:
        return _parse(text)
    except _Unusable as exc:
        # The number is quoted masked, whatever its shape; the mask is only built for a refused number.
        raise InputError(f"telefone {masked(text)}: {exc}") from None


def _parse(text: str) -> Phone:
    digits = _national_digits(text)
    if len(digits) not in (10, 11):
        raise _Unusable(
            f"tamanho errado ({len(digits)} dígitos depois do código do país); "
            "esperado DDD + 8 dígitos (fixo) ou DDD + 9 dígitos (celular)"
        )
    ddd = int(digits[:2])
    area = area_code(ddd)
    if area is None:
        raise _Unusable(f"{digits[:2]} não é um DDD brasileiro")
    subscriber = digits[2:]
    if len(subscriber) == 9:
        if subscriber[0] != "9":
            raise _Unusable("um celular de 9 dígitos deve começar com 9")
        mobile = True
    else:
        if subscriber[0] in "6789":
            raise _Unusable(
                f"número de 8 dígitos começando com {subscriber[0]} parece um celular "
                "sem o 9 inicial (celulares têm 9 dígitos desde 2016)"
            )
        if subscriber[0] not in "2345":
            raise _Unusable("um telefone fixo deve começar com 2, 3, 4 ou 5")
        mobile = False
    return Phone(e164="+55" + digits, ddd=ddd, state=area.state, timezones=area.timezones, mobile=mobile)


def normalize_phone(text: str) -> str:
    """The E.164 form (``+5511987654321``) of a Brazilian number; ``InputError`` when it is not one."""
    return parse_phone(text).e164
