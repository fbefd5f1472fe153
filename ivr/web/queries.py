"""What the pages read. Every query is bounded: by campaign and a day range on ``ix_attempts_campaign_scheduled``,
by a page of ids (keyset pagination), or by one debtor; none reads the whole ledger per request.
"""

from __future__ import annotations

import datetime as dt
import re
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy import Integer, and_, case, cast, func, literal_column, select
from sqlalchemy.orm import Session
from sqlalchemy.sql import ColumnElement

from ivr.db.ledger import ACTIVE_STATES
from ivr.db.models import (
    RIGHT_PARTY_OUTCOMES,
    Attempt,
    AuditEntry,
    Callback,
    Campaign,
    Creditor,
    Debt,
    Debtor,
    DoNotCall,
    Phone,
    Promise,
    Review,
    Turn,
)
from ivr.privacy import cpf_hmac, mask_phone

BRT = ZoneInfo("America/Sao_Paulo")
"""Figures by day and hour are in Brasília time, the operators' clock."""
SHORT_CALL_SECONDS = 6.0
"""Anatel's abusive-call measure counts calls lasting 6 s or less among ALL placed calls (DESIGN.md)."""


def day_start(day: dt.date) -> dt.datetime:
    return dt.datetime.combine(day, dt.time(0), tzinfo=BRT)


def today(now: dt.datetime) -> dt.date:
    return now.astimezone(BRT).date()


def _local(session: Session, column: Any, part: str) -> ColumnElement[Any]:
    """The Brasília day (``YYYY-MM-DD``) or hour (0-23) of a UTC timestamp column, in SQL on either backend."""
    if session.get_bind().dialect.name == "sqlite":
        # Brazil has had no daylight saving since 2019: a fixed -3 h is exact for the ledger's lifetime.
        if part == "day":
            return func.strftime("%Y-%m-%d", column, "-3 hours")
        return cast(func.strftime("%H", column, "-3 hours"), Integer)
    local = func.timezone("America/Sao_Paulo", column)
    if part == "day":
        return func.to_char(local, "YYYY-MM-DD")
    return cast(func.extract("hour", local), Integer)


def _seconds_between(session: Session, start: Any, end: Any) -> ColumnElement[Any]:
    if session.get_bind().dialect.name == "sqlite":
        return (func.julianday(end) - func.julianday(start)) * 86400.0
    return func.extract("epoch", end - start)


def mask_name(name: str) -> str:
    """``Maria Aparecida Souza`` → ``Maria A. S.``: enough to talk about a record, not to identify a person."""
    parts = name.split()
    if not parts:
        return ""
    return " ".join([parts[0]] + [p[0].upper() + "." for p in parts[1:] if p[:1].isalpha()])


# -- campaigns ---------------------------------------------------------------------------------------------


@dataclass
class CampaignRow:
    id: int
    name: str
    creditor: str
    status: str
    records_calls: bool
    placed_today: int = 0
    answered_today: int = 0
    right_party_today: int = 0
    promises_today: int = 0
    transfers_today: int = 0
    active: int = 0


def campaigns_overview(session: Session, now: dt.datetime) -> list[CampaignRow]:
    rows = {
        r.id: CampaignRow(r.id, r.name, r.creditor, r.status, r.records_calls)
        for r in session.execute(
            select(Campaign.id, Campaign.name, Creditor.name.label("creditor"), Campaign.status, Campaign.records_calls)
            .join(Creditor, Creditor.id == Campaign.creditor_id)
            .order_by(Campaign.created_at.desc())
            .limit(200)
        )
    }
    if not rows:
        return []
    start = day_start(today(now))
    ids = list(rows)
    for cid, placed, answered, rpc, transfers in session.execute(
        select(
            Attempt.campaign_id,
            func.count(),
            func.count(Attempt.answered_at),
            func.sum(case((Attempt.outcome.in_(RIGHT_PARTY_OUTCOMES), 1), else_=0)),
            func.sum(case((Attempt.outcome == "transferred", 1), else_=0)),
        )
        .where(Attempt.campaign_id.in_(ids), Attempt.scheduled_at >= start, Attempt.state != "leased")
        .group_by(Attempt.campaign_id)
    ):
        row = rows[cid]
        row.placed_today, row.answered_today, row.right_party_today, row.transfers_today = (
            placed,
            answered,
            int(rpc or 0),
            int(transfers or 0),
        )
    for cid, n in session.execute(
        select(Attempt.campaign_id, func.count())
        .select_from(Promise)
        .join(Attempt, Attempt.id == Promise.attempt_id)
        .where(Attempt.campaign_id.in_(ids), Attempt.scheduled_at >= start)
        .group_by(Attempt.campaign_id)
    ):
        rows[cid].promises_today = n
    for cid, n in session.execute(
        select(Attempt.campaign_id, func.count())
        .where(Attempt.campaign_id.in_(ids), Attempt.state.in_(ACTIVE_STATES))
        .group_by(Attempt.campaign_id)
    ):
        rows[cid].active = n
    return list(rows.values())


# -- live wall --------------------------------------------------------------------------------------------


def stage_of(state: str, amd_status: str | None, outcome: str | None) -> str:
    """Stage of a call in progress, in pt-BR: chamando (ringing), AMD, conversa, transferência."""
    if state in ("leased", "dialing"):
        return "chamando"
    if outcome == "transferred":
        return "transferência"
    if amd_status is None:
        return "AMD"
    return "conversa"


def live_snapshot(session: Session, now: dt.datetime, limit: int = 200) -> dict[str, Any]:
    """Calls in progress, today's counters, campaign states and the Anatel short-call share: one SSE message."""
    campaigns = session.execute(
        select(Campaign.id, Campaign.name, Campaign.status).where(Campaign.status.in_(("running", "paused")))
    ).all()
    ids = [c.id for c in campaigns]
    names = {c.id: c.name for c in campaigns}
    calls: list[dict[str, Any]] = []
    if ids:
        for a in session.execute(
            select(
                Attempt.id,
                Attempt.campaign_id,
                Attempt.state,
                Attempt.amd_status,
                Attempt.outcome,
                Attempt.started_at,
                Attempt.answered_at,
                Attempt.scheduled_at,
                Phone.e164,
            )
            .join(Phone, Phone.id == Attempt.phone_id)
            .where(Attempt.campaign_id.in_(ids), Attempt.state.in_(ACTIVE_STATES))
            .order_by(Attempt.id)
            .limit(limit)
        ):
            since = a.started_at or a.scheduled_at
            calls.append(
                {
                    "id": a.id,
                    "campaign": names.get(a.campaign_id, "?"),
                    "number": mask_phone(a.e164),
                    "stage": stage_of(a.state, a.amd_status, a.outcome),
                    "seconds": max(0, int((now - since).total_seconds())) if since else 0,
                }
            )
    start = day_start(today(now))
    placed = answered = short = 0
    if ids:
        duration = case(
            (Attempt.answered_at.is_not(None), Attempt.duration_s),
            else_=_seconds_between(session, Attempt.started_at, Attempt.ended_at),
        )
        placed, answered, short = session.execute(
            select(
                func.count(),
                func.count(Attempt.answered_at),
                func.sum(case((and_(Attempt.state == "ended", duration <= SHORT_CALL_SECONDS), 1), else_=0)),
            ).where(Attempt.campaign_id.in_(ids), Attempt.scheduled_at >= start, Attempt.state != "leased")
        ).one()
    short = int(short or 0)
    share = round(100.0 * short / placed, 1) if placed else 0.0
    return {
        "at": now.astimezone(BRT).strftime("%H:%M:%S"),
        "calls": calls,
        "campaigns": [{"name": c.name, "status": c.status} for c in campaigns],
        "counters": {
            "in_progress": len(calls),
            "placed_today": placed,
            "answered_today": answered,
            "short_today": short,
            "short_share": share,
            "short_warning": share >= 85.0,
        },
    }


# -- results ----------------------------------------------------------------------------------------------


@dataclass
class ResultsFilter:
    campaign_id: int
    since: dt.date
    until: dt.date
    state: str | None = None

    def where(self) -> list[ColumnElement[bool]]:
        return [
            Attempt.campaign_id == self.campaign_id,
            Attempt.scheduled_at >= day_start(self.since),
            Attempt.scheduled_at < day_start(self.until + dt.timedelta(days=1)),
            Attempt.state != "leased",
        ]


@dataclass
class Results:
    by_day: dict[str, dict[str, int]] = field(default_factory=dict)
    by_hour: dict[int, dict[str, int]] = field(default_factory=dict)
    by_state: dict[str, dict[str, int]] = field(default_factory=dict)
    totals: dict[str, int] = field(default_factory=dict)
    placed: int = 0
    answered: int = 0
    right_party: int = 0
    promises: int = 0
    promised_amount: Decimal = Decimal("0.00")

    def rate(self, part: int, whole: int) -> float:
        return round(100.0 * part / whole, 1) if whole else 0.0

    @property
    def rates(self) -> dict[str, float]:
        return {
            "contact": self.rate(self.answered, self.placed),
            "right_party": self.rate(self.right_party, self.answered),
            "promise": self.rate(self.promises, self.right_party),
            "transfer": self.rate(self.totals.get("transferred", 0), self.right_party),
        }


def _state_expr() -> ColumnElement[Any]:
    return func.coalesce(Debtor.state, Phone.state)


SEAL_AFTER = dt.timedelta(hours=1)
"""An hour of calls is rolled up once it ended this long ago (a call lasts minutes, so its outcome is final by
then; a later agent disposition reopens its hour, see ``_stale_hours``)."""
UTC = dt.timezone.utc


def _hour_bucket(session: Session, column: Any) -> ColumnElement[Any]:
    """The UTC hour a timestamp falls in (cheap on both backends; Brasília days are whole UTC hours)."""
    if session.get_bind().dialect.name == "sqlite":
        return func.strftime("%Y-%m-%d %H:00:00", column)
    return func.date_trunc("hour", func.timezone("UTC", column))


def _as_hour(value: Any) -> dt.datetime:
    if isinstance(value, str):
        value = dt.datetime.fromisoformat(value)
    return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)


def _outcome_expr() -> ColumnElement[Any]:
    """The agent's disposition supersedes the bot's outcome (DESIGN: outcomes)."""
    return func.coalesce(Attempt.disposition, Attempt.outcome, literal_column("'pending'"))


Cell = tuple[dt.datetime, str, str, int, int, int, Decimal]
"""(UTC hour, UF, outcome, attempts, answered, promises, promised amount)."""


def _aggregate(
    session: Session, campaign_id: int, start: dt.datetime, end: dt.datetime, state: str | None = None
) -> list[Cell]:
    """Figures of one campaign's calls scheduled in [start, end), by UTC hour, UF and outcome, from the ledger."""
    hour, uf, outcome = _hour_bucket(session, Attempt.scheduled_at), _state_expr(), _outcome_expr()
    where = [
        Attempt.campaign_id == campaign_id,
        Attempt.scheduled_at >= start,
        Attempt.scheduled_at < end,
        Attempt.state != "leased",
    ]
    if state:
        where.append(uf == state)
    cells: dict[tuple[dt.datetime, str, str], list[Any]] = {}
    for h, u, o, n, ans in session.execute(
        select(hour, uf, outcome, func.count(), func.count(Attempt.answered_at))
        .select_from(Attempt)
        .join(Debtor, Debtor.id == Attempt.debtor_id)
        .join(Phone, Phone.id == Attempt.phone_id)
        .where(*where)
        .group_by(hour, uf, outcome)
    ):
        cells[(_as_hour(h), u or "??", o)] = [n, ans, 0, Decimal("0.00")]
    for h, u, o, n, amount in session.execute(
        select(hour, uf, outcome, func.count(), func.sum(Promise.amount * Promise.installments))
        .select_from(Promise)
        .join(Attempt, Attempt.id == Promise.attempt_id)
        .join(Debtor, Debtor.id == Attempt.debtor_id)
        .join(Phone, Phone.id == Attempt.phone_id)
        .where(*where)
        .group_by(hour, uf, outcome)
    ):
        cell = cells.setdefault((_as_hour(h), u or "??", o), [0, 0, 0, Decimal("0.00")])
        cell[2], cell[3] = n, _money(session, amount)
    return [(h, u, o, *v) for (h, u, o), v in cells.items()]


def _hours(start: dt.datetime, end: dt.datetime) -> list[dt.datetime]:
    out, h = [], start
    while h < end:
        out.append(h)
        h += dt.timedelta(hours=1)
    return out


def _stale_hours(
    session: Session, campaign_id: int, start: dt.datetime, end: dt.datetime, sealed: dict[dt.datetime, dt.datetime]
) -> set[dt.datetime]:
    """Rolled-up hours with an agent disposition recorded after the roll-up (index on ``disposition_at``)."""
    if not sealed:
        return set()
    stale = set()
    for when, disposed in session.execute(
        select(Attempt.scheduled_at, Attempt.disposition_at).where(
            Attempt.disposition_at > min(sealed.values()),
            Attempt.campaign_id == campaign_id,
            Attempt.scheduled_at >= start,
            Attempt.scheduled_at < end,
        )
    ):
        hour = when.astimezone(UTC).replace(minute=0, second=0, microsecond=0)
        if hour in sealed and disposed is not None and disposed > sealed[hour]:
            stale.add(hour)
    return stale


def _seal(session: Session, campaign_id: int, start: dt.datetime, end: dt.datetime, now: dt.datetime) -> None:
    """Make sure every hour in [start, end) is rolled up (computed once, in its own transaction)."""
    from sqlalchemy import delete
    from sqlalchemy.exc import IntegrityError

    from ivr.db.models import ResultsRollup, ResultsRollupHour

    sealed = {
        _as_hour(h): c
        for h, c in session.execute(
            select(ResultsRollupHour.hour_start, ResultsRollupHour.computed_at).where(
                ResultsRollupHour.campaign_id == campaign_id,
                ResultsRollupHour.hour_start >= start,
                ResultsRollupHour.hour_start < end,
            )
        )
    }
    stale = _stale_hours(session, campaign_id, start, end, sealed)
    missing = [h for h in _hours(start, end) if h not in sealed or h in stale]
    if not missing:
        return
    spans: list[list[dt.datetime]] = []
    for h in missing:
        if spans and spans[-1][1] == h:
            spans[-1][1] = h + dt.timedelta(hours=1)
        else:
            spans.append([h, h + dt.timedelta(hours=1)])
    engine = session.get_bind()
    try:
        with Session(engine) as writer, writer.begin():
            for h in stale:
                writer.execute(
                    delete(ResultsRollup).where(ResultsRollup.campaign_id == campaign_id, ResultsRollup.hour_start == h)
                )
                writer.execute(
                    delete(ResultsRollupHour).where(
                        ResultsRollupHour.campaign_id == campaign_id, ResultsRollupHour.hour_start == h
                    )
                )
            for a, b in spans:
                for h, u, o, n, ans, pn, amount in _aggregate(writer, campaign_id, a, b):
                    writer.add(
                        ResultsRollup(
                            campaign_id=campaign_id,
                            hour_start=h,
                            state=u,
                            outcome=o,
                            attempts=n,
                            answered=ans,
                            promises=pn,
                            promised=amount,
                        )
                    )
                writer.add_all(
                    [ResultsRollupHour(campaign_id=campaign_id, hour_start=h, computed_at=now) for h in _hours(a, b)]
                )
    except IntegrityError:
        pass  # another console process rolled the same hours up first


def results(session: Session, flt: ResultsFilter, now: dt.datetime | None = None) -> Results:
    """Figures for the filter: hours older than ``SEAL_AFTER`` from the roll-up table (each hour computed once),
    the recent ones straight from the ledger, so a week of a million calls is read in a few thousand rows."""
    from ivr.db.models import ResultsRollup

    now = now or dt.datetime.now(UTC)
    start, end = day_start(flt.since).astimezone(UTC), day_start(flt.until + dt.timedelta(days=1)).astimezone(UTC)
    horizon = (now - SEAL_AFTER).astimezone(UTC).replace(minute=0, second=0, microsecond=0)
    sealed_end = min(end, max(start, horizon))
    out = Results()

    def add(hour: dt.datetime, o: str, n: int, ans: int, pn: int, amount: Decimal | None) -> None:
        local = hour.astimezone(BRT)
        day = out.by_day.setdefault(local.date().isoformat(), {})
        day[o] = day.get(o, 0) + n
        by_hour = out.by_hour.setdefault(local.hour, {})
        by_hour[o] = by_hour.get(o, 0) + n
        out.totals[o] = out.totals.get(o, 0) + n
        out.placed += n
        out.answered += ans
        out.promises += pn
        out.promised_amount += amount or Decimal("0.00")

    def add_state(uf: str, o: str, n: int) -> None:
        by_state = out.by_state.setdefault(uf, {})
        by_state[o] = by_state.get(o, 0) + n

    if sealed_end > start:
        _seal(session, flt.campaign_id, start, sealed_end, now)
        # Aggregated in SQL: a week is ~40,000 roll-up rows (hours x UF x outcome), summed to a few thousand.
        where = [
            ResultsRollup.campaign_id == flt.campaign_id,
            ResultsRollup.hour_start >= start,
            ResultsRollup.hour_start < sealed_end,
        ]
        if flt.state:
            where.append(ResultsRollup.state == flt.state)
        for h, o, n, ans, pn, amount in session.execute(
            select(
                ResultsRollup.hour_start,
                ResultsRollup.outcome,
                func.sum(ResultsRollup.attempts),
                func.sum(ResultsRollup.answered),
                func.sum(ResultsRollup.promises),
                func.sum(ResultsRollup.promised),
            )
            .where(*where)
            .group_by(ResultsRollup.hour_start, ResultsRollup.outcome)
        ):
            add(_as_hour(h), o, int(n or 0), int(ans or 0), int(pn or 0), _money(session, amount))
        for uf, o, n in session.execute(
            select(ResultsRollup.state, ResultsRollup.outcome, func.sum(ResultsRollup.attempts))
            .where(*where)
            .group_by(ResultsRollup.state, ResultsRollup.outcome)
        ):
            add_state(uf, o, int(n or 0))
    if end > sealed_end:
        # The UF filter is applied here, not in SQL: the recent hours are few rows, and a UF condition in SQL
        # makes PostgreSQL scan every debtor of that state instead of the campaign's recent calls.
        for hour, uf, o, n, ans, pn, amount in _aggregate(session, flt.campaign_id, max(start, sealed_end), end):
            if flt.state and uf != flt.state:
                continue
            add(hour, o, n, ans, pn, amount)
            add_state(uf, o, n)
    # A promise-only cell (its attempt counted elsewhere) adds zero attempts: no empty columns or bars.
    out.totals = {o: n for o, n in out.totals.items() if n}
    out.by_day = {k: {o: n for o, n in v.items() if n} for k, v in sorted(out.by_day.items())}
    out.by_hour = {k: {o: n for o, n in v.items() if n} for k, v in sorted(out.by_hour.items())}
    out.by_state = {k: {o: n for o, n in v.items() if n} for k, v in sorted(out.by_state.items())}
    out.right_party = sum(out.totals.get(o, 0) for o in RIGHT_PARTY_OUTCOMES)
    out.promised_amount = out.promised_amount.quantize(Decimal("0.01"))
    return out


def _money(session: Session, value: Any) -> Decimal:
    # The sum keeps the Money type, so SQLite's integer cents are already converted back to reais here.
    return Decimal(value or 0).quantize(Decimal("0.01"))


@dataclass
class PromiseRow:
    id: int
    debtor_id: int
    debtor: str
    contract: str | None
    promised_date: dt.date
    amount: Decimal
    installments: int
    confirmed: bool
    status: str = "em aberto"
    """em aberto, cumprida, quebrada (``promises.status``, set by payments and by the promise deadline)."""


def promise_rows(session: Session, flt: ResultsFilter, after_id: int = 0, limit: int = 50) -> list[PromiseRow]:
    """A page of the filter's promises, by id (keyset: ``after_id`` is the last id of the previous page).

    The UF filter is applied to batches read by id, not in SQL: a UF condition in SQL makes PostgreSQL start
    from every debtor of that state instead of the campaign's calls of those days.
    """
    q = (
        select(
            Promise.id,
            Promise.debtor_id,
            Debtor.name,
            Debt.contract_id,
            Promise.promised_date,
            Promise.amount,
            Promise.installments,
            Promise.confirmed,
            Promise.status,
            _state_expr(),
        )
        .join(Attempt, Attempt.id == Promise.attempt_id)
        .join(Debtor, Debtor.id == Promise.debtor_id)
        .join(Phone, Phone.id == Attempt.phone_id)
        .outerjoin(Debt, Debt.id == Promise.debt_id)
        .where(*flt.where())
    )
    labels = {"open": "em aberto", "kept": "cumprida", "broken": "quebrada"}
    rows: list[PromiseRow] = []
    cursor = after_id
    for _ in range(20 if flt.state else 1):
        batch = session.execute(
            q.where(Promise.id > cursor).order_by(Promise.id).limit(limit * 4 if flt.state else limit)
        ).all()
        for pid, did, name, contract, day, amount, n, confirmed, status, uf in batch:
            cursor = pid
            if flt.state and uf != flt.state:
                continue
            rows.append(
                PromiseRow(pid, did, name, contract, day, amount, n, confirmed, labels.get(str(status), str(status)))
            )
            if len(rows) == limit:
                return rows
        if not batch:
            break
    return rows


# -- debtors ----------------------------------------------------------------------------------------------


def find_debtors(session: Session, query: str, key: bytes | None, before_id: int | None, limit: int) -> list[Debtor]:
    """By id, CPF (through its HMAC) or phone number; or the latest debtors a page at a time."""
    digits = re.sub(r"\D", "", query or "")
    q = select(Debtor)
    if digits:
        conds = []
        if len(digits) < 10:
            conds.append(Debtor.id == int(digits))
        if len(digits) == 11 and key is not None:
            conds.append(Debtor.cpf_hmac == cpf_hmac(digits, key))
        if len(digits) >= 10:
            e164 = "+" + (digits if digits.startswith("55") and len(digits) >= 12 else "55" + digits)
            conds.append(Debtor.id.in_(select(Phone.debtor_id).where(Phone.e164 == e164)))
        from sqlalchemy import or_

        q = q.where(or_(*conds))
    if before_id:
        q = q.where(Debtor.id < before_id)
    return list(session.scalars(q.order_by(Debtor.id.desc()).limit(limit)))


@dataclass
class DebtorView:
    debtor: Debtor
    debts: list[tuple[Debt, str]]
    phones: list[Phone]
    attempts: list[Attempt]
    turns: dict[int, list[Turn]]
    promises: list[Promise]
    callbacks: list[Callback]
    reviews: list[Review]
    do_not_call: list[DoNotCall]
    campaigns: list[str]


def debtor_view(session: Session, debtor_id: int, attempts_before: int | None, limit: int) -> DebtorView | None:
    debtor = session.get(Debtor, debtor_id)
    if debtor is None:
        return None
    debts = [
        (d, name)
        for d, name in session.execute(
            select(Debt, Campaign.name)
            .join(Campaign, Campaign.id == Debt.campaign_id)
            .where(Debt.debtor_id == debtor_id)
            .order_by(Debt.id)
        )
    ]
    phones = list(session.scalars(select(Phone).where(Phone.debtor_id == debtor_id).order_by(Phone.id)))
    aq = select(Attempt).where(Attempt.debtor_id == debtor_id)
    if attempts_before:
        aq = aq.where(Attempt.id < attempts_before)
    attempts = list(session.scalars(aq.order_by(Attempt.id.desc()).limit(limit)))
    turns: dict[int, list[Turn]] = {}
    if attempts:
        for t in session.scalars(
            select(Turn).where(Turn.attempt_id.in_([a.id for a in attempts])).order_by(Turn.attempt_id, Turn.seq)
        ):
            turns.setdefault(t.attempt_id, []).append(t)
    numbers = [p.e164 for p in phones]
    dnc_q = select(DoNotCall).where(DoNotCall.debtor_id == debtor_id)
    if numbers:
        from sqlalchemy import or_

        dnc_q = select(DoNotCall).where(or_(DoNotCall.debtor_id == debtor_id, DoNotCall.e164.in_(numbers)))
    return DebtorView(
        debtor=debtor,
        debts=debts,
        phones=phones,
        attempts=attempts,
        turns=turns,
        promises=list(
            session.scalars(
                select(Promise).where(Promise.debtor_id == debtor_id).order_by(Promise.id.desc()).limit(100)
            )
        ),
        callbacks=list(
            session.scalars(
                select(Callback).where(Callback.debtor_id == debtor_id).order_by(Callback.id.desc()).limit(100)
            )
        ),
        reviews=list(
            session.scalars(select(Review).where(Review.debtor_id == debtor_id).order_by(Review.id.desc()).limit(100))
        ),
        do_not_call=list(session.scalars(dnc_q)),
        campaigns=sorted({name for _, name in debts}),
    )


# -- reviews and audit ------------------------------------------------------------------------------------


def open_reviews(session: Session, kind: str | None, after_id: int, limit: int) -> list[tuple[Review, str]]:
    q = (
        select(Review, Debtor.name)
        .join(Debtor, Debtor.id == Review.debtor_id)
        .where(Review.state == "open", Review.id > after_id)
    )
    if kind:
        q = q.where(Review.kind == kind)
    return [(r, n) for r, n in session.execute(q.order_by(Review.id).limit(limit))]


def transferred_without_disposition(session: Session, limit: int) -> list[tuple[Attempt, str]]:
    """Recent transferred calls still without the agent's disposition, newest first."""
    return [
        (a, n)
        for a, n in session.execute(
            select(Attempt, Debtor.name)
            .join(Debtor, Debtor.id == Attempt.debtor_id)
            .where(Attempt.outcome == "transferred", Attempt.disposition.is_(None))
            .order_by(Attempt.id.desc())
            .limit(limit)
        )
    ]


def audit_page(session: Session, before_id: int | None, limit: int) -> list[AuditEntry]:
    q = select(AuditEntry)
    if before_id:
        q = q.where(AuditEntry.id < before_id)
    return list(session.scalars(q.order_by(AuditEntry.id.desc()).limit(limit)))


OUTCOME_LABELS: dict[str, str] = {
    "no_answer": "não atendeu",
    "busy": "ocupado",
    "failed": "falha",
    "voicemail": "caixa postal",
    "promise_to_pay": "promessa de pagamento",
    "proposal": "proposta",
    "transferred": "transferida",
    "callback_scheduled": "retorno agendado",
    "already_paid": "já pagou",
    "cannot_pay": "não pode pagar",
    "dispute": "contestação",
    "opt_out": "pediu para não ligar",
    "wrong_party": "pessoa errada",
    "not_available": "ausente",
    "deceased": "falecido",
    "unreachable_person": "inalcançável",
    "no_response": "sem resposta",
    "hung_up": "desligou",
    "pending": "em andamento",
}

REVIEW_LABELS: dict[str, str] = {
    "already_paid": "já pagou",
    "dispute": "contestação",
    "deceased": "falecido",
    "unreachable_person": "inalcançável",
    "proposal": "proposta",
    "scam_suspicion": "suspeita de golpe",
    "verification_refused": "recusou verificação",
    "transfer_failed": "transferência falhou",
}
