"""``ivr user``, ``ivr token`` and ``ivr web`` as an operator runs them (real processes, real database)."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest
from sqlalchemy import select

from ivr.db.models import ApiToken, AuditEntry, WebUser
from ivr.db.session import dispose_engines, open_database

IVR = str(Path(sys.executable).with_name("ivr"))


def run(args: list[str], tmp_path: Path, stdin: str = "") -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "IVR_DATABASE_URL": f"sqlite:///{tmp_path / 'cli.db'}"}
    return subprocess.run([IVR, *args], input=stdin, capture_output=True, text=True, env=env, timeout=60)


def test_web_refuses_to_start_without_users_and_names_the_command(tmp_path: Path) -> None:
    r = run(["web", "--port", "0"], tmp_path)
    assert r.returncode == 2  # not restarted by systemd (RestartPreventExitStatus=2 3 4): a person must act
    assert r.stderr.strip().splitlines()[-1] == (
        "ivr: the console has no users yet: create the first admin with "
        "`ivr user add NAME --role admin` and start `ivr web` again"
    )


def test_user_lifecycle(tmp_path: Path) -> None:
    r = run(["user", "add", "chefe", "--role", "admin", "--password-stdin"], tmp_path, "uma-senha-boa\n")
    assert r.returncode == 0 and r.stdout.strip() == "user 'chefe' created (admin)"
    r = run(["user", "add", "chefe", "--role", "admin", "--password-stdin"], tmp_path, "uma-senha-boa\n")
    assert r.returncode == 2 and "already exists" in r.stderr and "Traceback" not in r.stderr
    r = run(["user", "add", "ana", "--role", "operator", "--password-stdin"], tmp_path, "curta\n")
    assert r.returncode == 2 and r.stderr.strip().splitlines()[-1] == "ivr: password: must have at least 10 characters"
    r = run(["user", "add", "Ana Maria", "--role", "operator", "--password-stdin"], tmp_path, "uma-senha-boa\n")
    assert r.returncode == 2 and "user name 'Ana Maria'" in r.stderr
    assert run(["user", "passwd", "chefe", "--password-stdin"], tmp_path, "outra-senha-boa\n").returncode == 0
    assert run(["user", "passwd", "ninguem", "--password-stdin"], tmp_path, "outra-senha-boa\n").returncode == 3
    assert run(["user", "disable", "chefe"], tmp_path).returncode == 0
    assert "chefe\tadmin\tdisabled" in run(["user", "list"], tmp_path).stdout
    sessions = open_database(f"sqlite:///{tmp_path / 'cli.db'}")
    with sessions() as s:
        user = s.scalar(select(WebUser))
        assert user is not None and user.password_hash.startswith("$argon2id$") and "senha" not in user.password_hash
        assert [a for a in s.scalars(select(AuditEntry.action))] == ["user.add", "user.passwd", "user.disable"]
    dispose_engines()


def test_token_printed_once_and_hashed_at_rest(tmp_path: Path) -> None:
    r = run(["token", "add", "erp"], tmp_path)
    assert r.returncode == 0 and "not shown again" in r.stderr
    token = r.stdout.strip()
    assert token.startswith("ivr_") and len(token) > 40
    assert token not in run(["token", "list"], tmp_path).stdout
    sessions = open_database(f"sqlite:///{tmp_path / 'cli.db'}")
    with sessions() as s:
        row = s.scalar(select(ApiToken))
        assert row is not None and token not in row.token_sha256
    dispose_engines()
    assert run(["token", "revoke", "erp"], tmp_path).returncode == 0
    assert "erp\trevoked" in run(["token", "list"], tmp_path).stdout


def test_web_says_in_one_line_when_the_port_is_taken(tmp_path: Path) -> None:
    import socket

    run(["user", "add", "chefe", "--role", "admin", "--password-stdin"], tmp_path, "uma-senha-boa\n")
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        r = run(["web", "--port", str(port)], tmp_path)
    assert r.returncode == 1
    assert r.stderr.strip().splitlines()[-1] == (
        f"ivr: cannot listen on 127.0.0.1:{port}: Address already in use; choose another with --port (web.port) "
        "or stop the program using it"
    )


def test_web_that_cannot_start_exits_1_for_systemd_to_retry(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    """uvicorn exits 3 when it cannot listen; 3 is ivr's "not found", which the units' RestartPreventExitStatus
    never restarts. The port taken after the one-line probe (a race, or a name with an address of another
    family) must stay a failure systemd retries."""
    import socket

    from ivr.cli import main
    from ivr.cli import web_cmds

    run(["user", "add", "chefe", "--role", "admin", "--password-stdin"], tmp_path, "uma-senha-boa\n")
    monkeypatch.setenv("IVR_DATABASE_URL", f"sqlite:///{tmp_path / 'cli.db'}")
    monkeypatch.setattr(web_cmds, "_check_bind", lambda host, port: None)  # the probe ran before the port was taken
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        with pytest.raises(SystemExit) as done:
            main(["web", "--port", str(port)])
    dispose_engines()
    assert done.value.code == 1
    assert (
        capsys.readouterr()
        .err.strip()
        .splitlines()[-1]
        .startswith(f"ivr: the console could not start on 127.0.0.1:{port}")
    )
