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
"""

from __future__ import annotations

import asyncio
import logging
import multiprocessing
import signal
import sys
import time
from collections.abc import Callable
from multiprocessing.process import BaseProcess
from typing import Any

from ivr.config import Settings
from ivr.errors import IvrError

log = logging.getLogger(__name__)

RESTART_DELAY_S = 1.0
"""First wait before a dead worker is started again; doubled at each exit within ``FAILURE_WINDOW_S``."""
MAX_RESTART_DELAY_S = 30.0
MAX_FAILURES = 5
FAILURE_WINDOW_S = 120.0
STOP_TIMEOUT_S = 300.0
"""How long the workers get to stop after SIGTERM before SIGKILL (the unit's TimeoutStopSec is 330 s)."""
MAX_WORKERS = 64


def run(
    settings: Settings, *, test_models: bool, worker: int = 0, announce: Callable[[str], None] | None = None
) -> None:
    """Run one call-service process until SIGTERM/SIGINT (blocking). ``worker``: its index."""
    from ivr.callservice.service import build_speech, serve
    from ivr.db.session import open_database
    from ivr.metrics import database_check, start_metrics

    sessions = open_database(settings.database_url)
    speech = build_speech(settings, allow_test_models=test_models)
    metrics_port = settings.metrics.serve_port + worker if settings.metrics.serve_port else 0

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
        if announce:
            announce(
                f"ivr serve: FastAGI {settings.service.agi_host}:{settings.service.agi_port}, "
                f"AudioSocket {service.media_address}, TTS {speech.tts.name}, "
                f"ASR {speech.asr.path if speech.asr else 'none'}"
                + (f" (worker {worker} of {settings.service.workers})" if settings.service.workers > 1 else "")
            )

    outbox = None
    if worker == 0 and settings.outbox.webhook_url and settings.outbox.run_in_serve:
        from ivr.outbox.delivery import start_in_thread

        outbox = start_in_thread(settings.outbox, sessions)
        if announce:
            announce(f"ivr serve: outbox delivering to {settings.outbox.webhook_url}")

    async def main() -> None:
        task = asyncio.ensure_future(serve(settings, sessions, speech, ready, worker=worker))
        loop = asyncio.get_running_loop()
        for sig in (signal.SIGTERM, signal.SIGINT):
            loop.add_signal_handler(sig, task.cancel)
        try:
            await task
        except asyncio.CancelledError:
            pass

    try:
        asyncio.run(main())
    finally:
        if outbox is not None:
            outbox[1].set()
            outbox[0].join(timeout=5)


def _worker_main(settings: Settings, test_models: bool, worker: int) -> None:
    from ivr.privacy import restrict_umask, setup_logging

    restrict_umask()
    setup_logging("INFO" if settings.log_level.upper() == "WARNING" else settings.log_level, settings.log_format)
    try:
        run(
            settings,
            test_models=test_models,
            worker=worker,
            announce=lambda line: print(line, file=sys.stderr, flush=True),
        )
    except KeyboardInterrupt:
        pass
    except IvrError as exc:  # one line in the operator's terms, as the single-process command prints it
        print(f"ivr serve worker {worker}: {exc}", file=sys.stderr, flush=True)
        sys.exit(exc.exit_code)


def supervise(settings: Settings, *, test_models: bool) -> int:
    """Start ``settings.service.workers`` worker processes and keep them running; returns the exit code:
    0 after SIGTERM/SIGINT, 1 when a worker keeps dying (``MAX_FAILURES`` exits within ``FAILURE_WINDOW_S``:
    a port taken, models missing), so that systemd sees the failure instead of a silent restart loop."""
    ctx = multiprocessing.get_context("spawn")
    count = settings.service.workers
    stopping = False

    def stop(signum: int, frame: Any) -> None:
        nonlocal stopping
        stopping = True

    previous = {sig: signal.signal(sig, stop) for sig in (signal.SIGTERM, signal.SIGINT)}

    def start(i: int) -> BaseProcess:
        p = ctx.Process(target=_worker_main, args=(settings, test_models, i), name=f"ivr-serve-{i}", daemon=False)
        p.start()
        return p

    procs: dict[int, BaseProcess | None] = {i: start(i) for i in range(count)}
    restart_at: dict[int, float] = {}
    failures: dict[int, list[float]] = {i: [] for i in range(count)}
    code = 0
    try:
        while not stopping:
            time.sleep(0.2)
            now = time.monotonic()
            for i, p in list(procs.items()):
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
                    procs[i], restart_at[i] = None, now + delay
                elif p is None and now >= restart_at.get(i, 0.0):
                    procs[i] = start(i)
    finally:
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


__all__ = ["MAX_WORKERS", "run", "supervise"]
