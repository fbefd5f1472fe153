"""Settings files and values the operator can get wrong: each is one line naming the file or the key, never a
traceback, and no command runs with a value it cannot use."""

from __future__ import annotations

import subprocess
from pathlib import Path

import pytest

from ivr.config import load_settings
from ivr.errors import ConfigError
from tests.support.cli import clean_env, ivr


_env = clean_env


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


@pytest.mark.parametrize(
    ("var", "value", "message"),
    [
        ("IVR_LOG_LEVEL", "LOUD", "setting log_level: 'LOUD' is not one of DEBUG, INFO, WARNING, ERROR, CRITICAL"),
        ("IVR_SERVICE_AGI_PORT", "99999", "setting service.agi_port: 99999 is not a port (1-65535, or 0)"),
        ("IVR_WEB_PORT", "-1", "setting web.port: -1 is not a port (1-65535, or 0)"),
        ("IVR_METRICS_SERVE_PORT", "70000", "setting metrics.serve_port: 70000 is not a port (1-65535, or 0)"),
        ("IVR_DIALER_MAX_CONCURRENT", "-1", "setting dialer.max_concurrent: -1 is negative"),
        ("IVR_DIALER_RING_TIMEOUT_SECONDS", "-5", "setting dialer.ring_timeout_seconds: -5 is negative"),
        ("IVR_DIALER_CALLS_PER_SECOND", "nan", "setting dialer.calls_per_second: 'nan' is not a number"),
        ("IVR_DIALER_CALLS_PER_SECOND", "inf", "setting dialer.calls_per_second: 'inf' is not a number"),
        ("IVR_OUTBOX_BACKOFF_SECONDS", "1e400", "setting outbox.backoff_seconds: '1e400' is not a number"),
        ("IVR_RECORDINGS_RETENTION_DAYS", "99999999999", "recordings.retention_days: 99999999999 is too large"),
        # A campaign's own retention is 1 to 36500 days (ivr recordings retention): the global one too. More than
        # ~739000 days before today is before year 1 (the purge overflowed); 0 purged calls as soon as they ended.
        ("IVR_RECORDINGS_RETENTION_DAYS", "800000", "recordings.retention_days: 800000 is not 1 to 36500 days"),
        ("IVR_RECORDINGS_RETENTION_DAYS", "0", "recordings.retention_days: 0 is not 1 to 36500 days"),
        ("IVR_DIALER_SHORT_CALL_THROTTLE_SHARE", "80", "setting dialer.short_call_throttle_share: 80.0 is not a share"),
        ("IVR_SPEECH_VAD_AGGRESSIVENESS", "7", "setting speech.vad_aggressiveness: 7 is not 0, 1, 2 or 3"),
    ],
)
def test_a_value_no_command_can_use_is_refused_naming_the_key(var: str, value: str, message: str) -> None:
    with pytest.raises(ConfigError) as err:
        load_settings(env={var: value})
    assert message in str(err.value)


def test_the_bad_log_level_is_one_line_on_every_command(tmp_path: Path) -> None:
    err = _one_line(ivr("campaign", "list", env=_env(tmp_path, IVR_LOG_LEVEL="LOUD"), cwd=tmp_path))
    assert "log_level" in err


def test_a_file_value_is_checked_like_an_environment_one(tmp_path: Path) -> None:
    conf = tmp_path / "ivr.toml"
    conf.write_text("[dialer]\nmax_concurrent = 99999999999999999999999\n", encoding="utf-8")
    with pytest.raises(ConfigError, match=r"^setting dialer.max_concurrent: 99999999999999999999999 is too large"):
        load_settings(conf, env={})


@pytest.mark.parametrize("level", ["debug", "WARNING", "error"])
def test_log_levels_in_any_case_are_taken(level: str) -> None:
    assert load_settings(env={"IVR_LOG_LEVEL": level}).log_level == level


@pytest.mark.parametrize("toml", ["allow = 5", 'allow = ["10.0.0.1", 5]', "allow = true"])
def test_a_list_setting_given_something_else_is_refused(toml: str, tmp_path: Path) -> None:
    """``service.allow = 5`` was taken as ["5"]: an allow-list nobody meant."""
    conf = tmp_path / "ivr.toml"
    conf.write_text(f"[service]\n{toml}\n", encoding="utf-8")
    with pytest.raises(ConfigError, match=r"setting service.allow: .* is not a list of text"):
        load_settings(conf, env={})
    assert load_settings(env={"IVR_SERVICE_ALLOW": "10.0.0.1, 10.0.0.2"}).service.allow == ["10.0.0.1", "10.0.0.2"]


@pytest.mark.parametrize(
    ("args", "line"),
    [
        (("say", "oi", "--out", "{tmp}/no/such/folder/x.wav"), "the folder {tmp}/no/such/folder does not exist"),
        (("import", "/proc/self/mem", "--campaign", "nov"), "/proc/self/mem: cannot be read (Input/output error)"),
        (("campaign", "status", "nov", "--debtor", ""), "--debtor is empty"),
    ],
)
def test_operator_slips_are_one_line_and_change_nothing(args: tuple[str, ...], line: str, tmp_path: Path) -> None:
    env = _env(tmp_path, IVR_PRIVACY_HMAC_KEY="k" * 64, IVR_SPEECH_TTS_ENGINE="espeak")
    made = ivr("campaign", "create", "nov", "--creditor", "Banco Exemplo", env=env, cwd=tmp_path)
    assert made.returncode == 0, made.stderr
    done = ivr(*(a.replace("{tmp}", str(tmp_path)) for a in args), env=env, cwd=tmp_path)
    assert done.returncode == 2 and "Traceback" not in done.stderr, done.stderr
    (said,) = done.stderr.splitlines()
    assert line.replace("{tmp}", str(tmp_path)) in said
    assert not (tmp_path / "no").exists()


def test_a_recording_format_asterisk_is_not_given_stops_every_command() -> None:
    with pytest.raises(ConfigError, match="setting recordings.format: 'mp3' is not one of wav, wav49, opus"):
        load_settings(env={"IVR_RECORDINGS_FORMAT": "mp3"})
