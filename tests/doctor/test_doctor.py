"""``ivr doctor`` against nothing running: every failure is one line with its fix, no traceback, exit 1.
(The check against the live sandbox is tests/e2e/test_doctor.py.)"""

from __future__ import annotations

import os
import socket
import subprocess
import sys
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]
IVR = str(Path(sys.executable).parent / "ivr")


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _env(tmp_path: Path, **extra: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("IVR_")}
    env.update(
        {
            "IVR_DATA_DIR": str(tmp_path),
            "IVR_PRIVACY_HMAC_KEY": "t",
            "IVR_SPEECH_MODELS_DIR": str(tmp_path / "models"),
            **extra,
        }
    )
    return env


def _doctor(env: dict[str, str]) -> subprocess.CompletedProcess[str]:
    return subprocess.run([IVR, "doctor"], env=env, cwd=REPO, capture_output=True, text=True, timeout=60, check=False)


def test_nothing_running_fails_one_line_per_check(tmp_path: Path) -> None:
    env = _env(
        tmp_path,
        IVR_AMI_SECRET="x",
        IVR_AMI_PORT=str(free_port()),
        IVR_SERVICE_AGI_PORT=str(free_port()),
        IVR_SERVICE_AUDIOSOCKET_PORT=str(free_port()),
        IVR_DATABASE_URL="postgresql+psycopg://ivr@127.0.0.1:1/nothing",
    )
    done = _doctor(env)
    assert done.returncode == 1, done
    assert "Traceback" not in done.stdout + done.stderr
    lines = done.stdout.splitlines()
    assert len(lines) == 11, lines
    by_name = {line[6:].split(": ")[0]: line for line in lines}
    assert all(line.startswith(("FAIL  ", "warn  ")) and " — fix: " in line for line in lines), lines
    assert "scripts/asterisk-sandbox up" in by_name[f"AMI 127.0.0.1:{env['IVR_AMI_PORT']}"]
    assert "ivr serve" in by_name[f"service FastAGI 127.0.0.1:{env['IVR_SERVICE_AGI_PORT']}"]
    assert "ivr models download vosk-model-small-pt-0.3" in by_name["speech recognition model"]
    assert "unreachable" in by_name["database"] and "IVR_DATABASE_URL" in by_name["database"]
    assert "dialer.channel_template 'Local/{number}@debtor-sim'" in by_name["production values"]
    assert done.stderr.strip() == "10 of 11 checks failed"


def test_empty_secret_and_unmigrated_database(tmp_path: Path) -> None:
    env = _env(tmp_path, IVR_DATABASE_URL=f"sqlite:///{tmp_path / 'absent.db'}")
    done = _doctor(env)
    assert done.returncode == 1
    assert "FAIL  AMI" in done.stdout and "export IVR_AMI_SECRET" in done.stdout
    assert "does not exist — fix: ivr db upgrade" in done.stdout
    assert not (tmp_path / "absent.db").exists(), "the doctor must not create the database it checks"
