"""Conversations of issue 11: each offer path and each payment path, in text with the real NLU and catalog.

Every plan is checked to add up exactly; every PIX code is read back by the test's own BR Code parser.
"""

from __future__ import annotations

from datetime import date
from decimal import Decimal
from typing import Any

from ivr.campaign.rules import Policy
from ivr.dialog.offers import OfferType
from ivr.dialog.simulator import SimulationResult
from ivr.dialog.simulator import simulate
from ivr.flows import load_flow
from tests.dialog.conftest import Talk
from tests.dialog.helpers import make_ctx
from tests.dialog.helpers import bot_lines
from tests.payment.test_pix import read_brcode

D = Decimal
TODAY = date(2026, 12, 1)  # a Tuesday; the promise window ends on 2026-12-11
BOLETO = "34191790010104351004791020150008291070026000"
PAYMENT = {
    "methods": ["pix", "boleto", "link"],
    "pix_key": "cobranca@exemplo.com.br",
    "merchant_name": "Banco Exemplo",
    "merchant_city": "Sao Paulo",
    "channels": ["whatsapp", "sms", "email"],
}


def ctx(policy: dict[str, Any] | None = None, **extra: Any) -> dict[str, Any]:
    p = Policy.from_dict(policy or {})
    base: dict[str, Any] = {
        "amount": D("350.00"),
        "due_date": date(2026, 11, 10),
        "today": TODAY,
        "offers": p.offers,
        "payment": p.payment,
        "promise_window_days": p.promise_window_days,
        "phone_e164": "+5511987654321",
        "mobile": True,
        "debtor_name": "Maria Souza",
    }
    from ivr.dialog.engine import NegotiationPolicy

    base["negotiation"] = NegotiationPolicy(p.max_installments, p.allow_transfer)
    base.update(extra)
    return base


def said(r: SimulationResult) -> list[str]:
    from ivr.dialog.engine import Say

    return [a.prompt_id for a in r.actions if isinstance(a, Say)]


def exact(r: SimulationResult) -> None:
    assert r.plan is not None
    assert sum((i.amount for i in r.plan.items), D("0")) == r.plan.total
    if r.plan.offer is not OfferType.PARTIAL and r.plan.offer is not OfferType.PROPOSAL:
        assert r.plan.total == r.plan.original_balance - r.plan.discount


DISCOUNT = {"offers": {"lump_sum": {"discount_percent": 10, "pay_within_days": 3}}, "payment": PAYMENT}


# --- offers ---------------------------------------------------------------------------


def test_discount_accepted_with_pix_by_whatsapp(talk: Talk) -> None:
    r = talk(["sim", "tem desconto pra pagar à vista?", "sim", "pode ser pelo whatsapp"], **ctx(DISCOUNT))
    assert said(r)[-5:] == ["offer_lump_sum", "ask_channel", "payment_sent", "promise_thanks", "goodbye"]
    assert "trezentos e quinze reais" in bot_lines(r)[-5] and "trinta e cinco reais de desconto" in bot_lines(r)[-5]
    assert (r.outcome, r.promise_date, r.promise_amount) == ("promise_to_pay", date(2026, 12, 4), D("315.00"))
    exact(r)
    assert r.plan is not None and r.plan.offer is OfferType.LUMP_SUM and r.plan.discount == D("35.00")
    assert r.payment is not None and (r.payment.method, r.payment.channel) == ("pix", "whatsapp")
    fields = read_brcode(r.payment.payload)
    assert fields["54"] == "315.00" and fields["26.01"] == "cobranca@exemplo.com.br"
    assert fields["62.05"] == r.protocol
    assert "WhatsApp, no número final quatro três dois um" in bot_lines(r)[-3]


def test_discount_on_charges_only(talk: Talk) -> None:
    policy = {"offers": {"lump_sum": {"discount_percent": 50, "discount_applies_to": "charges"}}}
    r = talk(["sim", "se eu pagar à vista tem desconto?", "sim"], **ctx(policy, charges=D("70.00")))
    assert r.plan is not None and r.plan.discount == D("35.00") and r.promise_amount == D("315.00")
    assert r.promise_date == date(2026, 12, 11)  # no pay_within_days: the window's end


def test_discount_with_a_later_date_inside_the_window_is_the_full_price(talk: Talk) -> None:
    r = talk(["sim", "tem desconto à vista?", "não, dia 9", "sim"], **ctx(DISCOUNT, payment=Policy().payment))
    assert said(r).count("offer_lump_sum") == 1 and "readback" in said(r)
    assert (r.outcome, r.promise_date, r.promise_amount) == ("promise_to_pay", date(2026, 12, 9), D("350.00"))


def test_no_discount_goes_to_a_person(talk: Talk) -> None:
    r = talk(["sim", "tem desconto?", "sim"], **ctx())
    assert said(r)[-3:] == ["no_discount", "offer_agent", "transfer"]
    assert r.outcome == "transferred"


INSTALLMENTS = {
    "offers": {"installments": {"max": 4, "min_installment": 50, "down_payment_percent": 20}},
    "payment": PAYMENT,
}


def test_installments_with_a_down_payment(talk: Talk) -> None:
    r = talk(["sim", "quero parcelar", "três", "dia cinco", "sim", "sms"], **ctx(INSTALLMENTS))
    assert "ask_date_down_payment" in said(r) and "readback_plan" in said(r)
    readback = next(t for t in bot_lines(r) if t.startswith(("Então fica assim", "Deixa eu confirmar")))
    assert "uma entrada de setenta reais e um centavo" in readback
    assert "mais três parcelas de noventa e três reais e trinta e três centavos, todo dia cinco" in readback
    assert r.plan is not None and r.plan.down_payment
    assert [(i.date, i.amount) for i in r.plan.items] == [
        (date(2026, 12, 5), D("70.01")),
        (date(2027, 1, 5), D("93.33")),
        (date(2027, 2, 5), D("93.33")),
        (date(2027, 3, 5), D("93.33")),
    ]
    exact(r)
    assert (r.outcome, r.installments, r.promise_amount) == ("promise_to_pay", 3, D("70.01"))
    assert r.payment is not None and r.payment.channel == "sms"
    assert read_brcode(r.payment.payload)["54"] == "70.01"  # the first payment: the down payment


def test_three_times_one_hundred_on_350_goes_to_a_person_as_a_proposal(talk: Talk) -> None:
    r = talk(["sim", "posso pagar três vezes de cem", "dia cinco", "não"], **ctx())
    assert "installments_mismatch" in said(r)
    mismatch = next(t for t in bot_lines(r) if "não fecha" in t or "não cobre" in t)
    assert "cento e dezesseis reais e sessenta e oito centavos" in mismatch  # the real plan, said plainly
    assert r.outcome == "proposal" and r.plan is not None and r.plan.offer is OfferType.PROPOSAL
    assert [i.amount for i in r.plan.items] == [D("100.00")] * 3


def test_minimum_installment_caps_the_count(talk: Talk) -> None:
    policy = {"offers": {"installments": {"max": 6, "min_installment": 100}}}
    r = talk(["sim", "dá pra parcelar em seis vezes?", "três", "dia 5", "sim"], **ctx(policy))
    assert "negotiation_limit" in said(r)
    assert "três parcelas" in bot_lines(r)[said(r).index("negotiation_limit")]
    assert r.installments == 3 and r.plan is not None and r.plan.total == D("350.00")
    assert [i.amount for i in r.plan.items] == [D("116.68"), D("116.66"), D("116.66")]


def test_half_asks_the_date_then_reads_back(talk: Talk) -> None:
    r = talk(["sim", "posso pagar metade", "dia cinco", "sim"], **ctx())
    assert said(r)[5:7] == ["ask_date", "readback_plan"]
    assert r.plan is not None and r.plan.offer is OfferType.PARTIAL
    assert r.plan.to_json() == [{"date": "2026-12-05", "amount": "175.00"}]
    assert (r.outcome, r.promise_amount) == ("promise_to_pay", D("175.00"))


def test_half_now_and_the_rest_next_month(talk: Talk) -> None:
    r = talk(["sim", "a metade agora e o resto mês que vem", "sim"], **ctx(amount=D("350.01")))
    assert r.plan is not None
    assert r.plan.to_json() == [{"date": "2026-12-01", "amount": "175.00"}, {"date": "2027-01-01", "amount": "175.01"}]
    assert "cento e setenta e cinco reais hoje" in bot_lines(r)[-3]
    exact(r)


def test_two_dates_two_amounts(talk: Talk) -> None:
    r = talk(["sim", "150 dia 10 e 150 dia 20", "sim"], **ctx(amount=D("300.00")))
    assert r.plan is not None and r.plan.to_json() == [
        {"date": "2026-12-10", "amount": "150.00"},
        {"date": "2026-12-20", "amount": "150.00"},
    ]
    assert r.outcome == "promise_to_pay" and r.plan.total == D("300.00")


def test_partial_forbidden_by_the_policy_goes_to_a_person(talk: Talk) -> None:
    r = talk(["sim", "posso pagar metade hoje", "não"], **ctx({"offers": {"partial": False}}))
    assert "partial_not_allowed" in said(r) and "offer_agent" in said(r)
    assert r.outcome == "proposal" and r.plan is not None


def test_partial_amount_forbidden_in_a_simple_promise(talk: Talk) -> None:
    r = talk(["sim", "posso pagar 100 reais dia 5", "sim", "sim"], **ctx({"offers": {"partial": False}}))
    assert "partial_not_allowed" in said(r) and r.outcome == "proposal"


def test_salary_day_past_the_window_is_a_proposal_not_cannot_pay(talk: Talk) -> None:
    r = talk(["sim", "só consigo pagar dia 5 do mês que vem quando sai o salário", "não dá", "sim"], **ctx())
    assert said(r)[5:8] == ["date_invalid_late", "proposal_offer", "proposal_recorded"]
    assert (r.outcome, r.promise_date) == ("proposal", date(2027, 1, 5))
    assert r.plan is not None and r.plan.offer is OfferType.PROPOSAL


def test_a_late_date_then_a_good_one_is_not_a_proposal(talk: Talk) -> None:
    r = talk(["sim", "sim", "dia 30", "dia 9", "não", "não consigo"], **ctx())
    assert "proposal_offer" not in said(r) and r.outcome != "proposal"


# --- payment ----------------------------------------------------------------------------


def test_boleto_by_sms_asked_before_the_date(talk: Talk) -> None:
    from ivr.payment.instructions import DebtPaymentData

    r = talk(
        ["sim", "me manda o boleto por sms", "dia cinco", "sim"],
        **ctx({"payment": PAYMENT}, payment_data=DebtPaymentData(BOLETO)),
    )
    assert said(r)[5:7] == ["payment_noted", "ask_date"]
    assert "ask_channel" not in said(r)  # already said where
    assert r.payment is not None and (r.payment.method, r.payment.channel, r.payment.payload) == (
        "boleto",
        "sms",
        BOLETO,
    )


def test_link_by_email_on_a_landline(talk: Talk) -> None:
    from ivr.payment.instructions import DebtPaymentData

    policy = {"payment": {**PAYMENT, "methods": ["link"]}}
    data = DebtPaymentData(payment_link="https://pagar.exemplo/42", email="maria@exemplo.com")
    r = talk(
        ["sim", "sim", "dia 5", "sim", "sim"],
        **ctx(policy, payment_data=data, mobile=False, phone_e164="+551134567890"),
    )
    assert "por e-mail, no endereço cadastrado" in bot_lines(r)[said(r).index("ask_channel")]
    assert r.payment is not None and (r.payment.method, r.payment.channel) == ("link", "email")
    assert r.payment.destination == "maria@exemplo.com" and r.payment.payload == "https://pagar.exemplo/42"


def test_no_channel_no_instruction(talk: Talk) -> None:
    r = talk(["sim", "sim", "dia 5", "sim"], **ctx({"payment": PAYMENT}, mobile=False, phone_e164="+551134567890"))
    assert r.outcome == "promise_to_pay" and r.payment is None and "ask_channel" not in said(r)


def test_debtor_declines_the_instruction(talk: Talk) -> None:
    r = talk(["sim", "sim", "dia 5", "sim", "não precisa"], **ctx({"payment": PAYMENT}))
    assert said(r)[-2:] == ["payment_not_sent", "goodbye"]
    assert r.outcome == "promise_to_pay" and r.payment is None


def test_channel_by_keypad(talk: Talk) -> None:
    # The keypad menu of the channel question is the yes/no one: 1 takes the first option offered, 2 declines.
    r = talk(["sim", "sim", "dia 5", "sim", "1"], **ctx({"payment": PAYMENT}))
    assert r.payment is not None and r.payment.channel == "whatsapp"
    r = talk(["sim", "sim", "dia 5", "sim", "2"], **ctx({"payment": PAYMENT}))
    assert r.payment is None and said(r)[-2:] == ["payment_not_sent", "goodbye"]


def test_pix_requested_at_the_readback(talk: Talk) -> None:
    r = talk(["sim", "sim", "dia 5", "pode mandar o pix no zap"], **ctx({"payment": PAYMENT}))
    assert r.outcome == "promise_to_pay" and r.payment is not None
    assert (r.payment.method, r.payment.channel) == ("pix", "whatsapp")


def test_default_policy_keeps_the_old_ending(talk: Talk) -> None:
    r = talk(["sim", "sim", "dia 5", "sim"], **ctx())
    assert said(r)[-2:] == ["promise_thanks", "goodbye"] and r.payment is None
    assert r.plan is not None and r.plan.to_json() == [{"date": "2026-12-05", "amount": "350.00"}]


# --- the reminder flow -------------------------------------------------------------------


def remind(lines: list[str], **overrides: Any) -> SimulationResult:
    return simulate(make_ctx(**overrides), lines, flow=load_flow("reminder"))


def test_reminder_before_the_due_date(talk: Talk) -> None:
    r = remind(["sim", "pode sim", "whatsapp"], **ctx({"payment": PAYMENT}, due_date=date(2026, 12, 4)))
    assert said(r)[3:5] == ["disclosure_reminder", "reminder_ask"]
    assert "vence na sexta-feira, quatro de dezembro" in bot_lines(r)[3]
    assert (r.outcome, r.promise_date, r.promise_amount) == ("promise_to_pay", date(2026, 12, 4), D("350.00"))
    assert r.payment is not None and r.payment.channel == "whatsapp"


def test_reminder_another_date_takes_the_usual_path(talk: Talk) -> None:
    r = remind(["sim", "só consigo no dia 10", "sim"], **ctx(due_date=date(2026, 12, 4)))
    assert said(r)[4:6] == ["reminder_ask", "readback"]
    assert (r.outcome, r.promise_date) == ("promise_to_pay", date(2026, 12, 10))


def test_reminder_cannot_pay_is_not_a_promise(talk: Talk) -> None:
    r = remind(["sim", "não vou conseguir", "não"], **ctx(due_date=date(2026, 12, 4)))
    assert "ask_amount" in said(r) and r.outcome != "promise_to_pay"
