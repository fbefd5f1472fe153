"""PIX BR Codes: the specification's vector, and every code read back by an independent parser.

The parser and the CRC below are written for the test from the BCB manual (TLV fields; CRC-16/CCITT-FALSE
computed bit by bit), sharing no code with ``ivr.payment.pix``.
"""

from __future__ import annotations

from decimal import Decimal

import pytest
from hypothesis import given, settings, strategies as st

from ivr.payment.pix import PixError, crc16, key_kind, static_brcode, txid_from

# Banco Central do Brasil, "Manual de Padrões para Iniciação do Pix", static BR Code example.
SPEC_VECTOR = (
    "00020126580014br.gov.bcb.pix0136123e4567-e12b-12d1-a456-4266554400005204000053039865802BR"
    "5913Fulano de Tal6008BRASILIA62070503***63041D3D"
)


def bitwise_crc(data: bytes) -> int:
    crc = 0xFFFF
    for byte in data:
        crc ^= byte << 8
        for _ in range(8):
            crc = ((crc << 1) ^ 0x1021) if crc & 0x8000 else crc << 1
            crc &= 0xFFFF
    return crc


def parse_tlv(text: str) -> list[tuple[str, str]]:
    fields, i = [], 0
    while i < len(text):
        tag, size = text[i : i + 2], int(text[i + 2 : i + 4])
        value = text[i + 4 : i + 4 + size]
        assert len(value) == size, f"field {tag} is cut short"
        fields.append((tag, value))
        i += 4 + size
    return fields


def read_brcode(code: str) -> dict[str, str]:
    """Fields by tag, the nested 26 and 62 flattened as 26.00 etc.; asserts order, CRC and uniqueness."""
    assert code[-8:-4] == "6304", "the CRC must be the last field"
    assert int(code[-4:], 16) == bitwise_crc(code[:-4].encode()), "CRC mismatch"
    assert code[-4:] == code[-4:].upper()
    top = parse_tlv(code)
    tags = [t for t, _ in top]
    assert tags[0] == "00" and tags[-1] == "63" and len(tags) == len(set(tags))
    out: dict[str, str] = {}
    for tag, value in top:
        out[tag] = value
        if tag in ("26", "62"):
            for sub, sub_value in parse_tlv(value):
                out[f"{tag}.{sub}"] = sub_value
    return out


def test_the_specification_vector_is_reproduced() -> None:
    assert read_brcode(SPEC_VECTOR)["26.01"] == "123e4567-e12b-12d1-a456-426655440000"
    code = static_brcode("123e4567-e12b-12d1-a456-426655440000", "Fulano de Tal", "BRASILIA", None, "***")
    assert code == SPEC_VECTOR
    assert crc16(SPEC_VECTOR[:-4]) == "1D3D"


def test_amount_name_city_and_txid_fields() -> None:
    code = static_brcode(
        "cobranca@exemplo.com.br", "Banco Exemplo S.A.", "São Paulo", Decimal("315.00"), "2026120100042"
    )
    f = read_brcode(code)
    assert f["00"] == "01"
    assert f["26.00"] == "br.gov.bcb.pix" and f["26.01"] == "cobranca@exemplo.com.br"
    assert f["52"] == "0000" and f["53"] == "986" and f["58"] == "BR"
    assert f["54"] == "315.00"
    assert f["59"] == "Banco Exemplo S.A." and f["60"] == "Sao Paulo"  # accents removed for every bank app
    assert f["62.05"] == "2026120100042"


def test_long_names_and_protocols_are_cut_to_the_spec_limits() -> None:
    f = read_brcode(
        static_brcode(
            "+5511987654321",
            "Financeira Exemplo de Crédito S.A.",
            "São José dos Campos",
            Decimal("1234567.89"),
            "PROT-2026/12-000000000000000042",
        )
    )
    assert len(f["59"]) <= 25 and len(f["60"]) <= 15
    assert f["62.05"] == "PROT202612000000000000000"[:25] and f["62.05"].isalnum()
    assert f["54"] == "1234567.89"


@pytest.mark.parametrize(
    ("key", "kind"),
    [
        ("12345678909", "cpf"),
        ("11222333000181", "cnpj"),
        ("+5511987654321", "phone"),
        ("fulano@exemplo.com", "email"),
        ("123e4567-e12b-12d1-a456-426655440000", "evp"),
    ],
)
def test_key_kinds(key: str, kind: str) -> None:
    assert key_kind(key) == kind


@pytest.mark.parametrize(
    "key",
    ["12345678900", "11222333000100", "11987654321", "123E4567-E12B-12D1-A456-426655440000", "", "chave qualquer"],
)
def test_bad_keys_are_refused(key: str) -> None:
    with pytest.raises(PixError):
        key_kind(key)


def test_bad_amounts_are_refused() -> None:
    for amount in (Decimal("0"), Decimal("-1.00"), Decimal("1.001")):
        with pytest.raises(PixError):
            static_brcode("12345678909", "X", "Y", amount)


def test_txid_fallback() -> None:
    assert txid_from("") == "***" and txid_from("--") == "***"


@settings(max_examples=200, deadline=None)
@given(
    cents=st.integers(1, 10**11),
    name=st.text(min_size=1, max_size=40).filter(lambda s: any(c.isalnum() and c.isascii() for c in s)),
    txid=st.text(alphabet="abcXYZ0123456789-/", max_size=40),
)
def test_every_code_parses_with_a_valid_crc(cents: int, name: str, txid: str) -> None:
    amount = Decimal(cents) / 100
    code = static_brcode("+5521998765432", name, "Rio de Janeiro", amount, txid)
    f = read_brcode(code)
    assert Decimal(f["54"]) == amount
    assert 1 <= len(f["59"]) <= 25
