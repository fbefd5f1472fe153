"""Phone number normalisation: the writings operators use, and the reasons for refusing the rest."""

from __future__ import annotations

import pytest

from ivr.br.phone import normalize_phone, parse_phone
from ivr.errors import InputError


@pytest.mark.parametrize(
    ("text", "e164"),
    [
        ("(11) 98765-4321", "+5511987654321"),
        ("+55 11 98765-4321", "+5511987654321"),
        ("11987654321", "+5511987654321"),
        ("+5511987654321", "+5511987654321"),
        ("5511987654321", "+5511987654321"),
        ("011 98765-4321", "+5511987654321"),
        ("(21) 2345-6789", "+552123456789"),
        ("55 21 2345 6789", "+552123456789"),
        ("  68.99912.3456 ", "+5568999123456"),
        ("(55) 3222-1234", "+555532221234"),  # DDD 55 (RS) is not mistaken for the country code
        ("55 55 99876 5432", "+5555998765432"),
        ("0055 21 3456-7890", "+552134567890"),
        ("0055 11 98765 4321", "+5511987654321"),
        ("(0xx11) 98765-4322", "+5511987654322"),
        ("0xx21 3456-7891", "+552134567891"),
        ("0XX 21 3456-7891", "+552134567891"),
        ("+55 (011) 98765-4321", "+5511987654321"),
        ("0 15 11 98765-4321", "+5511987654321"),  # trunk 0 + carrier code 15 + DDD 11
        ("021 21 3456-7890", "+552134567890"),
        ("0 31 85 3456-7890", "+558534567890"),
        ("0 41 11 98765-4321", "+5511987654321"),
    ],
)
def test_normalize_accepts_common_writings(text: str, e164: str) -> None:
    assert normalize_phone(text) == e164


@pytest.mark.parametrize(
    ("text", "reason"),
    [
        ("", "vazio"),
        ("+1 212 555 0100", "código do país"),
        ("001 212 555 0100", "código do país"),
        ("(20) 98765-4321", "não é um DDD"),
        ("(11) 8765-432", "tamanho errado"),
        ("11 98765-43210", "tamanho errado"),
        ("(11) 88765-4321", "deve começar com 9"),
        ("(11) 8765-4321", "sem o 9 inicial"),
        ("(11) 1765-4321", "fixo deve começar"),
        ("11 9876A-4321", "só dígitos"),
    ],
)
def test_normalize_rejects_with_reason(text: str, reason: str) -> None:
    with pytest.raises(InputError, match=reason) as err:
        normalize_phone(text)
    digits = "".join(c for c in text if c.isdigit())
    if len(digits) > 4:  # the number is quoted masked, even when it is malformed (LGPD)
        assert "***" + digits[-4:] in str(err.value) and text not in str(err.value)


@pytest.mark.parametrize(
    ("text", "ddd", "state", "zones", "mobile"),
    [
        ("(11) 98765-4321", 11, "SP", ("America/Sao_Paulo",), True),
        ("(68) 3223-1234", 68, "AC", ("America/Rio_Branco",), False),
        ("(97) 99123-4567", 97, "AM", ("America/Manaus", "America/Eirunepe"), True),
        ("(81) 99123-4567", 81, "PE", ("America/Recife",), True),
    ],
)
def test_parse_gives_area(text: str, ddd: int, state: str, zones: tuple[str, ...], mobile: bool) -> None:
    phone = parse_phone(text)
    assert (phone.ddd, phone.state, phone.timezones, phone.mobile) == (ddd, state, zones, mobile)
    assert phone.national == phone.e164[3:]
