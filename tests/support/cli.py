"""Running the ``ivr`` command as an operator does: a subprocess with a clean environment and its own data
directory, so a test sees exactly the one line (and exit code) the operator would."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path


def ivr(*args: str, env: dict[str, str], cwd: Path) -> subprocess.CompletedProcess[str]:
    """``ivr ARGS`` from ``cwd`` with ``env``; never raises on a non-zero exit (the tests read it)."""
    return subprocess.run(
        [sys.executable, "-c", "from ivr.cli import main; main()", *args],
        cwd=cwd,
        capture_output=True,
        text=True,
        env=env,
        timeout=120,
    )


def clean_env(tmp_path: Path, **extra: str) -> dict[str, str]:
    """This process's environment without any ``IVR_*`` variable, the data directory in ``tmp_path/var``."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("IVR_")}
    env.update(IVR_DATA_DIR=str(tmp_path / "var"), **extra)
    return env
