"""The built wheel works outside the checkout: its data files (prompts, migrations, dialplan, samples)
are package data, found through importlib.resources from wherever it is installed."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import sysconfig
import zipfile
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[2]


@pytest.fixture(scope="module")
def wheel(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """``pip wheel`` of this checkout, offline: the build backend is the one installed in the venv.

    Built from a copy of the files git knows (tracked, or new and not ignored): an in-tree build would reuse
    a stale ``build/`` folder and ship files the package-data rules no longer select."""
    out = tmp_path_factory.mktemp("wheel")
    source = tmp_path_factory.mktemp("source")
    files = subprocess.run(
        ["git", "ls-files", "--cached", "--others", "--exclude-standard"],
        cwd=REPO,
        check=True,
        capture_output=True,
        text=True,
    ).stdout.splitlines()
    for name in files:
        if (REPO / name).is_file():  # a tracked file deleted in the working tree is not built
            (source / name).parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(REPO / name, source / name)
    subprocess.run(
        [
            sys.executable,
            "-m",
            "pip",
            "wheel",
            "-q",
            "--no-build-isolation",
            "--no-deps",
            "--no-index",
            "-w",
            str(out),
            str(source),
        ],
        check=True,
        capture_output=True,
        text=True,
        timeout=300,
    )
    (built,) = out.glob("ivr_cobranca-*.whl")
    return built


@pytest.fixture(scope="module")
def installed(wheel: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A fresh venv holding only the wheel; its dependencies come from this venv's site-packages (a .pth),
    so nothing is downloaded. The checkout's editable install is not visible there: ``.pth`` files of a
    directory added by a ``.pth`` line are not processed."""
    venv = tmp_path_factory.mktemp("venv")
    subprocess.run([sys.executable, "-m", "venv", "--without-pip", str(venv)], check=True, timeout=120)
    site = Path(
        subprocess.run(
            [str(venv / "bin" / "python"), "-c", "import sysconfig; print(sysconfig.get_path('purelib'))"],
            check=True,
            capture_output=True,
            text=True,
        ).stdout.strip()
    )
    (site / "deps-from-project-venv.pth").write_text(sysconfig.get_path("purelib") + "\n")
    subprocess.run(
        [
            sys.executable,
            "-m",
            "pip",
            "--python",
            str(venv / "bin" / "python"),
            "install",
            "-q",
            "--no-deps",
            "--no-index",
            str(wheel),
        ],
        check=True,
        capture_output=True,
        text=True,
        timeout=300,
    )
    return venv


def test_wheel_holds_the_data_files(wheel: Path) -> None:
    names = set(zipfile.ZipFile(wheel).namelist())
    for data in (
        "ivr/prompts/catalog.toml",
        "ivr/samples/ivr.toml.example",
        "ivr/samples/asterisk.conf.example",
        "ivr/db/migrations/env.py",
        "ivr/db/migrations/script.py.mako",
        "ivr/db/migrations/versions/0001_initial_schema.py",
        "ivr/dialplan/extensions_ivr.conf",
        "ivr/dialplan/manager_ivr.conf",
        "ivr/dialplan/sandbox/debtor_sim.conf",
        "ivr/campaign/profiles.toml",
        "ivr/deploy/ivr-admin",
        "ivr/deploy/systemd/ivr.sysusers.conf",
        "ivr/deploy/systemd/ivr-serve.service",
        "ivr/deploy/systemd/ivr-dialer@.service",
        "ivr/deploy/systemd/ivr-web.service",
        "ivr/deploy/systemd/ivr-outbox.service",
        "ivr/deploy/systemd/ivr-recordings-purge.service",
        "ivr/deploy/systemd/ivr-recordings-purge.timer",
    ):
        assert data in names, data
    assert not any(n.startswith(("tests/", "bench/", "scripts/")) for n in names)


def test_every_file_of_the_package_is_in_the_wheel(wheel: Path) -> None:
    """Whatever lives under ivr/ in git (templates, vendored scripts, flows, units...) ships: a data file
    left out of package-data works from the checkout and breaks only on the production install."""
    tracked = subprocess.run(
        ["git", "ls-files", "ivr"], cwd=REPO, check=True, capture_output=True, text=True
    ).stdout.split()
    assert tracked, "not a git checkout"
    names = set(zipfile.ZipFile(wheel).namelist())
    missing = [path for path in tracked if path not in names]
    assert missing == [], f"in git under ivr/ but not in the wheel (add them to package-data): {missing}"


def test_installed_wheel_runs_from_an_unrelated_folder(installed: Path, tmp_path: Path) -> None:
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    env = {k: v for k, v in os.environ.items() if not k.startswith("IVR_")}
    env.update(
        IVR_DATA_DIR=str(tmp_path / "state"),
        IVR_PRIVACY_HMAC_KEY="test-key-not-secret",
        PATH=f"{installed / 'bin'}:{env.get('PATH', '')}",
    )

    def run(*args: str) -> subprocess.CompletedProcess[str]:
        proc = subprocess.run(args, cwd=elsewhere, env=env, capture_output=True, text=True, timeout=300)
        assert proc.returncode == 0, (args, proc.stdout, proc.stderr)
        return proc

    where = run(str(installed / "bin" / "python"), "-c", "import ivr; print(ivr.__file__)").stdout
    assert where.startswith(str(installed)), where  # the wheel, not the checkout
    ivr = str(installed / "bin" / "ivr")
    assert "Collections voice bot" in run(ivr, "--help").stdout
    checked = run(ivr, "prompts", "check").stdout
    assert "no problems" in checked and str(installed) in checked
    assert run(ivr, "config", "sample", "ivr.toml.example").stdout.startswith("# ivr.toml.example: the settings")
    deploy = run(str(installed / "bin" / "python"), "-c", "import ivr.resources as r; print(r.deploy_dir())")
    units = Path(deploy.stdout.strip()) / "systemd"
    assert str(units).startswith(str(installed)) and (units / "ivr-serve.service").is_file()  # docs/INSTALL.md §2
    assert "database at revision" in run(ivr, "db", "upgrade").stdout
    assert (tmp_path / "state" / "ivr.db").is_file()
    assert list(elsewhere.iterdir()) == []  # nothing written into the current folder


def test_the_service_sample_is_valid_settings_and_the_asterisk_sample_says_what_it_is() -> None:
    from ivr.config import load_settings
    from ivr.resources import sample

    settings = load_settings(sample("ivr.toml.example"), env={})
    assert settings.speech.models_dir == "/var/lib/ivr/models" and settings.doctor.sandbox is False
    head = sample("asterisk.conf.example").read_text(encoding="utf-8").splitlines()[0]
    assert head.startswith("; asterisk.conf.example: what goes on the ASTERISK side")
    assert "manager_ivr.conf" in sample("asterisk.conf.example").read_text(encoding="utf-8")
