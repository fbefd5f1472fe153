"""``ivr serve --workers 2``: two real service processes share the FastAGI port (SO_REUSEPORT) and each
takes its own calls' media on its own AudioSocket port (issue 12: more than one process when it pays).

The service runs as an operator starts it (the CLI in a subprocess); Asterisk's side is played by
ivr.testing.fake_asterisk, which follows whatever AudioSocket address each AGI session hands it.
"""

from __future__ import annotations

import asyncio
import datetime as dt
import os
import signal
import socket
import subprocess
import sys
import time
import uuid
from pathlib import Path

from ivr.db.session import dispose_engines, open_database
from ivr.speech.models import test_vosk_model
from ivr.testing import factories
from ivr.testing.fake_asterisk import Reply, SimulatedCall

ROOT = Path(__file__).resolve().parents[2]


def _free_ports(n: int) -> int:
    """A base port with ``n`` free consecutive ports after it."""
    for _ in range(50):
        with socket.socket() as s:
            s.bind(("127.0.0.1", 0))
            base = int(s.getsockname()[1])
        if base + n >= 65535:
            continue
        try:
            socks = []
            for p in range(base, base + n):
                t = socket.socket()
                socks.append(t)
                t.bind(("127.0.0.1", p))
            return base
        except OSError:
            continue
        finally:
            for t in socks:
                t.close()
    raise RuntimeError("no free port range")


class FollowingCall(SimulatedCall):
    """A simulated call that notes which AudioSocket port its AGI session sent it to."""

    media_port: int | None = None

    async def _media(self, call_id: uuid.UUID, host: str, port: int) -> None:  # type: ignore[override]
        self.media_port = port
        await super()._media(call_id, host, port)


def test_two_worker_processes_share_the_agi_port_and_each_serves_its_calls_media(tmp_path: Path) -> None:
    db_url = f"sqlite:///{tmp_path / 'ivr.db'}"
    sessions = open_database(db_url)
    camp = factories.campaign(sessions, name="workers", policy={})
    ids = []
    for n in range(16):  # all 16 on one process by chance: 2 in 65,536
        d, p, debt = factories.debtor(sessions, camp, n, due=dt.date.today() - dt.timedelta(days=5))
        ids.append(factories.attempt(sessions, camp, d, p, debt))
    dispose_engines()

    agi_port, media_base = _free_ports(1), _free_ports(2)
    env = {k: v for k, v in os.environ.items() if not k.startswith("IVR_")}
    env.update(
        {
            "PYTHONPATH": str(ROOT),
            "IVR_DATA_DIR": str(tmp_path),
            "IVR_DATABASE_URL": db_url,
            "IVR_PRIVACY_HMAC_KEY": "workers-test",
            "IVR_SERVICE_AGI_PORT": str(agi_port),
            "IVR_SERVICE_AUDIOSOCKET_PORT": str(media_base),
            "IVR_SPEECH_TTS_ENGINE": "espeak",
            "IVR_SPEECH_CACHE_DIR": str(tmp_path / "tts"),
            "IVR_SPEECH_VOSK_MODEL": str(test_vosk_model()),
            "IVR_SPEECH_MODELS_DIR": str(tmp_path / "models"),
        }
    )
    log_path = tmp_path / "serve.log"
    with log_path.open("wb") as log:
        proc = subprocess.Popen(
            [sys.executable, "-c", "from ivr.cli import main; main()", "serve", "--test-models", "--workers", "2"],
            env=env,
            stdout=log,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
    try:
        deadline = time.monotonic() + 180
        while log_path.read_text().count("ivr serve: FastAGI") < 2:
            assert proc.poll() is None, log_path.read_text()[-2000:]
            assert time.monotonic() < deadline, log_path.read_text()[-2000:]
            time.sleep(0.2)

        async def calls() -> list[FollowingCall]:
            sims = [FollowingCall("127.0.0.1", agi_port, a, [Reply(digits="9")]) for a in ids]
            # New connections from different source ports: the kernel spreads them over both processes.
            await asyncio.gather(*(s.run(timeout=120) for s in sims))
            return sims

        sims = asyncio.run(calls())
    finally:
        proc.send_signal(signal.SIGTERM)
        proc.wait(30)
    out = log_path.read_text()
    assert proc.returncode == 0, out[-2000:]
    assert all(s.result.completed and not s.result.protocol_errors for s in sims), [s.result for s in sims]
    assert [s.result.variables.get("IVR_OUTCOME") for s in sims] == ["transferred"] * len(sims)
    ports = {s.media_port for s in sims}
    assert ports <= {media_base, media_base + 1}
    assert ports == {media_base, media_base + 1}, f"all {len(sims)} calls went to one process"
    assert "worker 0 of 2" in out and "worker 1 of 2" in out


def _workers_env(tmp_path: Path, agi_port: int, media_base: int, **extra: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("IVR_")}
    env.update(
        {
            "PYTHONPATH": str(ROOT),
            "IVR_DATA_DIR": str(tmp_path),
            "IVR_PRIVACY_HMAC_KEY": "workers-test",
            "IVR_SERVICE_AGI_PORT": str(agi_port),
            "IVR_SERVICE_AUDIOSOCKET_PORT": str(media_base),
            "IVR_SPEECH_TTS_ENGINE": "espeak",
            **extra,
        }
    )
    return env


def _serve_workers(env: dict[str, str], *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [
            sys.executable,
            "-c",
            "import sys; from ivr.cli import main; sys.exit(main())",
            "serve",
            "--workers",
            "2",
            *args,
        ],
        env=env,
        capture_output=True,
        text=True,
        timeout=240,
    )


def test_a_worker_that_keeps_dying_fails_the_service_instead_of_looping(tmp_path: Path) -> None:
    """systemd must see the failure (exit 1) when a worker cannot run, e.g. its AudioSocket port is taken."""
    agi_port, media_base = _free_ports(1), _free_ports(2)
    env = _workers_env(
        tmp_path,
        agi_port,
        media_base,
        IVR_SPEECH_CACHE_DIR=str(tmp_path / "tts"),
        IVR_SPEECH_VOSK_MODEL=str(test_vosk_model()),
        IVR_SPEECH_MODELS_DIR=str(tmp_path / "models"),
    )
    started = time.monotonic()
    with socket.socket() as taken:  # worker 1's AudioSocket port: it cannot listen, worker 0 can
        taken.bind(("127.0.0.1", media_base + 1))
        taken.listen()
        proc = _serve_workers(env, "--test-models")
    assert proc.returncode == 1, proc.stderr[-2000:]
    assert "worker 1 exited 5 times" in proc.stderr and "restarting it in 8 s" in proc.stderr
    assert "cannot listen" in proc.stderr
    assert time.monotonic() - started < 200


def test_a_worker_whose_model_is_missing_stops_the_service_at_once_with_its_code(tmp_path: Path) -> None:
    """Restarting cannot bring a missing model: exit 4 at once (the units' RestartPreventExitStatus), with the
    worker's one line saying what to fetch."""
    agi_port, media_base = _free_ports(1), _free_ports(2)
    env = _workers_env(tmp_path, agi_port, media_base, IVR_SPEECH_MODELS_DIR=str(tmp_path / "no-models"))
    started = time.monotonic()
    proc = _serve_workers(env)
    assert proc.returncode == 4, proc.stderr[-2000:]
    assert "ivr models download" in proc.stderr and "restarting cannot fix it" in proc.stderr
    assert "exited 5 times" not in proc.stderr and "Traceback" not in proc.stderr
    assert time.monotonic() - started < 120
