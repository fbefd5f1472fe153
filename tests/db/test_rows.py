"""read_rows is pure: a source and a date in, rows and rejects out, no database and no clock."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

from ivr.br.cpf import cpf_with_check_digits
from ivr.db.csvsource import CsvSource
from ivr.db.rows import FIELDS, Reject, Row, read_rows

CPF = cpf_with_check_digits("529982247")


def test_rows_and_rejects_from_memory() -> None:
    text = (
        "nome;cpf;telefone;valor;vencimento;contrato;nascimento\n"
        f"Ana;{CPF};11987654321;10,00;01/12/2026;C1;15/03/85\n"
        f"Bia;{CPF};11987654321;10,00;01/12/2026;C2;15/03/27\n"
    )
    got = list(read_rows(CsvSource.from_bytes(text.encode()), dt.date(2026, 12, 4)))
    assert isinstance(got[0], Row) and got[0].birth_date == dt.date(1985, 3, 15) and got[0].total == Decimal("10.00")
    # The same two-digit year is 2027 or 1927 depending on the `today` passed in: the clock is an argument.
    assert isinstance(got[1], Row) and got[1].birth_date == dt.date(1927, 3, 15)
    later = list(read_rows(CsvSource.from_bytes(text.encode()), dt.date(2028, 1, 1)))
    assert isinstance(later[1], Row) and later[1].birth_date == dt.date(2027, 3, 15)


def test_reject_field_comes_from_the_table() -> None:
    names = [rule.name for rule in FIELDS]
    assert names[:4] == ["name", "cpf", "phone", "contract"]
    text = f"nome;cpf;telefone;valor;vencimento;contrato\nAna;{CPF};11987654321;10,00;01/12/2026;\n"
    (reject,) = read_rows(CsvSource.from_bytes(text.encode()), dt.date(2026, 12, 4))
    assert isinstance(reject, Reject) and (reject.field, reject.column, reject.reason) == (
        "contract",
        "contrato",
        "contrato vazio",
    )
