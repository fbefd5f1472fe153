"""Import integrity: what real Brazilian exports (and Excel/pandas round trips) contain, read back from the
database on SQLite and PostgreSQL. Each KIND of issue 16 is a group of cases; every right value is checked
in the stored rows, not only in the summary."""

from __future__ import annotations

import csv
import datetime as dt
import io
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import func, select
from sqlalchemy.orm import Session, sessionmaker

from ivr.br.boleto import mod10, mod11_arrecadacao
from ivr.br.cpf import cpf_with_check_digits
from ivr.db.importer import ImportReport, import_file
from ivr.db.models import Campaign, Creditor, Debt, Debtor, Phone
from ivr.privacy import cpf_hmac

KEY = b"test-key"
TODAY = dt.date(2026, 12, 4)
CPF_ZERO = cpf_with_check_digits("048213570")  # starts with 0: a float loses it
CPF_A = cpf_with_check_digits("151847156")
CPF_B = cpf_with_check_digits("529982247")
CPF_C = cpf_with_check_digits("876543219")  # no 9 digits in a row shared with the test phones (ivr.privacy)
HEAD = "nome;cpf;telefone;valor;vencimento;contrato"
BB_LINE = "00190500954014481606906809350314337370000000100"  # Banco do Brasil's published example
ARRECADACAO_LINE = "836200000005667800481000180975657313001589636081"


@pytest.fixture
def campaign(sessions: sessionmaker[Session]) -> str:
    with sessions.begin() as s:
        cred = Creditor(name="Banco Exemplo")
        s.add(cred)
        s.flush()
        s.add(Campaign(name="nov", creditor_id=cred.id))
    return "nov"


def imp(
    tmp_path: Path, sessions: sessionmaker[Session], text: str, encoding: str = "utf-8", name: str = "d.csv", **kw: Any
) -> ImportReport:
    path = tmp_path / name
    path.write_bytes(text.encode(encoding))
    return import_file(path, "nov", sessions, KEY, today=TODAY, **kw)


def stored(sessions: sessionmaker[Session]) -> dict[str, dict[str, Any]]:
    """contract → what the database holds for it (the debt, its debtor and the debtor's phones)."""
    with sessions() as s:
        out = {}
        for debt in s.scalars(select(Debt)):
            d = debt.debtor
            out[debt.contract_id] = {
                "name": d.name,
                "cpf": d.cpf_hmac,
                "prefix": d.cpf_prefix,
                "masked": d.cpf_masked,
                "total": debt.total,
                "principal": debt.principal,
                "fees": debt.fees,
                "interest": debt.interest,
                "due": debt.due_date,
                "phones": {p.e164 for p in d.phones},
                "birth": d.birth_date,
                "state": d.state,
                "boleto": debt.boleto_line,
                "link": debt.payment_link,
                "email": d.email,
                "debtor_id": d.id,
            }
        return out


def count(sessions: sessionmaker[Session], model: Any) -> int:
    with sessions() as s:
        return int(s.scalar(select(func.count()).select_from(model)) or 0)


def rejects(
    tmp_path: Path, name: str = "d.rejects.csv", encoding: str = "utf-8-sig", sep: str = ";"
) -> list[list[str]]:
    return list(csv.reader(io.StringIO((tmp_path / name).read_text(encoding=encoding)), delimiter=sep))


def h(cpf: str) -> str:
    return cpf_hmac(cpf, KEY)


# -- CPF written as a float, or otherwise mangled ---------------------------------------------------------


@pytest.mark.parametrize(
    "written",
    [
        str(int(CPF_ZERO)) + ".0",  # pandas: 4821357003.0
        str(int(CPF_ZERO)) + ",0",  # the same in a pt-BR locale
        str(int(CPF_ZERO)) + ".00",
        str(int(CPF_ZERO)),  # Excel: the leading zero dropped
        "'" + CPF_ZERO,  # Excel's text marker
        '="' + CPF_ZERO + '"',  # the formula trick that keeps zeros in a CSV
        f"{CPF_ZERO[:3]}.{CPF_ZERO[3:6]}.{CPF_ZERO[6:9]}-{CPF_ZERO[9:]}",
    ],
)
def test_cpf_float_artefacts_store_the_right_cpf(
    tmp_path: Path, sessions: sessionmaker[Session], campaign: str, written: str
) -> None:
    report = imp(tmp_path, sessions, f"{HEAD}\nAna;{written};11987654321;10,00;01/12/2026;C1\n")
    assert (report.taken, report.refused) == (1, 0)
    got = stored(sessions)["C1"]
    assert got["cpf"] == h(CPF_ZERO) and got["masked"] == f"***.{CPF_ZERO[3:6]}.***-**"


def test_cpf_eleven_digits_plus_float_zero_is_not_a_twelfth_digit(
    tmp_path: Path, sessions: sessionmaker[Session], campaign: str
) -> None:
    imp(tmp_path, sessions, f"{HEAD}\nAna;{CPF_A}.0;11987654321;10,00;01/12/2026;C1\n")
    assert stored(sessions)["C1"]["cpf"] == h(CPF_A)


@pytest.mark.parametrize(
    ("written", "reason"),
    [
        ("4.82136E+09", "notação científica"),
        ("4,82136E+09", "notação científica"),
        ("47.291.836/0001-56", "CNPJ"),  # a company in a CPF/CNPJ column
    ],
)
def test_cpf_that_cannot_be_repaired_is_refused(
    tmp_path: Path, sessions: sessionmaker[Session], campaign: str, written: str, reason: str
) -> None:
    report = imp(
        tmp_path,
        sessions,
        f'nome;cpf/cnpj;telefone;valor;vencimento;contrato\nAna;"{written}";11987654321;10,00;01/12/2026;C1\n',
    )
    assert report.refused == 1 and report.rejects_sample[0].field == "cpf"
    assert reason in report.rejects_sample[0].reason
    assert not any(c.isdigit() for c in report.rejects_sample[0].reason)  # no part of the CPF in the reason
    assert stored(sessions) == {}


# -- amounts: the decimal mark is the file's ------------------------------------------------------------------


def test_comma_then_three_digits_is_refused_in_a_decimal_comma_file(
    tmp_path: Path, sessions: sessionmaker[Session], campaign: str
) -> None:
    report = imp(
        tmp_path,
        sessions,
        f"{HEAD}\nAna;{CPF_A};11987654321;150,000;01/12/2026;C1\nBia;{CPF_B};11987654322;1.234,56;01/12/2026;C2\n",
    )
    assert report.refused == 1 and report.rejects_sample[0].field == "total"
    assert "ambíguo" in report.rejects_sample[0].reason
    assert {c: v["total"] for c, v in stored(sessions).items()} == {"C2": Decimal("1234.56")}


def test_comma_then_three_digits_alone_in_a_semicolon_file_is_refused(
    tmp_path: Path, sessions: sessionmaker[Session], campaign: str
) -> None:
    report = imp(tmp_path, sessions, f"{HEAD}\nAna;{CPF_A};11987654321;150,000;01/12/2026;C1\n")
    assert report.refused == 1 and stored(sessions) == {}


def test_other_amounts_settle_the_mark(tmp_path: Path, sessions: sessionmaker[Session], campaign: str) -> None:
    """A file whose amounts use the dot as decimal mark (pandas): 150,000 is thousands, 99.9 is 99,90."""
    report = imp(
        tmp_path,
        sessions,
        f"{HEAD}\n"
        f'Ana;{CPF_A};11987654321;"150,000";01/12/2026;C1\n'
        f"Bia;{CPF_B};11987654322;99.9;01/12/2026;C2\n"
        f"Caio;{CPF_C};11987654323;1,234.5;01/12/2026;C3\n",
    )
    assert report.refused == 0
    assert {c: v["total"] for c, v in stored(sessions).items()} == {
        "C1": Decimal("150000.00"),
        "C2": Decimal("99.90"),
        "C3": Decimal("1234.50"),
    }


def test_dot_then_three_digits_is_thousands_only_in_a_decimal_comma_file(
    tmp_path: Path, sessions: sessionmaker[Session], campaign: str
) -> None:
    report = imp(
        tmp_path,
        sessions,
        f"{HEAD}\n"
        f"Ana;{CPF_A};11987654321;1.234;01/12/2026;C1\n"
        f"Bia;{CPF_B};11987654322;99,90;01/12/2026;C2\n"
        f"Caio;{CPF_C};11987654323;R$ 1.234.567,8;01/12/2026;C3\n",
    )
    assert report.refused == 0
    assert {c: v["total"] for c, v in stored(sessions).items()} == {
        "C1": Decimal("1234.00"),
        "C2": Decimal("99.90"),
        "C3": Decimal("1234567.80"),
    }
    imp(
        tmp_path,
        sessions,
        f"{HEAD}\nAna;{CPF_A};11987654321;1.234;01/12/2026;C1\nBia;{CPF_B};11987654322;99.90;01/12/2026;C2\n",
        name="e.csv",
    )
    assert "ambíguo" in rejects(tmp_path, "e.rejects.csv")[1][2]


def test_excel_accounting_dash_is_zero(tmp_path: Path, sessions: sessionmaker[Session], campaign: str) -> None:
    report = imp(
        tmp_path,
        sessions,
        "nome;cpf;telefone;principal;juros;multa;vencimento;contrato\n"
        f"Ana;{CPF_A};11987654321;R$ 100,00;R$ -;R$ 2,00;01/12/2026;C1\n"
        f"Bia;{CPF_B};11987654322;R$ -;R$ -;R$ -;01/12/2026;C2\n",
    )
    assert report.refused == 1 and "maior que zero" in report.rejects_sample[0].reason
    got = stored(sessions)
    assert (got["C1"]["principal"], got["C1"]["interest"], got["C1"]["total"]) == (
        Decimal("100.00"),
        Decimal("0.00"),
        Decimal("102.00"),
    )


def test_contract_given_to_another_cpf_by_a_later_file_is_counted(
    tmp_path: Path, sessions: sessionmaker[Session], campaign: str
) -> None:
    imp(tmp_path, sessions, f"{HEAD}\nAna;{CPF_A};11987654321;10,00;01/12/2026;C1\n")
    again = imp(tmp_path, sessions, f"{HEAD}\nBia;{CPF_B};11987654322;10,00;01/12/2026;C1\n")
    assert again.contracts_moved == 1 and stored(sessions)["C1"]["cpf"] == h(CPF_B)


@pytest.mark.parametrize(
    ("written", "reason"),
    [
        ("1234.5600000001", "mais de dois decimais"),  # float noise from a formula
        ("1,5E+03", "notação científica"),
        ("(150,00)", "negativo"),  # accounting format
    ],
)
def test_mangled_amounts_are_refused(
    tmp_path: Path, sessions: sessionmaker[Session], campaign: str, written: str, reason: str
) -> None:
    report = imp(tmp_path, sessions, f"{HEAD}\nAna;{CPF_A};11987654321;{written};01/12/2026;C1\n")
    assert report.refused == 1 and reason in report.rejects_sample[0].reason and stored(sessions) == {}


def test_unquoted_decimal_comma_in_a_comma_file_is_refused(
    tmp_path: Path, sessions: sessionmaker[Session], campaign: str
) -> None:
    report = imp(
        tmp_path,
        sessions,
        "nome,cpf,telefone,valor,vencimento,contrato\n"
        f"Ana,{CPF_A},11987654321,R$ 150,50,01/12/2026,C1\n"
        f"Bia,{CPF_B},11987654322,1.234,56,01/12/2026,C2\n"
        f'Caio,{CPF_C},11987654323,"1.234,56",01/12/2026,C3\n',
    )
    assert report.refused == 2
    assert [r.field for r in report.rejects_sample] == ["record", "record"]
    assert "a linha tem 7 campos e o cabeçalho 6: ponha entre aspas" in report.rejects_sample[0].reason
    assert {c: v["total"] for c, v in stored(sessions).items()} == {"C3": Decimal("1234.56")}
    assert rejects(tmp_path, sep=",")[0][:4] == ["linha", "campo", "motivo", "nome"]


def test_trailing_empty_fields_are_not_extra_fields(
    tmp_path: Path, sessions: sessionmaker[Session], campaign: str
) -> None:
    report = imp(tmp_path, sessions, f"{HEAD}\nAna;{CPF_A};11987654321;10,00;01/12/2026;C1;;;\n")
    assert report.taken == 1


# -- identifiers in scientific notation; contract ids compared canonically --------------------------------------


def test_scientific_contract_ids_are_refused_not_merged(
    tmp_path: Path, sessions: sessionmaker[Session], campaign: str
) -> None:
    report = imp(
        tmp_path,
        sessions,
        f"{HEAD}\n"
        f"Ana;{CPF_A};11987654321;10,00;01/12/2026;4.51236E+15\n"
        f"Bia;{CPF_B};11987654322;20,00;01/12/2026;4.51236E+15\n"
        f"Caio;{CPF_C};1.19877E+10;20,00;01/12/2026;K3\n",
    )
    assert report.refused == 3 and stored(sessions) == {}
    assert [r.field for r in report.rejects_sample] == ["contract", "contract", "phone"]
    assert all("formate a coluna como texto" in r.reason for r in report.rejects_sample)


@pytest.mark.parametrize("written", ["1,19877E+10", "1.19877E+10", "1,19877E+10 / 1,19877E+10"])
def test_a_phone_in_pt_br_scientific_notation_says_so(
    tmp_path: Path, sessions: sessionmaker[Session], campaign: str, written: str
) -> None:
    # A pt-BR Excel writes the decimal comma: the comma must not split the cell into two "numbers" of wrong length.
    report = imp(tmp_path, sessions, f'{HEAD}\nCaio;{CPF_C};"{written}";20,00;01/12/2026;K3\n')
    assert report.refused == 1 and report.rejects_sample[0].field == "phone"
    assert "notação científica" in report.rejects_sample[0].reason
    assert "tamanho errado" not in report.rejects_sample[0].reason


@pytest.mark.parametrize(
    ("first", "second"),
    [("000123", "123"), ("123", "000123"), ("00123", "123.0"), ("ab-12", "AB-12"), ("'000123", "123")],
)
def test_round_tripped_contract_updates_the_same_debt(
    tmp_path: Path, sessions: sessionmaker[Session], campaign: str, first: str, second: str
) -> None:
    imp(tmp_path, sessions, f"{HEAD}\nAna;{CPF_A};11987654321;10,00;01/12/2026;{first}\n")
    again = imp(tmp_path, sessions, f"{HEAD}\nAna;{CPF_A};11987654321;12,00;01/12/2026;{second}\n")
    assert (again.debts_new, again.debts_updated) == (0, 1)
    got = stored(sessions)
    assert len(got) == 1 and next(iter(got.values()))["total"] == Decimal("12.00")


def test_reimport_of_an_excel_round_tripped_file_changes_nothing(
    tmp_path: Path, sessions: sessionmaker[Session], campaign: str
) -> None:
    """The same file after Excel opened and saved it: zeros dropped, dates with a time, dot decimals."""
    original = (
        f"nome;cpf;telefone;valor;vencimento;contrato;nascimento\n"
        f"ANA LIMA;{CPF_ZERO[:3]}.{CPF_ZERO[3:6]}.{CPF_ZERO[6:9]}-{CPF_ZERO[9:]};(11) 98765-4321;"
        f"1.234,56;05/12/2026;000123;15/03/1985\n"
        f"Bia;{CPF_B};(21) 3456-7890;99,90;10/12/2026;000124;\n"
    )
    round_tripped = (
        f"nome,cpf,telefone,valor,vencimento,contrato,nascimento\n"
        f"ANA LIMA,{int(CPF_ZERO)}.0,11987654321,1234.56,2026-12-05 00:00:00,123,15/03/85\n"
        f"Bia,{int(CPF_B)},552134567890,99.9,2026-12-10 00:00:00,124.0,00/00/0000\n"
    )
    imp(tmp_path, sessions, original)
    before = stored(sessions)
    again = imp(tmp_path, sessions, round_tripped, name="e.csv")
    assert (again.taken, again.refused, again.debts_new, again.debts_unchanged) == (2, 0, 0, 2)
    assert stored(sessions) == before
    assert (count(sessions, Debtor), count(sessions, Phone)) == (2, 2)
    assert before["123"]["birth"] == dt.date(1985, 3, 15)


# -- one person on several rows; one contract for two people ------------------------------------------------


@pytest.mark.parametrize("batch_size", [2000, 1])
def test_phones_of_every_row_of_one_cpf_are_merged(
    tmp_path: Path, sessions: sessionmaker[Session], campaign: str, batch_size: int
) -> None:
    report = imp(
        tmp_path,
        sessions,
        f"{HEAD}\n"
        f"Ana;{CPF_A};(11) 98765-4321;10,00;01/12/2026;C1\n"
        f"Ana;{CPF_A};(11) 3456-7890;20,00;01/12/2026;C2\n"  # second contract, other phone
        f"Ana;{CPF_A};(21) 99876-5432;20,00;01/12/2026;C2\n",  # a phone row of the same debt
        batch_size=batch_size,
    )
    assert report.refused == 0
    got = stored(sessions)
    assert set(got) == {"C1", "C2"} and got["C1"]["debtor_id"] == got["C2"]["debtor_id"]
    assert got["C1"]["phones"] == {"+5511987654321", "+551134567890", "+5521998765432"}
    assert count(sessions, Debtor) == 1


def test_one_contract_with_two_cpfs_refuses_both_rows(
    tmp_path: Path, sessions: sessionmaker[Session], campaign: str
) -> None:
    report = imp(
        tmp_path,
        sessions,
        f"{HEAD}\n"
        f"Ana;{CPF_A};11987654321;10,00;01/12/2026;C1\n"
        f"Bia;{CPF_B};11987654322;20,00;01/12/2026;K9\n"
        f"Caio;{CPF_C};11987654323;30,00;01/12/2026;0C1\n".replace("0C1", "C1"),
        batch_size=1,
    )
    assert (report.taken, report.refused) == (1, 2)
    assert [(r.line, r.field) for r in report.rejects_sample] == [(2, "contract"), (4, "contract")]
    assert "linha(s) 4" in report.rejects_sample[0].reason
    assert set(stored(sessions)) == {"K9"}


# -- files that crashed or failed ---------------------------------------------------------------------------


@pytest.mark.parametrize("newline", ["\r", "\r\n", "\n"])
def test_line_endings(tmp_path: Path, sessions: sessionmaker[Session], campaign: str, newline: str) -> None:
    text = (
        newline.join(
            [
                HEAD,
                f"Ana;{CPF_A};11987654321;10,00;01/12/2026;C1",
                f'Bia;{CPF_B};11987654322;"20,00";01/12/2026;C2',
                f"Caio;{CPF_C};x;1;01/12/2026;C3",
            ]
        )
        + newline
    )
    report = imp(tmp_path, sessions, text, encoding="cp1252")
    assert (report.taken, report.refused) == (2, 1) and report.rejects_sample[0].line == 4
    assert {c: v["total"] for c, v in stored(sessions).items()} == {"C1": Decimal("10.00"), "C2": Decimal("20.00")}


def test_excel_sep_line_and_common_headers(tmp_path: Path, sessions: sessionmaker[Session], campaign: str) -> None:
    report = imp(
        tmp_path,
        sessions,
        "sep=;\nNome;CPF/CNPJ;Telefone;Valor (R$);Dt. Venc.;Nº Contrato;Estado\n"
        f"Ana;{CPF_A};11987654321;1.234,56;10/10/2026 00:00;C1;São Paulo\n"
        f"Bia;{CPF_B};11987654322;10,00;2026-10-10 00:00:00;C2;sao paulo\n"
        f"Caio;{CPF_C};11987654323;10,00;10/10/2026;C3;RIO DE JANEIRO\n",
    )
    assert (report.taken, report.refused) == (3, 0)
    got = stored(sessions)
    assert got["C1"]["total"] == Decimal("1234.56") and got["C1"]["due"] == dt.date(2026, 10, 10)
    assert [got[c]["state"] for c in ("C1", "C2", "C3")] == ["SP", "SP", "RJ"]


@pytest.mark.parametrize("header", ["Data Venc", "Dt. Venc.", "Vencto", "Data de Vencimento", "DT_VENCIMENTO"])
def test_due_date_headers(tmp_path: Path, sessions: sessionmaker[Session], campaign: str, header: str) -> None:
    imp(
        tmp_path,
        sessions,
        f"nome;cpf;telefone;valor;{header};Nº Contrato\nAna;{CPF_A};11987654321;1,00;05/12/2026;C1\n",
    )
    assert stored(sessions)["C1"]["due"] == dt.date(2026, 12, 5)


def test_unknown_state_is_still_refused(tmp_path: Path, sessions: sessionmaker[Session], campaign: str) -> None:
    report = imp(tmp_path, sessions, f"{HEAD};uf\nAna;{CPF_A};11987654321;1,00;05/12/2026;C1;Sao Pablo\n")
    assert report.refused == 1 and report.rejects_sample[0].field == "state"


# -- usable rows that were refused -------------------------------------------------------------------------


@pytest.mark.parametrize("placeholder", ["-", "0", "(00) 0000-0000", "NAO POSSUI", "sem telefone", "#N/D", "null"])
def test_placeholder_in_an_extra_phone_column_is_a_warning(
    tmp_path: Path, sessions: sessionmaker[Session], campaign: str, placeholder: str
) -> None:
    report = imp(
        tmp_path,
        sessions,
        f"nome;cpf;telefone;telefone 2;valor;vencimento;contrato\n"
        f"Ana;{CPF_A};11987654321;{placeholder};10,00;01/12/2026;C1\n",
    )
    assert (report.taken, report.refused, report.warned) == (1, 0, 1)
    assert "telefone 2" in report.warnings_sample[0].reason and "importada" in report.warnings_sample[0].reason
    assert stored(sessions)["C1"]["phones"] == {"+5511987654321"}


def test_malformed_extra_phone_is_a_masked_warning(
    tmp_path: Path, sessions: sessionmaker[Session], campaign: str
) -> None:
    report = imp(
        tmp_path,
        sessions,
        f"nome;cpf;celular;telefone residencial;valor;vencimento;contrato\n"
        f"Ana;{CPF_A};11987654321;(11) 88765-4329;10,00;01/12/2026;C1\n",
    )
    assert report.warned == 1 and "88765" not in report.warnings_sample[0].reason
    assert "***4329" in report.warnings_sample[0].reason
    assert stored(sessions)["C1"]["phones"] == {"+5511987654321"}


def test_no_usable_phone_refuses_with_the_reason(
    tmp_path: Path, sessions: sessionmaker[Session], campaign: str
) -> None:
    report = imp(
        tmp_path,
        sessions,
        f"nome;cpf;telefone;telefone 2;valor;vencimento;contrato\nAna;{CPF_A};(11) 88765-4321;-;10,00;01/12/2026;C1\n",
    )
    assert report.refused == 1 and report.rejects_sample[0].field == "phone"
    assert "88765" not in report.rejects_sample[0].reason and "***4321" in report.rejects_sample[0].reason


@pytest.mark.parametrize(
    ("headers", "cells", "e164"),
    [
        ("ddd;telefone", "11;98765-4321", {"+5511987654321"}),
        ("ddd celular;celular", "(21);3456-7890", {"+552134567890"}),
        ("ddd;telefone;ddd celular;celular", "011;3456-7890;21;99876-5432", {"+551134567890", "+5521998765432"}),
        ("telefone;ddd", "98765-4321;11", {"+5511987654321"}),
        ("ddd;telefone", "11;(31) 98765-4321", {"+5531987654321"}),  # the number already has its DDD
    ],
)
def test_ddd_in_its_own_column(
    tmp_path: Path, sessions: sessionmaker[Session], campaign: str, headers: str, cells: str, e164: set[str]
) -> None:
    report = imp(
        tmp_path, sessions, f"nome;cpf;{headers};valor;vencimento;contrato\nAna;{CPF_A};{cells};10,00;01/12/2026;C1\n"
    )
    assert report.refused == 0
    assert stored(sessions)["C1"]["phones"] == e164


def test_original_and_updated_amounts_are_principal_and_charges(
    tmp_path: Path, sessions: sessionmaker[Session], campaign: str
) -> None:
    report = imp(
        tmp_path,
        sessions,
        "nome;cpf;telefone;Valor Original;Valor Atualizado;vencimento;contrato\n"
        f"Ana;{CPF_A};11987654321;1.000,00;1.180,50;01/10/2026;C1\n"
        f"Bia;{CPF_B};11987654322;500,00;500,00;01/12/2026;C2\n",
    )
    assert report.refused == 0
    got = stored(sessions)
    assert (got["C1"]["principal"], got["C1"]["fees"], got["C1"]["total"]) == (
        Decimal("1000.00"),
        Decimal("180.50"),
        Decimal("1180.50"),
    )
    assert (got["C2"]["principal"], got["C2"]["fees"]) == (Decimal("500.00"), Decimal("0.00"))


def test_itemised_amounts_that_disagree_are_still_refused(
    tmp_path: Path, sessions: sessionmaker[Session], campaign: str
) -> None:
    report = imp(
        tmp_path,
        sessions,
        "nome;cpf;telefone;principal;juros;valor;vencimento;contrato\n"
        f"Ana;{CPF_A};11987654321;1.000,00;10,00;1.180,50;01/10/2026;C1\n",
    )
    assert report.refused == 1 and report.rejects_sample[0].field == "total"


@pytest.mark.parametrize("written", ["31/12/9999", "0001-01-01", "01/01/3026"])
def test_a_due_date_in_an_impossible_year_is_refused(
    tmp_path: Path, sessions: sessionmaker[Session], campaign: str, written: str
) -> None:
    report = imp(tmp_path, sessions, f"{HEAD}\nAna;{CPF_A};11987654321;10,00;{written};C1\n")
    assert report.refused == 1 and report.rejects_sample[0].field == "due_date"
    assert "fora de 1900 a 2100" in report.rejects_sample[0].reason
    assert stored(sessions) == {}


@pytest.mark.parametrize(
    ("written", "birth"),
    [
        ("15/03/85", dt.date(1985, 3, 15)),
        ("15/03/05", dt.date(2005, 3, 15)),
        ("15/03/1985", dt.date(1985, 3, 15)),
        ("1985-03-15 00:00:00", dt.date(1985, 3, 15)),
        ("00/00/0000", None),
        ("01/01/1900", None),
        ("1900-01-01", None),
        ("30/12/1899", None),
        ("", None),
    ],
)
def test_birth_dates(
    tmp_path: Path, sessions: sessionmaker[Session], campaign: str, written: str, birth: dt.date | None
) -> None:
    report = imp(tmp_path, sessions, f"{HEAD};nascimento\nAna;{CPF_A};11987654321;1,00;05/12/2026;C1;{written}\n")
    assert report.refused == 0
    assert stored(sessions)["C1"]["birth"] == birth


@pytest.mark.parametrize(
    ("written", "e164"),
    [
        ("0055 21 3456-7890", "+552134567890"),
        ("(0xx11) 98765-4322", "+5511987654322"),
        ("0xx21 3456-7891", "+552134567891"),
        ("+55 (011) 98765-4321", "+5511987654321"),
        ("0 15 11 98765-4321", "+5511987654321"),
        ("021 21 3456-7890", "+552134567890"),
        ("0 31 85 3456-7890", "+558534567890"),
        ("1.19877E+10 / 11 98765-4321", "+5511987654321"),
        ("11987654321.0", "+5511987654321"),
        ("5511987654321.0", "+5511987654321"),  # pandas floats
    ],
)
def test_phone_writings(
    tmp_path: Path, sessions: sessionmaker[Session], campaign: str, written: str, e164: str
) -> None:
    report = imp(tmp_path, sessions, f"{HEAD}\nAna;{CPF_A};{written};1,00;05/12/2026;C1\n")
    assert report.refused == 0
    assert stored(sessions)["C1"]["phones"] == {e164}


# -- optional payment columns (issue 11) --------------------------------------------------------------------


def _arrecadacao_mod11_line() -> str:
    body = "8" + "1" + "8" + "0000001234" + "5" * 30  # 43 digits without the general DV (3rd digit 8: mod 11)
    barcode = body[:3] + str(mod11_arrecadacao(body)) + body[3:]
    return "".join(b + str(mod11_arrecadacao(b)) for b in (barcode[i : i + 11] for i in range(0, 44, 11)))


def test_boleto_link_and_email_are_stored(tmp_path: Path, sessions: sessionmaker[Session], campaign: str) -> None:
    spaced = "00190.50095 40144.816069 06809.350314 3 37370000000100"
    barcode = "00193373700000001000500940144816060680935031"
    mod11 = _arrecadacao_mod11_line()
    report = imp(
        tmp_path,
        sessions,
        f"{HEAD};Linha Digitável;Link de Pagamento;E-mail\n"
        f"Ana;{CPF_A};11987654321;1,00;05/12/2026;C1;{spaced};https://pague.example/c1;Ana@Example.com.br\n"
        f"Bia;{CPF_B};11987654322;1,00;05/12/2026;C2;{barcode};;-\n"
        f"Caio;{CPF_C};11987654323;1,00;05/12/2026;C3;{ARRECADACAO_LINE};;\n"
        f"Caio;{CPF_C};11987654323;1,00;05/12/2026;C4;{mod11};;\n",
    )
    assert (report.refused, report.warned) == (0, 0)
    got = stored(sessions)
    assert (got["C1"]["boleto"], got["C1"]["link"], got["C1"]["email"]) == (
        BB_LINE,
        "https://pague.example/c1",
        "ana@example.com.br",
    )
    assert got["C2"]["boleto"] == BB_LINE and got["C2"]["email"] is None
    assert got["C3"]["boleto"] == ARRECADACAO_LINE and got["C4"]["boleto"] == mod11


@pytest.mark.parametrize(
    ("column", "value", "reason"),
    [
        ("linha digitavel", BB_LINE[:9] + str((int(BB_LINE[9]) + 1) % 10) + BB_LINE[10:], "campo 1"),
        ("codigo de barras", "00193373700000001000500940144816060680935032", "verificador geral"),
        ("linha digitavel", ARRECADACAO_LINE[:-1] + "2", "bloco 4"),
        ("linha digitavel", "8.36200000005667E+47", "notação científica"),
        ("linha digitavel", "123", "47"),
        ("link de pagamento", "http://pague.example/c1", "https"),
        ("link de pagamento", "pague.example/c1", "https"),
        ("email", "ana@", "e-mail"),
    ],
)
def test_bad_optional_value_is_a_warning_that_drops_it(
    tmp_path: Path, sessions: sessionmaker[Session], campaign: str, column: str, value: str, reason: str
) -> None:
    report = imp(tmp_path, sessions, f"{HEAD};{column}\nAna;{CPF_A};11987654321;1,00;05/12/2026;C1;{value}\n")
    assert (report.taken, report.refused, report.warned) == (1, 0, 1)
    assert reason in report.warnings_sample[0].reason and "importada sem ele" in report.warnings_sample[0].reason
    got = stored(sessions)["C1"]
    assert (got["boleto"], got["link"], got["email"]) == (None, None, None)


def test_boleto_mod10_and_bank_mod11_rules() -> None:
    assert mod10("001905009") == 5 and mod10("4014481606") == 9


# -- the rejects file: fix it in the spreadsheet, import it as it is -------------------------------------------


@pytest.mark.parametrize(("encoding", "sep"), [("utf-8", ";"), ("cp1252", ";"), ("utf-8", ",")])
def test_operator_fixes_the_rejects_file_and_imports_it(
    tmp_path: Path, sessions: sessionmaker[Session], campaign: str, encoding: str, sep: str
) -> None:
    rows = [
        ["nome", "cpf", "telefone", "valor", "vencimento", "contrato", "cidade"],
        ["João Araújo", CPF_A, "11987654321", "10,00", "01/12/2026", "G1", "São Paulo"],
        ["Conceição", "529.982.247-26", "11987654322", "20,00", "01/12/2026", "F1", "Niterói"],  # CPF typo
        ["Márcia", CPF_C, "(20) 98765-4321", "30,00", "01/12/2026", "F2", "Maceió"],  # bad DDD
        ["Zé", cpf_with_check_digits("111444777"), "11987654324", "dez", "31/02/2026", "F3", ""],  # two problems
    ]
    buf = io.StringIO()
    csv.writer(buf, delimiter=sep, lineterminator="\r\n").writerows(rows)
    first = imp(tmp_path, sessions, buf.getvalue(), encoding=encoding)
    assert (first.taken, first.refused) == (1, 3)
    rejects_path = tmp_path / "d.rejects.csv"
    assert rejects_path.stat().st_mode & 0o777 == 0o600
    file_encoding = "cp1252" if encoding == "cp1252" else "utf-8-sig"
    table = rejects(tmp_path, encoding=file_encoding, sep=sep)
    assert table[0] == ["linha", "campo", "motivo", *rows[0]]
    assert [r[:2] for r in table[1:]] == [["3", "cpf"], ["4", "telefone"], ["5", "valor"]]
    assert all(r[3:] == rows[i + 2] for i, r in enumerate(table[1:]))

    # The operator edits cells, as in a spreadsheet, and saves in the same format.
    table[1][3 + 1] = CPF_B
    table[2][3 + 2] = "(21) 98765-4321"
    table[3][3 + 3] = "40,00"
    out = io.StringIO()
    csv.writer(out, delimiter=sep, lineterminator="\r\n").writerows(table)
    rejects_path.write_bytes(out.getvalue().encode(file_encoding))
    second = import_file(rejects_path, "nov", sessions, KEY, today=TODAY)
    assert (second.taken, second.refused) == (2, 1)  # F3's date is still wrong: fixed on the second pass
    again = rejects(tmp_path, "d.rejects.rejects.csv", encoding=file_encoding, sep=sep)
    assert again[0] == table[0] and again[1][:2] == ["4", "vencimento"]  # no second linha;campo;motivo
    again[1][3 + 4] = "28/02/2026"
    out = io.StringIO()
    csv.writer(out, delimiter=sep, lineterminator="\r\n").writerows(again)
    (tmp_path / "d.rejects.rejects.csv").write_bytes(out.getvalue().encode(file_encoding))
    third = import_file(tmp_path / "d.rejects.rejects.csv", "nov", sessions, KEY, today=TODAY)
    assert (third.taken, third.refused) == (1, 0)

    got = stored(sessions)
    assert set(got) == {"G1", "F1", "F2", "F3"}
    assert got["F1"]["cpf"] == h(CPF_B) and got["F1"]["name"] == "Conceição"
    assert got["F2"]["phones"] == {"+5521987654321"} and got["F3"]["total"] == Decimal("40.00")
    assert got["F3"]["due"] == dt.date(2026, 2, 28) and got["G1"]["name"] == "João Araújo"


def test_mutated_exports_are_stored_or_refused_never_crash(
    tmp_path: Path, sessions: sessionmaker[Session], campaign: str
) -> None:
    """Bounded fuzz through the database: a damaged file imports, refuses rows or fails in one line."""
    import random

    from ivr.errors import InputError

    base = "Nome;CPF;Telefone;Celular;Valor (R$);Vencimento;Contrato;Cidade;E-mail;Link de Pagamento\n" + "".join(
        f"JOÃO {i} DA SILVA;{cpf_with_check_digits(f'{300000000 + i}')};(11) 98765-43{i:02d};sem telefone;"
        f"1.234,{i:02d};05/12/2026;{i:05d};São Paulo;j{i}@x.com.br;https://p.example/{i}\n"
        for i in range(15)
    )
    rnd = random.Random(1601)
    outcomes = set()
    for n in range(25):
        data = bytearray(base.encode("utf-8"))
        for _ in range(rnd.randint(1, 6)):
            pos = rnd.randrange(len(data))
            data[pos : pos + rnd.randint(0, 3)] = rnd.choice(
                [b";", b'"', b"\r", b"\x00", b"\xe3", b"9" * 70, b"E+15", b"", bytes([rnd.randrange(256)])]
            )
        path = tmp_path / f"f{n}.csv"
        path.write_bytes(bytes(data))
        try:
            report = import_file(path, "nov", sessions, KEY, today=TODAY)
        except InputError as exc:
            assert "\n" not in str(exc)
            outcomes.add("error")
            continue
        outcomes.add("refused" if report.refused else "clean")
    assert "refused" in outcomes
    assert count(sessions, Debt) >= 1
