"""``ivr doctor`` against the real Asterisk sandbox, before and with a running ``ivr serve``."""

from __future__ import annotations

import socket
import subprocess
import time
from pathlib import Path

import pytest

from tests.e2e.conftest import AsteriskSandbox
from tests.doctor.test_doctor import IVR, REPO, _doctor, _env, free_port


@pytest.mark.asterisk
def test_against_the_sandbox_and_a_running_service(asterisk_sandbox: AsteriskSandbox, tmp_path: Path) -> None:
    asterisk_sandbox.cli("dialplan reload")  # this checkout's contexts (a shared sandbox may run another's)
    agi, media = free_port(), free_port()
    env = _env(
        tmp_path,
        IVR_AMI_SECRET=asterisk_sandbox.ami_secret,
        IVR_SERVICE_AGI_PORT=str(agi),
        IVR_SERVICE_AUDIOSOCKET_PORT=str(media),
        IVR_DATABASE_URL=f"sqlite:///{tmp_path / 'ivr.db'}",
        IVR_DOCTOR_SANDBOX="1",
    )
    subprocess.run([IVR, "db", "upgrade"], env=env, cwd=REPO, check=True, capture_output=True)
    before = _doctor(env)
    assert f"FAIL  service FastAGI 127.0.0.1:{agi}: " in before.stdout, before.stdout
    matching = _doctor({**env, "IVR_SERVICE_AGI_PORT": "4573"})  # what the sandbox's dialplan says
    assert "ok    dialplan FastAGI port: the dialplan's IVR_AGI_PORT is service.agi_port (4573)" in matching.stdout
    log = (tmp_path / "serve.log").open("wb")
    service = subprocess.Popen([IVR, "serve", "--test-models"], env=env, cwd=REPO, stdout=log, stderr=subprocess.STDOUT)
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
        # Sandbox values, accepted because IVR_DOCTOR_SANDBOX says this is the sandbox.
        "production values": "warn",
        "AMI 127.0.0.1:5038": "ok",
        "Asterisk version": "ok",
        "AMI user rights": "ok",
        "Asterisk modules": "ok",
        "dialplan contexts": "ok",
        # The sandbox's dialplan points at 4573, the service listens elsewhere: the doctor notices.
        "dialplan FastAGI port": "FAIL",
        f"service FastAGI 127.0.0.1:{agi}": "ok",
        f"service AudioSocket 127.0.0.1:{media}": "ok",
        # No Portuguese models in this temporary models directory.
        "speech recognition model": "FAIL",
        "speech synthesis voice": "warn",
        "database": "ok",
    }, done.stdout
    assert done.returncode == 1
