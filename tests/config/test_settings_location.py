"""Where the database lives without a setting: one documented place, never the current folder."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from ivr.config import SYSTEM_DATA_DIR, default_data_dir, load_settings


def test_systemd_state_directory_wins(tmp_path: Path) -> None:
    env = {"STATE_DIRECTORY": f"{tmp_path}/state:{tmp_path}/other", "XDG_DATA_HOME": str(tmp_path / "xdg")}
    assert default_data_dir(env) == tmp_path / "state"


def test_the_service_user_gets_the_system_dir(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr("ivr.config.SYSTEM_DATA_DIR", tmp_path)
    assert default_data_dir({"XDG_DATA_HOME": str(tmp_path / "xdg")}) == tmp_path


def test_user_without_the_system_dir_gets_the_xdg_data_dir(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr("ivr.config.SYSTEM_DATA_DIR", tmp_path / "absent")
    assert (
        default_data_dir({"XDG_DATA_HOME": str(tmp_path / "xdg"), "HOME": "/nonexistent"}) == tmp_path / "xdg" / "ivr"
    )
    assert default_data_dir({"HOME": str(tmp_path)}) == tmp_path / ".local" / "share" / "ivr"
    # A relative XDG_DATA_HOME is invalid per the XDG spec and ignored.
    assert default_data_dir({"XDG_DATA_HOME": "rel", "HOME": str(tmp_path)}) == tmp_path / ".local" / "share" / "ivr"


def test_the_database_url_follows_data_dir_and_database_url(tmp_path: Path) -> None:
    s = load_settings(env={"STATE_DIRECTORY": str(tmp_path / "state")})
    assert s.database_url == f"sqlite:///{tmp_path / 'state' / 'ivr.db'}"
    assert s.database_origin() == "ivr.db in the default data directory ($STATE_DIRECTORY, set by systemd)"
    s = load_settings(env={"IVR_DATA_DIR": str(tmp_path / "d")})
    assert s.database_url == f"sqlite:///{tmp_path / 'd' / 'ivr.db'}"
    assert s.database_origin() == "ivr.db in data_dir (environment)"
    s = load_settings(env={"IVR_DATABASE_URL": "postgresql://ivr@db/ivr"})
    assert s.database_url == "postgresql://ivr@db/ivr"
    assert s.database_origin() == "setting database.url (environment)"


def test_db_status_from_another_folder_names_the_database_and_writes_nothing_there(tmp_path: Path) -> None:
    cwd = tmp_path / "somewhere"
    cwd.mkdir()
    env = {k: v for k, v in os.environ.items() if not k.startswith("IVR_") and k != "STATE_DIRECTORY"}
    env.update(XDG_DATA_HOME=str(tmp_path / "xdg"), IVR_PRIVACY_HMAC_KEY="test-key-not-secret")
    system_writable = SYSTEM_DATA_DIR.is_dir() and os.access(SYSTEM_DATA_DIR, os.W_OK | os.X_OK)  # now, not at import
    expected = (SYSTEM_DATA_DIR if system_writable else tmp_path / "xdg" / "ivr") / "ivr.db"
    existed = expected.exists()  # a machine with the product installed has /var/lib/ivr/ivr.db already
    proc = subprocess.run(
        [sys.executable, "-c", "from ivr.cli import main; main()", "db", "status"],
        cwd=cwd,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert proc.returncode == 0, proc.stderr
    assert f"database: sqlite:///{expected}\n" in proc.stdout
    assert "from: ivr.db in the default data directory" in proc.stdout
    if not existed:
        assert "revision: none, the file does not exist yet" in proc.stdout
        assert not expected.exists()  # status only looks
    assert list(cwd.iterdir()) == []


def test_the_origin_names_the_one_rule_that_chose_the_default_directory(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr("ivr.config.SYSTEM_DATA_DIR", tmp_path / "absent")
    s = load_settings(env={"XDG_DATA_HOME": str(tmp_path / "xdg")})
    assert s.database_origin().endswith(
        "($XDG_DATA_HOME/ivr: " + str(tmp_path / "absent") + " is absent or not writable for this user)"
    )
    s = load_settings(env={"HOME": str(tmp_path)})
    assert "(~/.local/share/ivr: " in s.database_origin()
    monkeypatch.setattr("ivr.config.SYSTEM_DATA_DIR", tmp_path)
    assert load_settings(env={}).database_origin().endswith(f"({tmp_path}, which exists and this user may write)")
