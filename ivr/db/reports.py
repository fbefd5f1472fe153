"""Campaign results for operators: outcome counts, contact rates, promises."""

from __future__ import annotations

import csv
import datetime as dt
from dataclasses import dataclass, field
from decimal import Decimal
from pathlib import Path

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from ivr.db.models import (
    OFFER_TYPES,
    OUTCOMES,
    RIGHT_PARTY_OUTCOMES,
    Attempt,
    Campaign,
    Debt,
    Debtor,
    OutboxEvent,
    PaymentInstructionRecord,
    Phone,
    Promise,
    PromisePlanRecord,
    Review,
    utcnow,
)
from ivr.errors import NotFoundError
from ivr.privacy import open_private


@dataclass
class PromiseLine:
    debtor: str
    cpf_masked: str
    contract: str | None
    promised_date: dt.date
    amount: Decimal
    installments: int
    confirmed: bool


@dataclass
class OfferLine:
    plans: int = 0
    promised: Decimal = Decimal("0.00")
    """What the plans add up to (after discount), reais."""
    without_discount: Decimal = Decimal("0.00")
    """The balances the plans were made on (original_balance): the promised amount before discount."""
    discount: Decimal = Decimal("0.00")


@dataclass
class InstructionLine:
    requested: int = 0
    delivered: int = 0
    """Accepted by the creditor's webhook."""
    dead: int = 0


@dataclass
class CampaignReport:
    campaign: str
    status: str
    debts: int
    total_owed: Decimal
    attempts: int
    ended: int
    answered: int
    right_party: int
    by_outcome: dict[str, int]
    promises: list[PromiseLine] = field(default_factory=list)
    by_day: dict[str, dict[str, int]] = field(default_factory=dict)
    """Local (Brasília) day → outcome → attempts; ``pending`` for attempts without an outcome yet."""
    by_state: dict[str, dict[str, int]] = field(default_factory=dict)
    """UF (address, else the number's DDD) → outcome → attempts."""
    short_calls: tuple[int, int] = (0, 0)
    """Today's (answered calls ≤ 6 s, answered calls)."""
    by_offer: dict[str, OfferLine] = field(default_factory=dict)
    """Offer type (lump_sum, installments, partial, proposal) → promises and amounts with and without discount."""
    payment_instructions: dict[str, InstructionLine] = field(default_factory=dict)
    """``method/channel`` → instructions requested, and how many the webhook has taken."""
    reviews: dict[str, int] = field(default_factory=dict)
    """``open`` / ``resolved`` → reviews opened by this campaign's calls."""
    promise_results: dict[str, int] = field(default_factory=dict)
    """``kept`` / ``broken`` / ``open`` → promises taken in this campaign."""
    promise_results_by_day: dict[str, dict[str, int]] = field(default_factory=dict)
    """Local day the promise was taken → kept / broken / open."""
    transfer_results: dict[str, int] = field(default_factory=dict)
    """``answered`` (an agent took the call) / ``abandoned`` (no agent answered: queue empty, timeout, caller gave up)."""

    @property
    def promise_kept_rate(self) -> float:
        """Kept promises per settled (kept or broken) promise, %."""
        kept, broken = self.promise_results.get("kept", 0), self.promise_results.get("broken", 0)
        return self.rate(kept, kept + broken)

    @property
    def rpc_rate(self) -> float:
        """Right-party contacts per answered call, %."""
        return self.rate(self.right_party, self.answered)

    @property
    def promise_rate(self) -> float:
        """Promises per right-party contact, %."""
        return self.rate(len(self.promises), self.right_party)

    @property
    def transfer_rate(self) -> float:
        """Transfers to an agent per right-party contact, %."""
        return self.rate(self.by_outcome.get("transferred", 0), self.right_party)

    @property
    def short_call_warning(self) -> bool:
        short, total = self.short_calls
        return total > 0 and short * 2 > total

    @property
    def promised_total(self) -> Decimal:
        return sum((p.amount for p in self.promises), Decimal("0.00"))

    def rate(self, part: int, whole: int) -> float:
        return round(100.0 * part / whole, 1) if whole else 0.0


def find_campaign(session: Session, name: str) -> Campaign:
    camp = session.scalar(select(Campaign).where(Campaign.name == name))
    if camp is None:
        raise NotFoundError(f"campaign {name!r} does not exist; `ivr campaign list` shows the campaigns")
    return camp


def campaign_report(session: Session, name: str) -> CampaignReport:
    camp = find_campaign(session, name)
    debts, owed = session.execute(
        select(func.count(Debt.id), func.coalesce(func.sum(Debt.total), 0)).where(Debt.campaign_id == camp.id)
    ).one()
    counts = dict(
        session.execute(
            select(Attempt.outcome, func.count()).where(Attempt.campaign_id == camp.id).group_by(Attempt.outcome)
        ).all()
    )
    attempts = sum(counts.values())
    answered = (
        session.scalar(select(func.count()).where(Attempt.campaign_id == camp.id, Attempt.answered_at.is_not(None)))
        or 0
    )
    by_outcome = {o: counts.get(o, 0) for o in OUTCOMES}
    rows = session.execute(
        select(
            Debtor.name,
            Debtor.cpf_masked,
            Debt.contract_id,
            Promise.promised_date,
            Promise.amount,
            Promise.installments,
            Promise.confirmed,
        )
        .join(Attempt, Attempt.id == Promise.attempt_id)
        .join(Debtor, Debtor.id == Promise.debtor_id)
        .outerjoin(Debt, Debt.id == Promise.debt_id)
        .where(Attempt.campaign_id == camp.id)
        .order_by(Promise.promised_date, Debtor.name)
    ).all()
    by_day: dict[str, dict[str, int]] = {}
    by_state: dict[str, dict[str, int]] = {}
    brt = dt.timezone(dt.timedelta(hours=-3))
    for when, outcome, state in session.execute(
        select(Attempt.scheduled_at, Attempt.outcome, func.coalesce(Debtor.state, Phone.state))
        .join(Debtor, Debtor.id == Attempt.debtor_id)
        .join(Phone, Phone.id == Attempt.phone_id)
        .where(Attempt.campaign_id == camp.id, Attempt.state != "leased")
    ):
        key = outcome or "pending"
        day = by_day.setdefault(when.astimezone(brt).date().isoformat(), {})
        day[key] = day.get(key, 0) + 1
        uf = by_state.setdefault(state or "??", {})
        uf[key] = uf.get(key, 0) + 1
    reviews = {"open": 0, "resolved": 0}
    for state, n in session.execute(
        select(Review.state, func.count()).where(Review.campaign_id == camp.id).group_by(Review.state)
    ):
        reviews[state] = n
    promise_results = {"kept": 0, "broken": 0, "open": 0}
    promise_days: dict[str, dict[str, int]] = {}
    for created, status in session.execute(
        select(Promise.created_at, Promise.status)
        .join(Attempt, Attempt.id == Promise.attempt_id)
        .where(Attempt.campaign_id == camp.id)
    ):
        promise_results[status] = promise_results.get(status, 0) + 1
        day = promise_days.setdefault(created.astimezone(brt).date().isoformat(), {"kept": 0, "broken": 0, "open": 0})
        day[status] = day.get(status, 0) + 1
    transfer_results = {"answered": 0, "abandoned": 0}
    for queue_status, n in session.execute(
        select(Attempt.queue_status, func.count())
        .where(Attempt.campaign_id == camp.id, Attempt.queue_status.is_not(None))
        .group_by(Attempt.queue_status)
    ):
        key = "answered" if queue_status == "ANSWERED" else "abandoned"
        transfer_results[key] += n
    by_offer, instructions = _offers_and_instructions(session, camp.id)
    return CampaignReport(
        by_offer=by_offer,
        payment_instructions=instructions,
        reviews=reviews,
        promise_results=promise_results,
        promise_results_by_day=dict(sorted(promise_days.items())),
        transfer_results=transfer_results,
        by_day=dict(sorted(by_day.items())),
        by_state=dict(sorted(by_state.items())),
        short_calls=short_call_share(session, utcnow(), campaign_id=camp.id),
        campaign=camp.name,
        status=camp.status,
        debts=debts,
        total_owed=Decimal(owed),
        attempts=attempts,
        ended=attempts - counts.get(None, 0),
        answered=answered,
        right_party=sum(by_outcome[o] for o in RIGHT_PARTY_OUTCOMES),
        by_outcome=by_outcome,
        promises=[PromiseLine(*r) for r in rows],
    )


def _offers_and_instructions(
    session: Session, campaign_id: int
) -> tuple[dict[str, OfferLine], dict[str, InstructionLine]]:
    attempts = select(Attempt.id).where(Attempt.campaign_id == campaign_id)
    by_offer: dict[str, OfferLine] = {}
    for offer, _balance, discount, total in session.execute(
        select(
            PromisePlanRecord.offer_type,
            PromisePlanRecord.original_balance,
            PromisePlanRecord.discount,
            PromisePlanRecord.total,
        ).where(PromisePlanRecord.attempt_id.in_(attempts))
    ):
        line = by_offer.setdefault(offer, OfferLine())
        line.plans += 1
        line.promised += total
        line.without_discount += total + discount
        line.discount += discount
    states: dict[int, str] = {}
    for payload, state in session.execute(
        select(OutboxEvent.payload, OutboxEvent.state).where(
            OutboxEvent.event_type == "payment_instruction.requested", OutboxEvent.attempt_id.in_(attempts)
        )
    ):
        states[int(payload["data"]["instruction_id"])] = state
    instructions: dict[str, InstructionLine] = {}
    for pid, method, channel in session.execute(
        select(PaymentInstructionRecord.id, PaymentInstructionRecord.method, PaymentInstructionRecord.channel).where(
            PaymentInstructionRecord.attempt_id.in_(attempts)
        )
    ):
        item = instructions.setdefault(f"{method}/{channel}", InstructionLine())
        item.requested += 1
        item.delivered += states.get(pid) == "delivered"
        item.dead += states.get(pid) == "dead"
    order = {o: i for i, o in enumerate(OFFER_TYPES)}
    return dict(sorted(by_offer.items(), key=lambda kv: order.get(kv[0], 99))), dict(sorted(instructions.items()))


def write_report_csv(report: CampaignReport, path: Path) -> None:
    """Promises as a spreadsheet Brazilian operators open directly (``;`` and UTF-8 with BOM)."""
    tmp = path.with_name(path.name + ".tmp")
    with open_private(tmp, "w", encoding="utf-8-sig", newline="") as fh:  # names and amounts: 0600
        w = csv.writer(fh, delimiter=";")
        w.writerow(["section", "key", "value", "date", "amount", "installments", "confirmed"])
        for outcome, n in report.by_outcome.items():
            w.writerow(["outcome", outcome, n, "", "", "", ""])
        for key, value in (
            ("rpc_rate_pct", report.rpc_rate),
            ("promise_rate_pct", report.promise_rate),
            ("transfer_rate_pct", report.transfer_rate),
        ):
            w.writerow(["rate", key, f"{value:.1f}".replace(".", ","), "", "", "", ""])
        for day, counts in report.by_day.items():
            for outcome, n in counts.items():
                w.writerow(["day", outcome, n, day, "", "", ""])
        for uf, counts in report.by_state.items():
            for outcome, n in counts.items():
                w.writerow(["state", f"{uf}:{outcome}", n, "", "", "", ""])
        for offer, line in report.by_offer.items():
            w.writerow(["offer", offer, line.plans, "", f"{line.promised:.2f}".replace(".", ","), "", ""])
            w.writerow(
                [
                    "offer_without_discount",
                    offer,
                    line.plans,
                    "",
                    f"{line.without_discount:.2f}".replace(".", ","),
                    "",
                    "",
                ]
            )
            w.writerow(["offer_discount", offer, line.plans, "", f"{line.discount:.2f}".replace(".", ","), "", ""])
        for key, item in report.payment_instructions.items():
            w.writerow(["payment_instruction", key, item.requested, "", "", "", f"delivered {item.delivered}"])
        for state, n in report.reviews.items():
            w.writerow(["reviews", state, n, "", "", "", ""])
        for status, n in report.promise_results.items():
            w.writerow(["promises", status, n, "", "", "", ""])
        w.writerow(
            ["rate", "promise_kept_rate_pct", f"{report.promise_kept_rate:.1f}".replace(".", ","), "", "", "", ""]
        )
        for day, counts in report.promise_results_by_day.items():
            for status, n in counts.items():
                w.writerow(["promises_day", status, n, day, "", "", ""])
        for result, n in report.transfer_results.items():
            w.writerow(["transfers", result, n, "", "", "", ""])
        short, total = report.short_calls
        w.writerow(
            ["short_calls_today", "answered_le_6s", short, "", "", "", "yes" if report.short_call_warning else "no"]
        )
        for p in report.promises:
            w.writerow(
                [
                    "promise",
                    p.contract or "",
                    f"{p.debtor} {p.cpf_masked}",
                    p.promised_date.isoformat(),
                    f"{p.amount:.2f}".replace(".", ","),
                    p.installments,
                    "yes" if p.confirmed else "no",
                ]
            )
    tmp.replace(path)


SHORT_CALL_SECONDS = 6.0
"""Anatel: answered calls this short count as abusive when they are the majority of a day's calls."""


def short_call_share(
    session: Session, at: dt.datetime, campaign_id: int | None = None, zone: str = "America/Sao_Paulo"
) -> tuple[int, int]:
    """(answered calls ≤ 6 s, answered calls) on ``at``'s local day (Brasília), optionally one campaign."""
    from zoneinfo import ZoneInfo

    tz = ZoneInfo(zone)
    start = dt.datetime.combine(at.astimezone(tz).date(), dt.time(0), tzinfo=tz)
    query = select(Attempt.duration_s).where(
        Attempt.answered_at >= start,
        Attempt.answered_at < start + dt.timedelta(days=1),
        Attempt.duration_s.is_not(None),
    )
    if campaign_id is not None:
        query = query.where(Attempt.campaign_id == campaign_id)
    durations = [d for d in session.scalars(query) if d is not None]
    return sum(1 for d in durations if d <= SHORT_CALL_SECONDS), len(durations)


ANATEL_SHORT_CALL_SHARE = 0.85
"""Anatel's measure against abusive calling: a company whose calls of 6 s or less reach 85 % of all the calls
it places (answered or not) is flagged; the dialer slows down before that (setting dialer.short_call_throttle_share)."""


def placed_short_share(
    session: Session, at: dt.datetime, campaign_id: int | None = None, zone: str = "America/Sao_Paulo"
) -> tuple[int, int]:
    """(placed calls lasting ≤ 6 s, placed calls) on ``at``'s local day (Brasília): every ended attempt that was
    dialled, answered or not; its length is from dialling to the end (ring time included)."""
    from zoneinfo import ZoneInfo

    tz = ZoneInfo(zone)
    start = dt.datetime.combine(at.astimezone(tz).date(), dt.time(0), tzinfo=tz)
    query = select(Attempt.started_at, Attempt.ended_at).where(
        Attempt.started_at >= start,
        Attempt.started_at < start + dt.timedelta(days=1),
        Attempt.ended_at.is_not(None),
        Attempt.state == "ended",
    )
    if campaign_id is not None:
        query = query.where(Attempt.campaign_id == campaign_id)
    lengths = [(end - begin).total_seconds() for begin, end in session.execute(query) if begin and end]
    return sum(1 for x in lengths if x <= SHORT_CALL_SECONDS), len(lengths)
