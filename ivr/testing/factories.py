"""Rows for tests and benchmarks: campaigns, debtors, phones, debts and attempts written through the ORM.

One module for every suite (``tests/``) and ``bench/``: ``campaign``/``debtor``/``attempt`` make rows as an import
would (real CPF check digits, HMAC); ``make_campaign``/``make_debtor``/``past_attempt`` are the terse builders
the calling-rules tests use (placeholder CPF hashes, several numbers per person).
"""

from __future__ import annotations

import datetime as dt
from decimal import Decimal
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from ivr.br.cpf import cpf_with_check_digits
from ivr.br.phone import parse_phone
from ivr.db.models import Attempt, Campaign, Creditor, Debt, Debtor, Phone
from ivr.privacy import cpf_hmac, mask_cpf

UTC = dt.timezone.utc


def campaign(
    sessions: sessionmaker[Session],
    name: str = "nov",
    creditor: str = "Financeira Exemplo",
    records_calls: bool = True,
    policy: dict[str, object] | None = None,
) -> int:
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


def debtor(
    sessions: sessionmaker[Session],
    campaign_id: int,
    n: int,
    name: str = "Maria Souza",
    phone: str = "11987654321",
    amount: str = "150.50",
    due: dt.date = dt.date(2026, 11, 10),
    birth: dt.date | None = None,
) -> tuple[int, int, int]:
    """(debtor id, phone id, debt id) for the n-th test debtor."""
    cpf = cpf_with_check_digits(f"{100000000 + n}")
    p = parse_phone(phone)
    with sessions.begin() as s:
        d = Debtor(
            name=name,
            cpf_hmac=cpf_hmac(cpf, b"k"),
            cpf_masked=mask_cpf(cpf),
            cpf_prefix=cpf[:3],
            birth_date=birth,
            state=p.state,
        )
        s.add(d)
        s.flush()
        ph = Phone(debtor_id=d.id, e164=p.e164, ddd=p.ddd, state=p.state, timezones=",".join(p.timezones))
        debt = Debt(
            campaign_id=campaign_id,
            debtor_id=d.id,
            contract_id=f"C{n}",
            principal=Decimal(amount),
            total=Decimal(amount),
            due_date=due,
        )
        s.add_all([ph, debt])
        s.flush()
        return d.id, ph.id, debt.id


def attempt(
    sessions: sessionmaker[Session],
    campaign_id: int,
    debtor_id: int,
    phone_id: int,
    debt_id: int,
    state: str = "dialing",
) -> int:
    with sessions.begin() as s:
        a = Attempt(campaign_id=campaign_id, debtor_id=debtor_id, phone_id=phone_id, debt_id=debt_id, state=state)
        s.add(a)
        s.flush()
        return a.id


# Terse builders for the calling-rules tests (formerly ivr/testing/factories.py).


def make_campaign(
    sessions: sessionmaker[Session],
    name: str = "c1",
    status: str = "running",
    policy: dict[str, Any] | None = None,
    creditor: str = "Banco Teste",
) -> int:
    with sessions.begin() as s:
        cred = s.query(Creditor).filter_by(name=creditor).one_or_none() or Creditor(name=creditor)
        camp = Campaign(name=name, creditor=cred, status=status, policy=policy or {})
        s.add(camp)
        s.flush()
        return camp.id


def make_debtor(
    sessions: sessionmaker[Session],
    campaign_id: int,
    numbers: list[str],
    amount: str = "1000.00",
    due: dt.date = dt.date(2026, 3, 1),
    state: str | None = None,
    n: int | None = None,
) -> int:
    with sessions.begin() as s:
        key = n if n is not None else s.query(Debtor).count() + 1
        debtor = Debtor(
            name=f"Pessoa {key}", cpf_hmac=f"h{key:010d}", cpf_masked="***.000.000-**", cpf_prefix="000", state=state
        )
        s.add(debtor)
        s.flush()
        for number in numbers:
            p = parse_phone(number)
            s.add(Phone(debtor_id=debtor.id, e164=p.e164, ddd=p.ddd, state=p.state, timezones=",".join(p.timezones)))
        s.add(
            Debt(
                campaign_id=campaign_id,
                debtor_id=debtor.id,
                contract_id=f"K{key}",
                principal=Decimal(amount),
                total=Decimal(amount),
                due_date=due,
            )
        )
        return debtor.id


def past_attempt(
    sessions: sessionmaker[Session],
    campaign_id: int,
    debtor_id: int,
    at: dt.datetime,
    outcome: str,
    number_index: int = 0,
    right_party: bool = False,
) -> int:
    """An ended attempt in the ledger, as if dialled at ``at``."""
    with sessions.begin() as s:
        phones = s.query(Phone).filter_by(debtor_id=debtor_id).order_by(Phone.id).all()
        a = Attempt(
            campaign_id=campaign_id,
            debtor_id=debtor_id,
            phone_id=phones[number_index].id,
            state="ended",
            scheduled_at=at,
            started_at=at,
            ended_at=at + dt.timedelta(seconds=30),
            outcome=outcome,
            right_party=right_party,
        )
        s.add(a)
        s.flush()
        return a.id
