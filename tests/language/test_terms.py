"""Payment terms read from what the debtor says (table of literal utterances)."""

from __future__ import annotations

from datetime import date
from decimal import Decimal
from fractions import Fraction

import pytest

from ivr.language.terms import read_terms

TODAY = date(2026, 12, 1)


@pytest.mark.parametrize(
    ("text", "discount", "method", "channel"),
    [
        ("tem desconto pra pagar à vista?", True, None, None),
        ("se eu pagar à vista sai mais barato?", True, None, None),
        ("me manda o boleto pelo whatsapp", False, "boleto", "whatsapp"),
        ("quero pagar no pix", False, "pix", None),
        ("pode mandar o código de barras por sms", False, "boleto", "sms"),
        ("manda o link por e-mail", False, "link", "email"),
        ("manda no zap", False, None, "whatsapp"),
        ("vou pagar dia dez", False, None, None),
    ],
)
def test_discount_method_channel(text: str, discount: bool, method: str | None, channel: str | None) -> None:
    terms = read_terms(text, TODAY)
    assert (terms.discount, terms.method, terms.channel) == (discount, method, channel)


def test_two_dates_two_amounts() -> None:
    assert read_terms("150 dia 10 e 150 dia 20", TODAY).parts == (
        (date(2026, 12, 10), Decimal("150")),
        (date(2026, 12, 20), Decimal("150")),
    )
    assert read_terms("cento e cinquenta dia dez e cento e cinquenta dia vinte", TODAY).parts == (
        (date(2026, 12, 10), Decimal("150")),
        (date(2026, 12, 20), Decimal("150")),
    )


def test_half_and_rest() -> None:
    assert read_terms("posso pagar metade", TODAY).parts == ((None, Fraction(1, 2)),)
    assert read_terms("metade hoje", TODAY).parts == ((TODAY, Fraction(1, 2)),)
    assert read_terms("a metade agora e o resto mês que vem", TODAY).parts == (
        (TODAY, Fraction(1, 2)),
        (date(2027, 1, 1), "rest"),
    )
    assert read_terms("pago 200 agora e o resto dia 20", TODAY).parts == (
        (TODAY, Decimal("200")),
        (date(2026, 12, 20), "rest"),
    )


def test_no_split_in_a_plain_promise() -> None:
    assert not read_terms("pago dia 10", TODAY).split
    assert not read_terms("vou pagar cento e cinquenta reais dia dez", TODAY).split
    assert read_terms("parcelo com entrada", TODAY).down_payment
