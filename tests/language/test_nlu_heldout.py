"""The held-out set (written apart from the corpus, never used to tune the rules first) holds intent and slot accuracy."""

from __future__ import annotations

from pathlib import Path

from ivr.language.evaluation import evaluate, load_corpus
from ivr.language.nlu import INTENTS

HELDOUT = Path(__file__).with_name("nlu_heldout.jsonl")
CORPUS = Path(__file__).with_name("nlu_corpus.jsonl")
# What the rules reach, less a small margin: a regression of a few utterances fails the test.
MIN_INTENT = 0.97
MIN_SLOTS = 0.97


def test_heldout_is_large_disjoint_and_covers_every_intent() -> None:
    heldout = load_corpus(HELDOUT)
    corpus_texts = {ex.text for ex in load_corpus(CORPUS)}
    assert len(heldout) >= 300
    assert {ex.intent for ex in heldout} == set(INTENTS)
    assert not [ex.text for ex in heldout if ex.text in corpus_texts], "held-out utterances must not be in the corpus"
    for slot in ("date", "amount", "installments", "time"):
        assert sum(ex.slots[slot] is not None for ex in heldout) >= 15, slot


def test_heldout_accuracy() -> None:
    report = evaluate(load_corpus(HELDOUT))
    misses = "\n".join(report.misses)
    assert report.intent_accuracy >= MIN_INTENT, f"intent accuracy {report.intent_accuracy:.3f}; misses:\n{misses}"
    assert report.slot_accuracy >= MIN_SLOTS, f"slot accuracy {report.slot_accuracy:.3f}; misses:\n{misses}"
