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
    source = CsvSource.from_bytes(b'sep=,\r\nnome,valor\r\nAna,"1,50"\r\n')
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


@pytest.mark.parametrize(
    ("header", "key"),
    [
        ("Data de Vencimento", "datavencimento"),
        ("Valor (R$)", "valor"),
        ("Nº Contrato", "nocontrato"),
        ("Dt. Venc.", "dtvenc"),
        ("CPF/CNPJ", "cpfcnpj"),
        ("E-mail", "email"),
        ("  NOME_COMPLETO ", "nomecompleto"),
        ("Código de Barras", "codigobarras"),
        ("Linha Digitável", "linhadigitavel"),
        ("R$ Saldo", "saldo"),
    ],
)
def test_header_key(header: str, key: str) -> None:
    assert header_key(header) == key


def test_match_headers() -> None:
    aliases = {"contract": ["contrato"], "amount": ["valorpago", "valor"]}
    assert match_headers(["Contrato", "x", "Valor Pago"], aliases) == {"contract": [0], "amount": [2]}
    with pytest.raises(InputError, match="both mean amount"):
        match_headers(["valor", "valor pago"], aliases)


@pytest.mark.parametrize(
    ("rows", "sep", "mark"),
    [
        (["1.234,56", "150,000"], ";", ","),
        (["99.90", "150,000"], ";", "."),
        (["150,000"], ";", ","),
        (["150,000"], ",", "?"),
        (["1,50", "1.50"], ";", "?"),
        (["1.234.567"], ",", ","),
    ],
)
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
    assert data == 'linha;campo;motivo;nome;cpf\r\n2;cpf;"CPF vazio; corrija";Conceição;\r\n'.encode("cp1252")
    assert (tmp_path / "r.csv").stat().st_mode & 0o777 == 0o600
    again = CsvSource.from_bytes(data)
    writer = RejectsWriter(tmp_path / "r2.csv", again)
    writer.write(2, "nome", "nome vazio", ["2", "cpf", "old reason", "", "1"])
    writer.close()
    assert (tmp_path / "r2.csv").read_text("cp1252").splitlines() == [
        "linha;campo;motivo;nome;cpf",
        "2;nome;nome vazio;;1",
    ]


def test_rejects_writer_keeps_the_sep_line(tmp_path: Path) -> None:
    source = CsvSource.from_bytes(b"sep=,\nnome,cpf\nAna,1\n")
    writer = RejectsWriter(tmp_path / "r.csv", source)
    writer.write(3, "cpf", "CPF vazio", ["Ana", ""])
    writer.close()
    again = CsvSource.from_bytes((tmp_path / "r.csv").read_bytes())
    assert (again.delimiter, again.headers) == (",", ["linha", "campo", "motivo", "nome", "cpf"])
    assert [r.fields for r in again.records()] == [["3", "cpf", "CPF vazio", "Ana", ""]]


def test_unreadable_records_are_one_line_errors() -> None:
    with pytest.raises(InputError, match=r"<memory>: line 3: the file cannot be read as CSV .*never closed"):
        list(CsvSource.from_bytes(b'a;b\n1;2\n3;"x' + b"y" * 200_000 + b"\n").records())
    nul = list(CsvSource.from_bytes(b"a;b\n" + b" " * 5000 + b"1;\x002\n3;4\n").records())
    assert [(r.line, r.bad_encoding) for r in nul] == [(2, True), (3, False)] and "\x00" not in nul[0].fields[1]


def test_mutated_files_never_crash() -> None:
    """Bounded fuzz: bytes flipped, cut and duplicated in a real export give rows, rejects or one InputError."""
    import datetime as dt
    import random

    from ivr.br.cpf import cpf_with_check_digits
    from ivr.db.rows import read_rows

    base = (
        "sep=;\nNome;CPF/CNPJ;Telefone;Telefone 2;DDD;Celular;Valor (R$);Dt. Venc.;Nº Contrato;Nascimento;"
        "Estado;Linha Digitável;E-mail\n"
        + "".join(
            f"JOSÉ {i};{cpf_with_check_digits(f'{100000000 + i}')}.0;(11) 98765-43{i:02d};-;21;3456-78{i:02d};"
            f'"1.234,{i:02d}";05/12/26 00:00;000{i};15/03/85;São Paulo;{"0019050095401448160690680935031433737000000010" + str(i % 10)};'
            f"a{i}@x.com.br\n"
            for i in range(20)
        )
    ).encode("cp1252")
    rnd = random.Random(16)
    seen = set()
    for _ in range(300):
        data = bytearray(base)
        for _ in range(rnd.randint(1, 8)):
            pos = rnd.randrange(len(data))
            op = rnd.randrange(4)
            if op == 0:
                data[pos] = rnd.randrange(256)
            elif op == 1:
                del data[pos : pos + rnd.randint(1, 30)]
            elif op == 2:
                data[pos:pos] = rnd.choice([b";", b'"', b"\r", b"\n", b",", b"\x00", b"E+15", b"\xc3\xa3"])
            else:
                data[pos:pos] = data[rnd.randrange(len(data)) :][:40]
        try:
            out = list(read_rows(CsvSource.from_bytes(bytes(data)), dt.date(2026, 12, 4)))
        except InputError as exc:
            assert "\n" not in str(exc)
            seen.add("error")
            continue
        seen.update(type(item).__name__ for item in out)
    assert seen >= {"Row", "Reject", "error"}
