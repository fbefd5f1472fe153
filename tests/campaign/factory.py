"""Builders for campaign tests: a campaign with people, phones and debts written straight to the database."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal
from typing import Any

from sqlalchemy.orm import Session, sessionmaker

from ivr.br.phone import parse_phone
from ivr.db.models import Attempt, Campaign, Creditor, Debt, Debtor, Phone

UTC = dt.timezone.utc


def make_campaign(sessions: sessionmaker[Session], name: str = "c1", status: str = "running",
                  policy: dict[str, Any] | None = None, creditor: str = "Banco Teste") -> int:
    with sessions.begin() as s:
        cred = s.query(Creditor).filter_by(name=creditor).one_or_none() or Creditor(name=creditor)
        camp = Campaign(name=name, creditor=cred, status=status, policy=policy or {})
        s.add(camp)
        s.flush()
        return camp.id


def make_debtor(sessions: sessionmaker[Session], campaign_id: int, numbers: list[str], amount: str = "1000.00",
                due: dt.date = dt.date(2026, 3, 1), state: str | None = None, n: int | None = None) -> int:
    with sessions.begin() as s:
        key = n if n is not None else s.query(Debtor).count() + 1
        debtor = Debtor(name=f"Pessoa {key}", cpf_hmac=f"h{key:010d}", cpf_masked="***.000.000-**",
                        cpf_prefix="000", state=state)
        s.add(debtor)
        s.flush()
        for number in numbers:
            p = parse_phone(number)
            s.add(Phone(debtor_id=debtor.id, e164=p.e164, ddd=p.ddd, state=p.state, timezones=",".join(p.timezones)))
        s.add(Debt(campaign_id=campaign_id, debtor_id=debtor.id, contract_id=f"K{key}", principal=Decimal(amount),
                   total=Decimal(amount), due_date=due))
        return debtor.id


def past_attempt(sessions: sessionmaker[Session], campaign_id: int, debtor_id: int, at: dt.datetime, outcome: str,
                 number_index: int = 0, right_party: bool = False) -> int:
    """An ended attempt in the ledger, as if dialled at ``at``."""
    with sessions.begin() as s:
        phones = s.query(Phone).filter_by(debtor_id=debtor_id).order_by(Phone.id).all()
        a = Attempt(campaign_id=campaign_id, debtor_id=debtor_id, phone_id=phones[number_index].id, state="ended",
                    scheduled_at=at, started_at=at, ended_at=at + dt.timedelta(seconds=30), outcome=outcome,
                    right_party=right_party)
        s.add(a)
        s.flush()
        return a.id
