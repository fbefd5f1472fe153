"""The labelled corpus holds intent and slot accuracy at or above 95%."""

from __future__ import annotations

from pathlib import Path

from ivr.language.evaluation import evaluate, load_corpus
from ivr.language.nlu import INTENTS

CORPUS = Path(__file__).with_name("nlu_corpus.jsonl")


def test_corpus_is_large_and_covers_every_intent() -> None:
    examples = load_corpus(CORPUS)
    assert len(examples) >= 450
    assert {ex.intent for ex in examples} == set(INTENTS)
    for slot in ("date", "amount", "installments", "time"):
        assert sum(ex.slots[slot] is not None for ex in examples) >= 15, slot


def test_corpus_accuracy() -> None:
    report = evaluate(load_corpus(CORPUS))
    misses = "\n".join(report.misses)
    assert report.intent_accuracy >= 0.95, f"intent accuracy {report.intent_accuracy:.3f}; misses:\n{misses}"
    assert report.slot_accuracy >= 0.95, f"slot accuracy {report.slot_accuracy:.3f}; misses:\n{misses}"
