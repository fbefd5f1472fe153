"""The systemd units in ivr/deploy/systemd pass ``systemd-analyze verify`` with no warning at all (an unknown
or misspelled directive is only a warning there, so any output fails the test). Works as root in CI
without a running systemd: verify loads the units into an offline manager."""

from __future__ import annotations

import configparser
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[2]
UNITS = REPO / "ivr" / "deploy" / "systemd"
INSTALLED_IVR = "/opt/ivr-cobranca/bin/ivr"
SERVICES = (
    "ivr-serve.service",
    "ivr-dialer@.service",
    "ivr-web.service",
    "ivr-outbox.service",
    "ivr-recordings-purge.service",
)


def _parse(name: str) -> configparser.RawConfigParser:
    parser = configparser.RawConfigParser(strict=False, interpolation=None)
    parser.optionxform = str  # type: ignore[assignment,method-assign]
    parser.read_string((UNITS / name).read_text())
    return parser


def test_systemd_analyze_verify_is_clean(tmp_path: Path) -> None:
    analyze = shutil.which("systemd-analyze")
    assert analyze, "systemd-analyze missing: scripts/bootstrap.sh installs the systemd package"
    # verify checks that ExecStart= exists: point the units at this venv's ivr instead of /opt/ivr-cobranca.
    ivr = str(Path(sys.executable).with_name("ivr"))
    for unit in UNITS.iterdir():
        (tmp_path / unit.name).write_text(unit.read_text().replace(INSTALLED_IVR, ivr))
    shutil.copy(tmp_path / "ivr-dialer@.service", tmp_path / "ivr-dialer@nov-2026.service")
    names = [n.replace("@.", "@nov-2026.") for n in SERVICES] + ["ivr-recordings-purge.timer"]
    proc = subprocess.run(
        [analyze, "verify", "--man=no", *names], cwd=tmp_path, capture_output=True, text=True, timeout=120
    )
    assert proc.returncode == 0 and proc.stdout + proc.stderr == "", proc.stdout + proc.stderr


@pytest.mark.parametrize("name", ["ivr-serve.service", "ivr-dialer@.service"])
def test_the_call_path_services_say_when_they_are_ready_and_feed_the_watchdog(name: str) -> None:
    """ivr/sdnotify.py speaks the protocol; tests/callservice/test_sdnotify.py checks the messages."""
    service = dict(_parse(name).items("Service"))
    assert service["Type"] == "notify" and service["NotifyAccess"] == "main"
    assert service["WatchdogSec"] == "30s" and service["Restart"] == "on-failure"


@pytest.mark.parametrize("name", SERVICES)
def test_each_service_is_a_hardened_dedicated_user_service(name: str) -> None:
    service = dict(_parse(name).items("Service"))
    assert service["User"] == "ivr" and service["StateDirectory"] == "ivr"
    assert service["ExecStart"].startswith(INSTALLED_IVR + " ")
    for key, value in {
        "ProtectSystem": "strict",
        "PrivateTmp": "yes",
        "NoNewPrivileges": "yes",
        "ProtectHome": "yes",
        "CapabilityBoundingSet": "",
        "UMask": "0077",
    }.items():
        assert service[key] == value, (name, key)
    assert "LoadCredential" in service and service["EnvironmentFile"].startswith("-/etc/ivr/")
    if service["Type"] != "oneshot":
        assert service["Restart"] in {"on-failure", "always"}


def test_the_timer_runs_the_purge_daily() -> None:
    timer = dict(_parse("ivr-recordings-purge.timer").items("Timer"))
    assert timer["Unit"] == "ivr-recordings-purge.service" and timer["Persistent"] == "true"
    assert "recordings purge" in dict(_parse("ivr-recordings-purge.service").items("Service"))["ExecStart"]


@pytest.mark.parametrize("name", ["ivr-serve.service", "ivr-dialer@.service", "ivr-web.service", "ivr-outbox.service"])
def test_a_wrong_setting_or_a_missing_model_is_not_restarted_in_a_loop(name: str) -> None:
    """ivr/errors.py: exit 2 (setting, input), 3 (not found), 4 (model missing) need the admin, not a restart."""
    service = dict(_parse(name).items("Service"))
    assert service["RestartPreventExitStatus"].split() == ["2", "3", "4"]


@pytest.mark.parametrize("name", ["ivr-dialer@.service", "ivr-recordings-purge.service"])
def test_the_units_that_touch_recordings_may_write_the_recordings_directory(name: str) -> None:
    """ProtectSystem=strict makes /var read-only: the dialer chmods and the purge deletes recordings there."""
    from ivr.config import RecordingSettings

    service = dict(_parse(name).items("Service"))
    assert service["ReadWritePaths"] == "-" + RecordingSettings().dir
