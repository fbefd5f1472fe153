"""Strict settings: a misspelled IVR_* variable is an error naming the nearest key; ``ivr config show``
says where each value came from and never prints a secret."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from ivr.config import NON_SETTING_VARIABLES, env_name, load_settings, setting_keys
from ivr.errors import ConfigError
from tests.support.cli import clean_env, ivr


_env = clean_env


@pytest.mark.parametrize(
    ("var", "nearest"),
    [
        ("IVR_DATABASE_URI", "IVR_DATABASE_URL"),
        ("IVR_AMI_SECRT", "IVR_AMI_SECRET"),
        ("IVR_DIALER_MAX_CONCURENT", "IVR_DIALER_MAX_CONCURRENT"),
        ("IVR_DATADIR", "IVR_DATA_DIR"),
    ],
)
def test_a_misspelled_variable_names_the_nearest_key(var: str, nearest: str) -> None:
    with pytest.raises(ConfigError) as err:
        load_settings(env={var: "x"})
    assert str(err.value) == f"{var}: unknown; did you mean {nearest}?"


def test_a_variable_like_nothing_says_so() -> None:
    with pytest.raises(ConfigError, match=r"^IVR_ZZZ_QQQ: unknown; no setting has that name"):
        load_settings(env={"IVR_ZZZ_QQQ": "1"})


def test_the_projects_own_non_setting_variables_are_accepted(tmp_path: Path) -> None:
    env = {var: "1" for var in NON_SETTING_VARIABLES if var != "IVR_CONFIG"}
    assert load_settings(env=env).ami.port == 5038
    assert {"IVR_SANDBOX_DIR", "IVR_SANDBOX_MIRROR", "IVR_AGI_HOST", "IVR_AGI_PORT", "IVR_CONFIG"} <= set(
        NON_SETTING_VARIABLES
    )


def test_every_setting_has_its_variable() -> None:
    env = {env_name(key): "1" for key in setting_keys() if key.endswith(("port", "max_concurrent"))}
    s = load_settings(env=env)
    assert s.ami.port == 1 and s.service.agi_port == 1 and s.dialer.max_concurrent == 1
    assert all(s.sources[key] == "environment" for key in setting_keys() if env_name(key) in env)


def test_cli_error_is_one_line(tmp_path: Path) -> None:
    done = ivr("db", "status", env=_env(tmp_path, IVR_DATABASE_URI="sqlite:///x.db"), cwd=tmp_path)
    assert done.returncode != 0
    assert done.stderr == "ivr: IVR_DATABASE_URI: unknown; did you mean IVR_DATABASE_URL?\n"


def test_config_show_sources_and_redaction(tmp_path: Path) -> None:
    conf = tmp_path / "ivr.toml"
    conf.write_text('[dialer]\ncaller_id = "\\"Banco\\" <1140040000>"\nmax_concurrent = 8\n', encoding="utf-8")
    env = _env(
        tmp_path,
        IVR_CONFIG=str(conf),
        IVR_AMI_SECRET="s3cr3t-value",
        IVR_DIALER_MAX_CONCURRENT="12",
        IVR_DATABASE_URL="postgresql://ivr:pa55word@db/ivr",
    )
    done = ivr("config", "show", env=env, cwd=tmp_path)
    assert done.returncode == 0, done.stderr
    assert "s3cr3t-value" not in done.stdout and "pa55word" not in done.stdout
    lines = {line.split(" = ")[0]: line for line in done.stdout.splitlines() if " = " in line}
    assert lines["ami.secret"].split("#")[-1].strip() == "environment" and '"<redacted>"' in lines["ami.secret"]
    assert lines["dialer.max_concurrent"].startswith("dialer.max_concurrent = 12 ")
    assert lines["dialer.max_concurrent"].endswith("# environment")  # the environment beats the file
    assert lines["dialer.caller_id"].endswith("# file")
    assert lines["ami.port"].endswith("# default")
    assert f"# settings file: {conf}" in done.stdout
    shown = json.loads(ivr("config", "show", "--json", env=env, cwd=tmp_path).stdout)
    by_key = {row["key"]: row for row in shown["settings"]}
    assert by_key["database.url"]["value"] == "postgresql://ivr:***@db/ivr"
    assert by_key["privacy.hmac_key"] == {
        "key": "privacy.hmac_key",
        "env": "IVR_PRIVACY_HMAC_KEY",
        "value": "",
        "source": "default",
    }


def test_secrets_from_systemd_credentials(tmp_path: Path) -> None:
    creds = tmp_path / "creds"
    creds.mkdir()
    (creds / "IVR_AMI_SECRET").write_text("from-credential\n")
    (creds / "IVR_PRIVACY_HMAC_KEY").write_text("k" * 64)
    s = load_settings(env={"CREDENTIALS_DIRECTORY": str(creds)})
    assert s.ami.secret == "from-credential" and s.privacy.hmac_key == "k" * 64
    assert s.sources["ami.secret"] == "credential"
    # The environment wins over a credential.
    s = load_settings(env={"CREDENTIALS_DIRECTORY": str(creds), "IVR_AMI_SECRET": "env"})
    assert s.ami.secret == "env" and s.sources["ami.secret"] == "environment"


def test_every_secret_can_be_a_systemd_credential(tmp_path: Path) -> None:
    """ivr-admin hands /etc/ivr/credentials to operator commands the same way: none of them is left out."""
    creds = tmp_path / "creds"
    creds.mkdir()
    for name, value in {
        "IVR_OUTBOX_WEBHOOK_SECRET": "w" * 40,
        "IVR_WEB_SECRET_KEY": "s" * 40,
        "IVR_DATABASE_URL": "postgresql://ivr:pw@db.example/ivr",
    }.items():
        (creds / name).write_text(value + "\n")
    s = load_settings(env={"CREDENTIALS_DIRECTORY": str(creds)})
    assert (s.outbox.webhook_secret, s.web.secret_key) == ("w" * 40, "s" * 40)
    assert s.database.url == "postgresql://ivr:pw@db.example/ivr"
    assert {s.sources[k] for k in ("outbox.webhook_secret", "web.secret_key", "database.url")} == {"credential"}
