"""``database.url`` either names one database every command finds, or is refused with one line; a database
that cannot be reached is one line from every command, ``ivr db status`` and ``ivr db upgrade`` included;
URLs are shown without their passwords or tokens."""

from __future__ import annotations

import json
import socket
from pathlib import Path

import pytest

from ivr.config import load_settings
from ivr.errors import ConfigError
from ivr.privacy import redact_url
from tests.support.cli import clean_env as _env
from tests.support.cli import ivr


@pytest.mark.parametrize(
    ("url", "says"),
    [
        ("foo", "'foo' is not a SQLAlchemy URL"),
        ("mysql://ivr@db.example/ivr", "mysql (mysql://ivr@db.example/ivr) is not supported"),
        ("mssql+pyodbc://ivr:pw@db/ivr", "mssql (mssql+pyodbc://ivr:***@db/ivr) is not supported"),
        ("sqlite://", "names no file"),
        ("sqlite:///", "names no file"),
        ("sqlite:///:memory:", "names no file"),
        ("sqlite:///ivr.db", "is relative to the current folder"),
        ("sqlite:///data/ivr.db", "is relative to the current folder"),
    ],
)
def test_a_url_that_would_use_the_wrong_database_is_refused(url: str, says: str) -> None:
    with pytest.raises(ConfigError, match="setting database.url: ") as info:
        load_settings(env={"IVR_DATABASE_URL": url})
    assert says in str(info.value)
    assert "pw" not in str(info.value)


@pytest.mark.parametrize(
    "url",
    [
        "postgresql//ivr:S3cret@db/ivr",  # the colon forgotten
        "ivr:S3cret@db/ivr",  # the scheme forgotten
        "postgresql://ivr:S3cret@db:5432x/ivr",  # a port that is not a number
        "postgresql://ivr:S3cret@[::1/ivr",  # a broken IPv6 address
        "postgresql://ivr:S3c@ret@db:x/ivr",  # an unencoded @ in the password
    ],
)
def test_a_url_that_does_not_parse_is_one_line_without_its_password(url: str, tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="setting database.url: .* is not a SQLAlchemy URL") as info:
        load_settings(env={"IVR_DATABASE_URL": url})
    assert "S3c" not in str(info.value) and "ret@" not in str(info.value)
    done = ivr("config", "show", env=_env(tmp_path, IVR_DATABASE_URL=url), cwd=tmp_path)
    assert done.returncode == 2 and "Traceback" not in done.stderr, done.stderr
    assert "S3c" not in done.stdout + done.stderr


@pytest.mark.parametrize(
    "url",
    ["sqlite:////var/lib/ivr/ivr.db", "postgresql://ivr:pw@db.example/ivr", "postgresql+psycopg:///ivr", ""],
)
def test_urls_that_name_one_database_are_taken(url: str) -> None:
    assert load_settings(env={"IVR_DATABASE_URL": url} if url else {}).database.url == url


def _closed_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@pytest.mark.parametrize(
    "args",
    [("db", "status"), ("db", "upgrade"), ("campaign", "list"), ("report", "nov")],
)
def test_an_unreachable_database_is_one_line_from_every_command(args: tuple[str, ...], tmp_path: Path) -> None:
    url = f"postgresql://ivr:S3cret@127.0.0.1:{_closed_port()}/ivr"
    done = ivr(*args, env=_env(tmp_path, IVR_DATABASE_URL=url, IVR_PRIVACY_HMAC_KEY="k" * 64), cwd=tmp_path)
    assert done.returncode != 0
    assert "Traceback" not in done.stderr, done.stderr
    (line,) = done.stderr.splitlines()
    assert line.startswith("ivr: database postgresql+psycopg://ivr:***@127.0.0.1:") and "is unreachable" in line
    assert "S3cret" not in done.stdout + done.stderr


@pytest.mark.parametrize(("args", "code"), [(("db", "status"), 2), (("db", "upgrade"), 2), (("doctor",), 2)])
def test_a_bad_url_is_one_line_before_anything_runs(args: tuple[str, ...], code: int, tmp_path: Path) -> None:
    done = ivr(*args, env=_env(tmp_path, IVR_DATABASE_URL="mysql://ivr:pw@db/ivr"), cwd=tmp_path)
    assert (done.returncode, done.stderr) == (
        code,
        "ivr: setting database.url: mysql (mysql://ivr:***@db/ivr) is not supported; use "
        "postgresql://USER@HOST/DATABASE or sqlite:////ABSOLUTE/PATH/ivr.db\n",
    )
    assert not any(p.suffix == ".db" for p in tmp_path.rglob("*"))  # nothing was created


@pytest.mark.parametrize(
    ("url", "shown"),
    [
        ("https://hooks.example/cobranca", "https://hooks.example/cobranca"),
        ("https://api:S3cret@hooks.example/x", "https://api:***@hooks.example/x"),
        ("https://hooks.example/x?token=S3cret&campanha=nov", "https://hooks.example/x?token=***&campanha=nov"),
        ("https://hooks.example/x?api_key=S3cret&sig=S3cret", "https://hooks.example/x?api_key=***&sig=***"),
        ("https://user@hooks.example/x", "https://user@hooks.example/x"),
        ("http://[::1:80/x", "<redacted>"),
        ("https://api:S3/cret@hooks.example/x", "https://api:***@hooks.example/x"),  # unencoded / ? # in it
        ("https://api:S3?cret@hooks.example/x", "https://api:***@hooks.example/x"),
        ("https://api:S3#cret@hooks.example/x?token=S3", "https://api:***@hooks.example/x?token=***"),
        ("https://hooks.example/x?email=a@b.example", "https://hooks.example/x?email=a@b.example"),
    ],
)
def test_urls_lose_their_passwords_and_tokens(url: str, shown: str) -> None:
    assert redact_url(url) == shown


def test_config_show_redacts_the_webhook_and_mirror_urls(tmp_path: Path) -> None:
    env = _env(
        tmp_path,
        IVR_OUTBOX_WEBHOOK_URL="https://api:S3cret@hooks.example/x?token=S3cret",
        IVR_SPEECH_MODELS_BASE_URL="https://mirror.example/m?access_token=S3cret",
    )
    done = ivr("config", "show", "--json", env=env, cwd=tmp_path)
    assert done.returncode == 0, done.stderr
    rows = {row["key"]: row["value"] for row in json.loads(done.stdout)["settings"]}
    assert rows["outbox.webhook_url"] == "https://api:***@hooks.example/x?token=***"
    assert rows["speech.models_base_url"] == "https://mirror.example/m?access_token=***"
    assert "S3cret" not in done.stdout + done.stderr
