"""Smoke test of bench/load.py: two real calls against a real ``ivr serve``; correctness only, never timings."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]


@pytest.mark.models
@pytest.mark.parametrize(
    ("mode", "arrival"),
    [
        (["--burst"], "burst"),
        (["--arrival-cps", "2"], "poisson 2.0/s"),  # seeded: both calls arrive within the 5 s
    ],
)
def test_two_calls_reach_their_scripted_outcomes(mode: list[str], arrival: str) -> None:
    # --no-prerender: static prompts are synthesized on demand, which keeps the test short; the
    # outcome does not depend on it.
    proc = subprocess.run(
        [
            sys.executable,
            str(ROOT / "bench" / "load.py"),
            "--calls",
            "2",
            "--seconds",
            "5",
            "--json",
            "--no-prerender",
            *mode,
        ],
        capture_output=True,
        text=True,
        timeout=600,
        cwd=ROOT,
        check=False,
    )
    lines = proc.stdout.strip().splitlines()
    assert lines, proc.stderr[-3000:]
    report = json.loads(lines[-1])
    assert report["arrival"] == arrival
    assert report["calls"] >= 2 and 1 <= report["max_in_flight"] <= 2
    assert report["completed"] == report["calls"]
    assert report["outcome_errors"] == [] and report["outcomes_ok"] == report["calls"]
    assert report["protocol_errors"] == 0, report["protocol_error_samples"]
    assert report["turns"] > 0 and report["model"] and report["tts_engine"].startswith("piper")
    assert report["replies_speech"] > 0 and report["call_minutes"] > 0
    assert report["first_audio_ms_p95"] == report["answer_to_first_audio_ms_p95"]
    assert set(report["cpu_split_percent"]) == {"asr", "tts", "loop", "db", "other"}
    assert report["cpu_seconds_per_call_minute"] is not None and report["loadgen_cpu_percent_per_call"] is not None
    assert proc.returncode == 0
