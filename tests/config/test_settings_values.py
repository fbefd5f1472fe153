"""Settings files and values the operator can get wrong: each is one line naming the file or the key, never a
traceback, and no command runs with a value it cannot use."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from ivr.config import load_settings
from ivr.errors import ConfigError


def ivr(*args: str, env: dict[str, str], cwd: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-c", "from ivr.cli import main; main()", *args],
        cwd=cwd,
        capture_output=True,
        text=True,
        env=env,
        timeout=120,
    )


def _env(tmp_path: Path, **extra: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("IVR_")}
    env.update(IVR_DATA_DIR=str(tmp_path / "var"), **extra)
    return env


def _one_line(done: subprocess.CompletedProcess[str]) -> str:
    assert done.returncode == 2, done.stderr
    assert "Traceback" not in done.stderr and done.stderr.count("\n") == 1, done.stderr
    return done.stderr


@pytest.mark.parametrize(
    ("content", "message"),
    [
        ("[ami]\nport = 5038\n".encode("utf-16"), "is not UTF-8 text"),
        (b"\xff\xfe\x00garbage\x00", "is not UTF-8 text"),
        (None, "is a directory"),
    ],
)
def test_an_unreadable_config_file_is_one_line_naming_it(tmp_path: Path, content: bytes | None, message: str) -> None:
    conf = tmp_path / "ivr.toml"
    if content is None:
        conf.mkdir()
    else:
        conf.write_bytes(content)
    err = _one_line(ivr("config", "show", env=_env(tmp_path, IVR_CONFIG=str(conf)), cwd=tmp_path))
    assert err.startswith(f"ivr: config file {conf}") and message in err


def test_a_config_file_that_fails_to_read_is_one_line_naming_it(tmp_path: Path) -> None:
    # /proc/self/mem opens but every read fails (EIO): the operator sees which file, not a bare errno text.
    with pytest.raises(ConfigError, match=r"^config file /proc/self/mem: "):
        load_settings("/proc/self/mem", env={})
