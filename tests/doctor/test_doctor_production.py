"""The doctor's production checks as tables: sandbox values, AMI rights, the Asterisk version, the modules
the shipped dialplan needs. (Against the real sandbox: tests/e2e/test_doctor.py.)"""

from __future__ import annotations

from pathlib import Path

import pytest

from ivr.config import load_settings
from ivr.errors import IvrError
from ivr.doctor import _sandbox_checks, ami_rights_check, asterisk_version_check, dialplan_modules


@pytest.mark.parametrize(
    ("version", "ok"),
    [
        ("22.10.1+dfsg+~cs6.17.60671434-1", True),  # Debian sid, the sandbox
        ("22.4.0", True),
        ("22.3.0", False),
        ("21.9.0", True),
        ("21.8.2", False),
        ("20.14.0", True),
        ("20.13.0", False),
        ("18.26.0", False),
        ("23.0.0", True),
        ("certified-22.8-cert1", True),
        ("", False),
    ],
)
def test_asterisk_version_for_audiosocket_dtmf(version: str, ok: bool) -> None:
    check = asterisk_version_check(version)
    assert check.ok is ok, check.line()
    if not ok:
        assert "22.4.0" in check.fix


def test_ami_rights_beyond_the_least_needed_fail() -> None:
    least = {
        "Response": "Success",
        "Originate": "Originate a call. (Priv: originate,all)",
        "Getvar": "Gets a channel variable or function value. (Priv: call,reporting,all)",
    }
    assert ami_rights_check("ivr", least).ok
    broad = {
        **least,
        "Command": "Execute Asterisk CLI Command. (Priv: command,all)",
        "GetConfig": "Retrieve configuration. (Priv: system,config,all)",
    }
    check = ami_rights_check("ivr", broad)
    assert not check.ok
    assert "Command (command)" in check.detail and "GetConfig (config)" in check.detail
    # write = call: the bot's AMI user could hang up or redirect anybody's call.
    with_call = {
        **least,
        "Redirect": "Redirect (transfer) a call. (Priv: call,all)",
        "Hangup": "(Priv: system,call,all)",
    }
    check = ami_rights_check("ivr", with_call)
    assert not check.ok and "Hangup (call)" in check.detail and "Redirect (call)" in check.detail
    assert "write = originate,reporting; read = call,user" in check.fix


def test_shipped_dialplan_modules_are_all_known() -> None:
    modules = dialplan_modules()
    assert modules[:3] == ["res_agi.so", "app_audiosocket.so", "app_amd.so"]
    assert {"app_queue.so", "app_playback.so", "app_userevent.so", "func_logic.so"} <= set(modules)


def test_an_unknown_application_is_named() -> None:
    with pytest.raises(IvrError, match="application Frobnicate"):
        dialplan_modules("[x]\nexten => s,1,Frobnicate(1)\n ; same => n,Ignored(1)\n")
    assert dialplan_modules("[x]\nexten => s,1,Answer()\n;same => n,Frobnicate(1)\n")[-1] == "app_amd.so"


def test_sandbox_values_fail_unless_declared_sandbox() -> None:
    (check,) = _sandbox_checks(load_settings(env={}))
    assert not check.ok and "debtor-sim" in check.detail and "demo number" in check.detail
    (check,) = _sandbox_checks(load_settings(env={"IVR_DOCTOR_SANDBOX": "1"}))
    assert check.ok and check.warning
    (check,) = _sandbox_checks(
        load_settings(
            env={
                "IVR_DIALER_CHANNEL_TEMPLATE": "PJSIP/{number}@trunk",
                "IVR_DIALER_CALLER_ID": '"Banco Exemplo" <1140040000>',
            }
        )
    )
    assert check.ok and not check.warning


PRODUCTION = {
    "IVR_DIALER_CHANNEL_TEMPLATE": "PJSIP/{number}@trunk",
    "IVR_DIALER_CALLER_ID": '"Banco Exemplo" <1140040000>',
}


@pytest.mark.parametrize(
    ("env", "named"),
    [
        ({"IVR_AMI_SECRET": "sandbox-secret"}, "ami.secret is the sandbox's published secret"),
        ({"IVR_PRIVACY_HMAC_KEY": "test"}, "the CPF key (privacy.hmac_key) has 4 characters"),
        ({"IVR_WEB_SECRET_KEY": "hunter2"}, "web.secret_key has 7 characters"),
    ],
)
def test_weak_or_published_secrets_fail_a_production_setup(env: dict[str, str], named: str, tmp_path: Path) -> None:
    settings = load_settings(env={**PRODUCTION, "IVR_DATA_DIR": str(tmp_path), **env})
    (check,) = _sandbox_checks(settings)
    assert not check.ok and named in check.detail and "openssl rand -hex 32" in check.fix
    (check,) = _sandbox_checks(
        load_settings(env={**PRODUCTION, "IVR_DATA_DIR": str(tmp_path), **env, "IVR_DOCTOR_SANDBOX": "1"})
    )
    assert check.ok and check.warning  # the sandbox may use them


def test_a_short_key_file_fails_and_a_generated_one_passes(tmp_path: Path) -> None:
    settings = load_settings(env={**PRODUCTION, "IVR_DATA_DIR": str(tmp_path)})
    (check,) = _sandbox_checks(settings)
    assert check.ok, "no key file yet: the first import creates a strong one"
    settings.hmac_key(create=True)  # what the first import does: 64 hex characters, 0600
    (check,) = _sandbox_checks(settings)
    assert check.ok and not check.warning, check
    (tmp_path / "hmac.key").write_text("1234\n")
    (check,) = _sandbox_checks(settings)
    assert not check.ok and "has 4 characters" in check.detail
