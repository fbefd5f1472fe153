"""What the call service gives the dialog for issue 11: charges, the debt's payment data, the policy's offers and
payment methods, and the flow the campaign's stages pick for the day (real databases)."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

from sqlalchemy.orm import Session, sessionmaker

from ivr.db import results
from ivr.db.models import Attempt, Debt, Debtor
from ivr.callservice.service import context_for, flow_name_for
from ivr.testing.factories import make_campaign, make_debtor, past_attempt

AT = dt.datetime(2026, 12, 1, 13, 0, tzinfo=dt.timezone.utc)
POLICY = {
    "offers": {"lump_sum": {"discount_percent": 10, "discount_applies_to": "charges"}},
    "payment": {
        "methods": ["pix", "boleto"],
        "pix_key": "cobranca@exemplo.com.br",
        "merchant_name": "Banco Exemplo",
        "merchant_city": "Sao Paulo",
        "channels": ["whatsapp", "email"],
    },
    "stages": [
        {"from_day": -5, "to_day": 0, "flow": "reminder"},
        {"from_day": 1, "to_day": 30, "flow": "early"},
        {"from_day": 31, "flow": "late"},
    ],
}


def _call(sessions: sessionmaker[Session], due: dt.date, number: str = "+5511987654321") -> int:
    camp = make_campaign(sessions, name=f"c-{due.isoformat()}-{number[-4:]}", policy=POLICY)
    debtor = make_debtor(sessions, camp, [number], amount="350.00", due=due)
    with sessions.begin() as s:
        debt = s.query(Debt).filter_by(debtor_id=debtor).one()
        debt.principal, debt.interest, debt.fines = Decimal("280.00"), Decimal("50.00"), Decimal("20.00")
        debt.boleto_line = "34191790010104351004791020150008291070026000"
        s.get(Debtor, debtor).email = "maria@exemplo.com"  # type: ignore[union-attr]
    aid = past_attempt(sessions, camp, debtor, AT, outcome="no_answer")
    with sessions.begin() as s:
        s.get(Attempt, aid).outcome = None  # type: ignore[union-attr]
    return aid


def test_the_dialog_gets_charges_payment_data_and_policy(sessions: sessionmaker[Session]) -> None:
    info = results.load_call(sessions, _call(sessions, dt.date(2026, 11, 20)))
    assert info.charges == Decimal("70.00") and info.mobile
    assert info.payment_data.boleto_line and info.payment_data.email == "maria@exemplo.com"
    ctx = context_for(info, AT)
    assert ctx.offers.lump_sum.discount_applies_to == "charges" and ctx.payment.methods == ("pix", "boleto")
    assert ctx.charges == Decimal("70.00") and ctx.phone_e164 == "+5511987654321" and ctx.mobile


def test_stages_pick_the_flow_by_days_from_the_due_date(sessions: sessionmaker[Session]) -> None:
    for due, flow in (
        (dt.date(2026, 12, 4), "reminder"),
        (dt.date(2026, 11, 20), "early"),
        (dt.date(2026, 9, 1), "late"),
        (dt.date(2026, 12, 20), "default"),
    ):
        info = results.load_call(sessions, _call(sessions, due))
        assert flow_name_for(info, AT) == flow, due


def test_a_landline_is_not_mobile(sessions: sessionmaker[Session]) -> None:
    info = results.load_call(sessions, _call(sessions, dt.date(2026, 11, 20), "+551134567890"))
    assert not info.mobile
