"""Static PIX BR Codes ("PIX copia e cola") per the Banco Central do Brasil's EMV QRCPS-MPM profile.

Source: BCB "Manual de Padrões para Iniciação do Pix" (BR Code), annex with the static payload, and the
EMV® QR Code Specification for Payment Systems, Merchant-Presented Mode. Each field is TLV: a 2-digit id,
a 2-digit length and the value; the CRC (field 63) is CRC-16/CCITT-FALSE (poly 0x1021, init 0xFFFF, no
reflection) over the whole payload including ``6304``, as 4 upper-case hex digits.

Written here, not taken from PyPI: the candidates found (pybrcode, pix-python, pixqrcode, pypix, pixcore,
pixcanvas, python-brcode) are single-maintainer projects with little use; several pull in qrcode/Pillow for
images we do not need; none validates the key formats of the DICT manual. The payload is a few TLV fields;
the CRC comes from the maintained ``crc`` library.
"""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass
from decimal import Decimal

from crc import Calculator, Crc16

from ivr.br.cpf import is_valid_cpf

GUI = "br.gov.bcb.pix"
_CRC = Calculator(Crc16.IBM_3740.value)  # = CRC-16/CCITT-FALSE
MAX_NAME = 25
MAX_CITY = 15
MAX_TXID = 25
_EVP = re.compile(r"[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}")
_EMAIL = re.compile(r"[^@\s]+@[^@\s]+\.[^@\s]+")
_PHONE = re.compile(r"\+55\d{10,11}")


class PixError(ValueError):
    """A key, name, city or amount that cannot go into a BR Code; the message says which and why."""


def crc16(payload: str) -> str:
    """CRC-16/CCITT-FALSE of ``payload`` (UTF-8) as 4 upper-case hex digits."""
    return f"{_CRC.checksum(payload.encode('utf-8')):04X}"


def _cnpj_valid(digits: str) -> bool:
    if len(digits) != 14 or len(set(digits)) == 1:
        return False
    for size in (12, 13):
        weights = list(range(size - 7, 1, -1)) + list(range(9, 1, -1))
        total = sum(int(d) * w for d, w in zip(digits[:size], weights))
        check = 0 if total % 11 < 2 else 11 - total % 11
        if check != int(digits[size]):
            return False
    return True


def key_kind(key: str) -> str:
    """``cpf``, ``cnpj``, ``phone`` (``+55`` and DDD), ``email`` or ``evp`` (random key); PixError otherwise.

    Keys are written as the DICT manual stores them: CPF/CNPJ digits only, phone ``+55DDNNNNNNNNN``,
    e-mail as given, EVP lower-case with hyphens.
    """
    if re.fullmatch(r"\d{11}", key) and is_valid_cpf(key):
        return "cpf"
    if re.fullmatch(r"\d{14}", key) and _cnpj_valid(key):
        return "cnpj"
    if _PHONE.fullmatch(key):
        return "phone"
    if _EVP.fullmatch(key):
        return "evp"
    if _EMAIL.fullmatch(key) and len(key) <= 77:
        return "email"
    raise PixError(
        f"{key!r} is not a PIX key: use a CPF or CNPJ (digits only), +55 and the phone number, "
        "an e-mail, or a random key (EVP) in lower case"
    )


def _plain(text: str, limit: int, what: str) -> str:
    """Without accents, ASCII printable, at most ``limit`` characters (banks show it to the payer)."""
    folded = unicodedata.normalize("NFKD", text)
    ascii_text = "".join(c for c in folded if not unicodedata.combining(c))
    ascii_text = re.sub(r"[^\x20-\x7e]", "", ascii_text).strip()
    if not ascii_text:
        raise PixError(f"the {what} is empty")
    return ascii_text[:limit].rstrip()


def txid_from(protocol: str) -> str:
    """A reference label the BR Code allows: letters and digits only, at most 25; ``***`` when none."""
    label = re.sub(r"[^A-Za-z0-9]", "", protocol)[:MAX_TXID]
    return label or "***"


def _tlv(tag: str, value: str) -> str:
    if len(value) > 99:
        raise PixError(f"field {tag} is longer than 99 characters")
    return f"{tag}{len(value):02d}{value}"


@dataclass(frozen=True)
class StaticPix:
    key: str
    merchant_name: str
    merchant_city: str
    amount: Decimal | None
    """Reais; None leaves the amount to the payer (not used by the bot)."""
    txid: str = "***"

    def payload(self) -> str:
        """The "copia e cola" text, CRC included."""
        key_kind(self.key)
        if self.amount is not None and (self.amount <= 0 or self.amount != self.amount.quantize(Decimal("0.01"))):
            raise PixError(f"amount {self.amount} must be positive with cents")
        account = _tlv("00", GUI) + _tlv("01", self.key)
        fields = [
            _tlv("00", "01"),
            _tlv("26", account),
            _tlv("52", "0000"),
            _tlv("53", "986"),
        ]
        if self.amount is not None:
            amount = f"{self.amount:.2f}"
            if len(amount) > 13:
                raise PixError(f"amount {amount} is longer than the 13 characters of field 54")
            fields.append(_tlv("54", amount))
        fields += [
            _tlv("58", "BR"),
            _tlv("59", _plain(self.merchant_name, MAX_NAME, "merchant name")),
            _tlv("60", _plain(self.merchant_city, MAX_CITY, "merchant city")),
            _tlv("62", _tlv("05", txid_from(self.txid))),
        ]
        body = "".join(fields) + "6304"
        return body + crc16(body)


def static_brcode(key: str, merchant_name: str, merchant_city: str, amount: Decimal | None, txid: str = "") -> str:
    """The "PIX copia e cola" payload for a key and an amount; ``txid`` is the call's protocol. PixError if unusable."""
    return StaticPix(key, merchant_name, merchant_city, amount, txid or "***").payload()
