"""A database file the operator broke or that a newer ``ivr`` wrote: every command says so in one line, naming the
file and what to do, never a traceback, and nothing in it is changed."""

from __future__ import annotations

import os
import sqlite3
import subprocess
from pathlib import Path

import pytest
from tests.support.cli import clean_env, ivr


def _env(tmp_path: Path) -> dict[str, str]:
    return clean_env(tmp_path, IVR_PRIVACY_HMAC_KEY="k" * 64)


COMMANDS = [["db", "status"], ["db", "upgrade"], ["campaign", "list"], ["report", "nov"], ["review", "list"]]


@pytest.mark.parametrize("command", COMMANDS)
def test_a_file_that_is_not_a_database_is_one_line(tmp_path: Path, command: list[str]) -> None:
    db = tmp_path / "var" / "ivr.db"
    db.parent.mkdir()
    db.write_bytes(b"not a database, a spreadsheet saved over it\n" * 20)
    done = ivr(*command, env=_env(tmp_path), cwd=tmp_path)
    assert done.returncode == 1 and "Traceback" not in done.stderr
    assert done.stderr.endswith(f"ivr: database {db} is not a SQLite database (file is not a database)\n"), done.stderr
    assert db.read_bytes() == b"not a database, a spreadsheet saved over it\n" * 20


@pytest.mark.parametrize("command", COMMANDS)
def test_a_database_from_a_newer_version_is_one_line(tmp_path: Path, command: list[str]) -> None:
    env = _env(tmp_path)
    assert ivr("campaign", "create", "nov", "--creditor", "Banco", env=env, cwd=tmp_path).returncode == 0
    db = tmp_path / "var" / "ivr.db"
    with sqlite3.connect(db) as conn:
        conn.execute("update alembic_version set version_num = 'zzzz'")
    done = ivr(*command, env=env, cwd=tmp_path)
    assert "Traceback" not in done.stderr, done.stderr
    if command == ["db", "status"]:
        assert done.returncode == 0 and "revision: zzzz (unknown to this version" in done.stdout
        return
    assert done.returncode == 1
    assert done.stderr == (
        "ivr: database schema is at revision zzzz, which this version does not know (written by a newer ivr?): "
        "run that version, or restore a backup\n"
    )
    with sqlite3.connect(db) as conn:
        assert conn.execute("select version_num from alembic_version").fetchall() == [("zzzz",)]
        assert conn.execute("select name from campaigns").fetchall() == [("nov",)]


@pytest.fixture
def read_only(tmp_path: Path):  # type: ignore[no-untyped-def]
    """Make a file read-only even for root (chattr +i); chmod is enough for anyone else."""
    made: list[Path] = []

    def make(path: Path) -> None:
        if os.geteuid() != 0:
            path.chmod(0o444)
        elif subprocess.run(["chattr", "+i", str(path)], capture_output=True).returncode != 0:
            pytest.skip("cannot make a file read-only for root here (chattr +i)")
        made.append(path)

    yield make
    for path in made:
        if os.geteuid() == 0:
            subprocess.run(["chattr", "-i", str(path)], capture_output=True)
        path.chmod(0o600)


def test_a_read_only_database_is_one_line_and_keeps_its_data(tmp_path: Path, read_only) -> None:  # type: ignore[no-untyped-def]
    env = _env(tmp_path)
    assert ivr("campaign", "create", "nov", "--creditor", "Banco", env=env, cwd=tmp_path).returncode == 0
    db = tmp_path / "var" / "ivr.db"
    read_only(db)
    assert ivr("campaign", "list", env=env, cwd=tmp_path).returncode == 0  # reading still works
    done = ivr("campaign", "create", "dez", "--creditor", "Banco", env=env, cwd=tmp_path)
    assert done.returncode == 1 and "Traceback" not in done.stderr, done.stderr
    assert done.stderr == f"ivr: database {db}: attempt to write a readonly database; nothing was changed\n"
    with sqlite3.connect(f"file:{db}?mode=ro", uri=True) as conn:
        assert conn.execute("select name from campaigns").fetchall() == [("nov",)]
