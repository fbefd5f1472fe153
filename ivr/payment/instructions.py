"""The campaign's ``payment`` policy and the payment instruction the bot asks the outbox to send.

A payment instruction says how to pay (``pix``: a static BR Code for the promised amount; ``boleto``: the
debt's linha digitável; ``link``: the debt's payment URL) and where to send it (``sms`` or ``whatsapp`` to
the mobile the call was on, ``email`` to the debt's e-mail). The voice service never sends anything: the
instruction is written to the outbox in the promise's transaction and a webhook delivers it.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date
from decimal import Decimal
from typing import Any

from ivr.payment.pix import MAX_CITY, MAX_NAME, PixError, key_kind, static_brcode
from ivr.privacy import mask_phone

METHODS = ("pix", "boleto", "link")
CHANNELS = ("sms", "whatsapp", "email")
_PAYMENT_KEYS = ("methods", "pix_key", "merchant_name", "merchant_city", "channels")


@dataclass(frozen=True)
class PaymentPolicy:
    """Policy ``payment``; the default (no methods) keeps the bot silent about how to pay, as before."""

    methods: tuple[str, ...] = ()
    """In the campaign's order of preference."""
    pix_key: str = ""
    merchant_name: str = ""
    """Payee name in the BR Code (≤ 25 characters, accents removed)."""
    merchant_city: str = ""
    """Payee city in the BR Code (≤ 15 characters)."""
    channels: tuple[str, ...] = ()
    """Where instructions may be sent, in order of preference."""

    @property
    def enabled(self) -> bool:
        return bool(self.methods and self.channels)


def _names(value: Any, where: str, allowed: Sequence[str], errors: list[str]) -> tuple[str, ...]:
    if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
        errors.append(f"{where} must be a list of names from {', '.join(allowed)}, not {value!r}")
        return ()
    bad = [v for v in value if v not in allowed]
    if bad:
        errors.append(f"{where}: {bad[0]!r} is not one of {', '.join(allowed)}")
    if len(set(value)) != len(value):
        errors.append(f"{where}: a name is listed twice")
    return tuple(v for v in dict.fromkeys(value) if v in allowed)


def payment_from_dict(data: Any, source: str, errors: list[str]) -> PaymentPolicy:
    """Policy ``payment`` from JSON; each problem appended to ``errors`` as one line naming the key."""
    where = f"{source}: payment"
    if not isinstance(data, dict):
        errors.append(f"{where} must be an object with the keys {', '.join(_PAYMENT_KEYS)}")
        return PaymentPolicy()
    for key in data:
        if key not in _PAYMENT_KEYS:
            errors.append(f"{where}: unknown key {key!r} (known: {', '.join(_PAYMENT_KEYS)})")
    methods = _names(data.get("methods", []), f"{where}.methods", METHODS, errors)
    channels = _names(data.get("channels", []), f"{where}.channels", CHANNELS, errors)
    texts: dict[str, str] = {}
    for key in ("pix_key", "merchant_name", "merchant_city"):
        value = data.get(key, "")
        if not isinstance(value, str):
            errors.append(f"{where}.{key} must be text, not {value!r}")
            value = ""
        texts[key] = value.strip()
    if methods and not channels:
        errors.append(f"{where}.channels: give at least one of {', '.join(CHANNELS)} to send the payment methods")
    if "pix" in methods:
        if not texts["pix_key"]:
            errors.append(f'{where}.pix_key is required when methods has "pix"')
        else:
            try:
                key_kind(texts["pix_key"])
            except PixError as exc:
                errors.append(f"{where}.pix_key: {exc}")
        for key, limit in (("merchant_name", MAX_NAME), ("merchant_city", MAX_CITY)):
            if not texts[key]:
                errors.append(f'{where}.{key} is required when methods has "pix" (the payee the bank shows)')
            elif len(texts[key]) > limit:
                errors.append(f"{where}.{key} has {len(texts[key])} characters; the BR Code allows {limit}")
    return PaymentPolicy(methods, texts["pix_key"], texts["merchant_name"], texts["merchant_city"], channels)


@dataclass(frozen=True)
class DebtPaymentData:
    """What the import may hold per debt (columns added by the importer; any of them may be absent)."""

    boleto_line: str | None = None
    """Linha digitável (digits), validated by the importer."""
    payment_link: str | None = None
    """An https URL."""
    email: str | None = None

    @classmethod
    def of(cls, debt: object, debtor: object = None) -> DebtPaymentData:
        """From the ``Debt`` and ``Debtor`` rows, reading the optional attributes defensively (schemas before
        the import's payment columns lack them; the e-mail is the debtor's, or the debt's if it has one)."""

        def text(row: object, *names: str) -> str | None:
            for name in names:
                value = getattr(row, name, None)
                if isinstance(value, str) and value.strip():
                    return value.strip()
            return None

        return cls(
            text(debt, "boleto_line", "linha_digitavel"),
            text(debt, "payment_link"),
            text(debt, "email") or text(debtor, "email"),
        )


def methods_for(policy: PaymentPolicy, data: DebtPaymentData) -> list[str]:
    """The policy's methods this debt can actually be paid with, in the policy's order."""
    have = {"pix": bool(policy.pix_key), "boleto": bool(data.boleto_line), "link": bool(data.payment_link)}
    return [m for m in policy.methods if have[m]]


def channels_for(policy: PaymentPolicy, mobile: bool, data: DebtPaymentData) -> list[str]:
    """The policy's channels this debtor can be reached on: SMS and WhatsApp need the call's number to be a
    mobile, e-mail needs the debt's e-mail."""
    have = {"sms": mobile, "whatsapp": mobile, "email": bool(data.email)}
    return [c for c in policy.channels if have[c]]


@dataclass(frozen=True)
class PaymentInstruction:
    method: str
    channel: str
    destination: str
    """E.164 phone for sms/whatsapp, the e-mail for email. Personal data: masked in logs."""
    payload: str
    """PIX copia e cola, linha digitável or URL."""
    amount: Decimal
    due_date: date

    @property
    def destination_masked(self) -> str:
        if self.channel == "email":
            user, _, host = self.destination.partition("@")
            return f"{user[:1]}***@{host}"
        return mask_phone(self.destination)

    def to_json(self) -> dict[str, str]:
        """``{"method", "channel", "payload"}``: the ``payment_instruction`` contract of ``ivr simulate --json``."""
        return {"method": self.method, "channel": self.channel, "payload": self.payload}


def build_instruction(
    policy: PaymentPolicy,
    method: str,
    channel: str,
    amount: Decimal,
    due_date: date,
    phone_e164: str,
    data: DebtPaymentData,
    txid: str,
) -> PaymentInstruction:
    """The instruction for one payment (the plan's first item). ValueError when the debt lacks the method."""
    if method == "pix":
        payload = static_brcode(policy.pix_key, policy.merchant_name, policy.merchant_city, amount, txid)
    elif method == "boleto" and data.boleto_line:
        payload = re.sub(r"\D", "", data.boleto_line)
    elif method == "link" and data.payment_link:
        payload = data.payment_link
    else:
        raise ValueError(f"this debt cannot be paid by {method}")
    if channel == "email":
        if not data.email:
            raise ValueError("this debt has no e-mail")
        destination = data.email
    else:
        destination = phone_e164
    return PaymentInstruction(method, channel, destination, payload, amount, due_date)
