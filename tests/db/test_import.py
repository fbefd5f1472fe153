"""Debtor import: every format an operator's spreadsheet produces, each kind of bad row, idempotence, atomicity."""

from __future__ import annotations

import csv
import datetime as dt
import io
import os
import signal
import subprocess
import sys
import time
from decimal import Decimal
from pathlib import Path

import pytest
from sqlalchemy import func, select
from sqlalchemy.orm import Session, sessionmaker

from ivr.br.cpf import cpf_with_check_digits
from ivr.db.importer import import_file
from ivr.db.models import Campaign, Creditor, Debt, Debtor, Phone
from ivr.errors import InputError, NotFoundError

KEY = b"test-key"
CPF1 = "529.982.247-25"
CPF2 = cpf_with_check_digits("123456789")
CPF3 = cpf_with_check_digits("987654321")


@pytest.fixture
def campaign(sessions: sessionmaker[Session]) -> str:
    with sessions.begin() as s:
        cred = Creditor(name="Banco Exemplo")
        s.add(cred)
        s.flush()
        s.add(Campaign(name="nov", creditor_id=cred.id))
    return "nov"


def write(path: Path, text: str, encoding: str = "utf-8") -> Path:
    path.write_bytes(text.encode(encoding))
    return path


def debts(sessions: sessionmaker[Session]) -> dict[str, tuple[Decimal, dt.date, str]]:
    with sessions() as s:
        rows = s.execute(select(Debt.contract_id, Debt.total, Debt.due_date, Debtor.name).join(Debtor))
        return {c: (t, d, n) for c, t, d, n in rows}


FORMATS = {
    "utf8-semicolon-br-amounts": (
        "nome;cpf;telefone;valor;vencimento;contrato\n"
        f"MARIA APARECIDA DE SOUZA;{CPF1};(11) 98765-4321;1.234,56;05/12/2026;A1\n"
        f"João Araújo;{CPF2};+55 21 3456-7890;99,90;2026-12-10;A2\n",
        "utf-8",
    ),
    "utf8-bom-comma-dot-amounts": (
        "\ufeffNome Completo,CPF,Celular,Valor Total,Data de Vencimento,Número do Contrato\n"
        f"MARIA APARECIDA DE SOUZA,{CPF1},11987654321,1234.56,05/12/2026,A1\n"
        f"João Araújo,{CPF2.replace('.', '')},5521934567890,99.90,10/12/2026,A2\n",
        "utf-8",
    ),
    "cp1252-semicolon-quoted": (
        "Nome;CPF;Telefone;Valor;Vencimento;Contrato\n"
        f'"MARIA APARECIDA DE SOUZA";"{CPF1}";"(11) 98765-4321";"1.234,56";"05/12/2026";"A1"\n'
        f'"João Araújo";"{CPF2}";"21 93456-7890";"99,90";"10/12/2026";"A2"\n',
        "cp1252",
    ),
}


@pytest.mark.parametrize("fmt", sorted(FORMATS))
def test_formats(tmp_path: Path, sessions: sessionmaker[Session], campaign: str, fmt: str) -> None:
    text, enc = FORMATS[fmt]
    report = import_file(write(tmp_path / "d.csv", text, enc), campaign, sessions, KEY)
    assert (report.taken, report.refused) == (2, 0)
    got = debts(sessions)
    assert got["A1"] == (Decimal("1234.56"), dt.date(2026, 12, 5), "Maria Aparecida de Souza")
    assert got["A2"][0] == Decimal("99.90") and got["A2"][2] == "João Araújo"
    with sessions() as s:
        phones = s.scalars(select(Phone.e164).order_by(Phone.e164)).all()
    assert phones[0].startswith("+55119") and all(p.startswith("+55") for p in phones)
    assert not (tmp_path / "d.rejects.csv").exists()


def test_itemised_amounts_and_several_phones(tmp_path: Path, sessions: sessionmaker[Session], campaign: str) -> None:
    text = (
        "nome;cpf;telefone;telefone 2;principal;juros;multa;encargos;vencimento;contrato;nascimento;uf;cidade\n"
        f"Ana Lima;{CPF1};11987654321;(11) 3456-7890 / 11 91234-5678;1.000,00;150,50;20,00;9,50;01/12/2026;X9;"
        "03/04/1980;sp;São Paulo\n"
    )
    import_file(write(tmp_path / "d.csv", text), campaign, sessions, KEY)
    with sessions() as s:
        debt = s.scalars(select(Debt)).one()
        assert (debt.principal, debt.interest, debt.fines, debt.fees, debt.total) == (
            Decimal("1000.00"),
            Decimal("150.50"),
            Decimal("20.00"),
            Decimal("9.50"),
            Decimal("1180.00"),
        )
        debtor = s.scalars(select(Debtor)).one()
        assert debtor.birth_date == dt.date(1980, 4, 3) and debtor.state == "SP"
        # The campaign does not verify by CPF: no first digits stored; the mask shows digits 4-6 only.
        assert debtor.cpf_masked == "***.982.***-**" and debtor.cpf_prefix is None
        assert "52998224725" not in debtor.cpf_hmac
        assert sorted(p.e164 for p in debtor.phones) == ["+551134567890", "+5511912345678", "+5511987654321"]
        assert {p.state for p in debtor.phones} == {"SP"}


BAD_ROWS = [
    ("Bad Cpf;529.982.247-26;11987654321;10,00;01/12/2026;B1", "cpf", "verificadores"),
    (f"Bad Ddd;{CPF2};(20) 98765-4321;10,00;01/12/2026;B2", "telefone", "não é um DDD"),
    (f"Short Phone;{CPF2};11 9876-543;10,00;01/12/2026;B3", "telefone", "tamanho errado"),
    (f"Bad Amount;{CPF2};11987654321;dez reais;01/12/2026;B4", "valor", "não é um número"),
    (f"Bad Date;{CPF2};11987654321;10,00;31/02/2026;B5", "vencimento", "não existe"),
    (f"Bad Date2;{CPF2};11987654321;10,00;amanhã;B6", "vencimento", "dd/mm/aaaa"),
    (f";{CPF2};11987654321;10,00;01/12/2026;B7", "nome", "vazio"),
    (f"No Contract;{CPF2};11987654321;10,00;01/12/2026;", "contrato", "vazio"),
    (f"Zero;{CPF2};11987654321;0,00;01/12/2026;B8", "valor", "maior que zero"),
]


def test_state_comes_from_the_address_never_from_the_ddd(
    tmp_path: Path, sessions: sessionmaker[Session], campaign: str
) -> None:
    """A DDD 11 number without a `uf` column must not unlock the wider SP calling window."""
    import_file(write(tmp_path / "d.csv", FORMATS["utf8-semicolon-br-amounts"][0]), campaign, sessions, KEY)
    with sessions() as s:
        assert set(s.scalars(select(Debtor.state))) == {None}
        assert set(s.scalars(select(Phone.state))) == {"SP", "RJ"}


def test_reject_reasons_do_not_show_whole_phone_numbers(
    tmp_path: Path, sessions: sessionmaker[Session], campaign: str
) -> None:
    path = write(
        tmp_path / "d.csv",
        f"nome;cpf;telefone;valor;vencimento;contrato\nAna;{CPF1};(11) 88765-4321;10,00;01/12/2026;Z1\n",
    )
    report = import_file(path, campaign, sessions, KEY)
    assert report.refused == 1 and "88765" not in report.rejects_sample[0].reason
    rejects = tmp_path / "d.rejects.csv"
    _, fields = rejects.read_text(encoding="utf-8-sig").splitlines()
    line, column, reason, *original = fields.split(";")
    assert "88765" not in reason and "***4321" in reason
    # The refused row itself is kept (the operator must fix it), so the file is private to its owner.
    assert original[2] == "(11) 88765-4321" and rejects.stat().st_mode & 0o777 == 0o600


def test_bad_rows_listed_with_line_field_reason(tmp_path: Path, sessions: sessionmaker[Session], campaign: str) -> None:
    # CPF3 starts 987654321: its number must not hold those nine digits (the import refuses a CPF as a phone).
    lines = ["nome;cpf;telefone;valor;vencimento;contrato", f"Good;{CPF3};11912345678;10,00;01/12/2026;G1"]
    lines += [row for row, _, _ in BAD_ROWS]
    report = import_file(write(tmp_path / "d.csv", "\n".join(lines) + "\n"), campaign, sessions, KEY)
    assert (report.taken, report.refused) == (1, len(BAD_ROWS))
    text = (tmp_path / "d.rejects.csv").read_text(encoding="utf-8-sig")
    assert text.splitlines()[0] == "linha;campo;motivo;nome;cpf;telefone;valor;vencimento;contrato"
    rejects = list(csv.reader(io.StringIO(text), delimiter=";"))
    for i, (row, fld, reason) in enumerate(BAD_ROWS):
        line, got_field, got_reason, *original = rejects[i + 1]
        assert (int(line), got_field) == (i + 3, fld)
        assert reason in got_reason
        assert original == row.split(";")  # the operator fixes these cells and imports the file as it is
    assert set(debts(sessions)) == {"G1"}


def test_missing_column_is_one_clear_error(tmp_path: Path, sessions: sessionmaker[Session], campaign: str) -> None:
    path = write(tmp_path / "d.csv", f"nome;cpf;valor;vencimento;contrato\nA;{CPF1};1,00;01/12/2026;C\n")
    with pytest.raises(InputError, match=r"d.csv: line 1: missing column\(s\) phone \(accepted names: phone: telefone"):
        import_file(path, campaign, sessions, KEY)


def test_utf16_file_is_refused_with_advice(tmp_path: Path, sessions: sessionmaker[Session], campaign: str) -> None:
    path = write(tmp_path / "d.csv", "nome;cpf\nA;B\n", "utf-16")
    with pytest.raises(InputError, match="UTF-16 or binary.*CSV UTF-8"):
        import_file(path, campaign, sessions, KEY)


def test_mixed_encoding_line_refused(tmp_path: Path, sessions: sessionmaker[Session], campaign: str) -> None:
    data = (f"nome;cpf;telefone;valor;vencimento;contrato\nJosé;{CPF1};11987654321;1,00;01/12/2026;M1\n").encode(
        "utf-8"
    )
    data += f"Conceição;{CPF2};11987654321;1,00;01/12/2026;M2\n".encode("cp1252")
    path = tmp_path / "d.csv"
    path.write_bytes(data)
    report = import_file(path, campaign, sessions, KEY)
    assert (report.taken, report.refused) == (1, 1)
    assert report.rejects_sample[0].field == "encoding" and report.rejects_sample[0].line == 3
    assert debts(sessions)["M1"][2] == "José"


def test_unknown_campaign(tmp_path: Path, sessions: sessionmaker[Session]) -> None:
    path = write(tmp_path / "d.csv", FORMATS["utf8-semicolon-br-amounts"][0])
    with pytest.raises(NotFoundError, match="ivr campaign create"):
        import_file(path, "nope", sessions, KEY)


def test_reimport_changes_nothing_and_update_updates(
    tmp_path: Path, sessions: sessionmaker[Session], campaign: str
) -> None:
    path = write(tmp_path / "d.csv", FORMATS["utf8-semicolon-br-amounts"][0])
    first = import_file(path, campaign, sessions, KEY)
    before = debts(sessions)
    with sessions() as s:
        stamps = s.execute(select(Debt.contract_id, Debt.updated_at)).all()
    second = import_file(path, campaign, sessions, KEY)
    assert (first.debts_new, second.debts_new, second.debts_updated, second.debts_unchanged) == (2, 0, 0, 2)
    assert debts(sessions) == before
    with sessions() as s:
        assert s.execute(select(Debt.contract_id, Debt.updated_at)).all() == stamps
        assert s.scalar(select(func.count(Debtor.id))) == 2 and s.scalar(select(func.count(Phone.id))) == 2

    write(path, FORMATS["utf8-semicolon-br-amounts"][0].replace("1.234,56", "1.300,00"))
    third = import_file(path, campaign, sessions, KEY)
    assert (third.debts_new, third.debts_updated, third.debts_unchanged) == (0, 1, 1)
    assert debts(sessions)["A1"][0] == Decimal("1300.00")


def test_failure_mid_import_leaves_nothing(tmp_path: Path, sessions: sessionmaker[Session], campaign: str) -> None:
    rows = [f"P{i};{cpf_with_check_digits(f'{100000000 + i}')};11987654321;10,00;01/12/2026;K{i}" for i in range(50)]
    path = write(tmp_path / "d.csv", "nome;cpf;telefone;valor;vencimento;contrato\n" + "\n".join(rows) + "\n")
    write(tmp_path / "d.rejects.csv", "old rejects\n")

    def explode(batch: int) -> None:
        if batch == 3:
            raise RuntimeError("disk full")

    with pytest.raises(RuntimeError):
        import_file(path, campaign, sessions, KEY, batch_size=10, after_batch=explode)
    assert debts(sessions) == {}
    with sessions() as s:
        assert s.scalar(select(func.count(Debtor.id))) == 0
    assert (tmp_path / "d.rejects.csv").read_text() == "old rejects\n"
    assert not list(tmp_path.glob("*.tmp"))


def test_sigkill_mid_import_leaves_nothing(
    tmp_path: Path, db_url: str, sessions: sessionmaker[Session], campaign: str
) -> None:
    """A real crash: the importer process is killed after it has written several batches."""
    rows = [f"P{i};{cpf_with_check_digits(f'{200000000 + i}')};11987654321;10,00;01/12/2026;K{i}" for i in range(3000)]
    path = write(tmp_path / "d.csv", "nome;cpf;telefone;valor;vencimento;contrato\n" + "\n".join(rows) + "\n")
    marker = tmp_path / "batches"
    code = (
        "import sys, time, pathlib\n"
        "from ivr.db.importer import import_file\n"
        "from ivr.db.session import open_database\n"
        f"m = pathlib.Path({str(marker)!r})\n"
        "def hook(n):\n"
        "    m.write_text(str(n))\n"
        "    if n >= 3: time.sleep(60)\n"
        f"import_file({str(path)!r}, 'nov', open_database({db_url!r}), b'k', batch_size=100, after_batch=hook)\n"
    )
    proc = subprocess.Popen([sys.executable, "-c", code])
    deadline = time.monotonic() + 60
    while not (marker.exists() and marker.read_text() == "3"):
        assert proc.poll() is None and time.monotonic() < deadline, "importer ended before the crash point"
        time.sleep(0.05)
    os.kill(proc.pid, signal.SIGKILL)
    proc.wait()
    assert debts(sessions) == {}
    with sessions() as s:
        assert s.scalar(select(func.count(Debtor.id))) == 0
