"""Scoring the NLU against a labelled JSONL corpus: intent and slot accuracy, misses, per-intent precision and recall."""

from __future__ import annotations

import json
from collections import Counter
from dataclasses import dataclass, field
from datetime import date
from pathlib import Path
from typing import Any

from ivr.language.nlu import INTENTS, parse

SLOTS = ("date", "amount", "installments", "time")


@dataclass(frozen=True)
class Example:
    """One labelled utterance; a slot left out of the label is expected to be null."""

    text: str
    today: date
    intent: str
    slots: dict[str, Any]
    context: str | None = None
    """What the bot asked (``ivr.vocabulary.Asked``); None: read without context."""
    debtor_name: str = ""


@dataclass
class Report:
    total: int = 0
    intent_ok: int = 0
    slots_ok: int = 0
    misses: list[str] = field(default_factory=list)
    confusion: Counter[tuple[str, str]] = field(default_factory=Counter)

    @property
    def intent_accuracy(self) -> float:
        return self.intent_ok / self.total if self.total else 0.0

    @property
    def slot_accuracy(self) -> float:
        return self.slots_ok / self.total if self.total else 0.0

    def precision_recall(self, intent: str) -> tuple[float, float, int]:
        """(precision, recall, support) for one intent."""
        tp = self.confusion[(intent, intent)]
        predicted = sum(n for (_, got), n in self.confusion.items() if got == intent)
        support = sum(n for (want, _), n in self.confusion.items() if want == intent)
        return (tp / predicted if predicted else 0.0, tp / support if support else 0.0, support)


def load_corpus(path: Path) -> list[Example]:
    examples: list[Example] = []
    for number, line in enumerate(path.read_text(encoding="utf-8").splitlines(), 1):
        if not line.strip():
            continue
        row = json.loads(line)
        if row["intent"] not in INTENTS:
            raise ValueError(f"{path}:{number}: unknown intent {row['intent']!r}")
        slots = {k: row.get(k) for k in SLOTS}
        examples.append(
            Example(
                row["text"],
                date.fromisoformat(row["today"]),
                row["intent"],
                slots,
                row.get("context"),
                row.get("debtor_name", ""),
            )
        )
    return examples


def evaluate(examples: list[Example]) -> Report:
    """Every slot must match, including those that should be null: a spurious date is a miss too."""
    report = Report()
    for ex in examples:
        got = parse(ex.text, ex.today, context=ex.context, debtor_name=ex.debtor_name).to_json()
        report.total += 1
        report.confusion[(ex.intent, got["intent"])] += 1
        intent_ok = got["intent"] == ex.intent
        wrong = [f"{k}={got[k]!r} want {ex.slots[k]!r}" for k in SLOTS if got[k] != ex.slots[k]]
        report.intent_ok += intent_ok
        report.slots_ok += not wrong
        if not intent_ok or wrong:
            what = [] if intent_ok else [f"intent={got['intent']} want {ex.intent}"]
            report.misses.append(f"{ex.text!r} ({ex.today}): {', '.join(what + wrong)} [{got['evidence']}]")
    return report
