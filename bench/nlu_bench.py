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
    print(f"corpus: {report.total} utterances  intent accuracy {report.intent_accuracy:.1%}  "
          f"slot accuracy {report.slot_accuracy:.1%}")
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
    print(f"speed: {per:.0f} µs per utterance on average; slowest single call {slowest[0] / 1000:.0f} µs ({slowest[1]!r})")
    for miss in report.misses:
        print("miss:", miss)


if __name__ == "__main__":
    main()
