"""``ivr serve``: one call-service process, or ``service.workers`` of them under a small supervisor.

One process runs one event loop (every call's 20 ms audio pacing) and loads the models once; past a core or
two that loop and the GIL-holding parts of each call become the ceiling, so on bigger machines several
processes share the work. They share the FastAGI port with SO_REUSEPORT (Linux spreads new connections over
the listening processes) and each listens for AudioSocket on ``service.audiosocket_port + worker``, the
address its AGI sessions hand to Asterisk, so a call's media always reaches the process that runs its
conversation. Each worker has its own metrics port (``metrics.serve_port + worker``). The outbox delivery
thread, when it runs inside ``ivr serve``, runs in worker 0 only.

The supervisor is plain ``multiprocessing`` (spawn: the children load their own models; nothing is shared
but the listening port): it restarts a worker that dies (after 1, 2, 4 ... 30 s), gives up with exit code 1 when one dies
``MAX_FAILURES`` times within ``FAILURE_WINDOW_S`` (systemd then sees a failed unit), and stops them all on
SIGTERM/SIGINT, which is what systemd sends.

systemd (``Type=notify``, ``WatchdogSec=``, ivr/deploy/systemd/ivr-serve.service; protocol in ivr/sdnotify.py):
a single process says ``READY=1`` once its ports listen and its models are loaded, and pings the watchdog
from its event loop, so a loop that stops turning gets the service restarted. With workers, the supervisor is
the unit's main process: it says ``READY=1`` when every worker is ready and pings the watchdog from its own
loop, and it is itself the watchdog of the workers: each beats a shared clock from its event loop every
``BEAT_S``; one that was ready and has not beaten for ``WORKER_HUNG_S`` is killed and restarted like a worker
that died (its calls were lost already).
"""

from __future__ import annotations

import asyncio
import ctypes
import logging
import multiprocessing
import signal
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass
from multiprocessing.process import BaseProcess
from multiprocessing.synchronize import Event as ProcessEvent
from typing import Any

from ivr.config import Settings
from ivr.errors import IvrError
from ivr.sdnotify import Notifier

log = logging.getLogger(__name__)

RESTART_DELAY_S = 1.0
"""First wait before a dead worker is started again; doubled at each exit within ``FAILURE_WINDOW_S``."""
MAX_RESTART_DELAY_S = 30.0
MAX_FAILURES = 5
FAILURE_WINDOW_S = 120.0
STOP_TIMEOUT_S = 300.0
"""How long the workers get to stop after SIGTERM before SIGKILL (the unit's TimeoutStopSec is 330 s)."""
MAX_WORKERS = 64
PERMANENT_EXIT_CODES = (2, 3, 4)
"""Worker exit codes restarting cannot fix (ivr/errors.py: a bad setting, something missing, a missing speech
model): the supervisor stops with the same code at once, and the units' ``RestartPreventExitStatus=2 3 4``
keep systemd from restarting it."""
BEAT_S = 1.0
"""How often a worker's event loop writes its heartbeat for the supervisor."""
WORKER_HUNG_S = 30.0
"""A ready worker whose event loop has not beaten for this long is killed and restarted (under a systemd
watchdog: for as long as the unit's ``WatchdogSec=``, what systemd would allow a single process)."""


@dataclass
class WorkerBeacon:
    """What a worker process shows its supervisor: ``ready`` (set once it takes calls) and ``heartbeat``
    (``time.monotonic()`` of its event loop's last beat; CLOCK_MONOTONIC is one clock for every process)."""

    ready: ProcessEvent
    heartbeat: ctypes.c_double

    def mark_ready(self) -> None:
        self.heartbeat.value = time.monotonic()
        self.ready.set()

    async def beat(self) -> None:
        """Run as a task on the worker's event loop: the heartbeat moves only while the loop turns."""
        while True:
            self.heartbeat.value = time.monotonic()
            await asyncio.sleep(BEAT_S)

    def hung(self, now: float, after_s: float) -> bool:
        return self.ready.is_set() and now - self.heartbeat.value > after_s


def run(
    settings: Settings,
    *,
    test_models: bool,
    worker: int = 0,
    announce: Callable[[str], None] | None = None,
    beacon: WorkerBeacon | None = None,
) -> None:
    """Run one call-service process until SIGTERM/SIGINT (blocking). ``worker``: its index; ``beacon``: set
    for a supervised worker (readiness and heartbeat go to the supervisor), else this process talks to
    systemd itself (``READY=1``, watchdog pings, ``STOPPING=1``)."""
    from ivr.callservice.service import build_speech, serve
    from ivr.db.session import open_database
    from ivr.metrics import database_check, start_metrics

    sessions = open_database(settings.database_url)
    speech = build_speech(settings, allow_test_models=test_models)
    metrics_port = settings.metrics.serve_port + worker if settings.metrics.serve_port else 0
    notifier = Notifier()
    keepalive: list[asyncio.Task[None]] = []

    def ready(service: Any) -> None:
        start_metrics(
            settings.metrics.host,
            metrics_port,
            {
                "models": lambda: (
                    speech.asr is not None and speech.tts is not None,
                    f"TTS {speech.tts.name}, ASR {speech.asr.path if speech.asr else 'none'}",
                ),
                "database": database_check(settings.database_url),
            },
        )
        line = (
            f"ivr serve: FastAGI {settings.service.agi_host}:{settings.service.agi_port}, "
            f"AudioSocket {service.media_address}, TTS {speech.tts.name}, "
            f"ASR {speech.asr.path if speech.asr else 'none'}"
            + (f" (worker {worker} of {settings.service.workers})" if settings.service.workers > 1 else "")
        )
        if announce:
            announce(line)
        loop = asyncio.get_running_loop()
        if beacon is not None:
            beacon.mark_ready()
            keepalive.append(loop.create_task(beacon.beat()))
        else:
            notifier.ready(line.removeprefix("ivr serve: "))
            keepalive.append(loop.create_task(notifier.feed_watchdog()))

    outbox = None
    if worker == 0 and settings.outbox.webhook_url and settings.outbox.run_in_serve:
        from ivr.outbox.delivery import start_in_thread
        from ivr.privacy import redact_url

        outbox = start_in_thread(settings.outbox, sessions)
        if announce:
            announce(f"ivr serve: outbox delivering to {redact_url(settings.outbox.webhook_url)}")

    async def main() -> None:
        task = asyncio.ensure_future(serve(settings, sessions, speech, ready, worker=worker))
        loop = asyncio.get_running_loop()

        def stop() -> None:
            if beacon is None:
                notifier.stopping("ending the calls in progress")
            task.cancel()

        for sig in (signal.SIGTERM, signal.SIGINT):
            loop.add_signal_handler(sig, stop)
        try:
            await task
        except asyncio.CancelledError:
            pass
        finally:
            for t in keepalive:
                t.cancel()

    try:
        asyncio.run(main())
    finally:
        if outbox is not None:
            outbox[1].set()
            outbox[0].join(timeout=5)


def _announcer(settings: Settings) -> Callable[[str], None]:
    """Status lines of a worker: plain on stderr, or JSON log records under ``log_format = json``."""
    if settings.log_format == "json":
        from ivr import logs

        return logs.status
    return lambda line: print(line, file=sys.stderr, flush=True)


def _worker_main(settings: Settings, test_models: bool, worker: int, beacon: WorkerBeacon) -> None:
    from ivr.privacy import restrict_umask, setup_logging

    restrict_umask()
    setup_logging("INFO" if settings.log_level.upper() == "WARNING" else settings.log_level, settings.log_format)
    try:
        run(
            settings,
            test_models=test_models,
            worker=worker,
            announce=_announcer(settings),
            beacon=beacon,
        )
    except KeyboardInterrupt:
        pass
    except IvrError as exc:  # one line in the operator's terms, as the single-process command prints it
        print(f"ivr serve worker {worker}: {exc}", file=sys.stderr, flush=True)
        sys.exit(exc.exit_code)


def supervise(settings: Settings, *, test_models: bool) -> int:
    """Start ``settings.service.workers`` worker processes and keep them running; returns the exit code:
    0 after SIGTERM/SIGINT, 1 when a worker keeps dying (``MAX_FAILURES`` exits within ``FAILURE_WINDOW_S``:
    a port taken), a worker's own code when it is one of ``PERMANENT_EXIT_CODES`` (models missing), so that
    systemd sees the failure instead of a silent restart loop."""
    ctx = multiprocessing.get_context("spawn")
    count = settings.service.workers
    stopping = False
    notifier = Notifier()
    hung_after_s = 2 * notifier.watchdog_s if notifier.watchdog_s is not None else WORKER_HUNG_S
    beacons: dict[int, WorkerBeacon] = {}

    def stop(signum: int, frame: Any) -> None:
        nonlocal stopping
        stopping = True

    previous = {sig: signal.signal(sig, stop) for sig in (signal.SIGTERM, signal.SIGINT)}

    def start(i: int) -> BaseProcess:
        # No lock on the heartbeat: a worker killed while holding one would block the supervisor's read (an
        # aligned 8-byte double is written and read whole).
        beacons[i] = WorkerBeacon(ctx.Event(), ctx.RawValue(ctypes.c_double, 0.0))
        p = ctx.Process(
            target=_worker_main, args=(settings, test_models, i, beacons[i]), name=f"ivr-serve-{i}", daemon=False
        )
        p.start()
        return p

    procs: dict[int, BaseProcess | None] = {i: start(i) for i in range(count)}
    restart_at: dict[int, float] = {}
    failures: dict[int, list[float]] = {i: [] for i in range(count)}
    code = 0
    announced = False
    next_ping = 0.0
    try:
        while not stopping:
            time.sleep(0.2)
            now = time.monotonic()
            if notifier.watchdog_s is not None and now >= next_ping:
                notifier.send("WATCHDOG=1")  # the supervisor's own loop turns; it watches the workers below
                next_ping = now + notifier.watchdog_s
            for i, p in list(procs.items()):
                if p is not None and p.is_alive() and beacons[i].hung(now, hung_after_s):
                    log.error(
                        "ivr serve worker %d: its event loop has not turned for %.0f s; killing it",
                        i,
                        now - beacons[i].heartbeat.value,
                    )
                    beacons[i].ready.clear()  # killed once: not again every tick if it is slow to go
                    p.kill()
                    p.join(5)
                if p is not None and not p.is_alive() and p.exitcode in PERMANENT_EXIT_CODES:
                    log.error(
                        "ivr serve worker %d exited with code %s: restarting cannot fix it; stopping", i, p.exitcode
                    )
                    stopping, code = True, int(p.exitcode or 1)
                    break
                if p is not None and not p.is_alive():
                    failures[i] = [t for t in failures[i] if now - t < FAILURE_WINDOW_S] + [now]
                    if len(failures[i]) >= MAX_FAILURES:
                        log.error(
                            "ivr serve worker %d exited %d times in %.0f s (last exit code %s); stopping",
                            i,
                            len(failures[i]),
                            FAILURE_WINDOW_S,
                            p.exitcode,
                        )
                        stopping, code = True, 1
                        break
                    delay = min(RESTART_DELAY_S * 2 ** (len(failures[i]) - 1), MAX_RESTART_DELAY_S)
                    log.warning("ivr serve worker %d exited with %s; restarting it in %.0f s", i, p.exitcode, delay)
                    notifier.status(f"worker {i} exited with {p.exitcode}; restarting it in {delay:.0f} s")
                    procs[i], restart_at[i] = None, now + delay
                elif p is None and now >= restart_at.get(i, 0.0):
                    procs[i] = start(i)
            if not announced and all(b.ready.is_set() for b in beacons.values()):
                notifier.ready(f"taking calls: {count} workers")
                announced = True
                log.info("ivr serve: all %d workers take calls", count)
    finally:
        notifier.stopping("ending the calls in progress")
        alive = [p for p in procs.values() if p is not None and p.is_alive()]
        for p in alive:
            p.terminate()  # SIGTERM: each worker stops taking calls and closes its own
        deadline = time.monotonic() + STOP_TIMEOUT_S
        for p in alive:
            p.join(max(0.1, deadline - time.monotonic()))
            if p.is_alive():
                p.kill()
                p.join(5)
        for sig, handler in previous.items():
            signal.signal(sig, handler)
    return code


__all__ = ["BEAT_S", "MAX_WORKERS", "WORKER_HUNG_S", "WorkerBeacon", "run", "supervise"]
