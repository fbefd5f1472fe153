"""The operator's commands as they run: output, files written, and errors as one line with a non-zero exit."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from ivr.br.cpf import cpf_with_check_digits


def ivr(*args: str, cwd: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-c", "from ivr.cli import main; main()", *args],
        cwd=cwd,
        capture_output=True,
        text=True,
        env=os.environ.copy(),
        timeout=120,
    )


def test_create_import_list_report(tmp_path: Path) -> None:
    assert (
        ivr(
            "campaign", "create", "nov", "--creditor", "Banco Exemplo", "--cnpj", "12.345.678/0001-95", cwd=tmp_path
        ).returncode
        == 0
    )
    csv = tmp_path / "devedores.csv"
    csv.write_text(
        "nome;cpf;telefone;valor;vencimento;contrato\n"
        f"MARIA SOUZA;{cpf_with_check_digits('529982247')};(11) 98765-4321;1.234,56;05/12/2026;A1\n"
        "João;111.111.111-11;11987654321;10,00;01/12/2026;A2\n",
        encoding="utf-8",
    )
    imported = ivr("import", str(csv), "--campaign", "nov", cwd=tmp_path)
    assert imported.returncode == 0, imported.stderr
    assert "1 rows taken (1 new, 0 updated, 0 unchanged), 1 refused, 0 taken with warnings" in imported.stdout
    assert "line 3: cpf: os dígitos verificadores do CPF não conferem" in imported.stdout
    assert (tmp_path / "devedores.rejects.csv").exists()
    csv.write_text(
        "nome;cpf;telefone;telefone 2;valor;vencimento;contrato\n"
        f"MARIA SOUZA;{cpf_with_check_digits('529982247')};(11) 98765-4321;NAO POSSUI;1.234,56;05/12/2026;A1\n"
        f"José;{cpf_with_check_digits('123456789')};(11) 98765-4322;(11) 8765-4329;10,00;05/12/2026;A3\n",
        encoding="utf-8",
    )
    warned = ivr("import", str(csv), "--campaign", "nov", cwd=tmp_path)
    assert (
        "2 rows taken (1 new, 0 updated, 1 unchanged), 0 refused, 2 taken with warnings (2 warnings)" in warned.stdout
    )
    assert "warning: line 2: telefone 2: 'NAO POSSUI' não é um número" in warned.stdout
    assert "warning: line 3: telefone 2: telefone ***4329" in warned.stdout and "8765-4329" not in warned.stdout
    assert not (tmp_path / "devedores.rejects.csv").exists()  # nothing refused this time
    listed = ivr("campaign", "list", cwd=tmp_path)
    assert "nov" in listed.stdout and "R$ 1.244,56" in listed.stdout
    shown = ivr("campaign", "show", "nov", cwd=tmp_path)
    assert "CNPJ 12345678000195" in shown.stdout and "debts: 2" in shown.stdout
    report = ivr("report", "nov", "--csv", str(tmp_path / "r.csv"), cwd=tmp_path)
    assert report.returncode == 0 and (tmp_path / "r.csv").read_text(encoding="utf-8-sig").startswith("section;")


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (("report", "nope"), "campaign 'nope' does not exist"),
        (("import", "missing.csv", "--campaign", "x"), "missing.csv: file not found"),
        (
            ("campaign", "create", "c", "--creditor", "B", "--policy", '{"max_attempts_per_dai": 3}'),
            "--policy: unknown key 'max_attempts_per_dai'",
        ),
        (("campaign", "create", "c", "--creditor", "B", "--policy", "{nope"), "--policy: not valid JSON"),
        (("campaign", "create", "c", "--creditor", "B", "--cnpj", "123"), "--cnpj: CNPJ '123' must have 14"),
        (
            ("campaign", "create", "c", "--creditor", "B", "--cnpj", "47.291.836/0001-57"),
            "--cnpj: CNPJ '47.291.836/0001-57': check digits do not match",
        ),
        (("campaign", "create", "c", "--creditor", "B", "--cnpj", "11.111.111/1111-11"), "check digits"),
        (
            ("campaign", "create", "c", "--creditor", "B", "--cnpj", "CNPJ 47.291.836/0001-56"),
            "has text around the number",
        ),
        (("--config", "nope.toml", "campaign", "list"), "config file nope.toml not found"),
    ],
)
def test_errors_are_one_line(tmp_path: Path, args: tuple[str, ...], message: str) -> None:
    result = ivr(*args, cwd=tmp_path)
    assert result.returncode != 0
    lines = [line for line in result.stderr.splitlines() if not line.startswith("20")]  # drop log lines
    assert lines == [lines[0]] and message in lines[0], result.stderr
    assert "Traceback" not in result.stderr
