"""Smoke test of bench/load.py: two real calls against a real ``ivr serve``; correctness only, never timings."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]


@pytest.mark.models
def test_two_calls_reach_their_scripted_outcomes() -> None:
    # --no-prerender: static prompts are synthesized on demand, which keeps the test short; the
    # outcome does not depend on it.
    proc = subprocess.run(
        [sys.executable, str(ROOT / "bench" / "load.py"), "--calls", "2", "--seconds", "5", "--json", "--no-prerender"],
        capture_output=True, text=True, timeout=600, cwd=ROOT, check=False,
    )
    lines = proc.stdout.strip().splitlines()
    assert lines, proc.stderr[-3000:]
    report = json.loads(lines[-1])
    assert report["calls"] >= 2
    assert report["completed"] == report["calls"]
    assert report["outcome_errors"] == [] and report["outcomes_ok"] == report["calls"]
    assert report["protocol_errors"] == 0, report["protocol_error_samples"]
    assert report["turns"] > 0 and report["model"] and report["tts_engine"].startswith("piper")
    assert proc.returncode == 0
