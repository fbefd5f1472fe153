"""Helpers for conversation tests: one debtor, and checks for debt words."""

from __future__ import annotations

import re
from dataclasses import replace
from datetime import date
from decimal import Decimal
from typing import Any

from ivr.dialog.engine import CallContext, Say
from ivr.dialog.simulator import SimulationResult

TODAY = date(2026, 3, 10)  # a Tuesday; the promise window ends on 2026-03-20
DUE = date(2026, 3, 1)
AMOUNT = Decimal("1234.56")

# What would tell a listener there is a debt: debt words and the spoken amount and due date.
DEBT_PATTERNS = (
    r"d[ée]bito",
    r"d[íi]vida",
    r"\bvalor",
    r"vencimento",
    r"\breais\b",
    r"\breal\b",
    r"centavos",
    r"parcel",
    r"pagamento",
    r"\bpaga[rd]?\b",
    r"cobran[çc]a",
    r"mil duzentos e trinta e quatro",
    r"primeiro de mar[çc]o",
    r"1\.?234",
)


def debt_words(text: str) -> list[str]:
    return [p for p in DEBT_PATTERNS if re.search(p, text, re.IGNORECASE)]


def make_ctx(**overrides: Any) -> CallContext:
    base = CallContext(
        debtor_name="Maria Aparecida Souza",
        creditor_name="Banco Exemplo",
        amount=AMOUNT,
        due_date=DUE,
        today=TODAY,
        debtor_id="d-42",
        seed="attempt-1",
    )
    return replace(base, **overrides)


def bot_lines(result: SimulationResult) -> list[str]:
    return [t["text"] for t in result.transcript if t["speaker"] == "bot"]


def said(result: SimulationResult) -> list[str]:
    """Prompt ids in the order the bot said them."""
    return [a.prompt_id for a in result.actions if isinstance(a, Say)]
