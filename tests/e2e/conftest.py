"""The real Asterisk sandbox for end-to-end tests: started once per session, stopped at the end."""

from __future__ import annotations

import os
import re
import subprocess
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Iterator

import pytest

REPO = Path(__file__).resolve().parents[2]
SCRIPT = REPO / "scripts" / "asterisk-sandbox"


ATTEMPT_ID_WINDOW = 10_000
"""A test's attempt ids lie in this many above its random offset (see test_calls._offset_attempt_ids)."""


@dataclass(frozen=True)
class AsteriskSandbox:
    """A running sandbox: its root directory, the AMI credentials, and a CLI."""

    root: Path
    """The Debian sid root Asterisk runs chrooted in."""
    ami_host: str
    ami_port: int
    ami_user: str
    ami_secret: str
    observer_user: str = "ivr-observer"
    """A sandbox-only AMI user without event filters, for tests that watch every channel."""

    @property
    def recordings_dir(self) -> Path:
        """Where the simulated phones' MixMonitor files land, as a host path."""
        return self.root / "var/spool/asterisk/monitor"

    def host_path(self, path_in_root: str) -> Path:
        """The host path of a file Asterisk names by its path inside the root."""
        return self.root / path_in_root.lstrip("/")

    def cli(self, command: str) -> str:
        """Run one Asterisk CLI command (``asterisk -rx``) and return its output."""
        done = subprocess.run([str(SCRIPT), "cli", command], capture_output=True, text=True, timeout=60, check=False)
        if done.returncode != 0:
            raise RuntimeError(f"asterisk -rx {command!r} failed: {done.stderr.strip() or done.stdout.strip()}")
        return done.stdout

    def active_channels(self) -> int:
        """How many channels exist right now (``core show channels count``)."""
        for line in self.cli("core show channels count").splitlines():
            if "active channel" in line:
                return int(line.split()[0])
        raise RuntimeError("unexpected output of 'core show channels count'")

    def channels(self, attempts_above: int | None = None) -> list[str]:
        """``core show channels concise`` lines; with ``attempts_above``, only the channels (``ivr-<id>``,
        ``ivr-<id>-2``) of attempts in the ``ATTEMPT_ID_WINDOW`` above that id: a test's own calls, when its
        ids start at a random offset on a sandbox others may be using."""
        lines = [line for line in self.cli("core show channels concise").splitlines() if "!" in line]
        if attempts_above is None:
            return lines
        mine = []
        for line in lines:
            match = re.fullmatch(r"ivr-(\d+)(-2)?", line.rsplit("!", 1)[-1].strip())
            if match is not None and attempts_above < int(match.group(1)) <= attempts_above + ATTEMPT_ID_WINDOW:
                mine.append(line)
        return mine

    def wait_no_channels(self, timeout: float = 15.0, attempts_above: int | None = None) -> None:
        """Wait until every call (or every call of attempts above an id) is gone; fail naming what is left."""
        deadline = time.monotonic() + timeout
        while self.channels(attempts_above) and time.monotonic() < deadline:
            time.sleep(0.2)
        if left := self.channels(attempts_above):
            raise AssertionError("channels left open:\n" + "\n".join(left))


def _run_script(*args: str, env: dict[str, str]) -> None:
    done = subprocess.run([str(SCRIPT), *args], capture_output=True, text=True, env=env, timeout=600, check=False)
    if done.returncode != 0:
        pytest.fail(f"scripts/asterisk-sandbox {' '.join(args)} failed:\n{done.stderr}{done.stdout}", pytrace=False)


@pytest.fixture(scope="session")
def asterisk_sandbox() -> Iterator[AsteriskSandbox]:
    """Start the sandbox (building its root on the first run) and stop it when the session ends."""
    if os.geteuid() != 0:
        pytest.fail(
            "the Asterisk end-to-end tests need root (debootstrap, chroot, mount); run them as root, as CI does",
            pytrace=False,
        )
    env = dict(os.environ)
    env.setdefault("IVR_AMI_SECRET", "sandbox-secret")
    # A sandbox already up belongs to someone else's run (or a developer's shell): use it, leave it up.
    shared = subprocess.run([str(SCRIPT), "status"], capture_output=True, env=env, check=False).returncode == 0
    _run_script("up", env=env)
    root = subprocess.run([str(SCRIPT), "path"], capture_output=True, text=True, env=env, check=True).stdout.strip()
    try:
        yield AsteriskSandbox(
            root=Path(root), ami_host="127.0.0.1", ami_port=5038, ami_user="ivr", ami_secret=env["IVR_AMI_SECRET"]
        )
    finally:
        if not shared:
            _run_script("down", env=env)
