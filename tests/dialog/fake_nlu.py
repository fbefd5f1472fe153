"""A FAKE keyword NLU, used only until ``ivr.language.nlu`` is in the tree; the tests prefer the real one."""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import date, time, timedelta
from decimal import Decimal


@dataclass(frozen=True)
class FakeNluResult:
    intent: str
    date: date | None = None
    amount: Decimal | None = None
    installments: int | None = None
    time: time | None = None
    confidence: float = 0.9
    evidence: str = ""


_RULES = (
    ("agent", ("atendente", "humano", "uma pessoa")),
    ("opt_out", ("pare de ligar", "não me liga mais", "não liga mais")),
    ("repeat", ("repete", "repetir")),
    ("wrong_person", ("número errado", "engano", "não conheço")),
    ("not_available", ("não está", "saiu", "não se encontra")),
    ("already_paid", ("já paguei", "já foi pago")),
    ("dispute", ("não reconheço", "golpe", "não devo")),
    ("callback", ("liga mais tarde", "me liga", "ligar depois", "liga amanhã")),
    ("negotiate", ("parcelar", "vezes", "parcela")),
    ("cannot_pay", ("não consigo", "não tenho", "desempregad")),
    ("promise_to_pay", ("pago", "vou pagar", "posso pagar", "consigo pagar")),
    ("affirm", ("sim", "sou eu", "isso", "pode", "certo", "é ela", "é ele")),
    ("deny", ("não",)),
)


def fake_parse(text: str, today: date) -> FakeNluResult:
    t = text.lower()
    intent = next((name for name, keys in _RULES if any(k in t for k in keys)), "unknown")
    when: date | None = None
    if "depois de amanhã" in t:
        when = today + timedelta(days=2)
    elif "amanhã" in t:
        when = today + timedelta(days=1)
    elif m := re.search(r"dia (\d{1,2})", t):
        day = int(m.group(1))
        when = today.replace(day=day) if day >= today.day else (today.replace(day=1) + timedelta(days=32)).replace(day=day)
    amount = Decimal(m.group(1)) if (m := re.search(r"(\d+) reais", t)) else None
    installments = int(m.group(1)) if (m := re.search(r"(\d+) vezes", t)) else None
    at = time(int(m.group(1))) if (m := re.search(r"às (\d{1,2})", t)) else None
    if intent == "affirm" and when and "pag" in t:
        intent = "promise_to_pay"
    return FakeNluResult(intent, when, amount, installments, at)
