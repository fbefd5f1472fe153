"""Capacity search: the largest number of simultaneous calls one machine carries within the latency target.

Run: ``.venv/bin/python bench/capacity.py`` (``--seconds 40 --max 24``). For each Vosk model present (the test
model; the Portuguese small model when ``models/vosk-model-small-pt-0.3`` exists) it runs ``bench/load.py``
at N = 1, 2, 4, 8, ... until a run fails, then bisects. A run passes when p95 turn latency < 500 ms, no call
had an audio underrun, and every call completed with the right outcome. Prints one table.
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
TARGET_P95_MS = 500.0
PT_MODEL = ROOT / "models" / "vosk-model-small-pt-0.3"


def passes(r: dict[str, Any]) -> bool:
    p95 = r.get("turn_latency_ms_p95")
    return (r["calls"] > 0 and r["completed"] == r["calls"] and r["outcomes_ok"] == r["calls"]
            and r["underruns"] == 0 and p95 is not None and p95 < TARGET_P95_MS)


def load(n: int, model: str, args: argparse.Namespace) -> dict[str, Any]:
    cmd = [sys.executable, str(ROOT / "bench" / "load.py"), "--calls", str(n), "--seconds", str(args.seconds),
           "--json", "--model", model, "--end-of-utterance-ms", str(args.end_of_utterance_ms)]
    if args.cache_dir:
        cmd += ["--cache-dir", args.cache_dir]
    proc = subprocess.run(cmd, capture_output=True, text=True, timeout=3600, check=False)
    lines = proc.stdout.strip().splitlines()
    if not lines:
        raise SystemExit(f"bench/load.py failed at N={n}:\n{proc.stderr[-3000:]}")
    report: dict[str, Any] = json.loads(lines[-1])
    verdict = "pass" if passes(report) else "FAIL"
    print(f"  N={n:3d} {verdict}: p95 {report['turn_latency_ms_p95']} ms, underruns {report['underruns']}, "
          f"outcomes {report['outcomes_ok']}/{report['calls']}, cpu {report['cpu_percent']}%", file=sys.stderr)
    return report


def search(model: str, args: argparse.Namespace) -> tuple[int, dict[str, Any] | None, dict[str, Any] | None]:
    """(capacity, report at capacity, report of the first failing N)."""
    best, best_report, fail_report = 0, None, None
    n, hi = 1, None
    while n <= args.max:
        r = load(n, model, args)
        if passes(r):
            best, best_report = n, r
            n *= 2
        else:
            hi, fail_report = n, r
            break
    if hi is None:
        return best, best_report, fail_report
    lo = best
    while hi - lo > 1:
        mid = (lo + hi) // 2
        r = load(mid, model, args)
        if passes(r):
            lo, best, best_report = mid, mid, r
        else:
            hi, fail_report = mid, r
    return best, best_report, fail_report


def fmt(v: Any) -> str:
    return "-" if v is None else str(v)


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--seconds", type=float, default=40.0)
    ap.add_argument("--max", type=int, default=32)
    ap.add_argument("--end-of-utterance-ms", type=int, default=700)
    ap.add_argument("--cache-dir", default=str(ROOT / "var" / "bench" / "tts-cache"),
                    help="TTS cache shared by the runs (static prompts rendered once)")
    ap.add_argument("--models", default="test,pt", help="comma list of test, pt, or model directories")
    args = ap.parse_args(argv)
    rows = []
    for model in args.models.split(","):
        if model == "pt" and not (PT_MODEL / "am" / "final.mdl").is_file():
            rows.append((model, None, None, None))
            continue
        print(f"model {model}:", file=sys.stderr)
        rows.append((model, *search(model, args)))
    head = ("model", "capacity", "p50 ms", "p95 ms", "p99 ms", "first audio p50", "cpu %", "rss MB", "first fail")
    print("| " + " | ".join(head) + " |")
    print("|" + "---|" * len(head))
    for model, cap, r, fail in rows:
        if cap is None:
            print(f"| {model} | not present ({PT_MODEL.name} missing) |" + " |" * (len(head) - 2))
            continue
        r = r or {}
        why = "-"
        if fail is not None:
            why = (f"N={fail['concurrency']}: p95 {fail['turn_latency_ms_p95']} ms, underruns {fail['underruns']}, "
                   f"outcomes {fail['outcomes_ok']}/{fail['calls']}")
        name = r.get("model") or (fail or {}).get("model") or model
        print(f"| {name} | {cap} | {fmt(r.get('turn_latency_ms_p50'))} | {fmt(r.get('turn_latency_ms_p95'))} | "
              f"{fmt(r.get('turn_latency_ms_p99'))} | {fmt(r.get('answer_to_first_audio_ms_p50'))} | "
              f"{fmt(r.get('cpu_percent'))} | {fmt(r.get('rss_mb_peak'))} | {why} |")
    return 0


if __name__ == "__main__":
    sys.exit(main())
