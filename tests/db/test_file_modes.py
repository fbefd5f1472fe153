"""Every file the product creates is readable by its owner only, whichever command creates it (LGPD art. 46).

The real ``ivr`` commands run as an operator runs them, from a shell whose umask is the usual 022; then every
file and folder under the working directory that the test did not write itself is checked with ``stat``.
"""

from __future__ import annotations

import os
import stat
import subprocess
import sys
from pathlib import Path

import pytest

from ivr.br.cpf import cpf_with_check_digits
from ivr.privacy import create_private_file, open_private

IVR = Path(sys.executable).with_name("ivr")
CPF = cpf_with_check_digits("529982247")


def run(cwd: Path, *args: str) -> str:
    env = {k: v for k, v in os.environ.items() if not k.startswith("IVR_") or k == "IVR_SANDBOX_DIR"}
    env["IVR_DATA_DIR"] = str(cwd / "var")  # no IVR_PRIVACY_HMAC_KEY: the key file is created
    proc = subprocess.run(
        [str(IVR), *args],
        cwd=cwd,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
        preexec_fn=lambda: os.umask(0o022),
    )
    assert proc.returncode == 0, (args, proc.stderr)
    return proc.stdout


def modes(root: Path, written_by_test: set[Path]) -> dict[str, str]:
    """``ls -l``-style modes of everything under ``root`` the product created."""
    found = {}
    for path in sorted(root.rglob("*")):
        if path in written_by_test:
            continue
        found[str(path.relative_to(root))] = stat.filemode(path.stat().st_mode)
    return found


def test_every_file_the_commands_create_is_owner_only(tmp_path: Path) -> None:
    csv = tmp_path / "devedores.csv"
    csv.write_text(
        "nome;cpf;telefone;valor;vencimento;contrato\n"
        f"Maria Souza;{CPF};11987654321;150,50;10/11/2026;C1\n"
        f"Ana Lima;{CPF};11 9876-543;10,00;10/11/2026;C2\n",
        encoding="utf-8",
    )
    run(tmp_path, "db", "upgrade")
    run(tmp_path, "campaign", "create", "nov", "--creditor", "Banco Exemplo", "--policy", '{"verification": "cpf3"}')
    out = run(tmp_path, "import", "devedores.csv", "--campaign", "nov")
    assert "1" in out
    run(tmp_path, "report", "nov", "--csv", "resultado.csv")
    shown = run(tmp_path, "campaign", "status", "nov", "--debtor", CPF, "--json")
    assert "***.982.***-**" in shown and "982.247" not in shown and CPF not in shown  # digits 4-6 only
    run(tmp_path, "say", "Olá Maria, aqui é o assistente virtual.", "--out", "ola.wav")

    created = modes(tmp_path, {csv})
    for expected in ("var/ivr.db", "var/hmac.key", "devedores.rejects.csv", "resultado.csv", "ola.wav"):
        assert expected in created, sorted(created)
    loose = {name: mode for name, mode in created.items() if mode[4:] != "------"}
    assert loose == {}, f"group/other bits on: {loose}"


def test_private_file_helpers_set_0600_whatever_the_umask(tmp_path: Path) -> None:
    old = os.umask(0o000)
    try:
        with open_private(tmp_path / "a.csv", "w", encoding="utf-8") as fh:
            fh.write("x")
        loose = tmp_path / "b.db"
        loose.write_text("")
        loose.chmod(0o666)
        create_private_file(loose)
        create_private_file(tmp_path / "c.db")
    finally:
        os.umask(old)
    for name in ("a.csv", "b.db", "c.db"):
        assert stat.S_IMODE((tmp_path / name).stat().st_mode) == 0o600, name
    with pytest.raises(ValueError):
        with open_private(tmp_path / "a.csv", "r"):
            pass
