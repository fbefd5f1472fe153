"""Prometheus metrics and the ``/healthz`` endpoint of ``ivr serve`` and of each dialer.

The metrics are the well-kept ``prometheus_client`` objects below, registered once per process in its
default registry (one process = one scrape target: ``ivr serve`` on ``metrics.serve_port``, each dialer on
``metrics.dialer_port``; loopback by default, off while the port is 0). The call service and the dialer
touch them through one-line hooks (``call_ended``, ``ORIGINATES``, ``set_paused`` ...).

The HTTP side is the standard library's ``ThreadingHTTPServer`` in a daemon thread rather than
``prometheus_client.start_http_server`` because it also answers ``/healthz`` (models loaded, database
reachable, AMI connected: whatever the process registers), as JSON with 200 or 503, for load balancers
and monitoring.
"""

from __future__ import annotations

import json
import logging
import threading
from collections.abc import Callable, Mapping
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

from prometheus_client import CONTENT_TYPE_LATEST, REGISTRY, Counter, Gauge, Histogram, generate_latest

from ivr.errors import IvrError

log = logging.getLogger(__name__)

CALLS_ACTIVE = Gauge("ivr_calls_active", "Calls the call service is holding a conversation on now.")
CALL_OUTCOMES = Counter("ivr_call_outcomes_total", "Attempts ended, by outcome (ivr.vocabulary.Outcome).", ["outcome"])
TURN_LATENCY = Histogram(
    "ivr_turn_latency_seconds",
    "From the end of the caller's utterance to the start of the bot's reply.",
    buckets=(0.25, 0.5, 0.75, 1.0, 1.5, 2.0, 3.0, 5.0, 10.0),
)
FIRST_AUDIO = Histogram(
    "ivr_first_audio_seconds",
    "From the media connection to the bot's first audio frame.",
    buckets=(0.1, 0.25, 0.5, 1.0, 2.0, 3.0, 5.0, 10.0),
)
ASR_REALTIME_FACTOR = Histogram(
    "ivr_asr_realtime_factor",
    "Recognition time / audio duration per utterance (below 1: faster than real time).",
    buckets=(0.05, 0.1, 0.2, 0.3, 0.5, 0.75, 1.0, 1.5, 2.0),
)
TTS_CACHE_HITS = Counter("ivr_tts_cache_hits_total", "Synthesis requests served from the rendered-audio cache.")
TTS_CACHE_MISSES = Counter("ivr_tts_cache_misses_total", "Synthesis requests the TTS engine had to render.")
DIALER_ORIGINATES = Counter(
    "ivr_dialer_originates_total",
    "AMI Originate actions, by result: accepted, refused, unknown (no reply).",
    ["result"],
)
DIALER_PAUSED = Gauge("ivr_dialer_paused", "1 while the dialer is not dialling for this reason.", ["reason"])
EVENT_LOOP_LAG = Histogram(
    "ivr_event_loop_lag_seconds",
    "How late the call service's event loop wakes a 100 ms timer (it paces every call's 20 ms frames).",
    buckets=(0.001, 0.002, 0.005, 0.01, 0.02, 0.05, 0.1, 0.25, 1.0),
)
AUDIO_LATE_FRAMES = Counter(
    "ivr_audio_late_frames_total", "Bot audio frames sent later than their 20 ms slot allows (the caller hears a gap)."
)

AUDIO_STARVED_FRAMES = Counter(
    "ivr_audio_starved_frames_total",
    "Silent frames sent inside a prompt while its next sentence was still being synthesized (a gap).",
)

PAUSE_REASONS = ("campaign_paused", "campaign_stopped", "campaign_done", "ami_disconnected")
"""Reasons always exported (0 or 1) so alerts can rely on the series; ``set_paused`` accepts others too."""


def call_ended(stats: Any, outcome_name: str | None) -> None:
    """Hook: a conversation ended with ``outcome_name`` (None: none decided); ``stats`` is the call's
    ``CallStats`` (first audio and turn latencies in ms, underruns)."""
    outcome(outcome_name)
    if stats.answer_to_first_audio_ms is not None:
        FIRST_AUDIO.observe(stats.answer_to_first_audio_ms / 1000)
    for latency_ms in stats.turn_latencies_ms:
        TURN_LATENCY.observe(latency_ms / 1000)
    AUDIO_LATE_FRAMES.inc(stats.underruns)
    AUDIO_STARVED_FRAMES.inc(getattr(stats, "starved_frames", 0))


async def watch_event_loop(interval_s: float = 0.1) -> None:
    """Sample the running loop's lag forever (a task): sleep ``interval_s`` and record the oversleep in
    ``ivr_event_loop_lag_seconds``. A loop busy with per-frame work or blocked by a synchronous call shows
    here before callers hear gaps."""
    import asyncio

    loop = asyncio.get_running_loop()
    while True:
        before = loop.time()
        await asyncio.sleep(interval_s)
        EVENT_LOOP_LAG.observe(max(0.0, loop.time() - before - interval_s))


def outcome(name: str | None) -> None:
    """Hook: an attempt's outcome was stored (call service or dialer)."""
    if name:
        CALL_OUTCOMES.labels(str(name)).inc()


_pause_reasons_seen: set[str] = set(PAUSE_REASONS)


def set_paused(reason: str | None) -> None:
    """Hook: the dialer is dialling (None) or held back by ``reason``; exactly one reason is 1 at a time."""
    if reason:
        _pause_reasons_seen.add(reason)
    for known in _pause_reasons_seen:
        DIALER_PAUSED.labels(known).set(1 if known == reason else 0)


HealthCheck = Callable[[], tuple[bool, str]]
"""A named health check: () -> (ok, detail). It must not raise."""


def health(checks: Mapping[str, HealthCheck]) -> tuple[bool, dict[str, Any]]:
    """Run every check: (all ok, ``{"status": "ok"|"fail", "checks": {name: {"ok", "detail"}}}``)."""
    results: dict[str, Any] = {}
    for name, check in checks.items():
        try:
            ok, detail = check()
        except Exception as exc:  # a broken check is a failed check, never a crashed endpoint
            ok, detail = False, f"{type(exc).__name__}: {exc}"
        results[name] = {"ok": ok, "detail": detail}
    healthy = all(r["ok"] for r in results.values())
    return healthy, {"status": "ok" if healthy else "fail", "checks": results}


def database_check(url: str) -> HealthCheck:
    """``SELECT 1`` on the database (a pooled connection of the process's engine)."""

    def check() -> tuple[bool, str]:
        from sqlalchemy import text
        from sqlalchemy.exc import SQLAlchemyError

        from ivr.db.session import get_engine

        try:
            with get_engine(url).connect() as conn:
                conn.execute(text("SELECT 1"))
        except SQLAlchemyError as exc:
            return False, str(getattr(exc, "orig", None) or exc).strip().splitlines()[0]
        return True, "reachable"

    return check


class MetricsServer:
    """``/metrics`` (Prometheus text format) and ``/healthz`` on host:port, in a daemon thread."""

    def __init__(self, host: str, port: int, checks: Mapping[str, HealthCheck] | None = None) -> None:
        self.checks = dict(checks or {})
        server = self

        class Handler(BaseHTTPRequestHandler):
            def do_GET(self) -> None:
                path = self.path.split("?", 1)[0]
                if path == "/metrics":
                    self._send(200, CONTENT_TYPE_LATEST, generate_latest(REGISTRY))
                elif path == "/healthz":
                    ok, body = health(server.checks)
                    self._send(200 if ok else 503, "application/json", json.dumps(body).encode())
                else:
                    self._send(404, "text/plain; charset=utf-8", b"not found: try /metrics or /healthz\n")

            def _send(self, code: int, ctype: str, body: bytes) -> None:
                self.send_response(code)
                self.send_header("Content-Type", ctype)
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

            def log_message(self, format: str, *args: Any) -> None:  # scrapes are not log events
                pass

        try:
            self._httpd = ThreadingHTTPServer((host, port), Handler)
        except OSError as exc:
            raise IvrError(
                f"metrics: cannot listen on {host}:{port}: {exc.strerror} (settings metrics.host, "
                "metrics.serve_port / metrics.dialer_port; 0 turns the endpoint off)"
            ) from None
        self._httpd.daemon_threads = True
        self.host, self.port = host, int(self._httpd.server_address[1])
        self._thread = threading.Thread(target=self._httpd.serve_forever, name="metrics", daemon=True)

    def start(self) -> MetricsServer:
        self._thread.start()
        log.info("metrics on http://%s:%d/metrics, health on /healthz", self.host, self.port)
        return self

    def stop(self) -> None:
        if self._thread.is_alive():
            self._httpd.shutdown()  # waits for serve_forever: only when it runs
        self._httpd.server_close()


def start_metrics(host: str, port: int, checks: Mapping[str, HealthCheck] | None = None) -> MetricsServer | None:
    """Start the endpoint, or nothing when ``port`` is 0 (the default: set it per process)."""
    if port == 0:
        return None
    return MetricsServer(host, port, checks).start()
