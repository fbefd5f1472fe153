"""Rows for tests: a campaign with debtors, phones, debts and attempts, written through the ORM."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from ivr.br.cpf import cpf_with_check_digits
from ivr.br.phone import parse_phone
from ivr.db.models import Attempt, Campaign, Creditor, Debt, Debtor, Phone
from ivr.privacy import cpf_hmac, mask_cpf


def campaign(sessions: sessionmaker[Session], name: str = "nov", creditor: str = "Financeira Exemplo",
             records_calls: bool = True, policy: dict[str, object] | None = None) -> int:
    with sessions.begin() as s:
        cred = s.scalar(select(Creditor).where(Creditor.name == creditor))
        if cred is None:
            cred = Creditor(name=creditor)
            s.add(cred)
            s.flush()
        camp = Campaign(name=name, creditor_id=cred.id, records_calls=records_calls, policy=policy or {})
        s.add(camp)
        s.flush()
        return camp.id


def debtor(sessions: sessionmaker[Session], campaign_id: int, n: int, name: str = "Maria Souza",
           phone: str = "11987654321", amount: str = "150.50", due: dt.date = dt.date(2026, 11, 10),
           birth: dt.date | None = None) -> tuple[int, int, int]:
    """(debtor id, phone id, debt id) for the n-th test debtor."""
    cpf = cpf_with_check_digits(f"{100000000 + n}")
    p = parse_phone(phone)
    with sessions.begin() as s:
        d = Debtor(name=name, cpf_hmac=cpf_hmac(cpf, b"k"), cpf_masked=mask_cpf(cpf), cpf_prefix=cpf[:3],
                   birth_date=birth, state=p.state)
        s.add(d)
        s.flush()
        ph = Phone(debtor_id=d.id, e164=p.e164, ddd=p.ddd, state=p.state, timezones=",".join(p.timezones))
        debt = Debt(campaign_id=campaign_id, debtor_id=d.id, contract_id=f"C{n}", principal=Decimal(amount),
                    total=Decimal(amount), due_date=due)
        s.add_all([ph, debt])
        s.flush()
        return d.id, ph.id, debt.id


def attempt(sessions: sessionmaker[Session], campaign_id: int, debtor_id: int, phone_id: int, debt_id: int,
            state: str = "dialing") -> int:
    with sessions.begin() as s:
        a = Attempt(campaign_id=campaign_id, debtor_id=debtor_id, phone_id=phone_id, debt_id=debt_id, state=state)
        s.add(a)
        s.flush()
        return a.id
