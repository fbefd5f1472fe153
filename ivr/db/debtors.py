"""Finding a debtor the way operators name one: the database id, the CPF, or a contract id of the campaign."""

from __future__ import annotations

import re

from sqlalchemy import select
from sqlalchemy.orm import Session

from ivr.db.models import Debt, Debtor
from ivr.errors import NotFoundError
from ivr.privacy import cpf_hmac, mask_cpf

MAX_ID_DIGITS = 9
"""Debtor ids fit 32 bits: a longer number is a contract or a CPF, never an id."""


def find_debtor(session: Session, ref: str, campaign_id: int | None = None, hmac_key: bytes | None = None) -> Debtor:
    """The debtor ``ref`` names: a contract id of ``campaign_id`` (exact text) wins, then the debtor id, then
    an 11-digit CPF (needs ``hmac_key``). Raises ``NotFoundError`` with what to give instead.
    """
    text = ref.strip()
    if campaign_id is not None and text:
        from ivr.db.payments import contract_keys

        debtor_id = session.scalar(
            select(Debt.debtor_id)
            .where(Debt.campaign_id == campaign_id, Debt.contract_id.in_(contract_keys(text)))
            .limit(1)
        )
        if debtor_id is not None:
            debtor = session.get(Debtor, debtor_id)
            if debtor is not None:
                return debtor
    if text.isdigit() and len(text) <= MAX_ID_DIGITS:
        debtor = session.get(Debtor, int(text))
        if debtor is not None:
            return debtor
    digits = re.sub(r"\D", "", text)
    if len(digits) == 11 and hmac_key is not None:
        debtor = session.scalar(select(Debtor).where(Debtor.cpf_hmac == cpf_hmac(digits, hmac_key)))
        if debtor is not None:
            return debtor
    shown = mask_cpf(digits) if len(digits) == 11 else ref  # a CPF typed here is not echoed back (LGPD)
    raise NotFoundError(f"no debtor {shown!r}: give the id from `ivr report`, the CPF or a contract id of the campaign")


def has_debtors(session: Session) -> bool:
    """Whether any debtor is stored yet (before the first import the CPF key may still be created)."""
    return session.scalar(select(Debtor.id).limit(1)) is not None
