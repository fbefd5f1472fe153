"""A text conversation stored as a real call of a debtor (``ivr simulate --campaign --debtor --store``).

The attempt is written to the ledger as the dialer would (answered on one of the debtor's numbers at the
given instant), the dialog context is built by the call service's own ``load_call`` + ``context_for``,
and every turn and the outcome go through ``results.store_call_action``, the call service's write path.
So script writers and tests drive the rules between calls (reviews, pauses, caps, callbacks) without a phone.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Iterable
from dataclasses import dataclass

from sqlalchemy import func, select
from sqlalchemy.orm import Session, sessionmaker

from ivr.campaign.scheduler import explain
from ivr.db import results
from ivr.db.debtors import find_debtor
from ivr.db.ledger import action_id_for
from ivr.db.models import Attempt, Debt, DialQueue, Phone
from ivr.db.reports import find_campaign
from ivr.dialog.engine import Action, DialogEngine, RecordOutcome, RecordTurn
from ivr.dialog.simulator import SimulationResult, TextChannel
from ivr.errors import InputError
from ivr.language.prompts import Catalog

SIMULATED_TRUNK = "simulate"


@dataclass
class StoredCall:
    attempt_id: int
    result: SimulationResult
    eligible: bool
    """Whether the dialer itself would have called the debtor at that instant."""
    reason: str
    """The rules' reason at that instant (``code: explanation``)."""


def _open_attempt(
    s: Session, campaign: str, debtor_ref: str, at: dt.datetime, hmac_key: bytes | None
) -> tuple[int, bool, str]:
    camp = find_campaign(s, campaign)
    debtor = find_debtor(s, debtor_ref, camp.id, hmac_key)
    if not s.scalar(
        select(func.count()).select_from(Debt).where(Debt.campaign_id == camp.id, Debt.debtor_id == debtor.id)
    ):
        raise InputError(f"debtor {debtor_ref!r} has no debt in campaign {camp.name!r}")
    verdict = explain(s, camp, debtor.id, at)
    phones = list(s.scalars(select(Phone).where(Phone.debtor_id == debtor.id).order_by(Phone.id)))
    if not phones:
        raise InputError(f"debtor {debtor_ref!r} has no phone number")
    phone = next((p for p in phones if p.e164 == verdict.number), None) or next(
        (p for p in phones if p.status == "ok"), phones[0]
    )
    queue = s.get(DialQueue, (camp.id, debtor.id))
    debt_id = (
        queue.debt_id
        if queue is not None
        else s.scalar(select(func.min(Debt.id)).where(Debt.campaign_id == camp.id, Debt.debtor_id == debtor.id))
    )
    attempt = Attempt(
        campaign_id=camp.id,
        debtor_id=debtor.id,
        phone_id=phone.id,
        debt_id=debt_id,
        state="answered",
        lease_owner=SIMULATED_TRUNK,
        scheduled_at=at,
        started_at=at,
        answered_at=at,
        trunk=SIMULATED_TRUNK,
        channel="Simulated/text",
        note="simulated call (ivr simulate --store)",
    )
    s.add(attempt)
    s.flush()
    attempt.action_id = attempt.uniqueid = action_id_for(attempt.id)
    return attempt.id, verdict.eligible, verdict.reason


def preview_call(
    sessions: sessionmaker[Session], campaign: str, debtor_ref: str, at: dt.datetime, hmac_key: bytes | None
) -> results.CallInfo:
    """The call ``simulate_stored_call`` would make, nothing written: the attempt is opened and rolled back.

    Raises as ``simulate_stored_call`` does.
    """
    s = sessions()
    try:
        with s.begin():
            attempt_id, _, _ = _open_attempt(s, campaign, debtor_ref, at, hmac_key)
            info = results.load_call_in(s, attempt_id)
            s.rollback()
    finally:
        s.close()
    return info


def simulate_stored_call(
    sessions: sessionmaker[Session],
    campaign: str,
    debtor_ref: str,
    lines: Iterable[str],
    at: dt.datetime,
    *,
    catalog: Catalog | None = None,
    hmac_key: bytes | None = None,
    on_action: Callable[[Action], None] | None = None,
) -> StoredCall:
    """Run ``lines`` (one debtor reply each, see ``ivr.dialog.simulator``) as a call of the debtor ``debtor_ref``
    (id, CPF or contract id) in ``campaign`` answered at ``at`` (aware), and store it like the call service.

    Raises ``NotFoundError`` (campaign, debtor) or ``InputError`` (no debt, no phone in that campaign).
    """
    from ivr.callservice.service import context_for

    with sessions.begin() as s:
        attempt_id, eligible, reason = _open_attempt(s, campaign, debtor_ref, at, hmac_key)
    info = results.load_call(sessions, attempt_id)
    engine = DialogEngine(context_for(info, at), catalog)
    seq = 0

    def store(action: Action) -> None:
        nonlocal seq
        if on_action is not None:
            on_action(action)
        if not isinstance(action, RecordTurn | RecordOutcome):
            return
        if isinstance(action, RecordTurn):
            seq += 1
        when = at + dt.timedelta(seconds=channel.clock)
        results.store_call_action(sessions, info, action, seq, when, engine.identity_confirmed)

    channel = TextChannel(engine, store)
    result = channel.run(lines)
    ended = at + dt.timedelta(seconds=result.duration_s)
    with sessions.begin() as s:
        row = s.get(Attempt, attempt_id)
        assert row is not None
        row.state, row.ended_at, row.duration_s, row.lease_owner = "ended", ended, result.duration_s, None
    return StoredCall(attempt_id, result, eligible, reason)
