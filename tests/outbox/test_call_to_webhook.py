"""A whole call, end to end without a phone: the call service's context and recorder, the dialog on the
campaign's flow, the database, the outbox, and a real local webhook receiving the agreement."""

from __future__ import annotations

import asyncio
import datetime as dt
import json
from decimal import Decimal

from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from ivr.db import results
from ivr.db.models import Attempt, Debt, OutboxEvent, PaymentInstructionRecord, PromisePlanRecord
from ivr.dialog.engine import DialogEngine
from ivr.dialog.simulator import TextChannel
from ivr.flows import load_flow
from ivr.outbox.delivery import Worker
from ivr.callservice.service import CallRecorder, context_for, flow_name_for
from ivr.testing.factories import make_campaign, make_debtor, past_attempt
from tests.outbox.test_outbox import Receiver, outbox_settings, receiver  # noqa: F401 (fixture)
from tests.payment.test_pix import read_brcode

AT = dt.datetime(2026, 12, 1, 13, 0, tzinfo=dt.timezone.utc)
POLICY = {
    "offers": {"lump_sum": {"discount_percent": 10, "pay_within_days": 3}},
    "payment": {
        "methods": ["pix"],
        "pix_key": "cobranca@exemplo.com.br",
        "merchant_name": "Banco Exemplo",
        "merchant_city": "Sao Paulo",
        "channels": ["whatsapp", "sms"],
    },
    "stages": [{"from_day": -5, "to_day": 0, "flow": "reminder"}, {"from_day": 1, "flow": "early"}],
}


def test_discount_agreed_on_a_call_reaches_the_webhook(
    sessions: sessionmaker[Session],
    receiver: tuple[Receiver, str],  # noqa: F811
) -> None:
    state, url = receiver
    camp = make_campaign(sessions, policy=POLICY)
    debtor = make_debtor(sessions, camp, ["+5511987654321"], amount="350.00", due=dt.date(2026, 11, 10))
    aid = past_attempt(sessions, camp, debtor, AT, outcome="no_answer")
    with sessions.begin() as s:
        attempt = s.get(Attempt, aid)
        assert attempt is not None
        attempt.outcome, attempt.state = None, "answered"
        attempt.debt_id = s.scalars(select(Debt.id).where(Debt.debtor_id == debtor)).one()
    info = results.load_call(sessions, aid)
    assert flow_name_for(info, AT) == "early"
    engine = DialogEngine(context_for(info, AT), flow=load_flow(flow_name_for(info, AT)))

    async def call() -> None:
        recorder = CallRecorder(sessions, info, lambda: engine.identity_confirmed)
        TextChannel(engine, lambda action: recorder(action, {})).run(
            ["sim", "tem desconto pra pagar à vista?", "sim", "pelo whatsapp"]
        )
        await recorder.close()

    asyncio.run(call())
    with sessions() as s:
        plan = s.scalars(select(PromisePlanRecord)).one()
        assert (plan.offer_type, plan.total, plan.discount) == ("lump_sum", Decimal("315.00"), Decimal("35.00"))
        instruction = s.scalars(select(PaymentInstructionRecord)).one()
        assert (instruction.method, instruction.channel) == ("pix", "whatsapp")
        protocol = s.get(Attempt, aid).protocol  # type: ignore[union-attr]
        types = [e.event_type for e in s.scalars(select(OutboxEvent).order_by(OutboxEvent.id))]
    assert types == ["promise.created", "payment_instruction.requested", "call.completed"]
    Worker(outbox_settings(url), sessions).run(until_idle=True)
    bodies = {json.loads(body)["type"]: json.loads(body) for _, body, _ in state.requests}
    assert bodies["promise.created"]["data"]["items"] == [{"date": "2026-12-04", "amount": "315.00"}]
    assert bodies["promise.created"]["data"]["discount"] == "35.00"
    pix = bodies["payment_instruction.requested"]["data"]
    assert pix["destination"] == "+5511987654321" and read_brcode(pix["payload"])["62.05"] == protocol
    assert bodies["call.completed"]["data"]["outcome"] == "promise_to_pay"
