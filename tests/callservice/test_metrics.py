"""The /metrics and /healthz endpoint over real HTTP, the dialer's pause gauge, and the JSON log format."""

from __future__ import annotations

import asyncio
import io
import json
import logging
import urllib.error
import urllib.request
from collections.abc import Iterator
from pathlib import Path

import pytest
from prometheus_client import REGISTRY

from ivr import logs, metrics
from ivr.metrics import MetricsServer, database_check, start_metrics
from ivr.privacy import setup_logging

NAMES = (
    "ivr_calls_active",
    "ivr_call_outcomes_total",
    "ivr_turn_latency_seconds",
    "ivr_first_audio_seconds",
    "ivr_asr_realtime_factor",
    "ivr_tts_cache_hits_total",
    "ivr_dialer_originates_total",
    "ivr_dialer_paused",
    "ivr_audio_late_frames_total",
)


def _get(url: str) -> tuple[int, str, str]:
    try:
        with urllib.request.urlopen(url, timeout=10) as resp:
            return resp.status, resp.headers["Content-Type"], resp.read().decode()
    except urllib.error.HTTPError as err:
        return err.code, err.headers["Content-Type"], err.read().decode()


@pytest.fixture
def endpoint(tmp_path: Path) -> Iterator[tuple[MetricsServer, Path]]:
    db = tmp_path / "ivr.db"
    server = MetricsServer("127.0.0.1", 0, {"database": database_check(f"sqlite:///{db}")}).start()
    yield server, db
    server.stop()


def test_metrics_are_exposed_in_the_prometheus_format(endpoint: tuple[MetricsServer, Path]) -> None:
    server, _ = endpoint
    metrics.DIALER_ORIGINATES.labels("accepted").inc()
    metrics.outcome("busy")
    status, ctype, body = _get(f"http://127.0.0.1:{server.port}/metrics")
    assert status == 200 and ctype.startswith("text/plain")
    for name in NAMES:
        assert f"# TYPE {name} " in body, name
    assert 'ivr_dialer_originates_total{result="accepted"}' in body
    assert 'ivr_call_outcomes_total{outcome="busy"}' in body


def test_healthz_says_which_check_failed(endpoint: tuple[MetricsServer, Path], tmp_path: Path) -> None:
    server, _ = endpoint
    status, ctype, body = _get(f"http://127.0.0.1:{server.port}/healthz")
    assert (status, ctype) == (200, "application/json")
    assert json.loads(body) == {"status": "ok", "checks": {"database": {"ok": True, "detail": "reachable"}}}
    server.checks["ami"] = lambda: (False, "not connected")
    server.checks["broken"] = lambda: 1 / 0  # type: ignore[return-value,operator]
    status, _, body = _get(f"http://127.0.0.1:{server.port}/healthz")
    got = json.loads(body)
    assert status == 503 and got["status"] == "fail"
    assert got["checks"]["ami"] == {"ok": False, "detail": "not connected"}
    assert got["checks"]["broken"]["detail"].startswith("ZeroDivisionError")
    assert _get(f"http://127.0.0.1:{server.port}/other")[0] == 404


def test_unreachable_database_fails_the_health_check(tmp_path: Path) -> None:
    ok, detail = database_check("postgresql+psycopg://ivr@127.0.0.1:1/nothing")()
    assert not ok and detail


def test_port_zero_is_off_and_a_busy_port_is_one_line() -> None:
    assert start_metrics("127.0.0.1", 0) is None
    first = MetricsServer("127.0.0.1", 0)
    try:
        with pytest.raises(Exception, match=r"metrics: cannot listen on 127\.0\.0\.1:\d+: .*metrics\.serve_port"):
            MetricsServer("127.0.0.1", first.port)
    finally:
        first.stop()


def test_exactly_one_pause_reason_is_set() -> None:
    metrics.set_paused("campaign_paused")
    metrics.set_paused("service_unreachable")
    assert REGISTRY.get_sample_value("ivr_dialer_paused", {"reason": "service_unreachable"}) == 1
    assert REGISTRY.get_sample_value("ivr_dialer_paused", {"reason": "campaign_paused"}) == 0
    metrics.set_paused(None)
    assert REGISTRY.get_sample_value("ivr_dialer_paused", {"reason": "service_unreachable"}) == 0


@pytest.mark.parametrize("log_format", ["json", "text"])
def test_log_lines_carry_the_call_and_mask_personal_data(log_format: str, monkeypatch: pytest.MonkeyPatch) -> None:
    stream = io.StringIO()
    monkeypatch.setattr("sys.stderr", stream)
    root = logging.getLogger()
    saved = root.handlers[:], root.level
    try:
        setup_logging("INFO", log_format)

        async def call() -> None:
            logs.bind(attempt_id=42, stage="collect")
            logging.getLogger("ivr.test").info("debtor 529.982.247-25 at (11) 98765-4321 said yes")

        logs.bind(campaign="nov-2026")
        asyncio.run(call())
        logging.getLogger("ivr.test").info("outside the call")
    finally:
        root.handlers[:], _ = saved
        root.setLevel(saved[1])
    first, second = stream.getvalue().splitlines()
    assert "529.982.247-25" not in first and "98765-4321" not in first and "***4321" in first
    if log_format == "json":
        line = json.loads(first)
        assert line["attempt_id"] == 42 and line["campaign"] == "nov-2026" and line["stage"] == "collect"
        assert line["level"] == "INFO" and line["logger"] == "ivr.test"
        assert "attempt_id" not in json.loads(second)  # the call's fields stayed in its task
    else:
        assert first.endswith(" INFO ivr.test: debtor ***.982.***-** at ***4321 said yes")  # one line, as before


def test_ivr_serve_exposes_health_and_logs_json(tmp_path: Path) -> None:
    import os
    import socket
    import subprocess
    import sys
    import time

    def free_port() -> int:
        with socket.socket() as s:
            s.bind(("127.0.0.1", 0))
            return int(s.getsockname()[1])

    port = free_port()
    env = {k: v for k, v in os.environ.items() if not k.startswith("IVR_")}
    env.update(
        IVR_DATA_DIR=str(tmp_path),
        IVR_PRIVACY_HMAC_KEY="t",
        IVR_SPEECH_TTS_ENGINE="espeak",
        IVR_SPEECH_MODELS_DIR=str(tmp_path / "models"),
        IVR_METRICS_SERVE_PORT=str(port),
        IVR_SERVICE_AGI_PORT=str(free_port()),
        IVR_SERVICE_AUDIOSOCKET_PORT=str(free_port()),
    )
    log = (tmp_path / "serve.log").open("w")
    proc = subprocess.Popen(
        [str(Path(sys.executable).with_name("ivr")), "--log-format", "json", "serve", "--test-models"],
        env=env,
        stdout=log,
        stderr=subprocess.STDOUT,
    )
    try:
        deadline, status, body = time.monotonic() + 90, 0, ""
        while time.monotonic() < deadline:
            assert proc.poll() is None, (tmp_path / "serve.log").read_text()
            try:
                status, _, body = _get(f"http://127.0.0.1:{port}/healthz")
                break
            except OSError:
                time.sleep(0.3)
        assert status == 200, body
        checks = json.loads(body)["checks"]
        assert checks["models"]["ok"] and checks["database"]["ok"]
        assert "# TYPE ivr_calls_active gauge" in _get(f"http://127.0.0.1:{port}/metrics")[2]
        # The event loop's lag is sampled from the start (issue 12: measured under load, shown here).
        time.sleep(0.5)
        scraped = _get(f"http://127.0.0.1:{port}/metrics")[2]
        count = next(line for line in scraped.splitlines() if line.startswith("ivr_event_loop_lag_seconds_count"))
        assert float(count.split()[-1]) >= 3, count
    finally:
        proc.terminate()
        proc.wait(30)
        log.close()
    lines = [line for line in (tmp_path / "serve.log").read_text().splitlines() if line.strip()]
    messages = [json.loads(line)["message"] for line in lines]  # every line is JSON: the journal holds no other
    assert any(m.startswith("metrics on http://127.0.0.1:") for m in messages), lines
    assert any(m.startswith("ivr serve: FastAGI 127.0.0.1:") for m in messages), lines
