"""`ivr report`: promises by offer type, with and without discount, and payment instructions sent."""

from __future__ import annotations

import datetime as dt
import json
import os
import subprocess
import sys
from decimal import Decimal

from sqlalchemy import update
from sqlalchemy.orm import Session, sessionmaker

from ivr.db import results
from ivr.db.models import OutboxEvent
from ivr.dialog.offers import Balance, LumpSumOffer, PromisePlan, lump_sum
from ivr.payment.instructions import PaymentInstruction
from tests.outbox.test_outbox import _call, _promise

D = Decimal


def test_report_by_offer_and_instructions(db_url: str, sessions: sessionmaker[Session]) -> None:
    _promise(sessions, 0)  # installments, R$ 350, pix by whatsapp
    attempt, _ = _call(sessions, 1)
    plan = lump_sum(Balance(D("350.00")), LumpSumOffer(D("10"), 3), dt.date(2026, 12, 1), 10)
    assert isinstance(plan, PromisePlan)
    boleto = PaymentInstruction("boleto", "sms", "+5511987654321", "3419" + "0" * 43, plan.total, plan.first.date)
    results.record_outcome(sessions, attempt, "promise_to_pay", plan=plan, payment=boleto)
    with sessions.begin() as s:  # the webhook took the PIX instruction only
        s.execute(update(OutboxEvent).where(OutboxEvent.id == 2).values(state="delivered"))
    env = {**os.environ, "IVR_DATABASE_URL": db_url}
    run = subprocess.run(
        [sys.executable, "-c", "from ivr.cli import main; main()", "report", "c0", "--json"],
        capture_output=True,
        text=True,
        env=env,
        timeout=120,
    )
    assert run.returncode == 0, run.stderr
    data = json.loads(run.stdout)
    assert data["offers"] == {
        "lump_sum": {"plans": 1, "promised": "315.00", "without_discount": "350.00", "discount": "35.00"},
        "installments": {"plans": 1, "promised": "350.00", "without_discount": "350.00", "discount": "0.00"},
    }
    assert data["payment_instructions"] == {
        "boleto/sms": {"requested": 1, "delivered": 0, "dead": 0},
        "pix/whatsapp": {"requested": 1, "delivered": 1, "dead": 0},
    }
    table = subprocess.run(
        [sys.executable, "-c", "from ivr.cli import main; main()", "report", "c0"],
        capture_output=True,
        text=True,
        env={**env, "COLUMNS": "160"},
        timeout=120,
    )
    assert "lump_sum" in table.stdout and "R$ 35,00" in table.stdout and "pix by whatsapp" in table.stdout
