"""The shared CSV reading layer: line endings, Excel's sep= line, header keys, decimal mark, rejects writer."""

from __future__ import annotations

from pathlib import Path

import pytest

from ivr.br.formats import decide_decimal_mark
from ivr.db.csvsource import CsvSource, RejectsWriter, header_key, match_headers, scan_decimal_mark
from ivr.errors import InputError


@pytest.mark.parametrize("newline", ["\n", "\r\n", "\r"])
def test_records_and_line_numbers(newline: str) -> None:
    text = newline.join(["a;b", "1;2", "", '"x', 'y";3', "4;5"]) + newline
    source = CsvSource.from_bytes(text.encode())
    assert source.headers == ["a", "b"]
    got = [(r.line, r.fields[1]) for r in source.records()]
    assert got == [(2, "2"), (4, "3"), (6, "5")]
    quoted = next(r for r in source.records() if r.line == 4).fields[0]
    assert quoted.replace("\r\n", "\n").replace("\r", "\n") == "x\ny"
    assert list(source.records()) == list(source.records())  # readable again, same records


def test_sep_line_sets_the_delimiter_and_moves_the_header() -> None:
    source = CsvSource.from_bytes(b"sep=,\r\nnome,valor\r\nAna,\"1,50\"\r\n")
    assert (source.delimiter, source.header_line, source.headers) == (",", 2, ["nome", "valor"])
    assert [(r.line, r.fields) for r in source.records()] == [(3, ["Ana", "1,50"])]


def test_bom_and_cp1252() -> None:
    assert CsvSource.from_bytes("\ufeffnome;cpf\n".encode()).headers == ["nome", "cpf"]
    source = CsvSource.from_bytes("Número;Ação\nJoão;1\n".encode("cp1252"))
    assert source.encoding == "cp1252" and source.headers == ["Número", "Ação"]
    assert next(source.records()).fields == ["João", "1"]


@pytest.mark.parametrize("data", [b"", b"\n\n", "nome".encode("utf-16")])
def test_unreadable_files_are_one_line(data: bytes) -> None:
    with pytest.raises(InputError, match="<memory>: the file is"):
        CsvSource.from_bytes(data)


@pytest.mark.parametrize(("header", "key"), [
    ("Data de Vencimento", "datavencimento"), ("Valor (R$)", "valor"), ("Nº Contrato", "nocontrato"),
    ("Dt. Venc.", "dtvenc"), ("CPF/CNPJ", "cpfcnpj"), ("E-mail", "email"), ("  NOME_COMPLETO ", "nomecompleto"),
    ("Código de Barras", "codigobarras"), ("Linha Digitável", "linhadigitavel"), ("R$ Saldo", "saldo"),
])
def test_header_key(header: str, key: str) -> None:
    assert header_key(header) == key


def test_match_headers() -> None:
    aliases = {"contract": ["contrato"], "amount": ["valorpago", "valor"]}
    assert match_headers(["Contrato", "x", "Valor Pago"], aliases) == {"contract": [0], "amount": [2]}
    with pytest.raises(InputError, match="both mean amount"):
        match_headers(["valor", "valor pago"], aliases)


@pytest.mark.parametrize(("rows", "sep", "mark"), [
    (["1.234,56", "150,000"], ";", ","), (["99.90", "150,000"], ";", "."), (["150,000"], ";", ","),
    (["150,000"], ",", "?"), (["1,50", "1.50"], ";", "?"), (["1.234.567"], ",", ","),
])
def test_scan_decimal_mark(rows: list[str], sep: str, mark: str) -> None:
    text = "valor\n" + "\n".join(f'"{r}"' for r in rows) + "\n"
    source = CsvSource.from_bytes(text.encode())
    source.delimiter = sep
    assert scan_decimal_mark(source, [0]) == mark
    assert decide_decimal_mark(set(), ";") == ","


def test_rejects_writer_prepends_once(tmp_path: Path) -> None:
    source = CsvSource.from_bytes("nome;cpf\nConceição;1\n".encode("cp1252"))
    writer = RejectsWriter(tmp_path / "r.csv", source)
    writer.write(2, "cpf", "CPF vazio; corrija", ["Conceição", ""])
    writer.close()
    data = (tmp_path / "r.csv").read_bytes()
    assert data == "linha;campo;motivo;nome;cpf\r\n2;cpf;\"CPF vazio; corrija\";Conceição;\r\n".encode("cp1252")
    assert (tmp_path / "r.csv").stat().st_mode & 0o777 == 0o600
    again = CsvSource.from_bytes(data)
    writer = RejectsWriter(tmp_path / "r2.csv", again)
    writer.write(2, "nome", "nome vazio", ["2", "cpf", "old reason", "", "1"])
    writer.close()
    assert (tmp_path / "r2.csv").read_text("cp1252").splitlines() == ["linha;campo;motivo;nome;cpf", "2;nome;nome vazio;;1"]


def test_rejects_writer_keeps_the_sep_line(tmp_path: Path) -> None:
    source = CsvSource.from_bytes(b"sep=,\nnome,cpf\nAna,1\n")
    writer = RejectsWriter(tmp_path / "r.csv", source)
    writer.write(3, "cpf", "CPF vazio", ["Ana", ""])
    writer.close()
    again = CsvSource.from_bytes((tmp_path / "r.csv").read_bytes())
    assert (again.delimiter, again.headers) == (",", ["linha", "campo", "motivo", "nome", "cpf"])
    assert [r.fields for r in again.records()] == [["3", "cpf", "CPF vazio", "Ana", ""]]
