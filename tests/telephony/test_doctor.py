"""``ivr doctor``: against nothing running (every failure one line with its fix, no traceback) and against the
real sandbox with a running ``ivr serve``."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import time
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[2]
IVR = str(Path(sys.executable).parent / "ivr")


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _env(tmp_path: Path, **extra: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("IVR_")}
    env.update({"IVR_DATA_DIR": str(tmp_path), "IVR_PRIVACY_HMAC_KEY": "t",
                "IVR_SPEECH_MODELS_DIR": str(tmp_path / "models"), **extra})
    return env


def _doctor(env: dict[str, str]) -> subprocess.CompletedProcess[str]:
    return subprocess.run([IVR, "doctor"], env=env, cwd=REPO, capture_output=True, text=True, timeout=60,
                          check=False)


def test_nothing_running_fails_one_line_per_check(tmp_path: Path) -> None:
    env = _env(tmp_path, IVR_AMI_SECRET="x", IVR_AMI_PORT=str(free_port()),
               IVR_SERVICE_AGI_PORT=str(free_port()), IVR_SERVICE_AUDIOSOCKET_PORT=str(free_port()),
               IVR_DATABASE_URL="postgresql+psycopg://ivr@127.0.0.1:1/nothing")
    done = _doctor(env)
    assert done.returncode == 1, done
    assert "Traceback" not in done.stdout + done.stderr
    lines = done.stdout.splitlines()
    assert len(lines) == 8, lines
    by_name = {line[6:].split(": ")[0]: line for line in lines}
    assert all(line.startswith(("FAIL  ", "warn  ")) and " — fix: " in line for line in lines), lines
    assert "scripts/asterisk-sandbox up" in by_name[f"AMI 127.0.0.1:{env['IVR_AMI_PORT']}"]
    assert "ivr serve" in by_name[f"service FastAGI 127.0.0.1:{env['IVR_SERVICE_AGI_PORT']}"]
    assert "ivr models download vosk-model-small-pt-0.3" in by_name["speech recognition model"]
    assert "unreachable" in by_name["database"] and "IVR_DATABASE_URL" in by_name["database"]
    assert done.stderr.strip() == "7 of 8 checks failed"


def test_empty_secret_and_unmigrated_database(tmp_path: Path) -> None:
    env = _env(tmp_path, IVR_DATABASE_URL=f"sqlite:///{tmp_path / 'absent.db'}")
    done = _doctor(env)
    assert done.returncode == 1
    assert "FAIL  AMI" in done.stdout and "export IVR_AMI_SECRET" in done.stdout
    assert "does not exist — fix: ivr db upgrade" in done.stdout
    assert not (tmp_path / "absent.db").exists(), "the doctor must not create the database it checks"


@pytest.mark.asterisk
def test_against_the_sandbox_and_a_running_service(asterisk_sandbox, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    agi, media = free_port(), free_port()
    env = _env(tmp_path, IVR_AMI_SECRET=asterisk_sandbox.ami_secret, IVR_SERVICE_AGI_PORT=str(agi),
               IVR_SERVICE_AUDIOSOCKET_PORT=str(media), IVR_DATABASE_URL=f"sqlite:///{tmp_path / 'ivr.db'}")
    subprocess.run([IVR, "db", "upgrade"], env=env, cwd=REPO, check=True, capture_output=True)
    before = _doctor(env)
    assert f"FAIL  service FastAGI 127.0.0.1:{agi}: " in before.stdout, before.stdout
    log = (tmp_path / "serve.log").open("wb")
    service = subprocess.Popen([IVR, "serve", "--test-models"], env=env, cwd=REPO, stdout=log,
                               stderr=subprocess.STDOUT)
    try:
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            try:
                socket.create_connection(("127.0.0.1", agi), timeout=0.5).close()
                break
            except OSError:
                assert service.poll() is None, (tmp_path / "serve.log").read_text()
                time.sleep(0.2)
        done = _doctor(env)
    finally:
        service.terminate()
        service.wait(15)
        log.close()
    status = {line[6:].split(": ")[0]: line[:4].strip() for line in done.stdout.splitlines()}
    assert status == {
        "AMI 127.0.0.1:5038": "ok", "Asterisk modules": "ok", "dialplan contexts": "ok",
        # The sandbox's dialplan points at 4573, the service listens elsewhere: the doctor notices.
        "dialplan FastAGI port": "FAIL",
        f"service FastAGI 127.0.0.1:{agi}": "ok", f"service AudioSocket 127.0.0.1:{media}": "ok",
        # No Portuguese models in this temporary models directory.
        "speech recognition model": "FAIL", "speech synthesis voice": "warn", "database": "ok",
    }, done.stdout
    assert done.returncode == 1
