"""CNPJ (numeric and alphanumeric), boleto check digits, UF names and text folding: tables of literal inputs."""

from __future__ import annotations

import pytest

from ivr.br.boleto import mod10, mod11_arrecadacao, mod11_bank, parse_boleto
from ivr.br.cnpj import cnpj_check_digits, format_cnpj, is_valid_cnpj, normalize_cnpj
from ivr.br.text import fold
from ivr.br.uf import UF_NAMES, UFS, parse_uf
from ivr.errors import InputError


@pytest.mark.parametrize(
    ("text", "canonical"),
    [
        ("47.291.836/0001-56", "47291836000156"),
        ("11.222.333/0001-81", "11222333000181"),
        ("11222333000181", "11222333000181"),
        ("12.ABC.345/01DE-35", "12ABC34501DE35"),  # the Receita Federal's alphanumeric example
        ("12.abc.345/01de-35", "12ABC34501DE35"),
        (" 12 ABC 345 01DE 35 ", "12ABC34501DE35"),
    ],
)
def test_cnpj_accepted(text: str, canonical: str) -> None:
    assert normalize_cnpj(text) == canonical and is_valid_cnpj(canonical)


@pytest.mark.parametrize(
    ("text", "reason"),
    [
        ("47.291.836/0001-57", "check digits"),
        ("11.111.111/1111-11", "check digits"),
        ("12.ABC.345/01DE-36", "check digits"),
        ("12.ABC.345/01DE-AB", "check digits) must be digits"),
        ("CNPJ 47.291.836/0001-56", "text around the number"),
        ("47.291.836/0001-56 (matriz)", "characters other than"),
        ("4729183600015", "14 characters"),
        ("", "empty"),
    ],
)
def test_cnpj_refused(text: str, reason: str) -> None:
    with pytest.raises(InputError, match=reason.replace("(", r"\(").replace(")", r"\)")):
        normalize_cnpj(text)


def test_cnpj_letters_are_ascii_minus_48() -> None:
    # A = 17. First DV: 17 * 2 = 34, remainder 1 -> 0. Second: 17 * 3 + 0 * 2 = 51, remainder 7 -> 4.
    assert cnpj_check_digits("00000000000A") == "04"
    assert format_cnpj("12ABC34501DE35") == "12.ABC.345/01DE-35"


BB_LINE = "00190500954014481606906809350314337370000000100"
BB_BARCODE = "00193373700000001000500940144816060680935031"
ARRECADACAO_LINE = "836200000005667800481000180975657313001589636081"
ARRECADACAO_BARCODE = "83620000000667800481001809756573100158963608"


@pytest.mark.parametrize(
    ("text", "line", "barcode", "kind"),
    [
        (BB_LINE, BB_LINE, BB_BARCODE, "bank"),
        ("00190.50095 40144.816069 06809.350314 3 37370000000100", BB_LINE, BB_BARCODE, "bank"),
        (BB_BARCODE, BB_LINE, BB_BARCODE, "bank"),
        (ARRECADACAO_LINE, ARRECADACAO_LINE, ARRECADACAO_BARCODE, "arrecadacao"),
        (
            "83620000000-5 66780048100-0 18097565731-3 00158963608-1",
            ARRECADACAO_LINE,
            ARRECADACAO_BARCODE,
            "arrecadacao",
        ),
        (ARRECADACAO_BARCODE, ARRECADACAO_LINE, ARRECADACAO_BARCODE, "arrecadacao"),
    ],
)
def test_boleto_accepted(text: str, line: str, barcode: str, kind: str) -> None:
    b = parse_boleto(text)
    assert (b.line, b.barcode, b.kind) == (line, barcode, kind)


def _flip(text: str, pos: int) -> str:
    return text[:pos] + str((int(text[pos]) + 1) % 10) + text[pos + 1 :]


@pytest.mark.parametrize(
    ("text", "reason"),
    [
        (_flip(BB_LINE, 9), "campo 1"),
        (_flip(BB_LINE, 20), "campo 2"),
        (_flip(BB_LINE, 31), "campo 3"),
        (_flip(BB_LINE, 32), "verificador geral"),
        (_flip(BB_LINE, 40), "verificador geral"),  # the value changed: only the general DV sees it
        (_flip(BB_BARCODE, 4), "verificador geral"),
        (_flip(ARRECADACAO_LINE, 11), "bloco 1"),
        (_flip(ARRECADACAO_LINE, 47), "bloco 4"),
        (_flip(ARRECADACAO_BARCODE, 3), "verificador geral"),
        ("8352" + ARRECADACAO_LINE[4:], "3º dígito"),
        ("1" * 48, "começar com 8"),
        ("0019050095", "47"),
        ("0019X500954014481606906809350314337370000000100", "só dígitos"),
    ],
)
def test_boleto_refused(text: str, reason: str) -> None:
    with pytest.raises(InputError, match=reason):
        parse_boleto(text)


def test_moduli_by_hand() -> None:
    assert mod10("001905009") == 5  # field 1 of the BB example
    assert mod10("0000000000") == 0
    assert mod11_bank("0" * 43) == 1  # remainder 0 -> 11 -> 1
    assert mod11_arrecadacao("0" * 43) == 0
    assert mod11_arrecadacao("1") == 9  # 1 * 2 = 2: remainder 2 -> 11 - 2
    assert mod11_arrecadacao("5") == 1  # 5 * 2 = 10: remainder 10 -> 1


@pytest.mark.parametrize(
    ("text", "uf"),
    [
        ("SP", "SP"),
        ("sp", "SP"),
        (" rj ", "RJ"),
        ("São Paulo", "SP"),
        ("sao paulo", "SP"),
        ("SAO PAULO", "SP"),
        ("Espírito Santo", "ES"),
        ("Rio Grande do Norte", "RN"),
        ("mato grosso do sul", "MS"),
        ("Pará", "PA"),
    ],
)
def test_uf(text: str, uf: str) -> None:
    assert parse_uf(text) == uf


@pytest.mark.parametrize("text", ["XX", "Sao Pablo", "Brasil", ""])
def test_uf_refused(text: str) -> None:
    with pytest.raises(InputError, match="não é um estado"):
        parse_uf(text)


def test_one_uf_list_for_every_user() -> None:
    from ivr.br.ddd import area_code

    assert len(UFS) == 27 and set(UF_NAMES) == UFS
    # Every two-digit DDD that exists (Anatel numbering plan) maps to one of the 27 UFs, and every UF has one.
    states = {code.state for d in range(11, 100) if (code := area_code(d)) is not None}
    assert states == UFS


@pytest.mark.parametrize(
    ("text", "folded"),
    [("Prisão", "prisao"), ("SÃO PAULO", "sao paulo"), ("Nº", "no"), ("Três", "tres"), ("ÇÉÛ", "ceu")],
)
def test_fold(text: str, folded: str) -> None:
    assert fold(text) == folded
