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
    ],
)
def test_normalize_accepts_common_writings(text: str, e164: str) -> None:
    assert normalize_phone(text) == e164


@pytest.mark.parametrize(
    ("text", "reason"),
    [
        ("", "empty"),
        ("+1 212 555 0100", "country code"),
        ("(20) 98765-4321", "not a Brazilian DDD"),
        ("(11) 8765-432", "wrong length"),
        ("11 98765-43210", "wrong length"),
        ("(11) 88765-4321", "must start with 9"),
        ("(11) 8765-4321", "missing the leading 9"),
        ("(11) 1765-4321", "landline number must start"),
        ("11 9876A-4321", "only digits"),
        ("0055 11 98765 4321", "international prefix"),
    ],
)
def test_normalize_rejects_with_reason(text: str, reason: str) -> None:
    with pytest.raises(InputError, match=reason):
        normalize_phone(text)


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
