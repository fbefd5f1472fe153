"""NLU benchmark: per-intent precision and recall on the labelled corpus, and microseconds per utterance."""

from __future__ import annotations

import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from ivr.language.evaluation import evaluate, load_corpus  # noqa: E402
from ivr.language.nlu import INTENTS, parse  # noqa: E402

CORPUS = ROOT / "tests" / "language" / "nlu_corpus.jsonl"


def main() -> None:
    examples = load_corpus(CORPUS)
    report = evaluate(examples)
    print(
        f"corpus: {report.total} utterances  intent accuracy {report.intent_accuracy:.1%}  "
        f"slot accuracy {report.slot_accuracy:.1%}"
    )
    print(f"{'intent':16}{'precision':>10}{'recall':>8}{'n':>6}")
    for intent in INTENTS:
        precision, recall, support = report.precision_recall(intent)
        print(f"{intent:16}{precision:>10.2f}{recall:>8.2f}{support:>6}")
    rounds = 20
    started = time.perf_counter()
    for _ in range(rounds):
        for ex in examples:
            parse(ex.text, ex.today)
    per = (time.perf_counter() - started) / (rounds * len(examples)) * 1e6
    slowest = (0, "")
    for ex in examples:
        t0 = time.perf_counter_ns()
        parse(ex.text, ex.today)
        slowest = max(slowest, (time.perf_counter_ns() - t0, ex.text))
    print(
        f"speed: {per:.0f} µs per utterance on average; slowest single call {slowest[0] / 1000:.0f} µs ({slowest[1]!r})"
    )
    for miss in report.misses:
        print("miss:", miss)
    heldout = load_corpus(CORPUS.with_name("nlu_heldout.jsonl"))
    held = evaluate(heldout)
    print(
        f"held-out: {held.total} utterances  intent accuracy {held.intent_accuracy:.1%}  "
        f"slot accuracy {held.slot_accuracy:.1%}"
    )
    for name, examples in (("corpus", load_corpus(CORPUS)), ("held-out", heldout)):
        gate = [ex for ex in examples if ex.context == "identity"]
        scored = evaluate(gate)
        unsafe = sum(n for (want, got), n in scored.confusion.items() if got == "affirm" and want != "affirm")
        print(
            f"identity answers ({name}): {scored.total}  accuracy {scored.intent_accuracy:.1%}  "
            f"read as a confirmation when not one: {unsafe}"
        )
    for miss in held.misses:
        print("held-out miss:", miss)


if __name__ == "__main__":
    main()
