"""Console test data written through the real ledger functions: a campaign, debtors, a finished call with turns."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

from sqlalchemy.orm import Session, sessionmaker

from ivr.br.cpf import cpf_with_check_digits
from ivr.db.models import Review, utcnow
from ivr.db.results import mark_answered, record_outcome, record_turn
from ivr.testing import factories

CSV_TEXT = (
    "nome;cpf;telefone;valor;vencimento;contrato;uf\n"
    f"MARIA APARECIDA DE SOUZA;{cpf_with_check_digits('529982247')};(11) 98765-4321;1.234,56;05/12/2026;A1;SP\n"
    f"João Araújo;{cpf_with_check_digits('111444777')};(21) 99876-5432;99,90;10/12/2026;A2;RJ\n"
    "Sem Documento;123;(31) 98888-7777;10,00;10/12/2026;A3;MG\n"
)
"""Two good rows and one refused (bad CPF)."""


def finished_call(
    sessions: sessionmaker[Session],
    campaign_id: int,
    n: int = 1,
    outcome: str = "promise_to_pay",
    name: str = "Maria Aparecida Souza",
) -> tuple[int, int]:
    """(debtor id, attempt id) of a call answered, talked and ended with ``outcome``."""
    debtor_id, phone_id, debt_id = factories.debtor(sessions, campaign_id, n, name=name)
    attempt_id = factories.attempt(sessions, campaign_id, debtor_id, phone_id, debt_id)
    now = utcnow()
    mark_answered(sessions, attempt_id, "Local/x", f"u{attempt_id}", now)
    record_turn(sessions, attempt_id, 1, "bot", "Olá, aqui é a assistente virtual da Financeira Exemplo.")
    record_turn(
        sessions,
        attempt_id,
        2,
        "debtor",
        "sim sou eu, vou pagar dia vinte e cinco",
        intent="promise_to_pay",
        confidence=0.9,
    )
    kwargs: dict[str, object] = {}
    if outcome == "promise_to_pay":
        kwargs = {"promise_date": (now + dt.timedelta(days=5)).date(), "promise_amount": Decimal("150.50")}
    record_outcome(sessions, attempt_id, outcome, **kwargs)  # type: ignore[arg-type]
    from ivr.db.models import Attempt

    with sessions.begin() as s:
        a = s.get(Attempt, attempt_id)
        assert a is not None
        a.state, a.ended_at, a.duration_s, a.started_at = "ended", now, 42.0, now - dt.timedelta(seconds=50)
    return debtor_id, attempt_id


def open_review(
    sessions: sessionmaker[Session],
    debtor_id: int,
    attempt_id: int | None,
    kind: str = "already_paid",
    note: str = "diz que pagou no dia 3",
) -> int:
    with sessions.begin() as s:
        r = Review(debtor_id=debtor_id, attempt_id=attempt_id, kind=kind, note=note)
        s.add(r)
        s.flush()
        return r.id
