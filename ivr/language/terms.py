"""Payment terms in what the debtor says: a discount request, how to pay, where to send it, and split plans.

Read on top of the NLU (``ivr.language.nlu``): the intent stays the NLU's; this adds the details an offer
needs. Pure and table-tested; text is normalized by the NLU first (number words become digits).

- ``discount``: "tem desconto?", "à vista sai mais barato?"; ``down_payment``: "com entrada".
- ``method``: pix | boleto (também "código de barras", "linha digitável") | link.
- ``channel``: whatsapp ("zap") | sms ("mensagem") | email.
- ``parts``: the debtor's own split: "metade" (a share), "a metade agora e o resto mês que vem",
  "150 dia 10 e 150 dia 20" — each part a (date or None, amount) where the amount is reais, a ``Fraction``
  of the balance or ``"rest"``.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import date
from decimal import Decimal
from fractions import Fraction

from ivr.dialog.offers import REST, PartAmount, add_months
from ivr.language.nlu import normalize, parse

_DISCOUNT = re.compile(r"\b(desconto|abatimento|abater|a vista|mais barato|abaixa|reduz|diminui)")
_DOWN = re.compile(r"\bentrada\b")
_METHODS = (
    ("pix", re.compile(r"\bpix\b")),
    ("boleto", re.compile(r"\b(boleto|codigo de barras?|linha digitavel)")),
    ("link", re.compile(r"\blink\b")),
)
_CHANNELS = (
    ("whatsapp", re.compile(r"\b(whats\w*|zap|wpp|uats\w*|zapzap)\b")),
    ("sms", re.compile(r"\b(sms|mensagem de texto|torpedo|mensagem no celular|por mensagem)\b")),
    ("email", re.compile(r"\b(e ?mail|email|correio eletronico)\b")),
)
_SPLIT = re.compile(r"\s+e\s+(?=(?:mais\s+|depois\s+)?(?:o\s+|a\s+)?(?:\d|resto|outra|metade|restante))")
_HALF = re.compile(r"\bmetade\b")
_REST = re.compile(r"\b(resto|restante|outra metade|o que falta)\b")
_NOW = re.compile(r"\b(agora|hoje|ja)\b")
_NEXT_MONTH = re.compile(r"\b(mes que vem|proximo mes)\b")
_DAY = re.compile(r"\bdia\s+\d{1,2}\b|\b\d{1,2}\s*/\s*\d{1,2}\b")
_NUMBER = re.compile(r"\b\d+(?:[.,]\d{1,2})?\b")


@dataclass(frozen=True)
class Terms:
    discount: bool = False
    down_payment: bool = False
    method: str | None = None
    channel: str | None = None
    parts: tuple[tuple[date | None, PartAmount], ...] = ()

    @property
    def split(self) -> bool:
        """The debtor proposed their own split (a share, or two or more dated parts)."""
        return bool(self.parts)


def _first(table: tuple[tuple[str, re.Pattern[str]], ...], text: str) -> str | None:
    hits = [(m.start(), name) for name, rx in table if (m := rx.search(text))]
    return min(hits)[1] if hits else None


def _part(segment: str, today: date) -> tuple[date | None, PartAmount | None]:
    understood = parse(segment, today)
    when = understood.date
    if when is None and _NOW.search(segment):
        when = today
    if when is None and _NEXT_MONTH.search(segment):
        when = add_months(today, 1)
    amount: PartAmount | None = None
    if _REST.search(segment):
        amount = REST
    elif _HALF.search(segment):
        amount = Fraction(1, 2)
    elif understood.amount is not None:
        amount = understood.amount
    else:
        bare = _NUMBER.findall(_DAY.sub(" ", segment))
        if bare:
            amount = Decimal(bare[0].replace(",", "."))
    return when, amount


def read_terms(text: str, today: date) -> Terms:
    """The payment terms in one utterance (see the module docstring)."""
    norm = normalize(text)
    parts: list[tuple[date | None, PartAmount]] = []
    segments = _SPLIT.split(norm)
    read = [_part(seg, today) for seg in segments]
    dated = [(d, a) for d, a in read if a is not None]
    if len(dated) >= 2 and all(d is not None for d, _ in dated):
        parts = [(d, a) for d, a in dated]
    elif _HALF.search(norm):
        when = next((d for d, a in read if d is not None), None)
        parts = [(when, Fraction(1, 2))]
    return Terms(
        discount=bool(_DISCOUNT.search(norm)),
        down_payment=bool(_DOWN.search(norm)),
        method=_first(_METHODS, norm),
        channel=_first(_CHANNELS, norm),
        parts=tuple(parts),
    )
