"""Which payment methods and channels a debtor can get, and the instruction built for each."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal
from types import SimpleNamespace

import pytest

from ivr.payment.instructions import (
    DebtPaymentData,
    PaymentPolicy,
    build_instruction,
    channels_for,
    methods_for,
)
from tests.payment.test_pix import read_brcode

POLICY = PaymentPolicy(
    ("pix", "boleto", "link"), "cobranca@exemplo.com.br", "Banco Exemplo", "Sao Paulo", ("whatsapp", "sms", "email")
)
LINE = "34191790010104351004791020150008291070026000"
DUE = dt.date(2026, 12, 5)


def test_methods_follow_the_policy_and_what_the_debt_has() -> None:
    assert methods_for(POLICY, DebtPaymentData()) == ["pix"]
    assert methods_for(POLICY, DebtPaymentData(LINE, "https://pagar.exemplo/1")) == ["pix", "boleto", "link"]
    assert methods_for(PaymentPolicy(("boleto",), channels=("sms",)), DebtPaymentData()) == []


def test_channels_need_a_mobile_or_an_email() -> None:
    assert channels_for(POLICY, True, DebtPaymentData()) == ["whatsapp", "sms"]
    assert channels_for(POLICY, False, DebtPaymentData(email="maria@exemplo.com")) == ["email"]
    assert channels_for(POLICY, False, DebtPaymentData()) == []


def test_pix_instruction_is_a_brcode_for_the_amount_with_the_protocol() -> None:
    ins = build_instruction(
        POLICY, "pix", "whatsapp", Decimal("315.00"), DUE, "+5511987654321", DebtPaymentData(), "20261201-000042"
    )
    fields = read_brcode(ins.payload)
    assert fields["54"] == "315.00" and fields["62.05"] == "20261201000042"
    assert ins.to_json() == {"method": "pix", "channel": "whatsapp", "payload": ins.payload}
    assert ins.destination_masked == "***4321"


def test_boleto_link_and_email() -> None:
    data = DebtPaymentData("3419.17900 10104.351004", "https://pagar.exemplo/1", "maria@exemplo.com")
    boleto = build_instruction(POLICY, "boleto", "email", Decimal("350.00"), DUE, "+5511987654321", data, "")
    assert boleto.payload == "341917900101043510" + "04" and boleto.destination == "maria@exemplo.com"
    assert boleto.destination_masked == "m***@exemplo.com"
    link = build_instruction(POLICY, "link", "sms", Decimal("350.00"), DUE, "+5511987654321", data, "")
    assert link.payload == "https://pagar.exemplo/1"
    with pytest.raises(ValueError):
        build_instruction(POLICY, "boleto", "sms", Decimal("1.00"), DUE, "+5511987654321", DebtPaymentData(), "")


def test_payment_data_read_defensively() -> None:
    old_schema = SimpleNamespace(total=Decimal("1"))
    assert DebtPaymentData.of(old_schema) == DebtPaymentData()
    debt = SimpleNamespace(boleto_line=" 123 ", payment_link="", email=None)
    assert DebtPaymentData.of(debt, SimpleNamespace(email="a@b.com")) == DebtPaymentData("123", None, "a@b.com")
