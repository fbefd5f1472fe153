"""Capacity search: the largest number of simultaneous calls one machine carries within the latency target.

Run: ``.venv/bin/python bench/capacity.py`` (``--seconds 120 --max 32``). For each Vosk model present (the test
model; the Portuguese small model when ``models/vosk-model-small-pt-0.3`` exists) it runs ``bench/load.py``
with calls arriving as a dialer makes them (``--arrival-cps 1``: Poisson, at most N in flight) at
N = 1, 2, 4, 8, ... until a run fails, then bisects. A run passes when p95 turn latency < 500 ms, no call
had an audio underrun nor a prompt starved of synthesized audio mid-way, every call completed with the right
outcome, and N calls really were in flight at once (``max_in_flight``). Prints one table: p95 turn latency,
first-audio p95, underruns, outcomes, service CPU per call-minute and peak RSS at the capacity found.

Smoke check: ``--dry-run`` (N = 1 and 2 only, 10 s of arrivals per step) or ``--max 2``.
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
    return (
        r["calls"] > 0
        and r["completed"] == r["calls"]
        and r["outcomes_ok"] == r["calls"]
        and r["underruns"] == 0
        and not r.get("starved_frames")  # no silence inside a prompt waiting for synthesis
        and r.get("max_in_flight", r["concurrency"]) >= r["concurrency"]  # N calls were really carried at once
        and p95 is not None
        and p95 < TARGET_P95_MS
    )


def load(n: int, model: str, args: argparse.Namespace) -> dict[str, Any]:
    cmd = [
        sys.executable,
        str(ROOT / "bench" / "load.py"),
        "--calls",
        str(n),
        "--seconds",
        str(args.seconds),
        "--json",
        "--model",
        model,
        "--end-of-utterance-ms",
        str(args.end_of_utterance_ms),
    ]
    cmd += ["--burst"] if args.burst else ["--arrival-cps", str(args.arrival_cps)]
    if args.cache_dir:
        cmd += ["--cache-dir", args.cache_dir]
    proc = subprocess.run(cmd, capture_output=True, text=True, timeout=3600, check=False)
    lines = proc.stdout.strip().splitlines()
    if not lines:
        raise SystemExit(f"bench/load.py failed at N={n}:\n{proc.stderr[-3000:]}")
    report: dict[str, Any] = json.loads(lines[-1])
    verdict = "pass" if passes(report) else "FAIL"
    print(
        f"  N={n:3d} {verdict}: p95 {report['turn_latency_ms_p95']} ms, underruns {report['underruns']}, "
        f"outcomes {report['outcomes_ok']}/{report['calls']}, cpu {report['cpu_percent']}%, "
        f"{report.get('cpu_seconds_per_call_minute')} cpu-s/call-min, max in flight {report.get('max_in_flight')}",
        file=sys.stderr,
    )
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
    ap.add_argument("--seconds", type=float, default=120.0, help="seconds of call arrivals per step")
    ap.add_argument("--max", type=int, default=32, help="largest N tried")
    mode = ap.add_mutually_exclusive_group()
    mode.add_argument("--arrival-cps", type=float, default=1.0, help="Poisson arrivals per second (load.py)")
    mode.add_argument("--burst", action="store_true", help="all N calls at once instead (load.py --burst)")
    ap.add_argument("--end-of-utterance-ms", type=int, default=700)
    ap.add_argument(
        "--cache-dir",
        default=str(ROOT / "var" / "bench" / "tts-cache"),
        help="TTS cache shared by the runs (static prompts rendered once)",
    )
    ap.add_argument("--models", default="test,pt", help="comma list of test, pt, or model directories")
    ap.add_argument("--dry-run", action="store_true", help="smoke check: N = 1 and 2 only, 10 s of arrivals each")
    args = ap.parse_args(argv)
    if args.dry_run:
        args.max, args.seconds = min(args.max, 2), min(args.seconds, 10.0)
    rows: list[tuple[str, int | None, dict[str, Any] | None, dict[str, Any] | None]] = []
    for model in args.models.split(","):
        if model == "pt" and not (PT_MODEL / "am" / "final.mdl").is_file():
            rows.append((model, None, None, None))
            continue
        print(f"model {model}:", file=sys.stderr)
        rows.append((model, *search(model, args)))
    arrival = "burst" if args.burst else f"poisson {args.arrival_cps}/s"
    print(
        f"Capacity: largest N (calls in flight, arrivals {arrival}, {args.seconds:g} s per step) with p95 turn "
        f"latency < {TARGET_P95_MS:g} ms, no underrun, every outcome right."
    )
    head = (
        "model",
        "capacity",
        "turn p95 ms",
        "first audio p95 ms",
        "underruns",
        "outcomes",
        "CPU s per call-min",
        "CPU %",
        "RSS MB",
        "first fail",
    )
    print("| " + " | ".join(head) + " |")
    print("|" + "---|" * len(head))
    for model, cap, r, fail in rows:
        if cap is None:
            print(f"| {model} | not present ({PT_MODEL.name} missing) |" + " |" * (len(head) - 2))
            continue
        r = r or {}
        why = "-"
        if fail is not None:
            why = (
                f"N={fail['concurrency']}: p95 {fail['turn_latency_ms_p95']} ms, underruns {fail['underruns']}, "
                f"outcomes {fail['outcomes_ok']}/{fail['calls']}"
            )
        name = r.get("model") or (fail or {}).get("model") or model
        outcomes = f"{r['outcomes_ok']}/{r['calls']}" if r else "-"
        first = r.get("first_audio_ms_p95", r.get("answer_to_first_audio_ms_p95"))
        print(
            f"| {name} | {cap} | {fmt(r.get('turn_latency_ms_p95'))} | {fmt(first)} | {fmt(r.get('underruns'))} | "
            f"{outcomes} | {fmt(r.get('cpu_seconds_per_call_minute'))} | {fmt(r.get('cpu_percent'))} | "
            f"{fmt(r.get('rss_mb_peak'))} | {why} |"
        )
    return 0


if __name__ == "__main__":
    sys.exit(main())
