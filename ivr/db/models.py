"""The collections database: creditors, debtors and their phones, debts, campaigns, the attempt ledger and its results.

Money is ``Numeric(14, 2)`` mapped to ``Decimal``; every timestamp is stored and returned as aware UTC.
"""

from __future__ import annotations

import datetime as dt
from decimal import Decimal
from typing import Any

from sqlalchemy import (
    JSON,
    BigInteger,
    Boolean,
    CheckConstraint,
    Date,
    DateTime,
    Float,
    ForeignKey,
    Index,
    Integer,
    MetaData,
    Numeric,
    String,
    Text,
    TypeDecorator,
    UniqueConstraint,
)
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column, relationship

from ivr.vocabulary import DIALER_OUTCOMES as _DIALER, DIALOG_OUTCOMES as _DIALOG
from ivr.vocabulary import RIGHT_PARTY_OUTCOMES as _RIGHT_PARTY
from ivr.vocabulary import AttemptState, CampaignState, ReviewReason, ReviewState

DIALER_OUTCOMES: tuple[str, ...] = tuple(str(o) for o in _DIALER)
DIALOG_OUTCOMES: tuple[str, ...] = tuple(str(o) for o in _DIALOG)
OUTCOMES = DIALER_OUTCOMES + DIALOG_OUTCOMES
RIGHT_PARTY_OUTCOMES: tuple[str, ...] = tuple(str(o) for o in _RIGHT_PARTY)
"""Outcomes that mean the debtor in person was reached (right-party contact); see ivr.vocabulary."""

ATTEMPT_STATES: tuple[str, ...] = tuple(str(s) for s in AttemptState)
CAMPAIGN_STATES: tuple[str, ...] = tuple(str(s) for s in CampaignState)
REVIEW_REASONS: tuple[str, ...] = tuple(str(r) for r in ReviewReason)
REVIEW_STATES: tuple[str, ...] = tuple(str(s) for s in ReviewState)
PROMISE_STATES: tuple[str, ...] = ("open", "kept", "broken")


def utcnow() -> dt.datetime:
    return dt.datetime.now(dt.timezone.utc)


class UTCDateTime(TypeDecorator[dt.datetime]):
    """Aware datetimes in, aware UTC out, on every backend (SQLite keeps no zone)."""

    impl = DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: dt.datetime | None, dialect: Any) -> dt.datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError("naive datetime given to a UTC column")
        value = value.astimezone(dt.timezone.utc)
        return value.replace(tzinfo=None) if dialect.name == "sqlite" else value

    def process_result_value(self, value: dt.datetime | None, dialect: Any) -> dt.datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            return value.replace(tzinfo=dt.timezone.utc)
        return value.astimezone(dt.timezone.utc)


CENT = Decimal("0.01")


class Money(TypeDecorator[Decimal]):
    """Exact money: ``NUMERIC(14,2)`` on PostgreSQL; integer cents on SQLite, which has no exact decimal type."""

    impl = Numeric(14, 2)
    cache_ok = True

    def load_dialect_impl(self, dialect: Any) -> Any:
        if dialect.name == "sqlite":
            return dialect.type_descriptor(BigInteger())
        return dialect.type_descriptor(Numeric(14, 2, asdecimal=True))

    def process_bind_param(self, value: Any, dialect: Any) -> Any:
        if value is None:
            return None
        if isinstance(value, float):
            raise TypeError("money must be a Decimal, never a float")
        amount = Decimal(value).quantize(CENT)
        return int(amount * 100) if dialect.name == "sqlite" else amount

    def process_result_value(self, value: Any, dialect: Any) -> Decimal | None:
        if value is None:
            return None
        if dialect.name == "sqlite":
            return (Decimal(int(value)) / 100).quantize(CENT)
        return Decimal(value).quantize(CENT)


naming = {
    "ix": "ix_%(column_0_label)s",
    "uq": "uq_%(table_name)s_%(column_0_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}


class Base(DeclarativeBase):
    metadata = MetaData(naming_convention=naming)
    type_annotation_map = {dt.datetime: UTCDateTime(), Decimal: Money()}


def _in(column: str, values: tuple[str, ...]) -> str:
    return f"{column} IN ({', '.join(repr(v) for v in values)})"


class Creditor(Base):
    __tablename__ = "creditors"
    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(String(200), unique=True)
    cnpj: Mapped[str | None] = mapped_column(String(14))
    created_at: Mapped[dt.datetime] = mapped_column(default=utcnow)


class Campaign(Base):
    __tablename__ = "campaigns"
    __table_args__ = (CheckConstraint(_in("status", CAMPAIGN_STATES), name="status"),)
    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(String(120), unique=True)
    creditor_id: Mapped[int] = mapped_column(ForeignKey("creditors.id"))
    status: Mapped[str] = mapped_column(String(16), default="draft")
    records_calls: Mapped[bool] = mapped_column(Boolean, default=False)
    policy: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    recording_retention_days: Mapped[int | None] = mapped_column(Integer)
    """Days this campaign's recordings are kept; None: the global ``recordings.retention_days``."""
    """Campaign rule overrides (calling window profile, caps, retries, promise window...)."""
    created_at: Mapped[dt.datetime] = mapped_column(default=utcnow)
    updated_at: Mapped[dt.datetime] = mapped_column(default=utcnow, onupdate=utcnow)

    creditor: Mapped[Creditor] = relationship()


class Debtor(Base):
    __tablename__ = "debtors"
    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(String(200))
    cpf_hmac: Mapped[str] = mapped_column(String(64), unique=True)
    """HMAC-SHA256 of the 11 CPF digits under the deployment's key: the join key, never the CPF itself."""
    cpf_masked: Mapped[str] = mapped_column(String(14))
    """``***.456.***-**`` (digits 4-6 only) for operators' screens; see ivr.privacy."""
    cpf_prefix: Mapped[str | None] = mapped_column(String(3))
    """First three digits, kept only while a campaign verifying identity by CPF (``cpf3``) has this debtor."""
    birth_date: Mapped[dt.date | None] = mapped_column(Date)
    state: Mapped[str | None] = mapped_column(String(2))
    city: Mapped[str | None] = mapped_column(String(120))
    noronha: Mapped[bool] = mapped_column(Boolean, default=False)
    """Address in Fernando de Noronha (UTC-2) although the DDD is 81."""
    email: Mapped[str | None] = mapped_column(String(254))
    """Where a payment instruction may be sent by e-mail (import column ``email``)."""
    created_at: Mapped[dt.datetime] = mapped_column(default=utcnow)
    updated_at: Mapped[dt.datetime] = mapped_column(default=utcnow, onupdate=utcnow)

    phones: Mapped[list[Phone]] = relationship(back_populates="debtor", order_by="Phone.id")
    debts: Mapped[list[Debt]] = relationship(back_populates="debtor", order_by="Debt.id")


class Phone(Base):
    __tablename__ = "phones"
    __table_args__ = (
        UniqueConstraint("debtor_id", "e164"),
        CheckConstraint(_in("status", ("ok", "invalid")), name="status"),
    )
    id: Mapped[int] = mapped_column(primary_key=True)
    debtor_id: Mapped[int] = mapped_column(ForeignKey("debtors.id", ondelete="CASCADE"), index=True)
    e164: Mapped[str] = mapped_column(String(16), index=True)
    ddd: Mapped[int] = mapped_column(Integer)
    state: Mapped[str] = mapped_column(String(2))
    timezones: Mapped[str] = mapped_column(String(80))
    """IANA zones, comma-separated; two for DDD 97."""
    status: Mapped[str] = mapped_column(String(8), default="ok")
    """``invalid`` after the network says the number does not exist: never dialed again."""
    last_attempt_at: Mapped[dt.datetime | None] = mapped_column()
    created_at: Mapped[dt.datetime] = mapped_column(default=utcnow)

    debtor: Mapped[Debtor] = relationship(back_populates="phones")


class Debt(Base):
    __tablename__ = "debts"
    __table_args__ = (UniqueConstraint("campaign_id", "contract_id"),)
    id: Mapped[int] = mapped_column(primary_key=True)
    campaign_id: Mapped[int] = mapped_column(ForeignKey("campaigns.id", ondelete="CASCADE"), index=True)
    debtor_id: Mapped[int] = mapped_column(ForeignKey("debtors.id", ondelete="CASCADE"), index=True)
    contract_id: Mapped[str] = mapped_column(String(64))
    principal: Mapped[Decimal] = mapped_column()
    interest: Mapped[Decimal] = mapped_column(default=Decimal("0"))
    fines: Mapped[Decimal] = mapped_column(default=Decimal("0"))
    fees: Mapped[Decimal] = mapped_column(default=Decimal("0"))
    total: Mapped[Decimal] = mapped_column()
    due_date: Mapped[dt.date] = mapped_column(Date)
    boleto_line: Mapped[str | None] = mapped_column(String(48))
    """Linha digitável, digits only (47 bank boleto, 48 arrecadação), check digits validated at import."""
    payment_link: Mapped[str | None] = mapped_column(String(2000))
    """An https URL where the debt can be paid (import column ``link de pagamento``)."""
    created_at: Mapped[dt.datetime] = mapped_column(default=utcnow)
    updated_at: Mapped[dt.datetime] = mapped_column(default=utcnow)
    paid_total: Mapped[Decimal] = mapped_column(default=Decimal("0"), server_default="0")
    """Sum of the imported payments; the bot speaks ``total - paid_total``."""
    closed_at: Mapped[dt.datetime | None] = mapped_column()
    """Paid in full (or closed by a review): never called again for this debt (CDC art. 42)."""
    closed_reason: Mapped[str | None] = mapped_column(String(120))

    debtor: Mapped[Debtor] = relationship(back_populates="debts")

    @property
    def balance(self) -> Decimal:
        return max(Decimal("0.00"), self.total - (self.paid_total or Decimal("0.00")))

    campaign: Mapped[Campaign] = relationship()


class Attempt(Base):
    """One dial of one number for one debtor: reserved before Originate, reconciled from AMI events."""

    __tablename__ = "attempts"
    __table_args__ = (
        CheckConstraint(_in("state", ATTEMPT_STATES), name="state"),
        CheckConstraint(f"outcome IS NULL OR {_in('outcome', OUTCOMES)}", name="outcome"),
        CheckConstraint(f"disposition IS NULL OR {_in('disposition', OUTCOMES)}", name="disposition"),
        Index("ix_attempts_debtor_started", "debtor_id", "scheduled_at"),
        Index("ix_attempts_campaign_state", "campaign_id", "state"),
    )
    id: Mapped[int] = mapped_column(primary_key=True)
    campaign_id: Mapped[int] = mapped_column(ForeignKey("campaigns.id", ondelete="CASCADE"))
    debtor_id: Mapped[int] = mapped_column(ForeignKey("debtors.id", ondelete="CASCADE"))
    phone_id: Mapped[int] = mapped_column(ForeignKey("phones.id", ondelete="CASCADE"), index=True)
    debt_id: Mapped[int | None] = mapped_column(ForeignKey("debts.id", ondelete="SET NULL"))
    state: Mapped[str] = mapped_column(String(10), default="leased")
    lease_owner: Mapped[str | None] = mapped_column(String(80))
    lease_expires_at: Mapped[dt.datetime | None] = mapped_column()
    scheduled_at: Mapped[dt.datetime] = mapped_column(default=utcnow)
    started_at: Mapped[dt.datetime | None] = mapped_column()
    answered_at: Mapped[dt.datetime | None] = mapped_column()
    ended_at: Mapped[dt.datetime | None] = mapped_column()
    action_id: Mapped[str | None] = mapped_column(String(64), unique=True)
    channel: Mapped[str | None] = mapped_column(String(120))
    uniqueid: Mapped[str | None] = mapped_column(String(64), index=True)
    hangup_cause: Mapped[int | None] = mapped_column(Integer)
    hangup_cause_text: Mapped[str | None] = mapped_column(String(80))
    amd_status: Mapped[str | None] = mapped_column(String(16))
    amd_cause: Mapped[str | None] = mapped_column(String(80))
    outcome: Mapped[str | None] = mapped_column(String(24))
    right_party: Mapped[bool] = mapped_column(Boolean, default=False)
    duration_s: Mapped[float | None] = mapped_column(Float)
    """Answered duration (answer to hang-up), seconds."""
    note: Mapped[str | None] = mapped_column(Text)
    trunk: Mapped[str | None] = mapped_column(String(40))
    """Trunk the call went out on: concurrency and calls-per-second limits are counted per trunk."""
    protocol: Mapped[str | None] = mapped_column(String(24))
    """The call's protocol number, given to the debtor on request (CDC art. 6 III)."""
    agi_status: Mapped[str | None] = mapped_column(String(16))
    """AGISTATUS of the last AGI (IvrHangup): FAILURE means the call service was never reached."""
    dialplan_outcome: Mapped[str | None] = mapped_column(String(24))
    """IVR_OUTCOME as the dialplan saw it at hang-up (IvrHangup ``Outcome``)."""
    queue_status: Mapped[str | None] = mapped_column(String(16))
    """How the transfer queue ended: ANSWERED, or Asterisk's QUEUESTATUS (TIMEOUT, JOINEMPTY, LEAVEEMPTY...)."""
    queue_hold_s: Mapped[float | None] = mapped_column(Float)
    """Seconds the caller waited in the queue."""
    agent: Mapped[str | None] = mapped_column(String(80))
    """The agent (queue member) who answered the transfer."""
    transferred_at: Mapped[dt.datetime | None] = mapped_column()
    disposition: Mapped[str | None] = mapped_column(String(24))
    """The agent's outcome after a transfer: supersedes ``outcome`` for rules and reports."""
    disposition_by: Mapped[str | None] = mapped_column(String(80))
    disposition_at: Mapped[dt.datetime | None] = mapped_column()

    debtor: Mapped[Debtor] = relationship()
    phone: Mapped[Phone] = relationship()
    debt: Mapped[Debt | None] = relationship()
    campaign: Mapped[Campaign] = relationship()
    turns: Mapped[list[Turn]] = relationship(back_populates="attempt", order_by="Turn.seq")


class Promise(Base):
    __tablename__ = "promises"
    __table_args__ = (CheckConstraint(_in("status", PROMISE_STATES), name="status"),)
    id: Mapped[int] = mapped_column(primary_key=True)
    attempt_id: Mapped[int] = mapped_column(ForeignKey("attempts.id", ondelete="CASCADE"), index=True)
    debtor_id: Mapped[int] = mapped_column(ForeignKey("debtors.id", ondelete="CASCADE"), index=True)
    debt_id: Mapped[int | None] = mapped_column(ForeignKey("debts.id", ondelete="SET NULL"))
    promised_date: Mapped[dt.date] = mapped_column(Date)
    """The date of the (first) payment."""
    amount: Mapped[Decimal] = mapped_column()
    """The amount of that payment: with installments, one installment (the total is amount x installments)."""
    installments: Mapped[int] = mapped_column(Integer, default=1)
    confirmed: Mapped[bool] = mapped_column(Boolean, default=False)
    created_at: Mapped[dt.datetime] = mapped_column(default=utcnow)
    status: Mapped[str] = mapped_column(String(8), default="open", server_default="open")
    """``open``; ``kept`` when a payment matched it; ``broken`` when its date + grace passed without one."""
    settled_at: Mapped[dt.datetime | None] = mapped_column()
    payment_id: Mapped[int | None] = mapped_column(ForeignKey("payments.id", ondelete="SET NULL"))


class Callback(Base):
    __tablename__ = "callbacks"
    id: Mapped[int] = mapped_column(primary_key=True)
    attempt_id: Mapped[int] = mapped_column(ForeignKey("attempts.id", ondelete="CASCADE"), index=True)
    campaign_id: Mapped[int] = mapped_column(ForeignKey("campaigns.id", ondelete="CASCADE"))
    debtor_id: Mapped[int] = mapped_column(ForeignKey("debtors.id", ondelete="CASCADE"), index=True)
    due_at: Mapped[dt.datetime | None] = mapped_column()
    """When the debtor asked to be called; None when they gave no usable time."""
    requested_text: Mapped[str | None] = mapped_column(String(200))
    phone_id: Mapped[int | None] = mapped_column(ForeignKey("phones.id", ondelete="SET NULL"))
    """The number the debtor asked to be called back on (the one the call was on)."""
    done: Mapped[bool] = mapped_column(Boolean, default=False)
    created_at: Mapped[dt.datetime] = mapped_column(default=utcnow)


class DoNotCall(Base):
    """The project's own do-not-call list, honoured by every campaign (CDC art. 42)."""

    __tablename__ = "do_not_call"
    id: Mapped[int] = mapped_column(primary_key=True)
    debtor_id: Mapped[int | None] = mapped_column(ForeignKey("debtors.id", ondelete="CASCADE"), unique=True)
    e164: Mapped[str | None] = mapped_column(String(16), index=True)
    reason: Mapped[str] = mapped_column(String(80))
    attempt_id: Mapped[int | None] = mapped_column(ForeignKey("attempts.id", ondelete="SET NULL"))
    created_at: Mapped[dt.datetime] = mapped_column(default=utcnow)


class Review(Base):
    """Something a human must look at (e.g. a debtor says the debt is already paid); see ivr.db.reviews."""

    __tablename__ = "reviews"
    __table_args__ = (
        CheckConstraint(_in("state", REVIEW_STATES), name="state"),
        CheckConstraint(_in("kind", REVIEW_REASONS), name="kind"),
        Index("ix_reviews_debtor_state", "debtor_id", "state"),
    )
    id: Mapped[int] = mapped_column(primary_key=True)
    debtor_id: Mapped[int] = mapped_column(ForeignKey("debtors.id", ondelete="CASCADE"), index=True)
    attempt_id: Mapped[int | None] = mapped_column(ForeignKey("attempts.id", ondelete="SET NULL"))
    kind: Mapped[str] = mapped_column(String(24))
    """The reason (``ivr.vocabulary.ReviewReason``)."""
    note: Mapped[str | None] = mapped_column(Text)
    resolved_at: Mapped[dt.datetime | None] = mapped_column()
    created_at: Mapped[dt.datetime] = mapped_column(default=utcnow)
    state: Mapped[str] = mapped_column(String(10), default="open", server_default="open")
    campaign_id: Mapped[int | None] = mapped_column(ForeignKey("campaigns.id", ondelete="SET NULL"))
    creditor_id: Mapped[int | None] = mapped_column(ForeignKey("creditors.id", ondelete="SET NULL"), index=True)
    """An open holding review stops calls to the debtor in every campaign of this creditor."""
    resolution: Mapped[str | None] = mapped_column(Text)
    resolved_by: Mapped[str | None] = mapped_column(String(80))
    action: Mapped[str | None] = mapped_column(String(16))
    """What the resolution did: ``resume``, ``close_debt``, ``stop_debtor`` (None: resolved, nothing else)."""


class Payment(Base):
    """One payment from the creditor's file (``ivr payments import``): idempotent per (debt, date, amount)."""

    __tablename__ = "payments"
    __table_args__ = (UniqueConstraint("debt_id", "paid_on", "amount"),)
    id: Mapped[int] = mapped_column(primary_key=True)
    debt_id: Mapped[int] = mapped_column(ForeignKey("debts.id", ondelete="CASCADE"), index=True)
    paid_on: Mapped[dt.date] = mapped_column(Date)
    amount: Mapped[Decimal] = mapped_column()
    source: Mapped[str | None] = mapped_column(String(200))
    created_at: Mapped[dt.datetime] = mapped_column(default=utcnow)


class DialerHealth(Base):
    """What the dialers of a campaign last saw of the call service; read by ``ivr campaign status``."""

    __tablename__ = "dialer_health"
    campaign_id: Mapped[int] = mapped_column(ForeignKey("campaigns.id", ondelete="CASCADE"), primary_key=True)
    service_unreachable_since: Mapped[dt.datetime | None] = mapped_column()
    """Set while the FastAGI service does not answer: the dialer does not dial."""
    detail: Mapped[str | None] = mapped_column(String(200))
    checked_at: Mapped[dt.datetime | None] = mapped_column()
    throttled: Mapped[bool] = mapped_column(Boolean, default=False)
    """The Anatel short-call guard slowed the campaign down."""


class Turn(Base):
    """One utterance of the conversation, written as it happens."""

    __tablename__ = "turns"
    __table_args__ = (UniqueConstraint("attempt_id", "seq"),)
    id: Mapped[int] = mapped_column(primary_key=True)
    attempt_id: Mapped[int] = mapped_column(ForeignKey("attempts.id", ondelete="CASCADE"))
    seq: Mapped[int] = mapped_column(Integer)
    speaker: Mapped[str] = mapped_column(String(8))
    """``bot`` or ``debtor``."""
    text: Mapped[str] = mapped_column(Text)
    intent: Mapped[str | None] = mapped_column(String(24))
    confidence: Mapped[float | None] = mapped_column(Float)
    started_at: Mapped[dt.datetime | None] = mapped_column()
    ended_at: Mapped[dt.datetime | None] = mapped_column()
    latency_ms: Mapped[float | None] = mapped_column(Float)
    """For bot turns: end of the caller's speech to the first audio frame of this reply."""

    attempt: Mapped[Attempt] = relationship(back_populates="turns")


class DialQueue(Base):
    """One row per person in a campaign: their priority and the earliest instant the rules may allow a call.

    The scheduler scans this by priority among rows that are due, evaluates the pure rules only on those
    candidates, and writes back the rules' next try, so choosing a batch never reads a million debtors.
    """

    __tablename__ = "dial_queue"
    __table_args__ = (
        Index("ix_dial_queue_due", "campaign_id", "next_try_at"),
        Index("ix_dial_queue_priority", "campaign_id", "priority"),
    )
    campaign_id: Mapped[int] = mapped_column(ForeignKey("campaigns.id", ondelete="CASCADE"), primary_key=True)
    debtor_id: Mapped[int] = mapped_column(ForeignKey("debtors.id", ondelete="CASCADE"), primary_key=True)
    debt_id: Mapped[int | None] = mapped_column(ForeignKey("debts.id", ondelete="SET NULL"))
    priority: Mapped[float] = mapped_column(Float)
    """``ln`` of rules.priority_score at the last refresh: same order, no overflow."""
    next_try_at: Mapped[dt.datetime | None] = mapped_column()
    """None: the rules say never (do-not-call, retries exhausted...) until the queue is refreshed."""
    updated_at: Mapped[dt.datetime] = mapped_column(default=utcnow)


class DialPacing(Base):
    """Per-trunk pacing state; its row lock serializes claims so concurrency and call rate stay exact."""

    __tablename__ = "dial_pacing"
    trunk: Mapped[str] = mapped_column(String(40), primary_key=True)
    next_slot_at: Mapped[dt.datetime | None] = mapped_column()
    """Earliest instant the next Originate on this trunk may start (calls-per-second spacing)."""


# -- the operators' console (issue 14): users, API tokens, the audit trail ------------------------------------

WEB_ROLES: tuple[str, ...] = ("admin", "supervisor", "operator")


class WebUser(Base):
    """A person who logs into the console; the password only as an argon2 hash."""

    __tablename__ = "web_users"
    __table_args__ = (CheckConstraint(_in("role", WEB_ROLES), name="role"),)
    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(String(64), unique=True)
    role: Mapped[str] = mapped_column(String(16))
    password_hash: Mapped[str] = mapped_column(String(200))
    active: Mapped[bool] = mapped_column(Boolean, default=True)
    failed_logins: Mapped[int] = mapped_column(Integer, default=0)
    """Consecutive failed logins; reset by a good one."""
    locked_until: Mapped[dt.datetime | None] = mapped_column()
    last_login_at: Mapped[dt.datetime | None] = mapped_column()
    created_at: Mapped[dt.datetime] = mapped_column(default=utcnow)


class ApiToken(Base):
    """One per integration (the creditor's systems); only the SHA-256 of the token is kept."""

    __tablename__ = "api_tokens"
    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(String(64), unique=True)
    token_sha256: Mapped[str] = mapped_column(String(64), unique=True)
    active: Mapped[bool] = mapped_column(Boolean, default=True)
    last_used_at: Mapped[dt.datetime | None] = mapped_column()
    created_at: Mapped[dt.datetime] = mapped_column(default=utcnow)


class AuditEntry(Base):
    """Who did what to which record, and when: every change and every reveal of personal data (LGPD art. 37)."""

    __tablename__ = "audit_log"
    __table_args__ = (Index("ix_audit_log_at", "at"),)
    id: Mapped[int] = mapped_column(primary_key=True)
    at: Mapped[dt.datetime] = mapped_column(default=utcnow)
    actor: Mapped[str] = mapped_column(String(80))
    """``user:<name>``, ``token:<name>`` or ``cli:<os user>``."""
    action: Mapped[str] = mapped_column(String(40))
    target: Mapped[str | None] = mapped_column(String(80))
    """``<table>:<id>`` of the record acted on."""
    detail: Mapped[str | None] = mapped_column(Text)
    """Free text without personal data (masked)."""


class ResultsRollup(Base):
    """The console's results by campaign, UTC hour, UF and outcome for hours that are over (computed once, so a
    week of a large campaign is read in thousands of rows, not millions); see ivr.web.queries.results."""

    __tablename__ = "results_rollup"
    campaign_id: Mapped[int] = mapped_column(ForeignKey("campaigns.id", ondelete="CASCADE"), primary_key=True)
    hour_start: Mapped[dt.datetime] = mapped_column(primary_key=True)
    state: Mapped[str] = mapped_column(String(2), primary_key=True)
    """The debtor's UF (address, else the number's DDD); ``??`` when neither is known."""
    outcome: Mapped[str] = mapped_column(String(24), primary_key=True)
    """The agent's disposition, else the bot's outcome, else ``pending``."""
    attempts: Mapped[int] = mapped_column(Integer)
    answered: Mapped[int] = mapped_column(Integer)
    promises: Mapped[int] = mapped_column(Integer)
    promised: Mapped[Decimal] = mapped_column()
    """Sum of amount x installments of those promises."""


class ResultsRollupHour(Base):
    """One row per campaign hour already rolled up (also hours without calls) and when."""

    __tablename__ = "results_rollup_hours"
    campaign_id: Mapped[int] = mapped_column(ForeignKey("campaigns.id", ondelete="CASCADE"), primary_key=True)
    hour_start: Mapped[dt.datetime] = mapped_column(primary_key=True)
    computed_at: Mapped[dt.datetime] = mapped_column()


# Results and the live wall select by day (today's calls, the hours not rolled up yet), without reading the whole
# ledger; an agent's late disposition is found by its time and reopens its rolled-up hour.
Index("ix_attempts_campaign_scheduled", Attempt.campaign_id, Attempt.scheduled_at)
Index("ix_attempts_disposition_at", Attempt.disposition_at)
RECORDING_STATES = ("pending", "stored", "missing")
"""``pending``: Asterisk reported the file, not yet measured; ``stored``: size, duration and SHA-256 taken;
``missing``: the file never appeared where the dialer reads recordings, or what appeared is not a regular
file (a symlink, FIFO or directory is never followed)."""


class Recording(Base):
    """The recording of one answered call (MixMonitor, both directions, from answer): where it is and its digest."""

    __tablename__ = "recordings"
    __table_args__ = (CheckConstraint(_in("status", RECORDING_STATES), name="status"),)
    id: Mapped[int] = mapped_column(primary_key=True)
    attempt_id: Mapped[int] = mapped_column(ForeignKey("attempts.id", ondelete="CASCADE"), unique=True)
    path: Mapped[str] = mapped_column(String(500))
    """The file as this host reads it (``recordings.local_dir``)."""
    format: Mapped[str] = mapped_column(String(8))
    """``wav``, ``wav49`` or ``opus``."""
    status: Mapped[str] = mapped_column(String(8), default="pending")
    duration_s: Mapped[float | None] = mapped_column(Float)
    """Seconds of audio, from the file's own header (WAV data size / byte rate; Ogg last granule)."""
    size_bytes: Mapped[int | None] = mapped_column(BigInteger)
    sha256: Mapped[str | None] = mapped_column(String(64))
    reported_at: Mapped[dt.datetime] = mapped_column(default=utcnow)
    stored_at: Mapped[dt.datetime | None] = mapped_column()


# --------------------------------------------------------------------------- promise plans and the outbox

OFFER_TYPES: tuple[str, ...] = ("lump_sum", "installments", "partial", "proposal")
"""Where a plan came from (``ivr.dialog.offers.OfferType``)."""
PAYMENT_METHODS: tuple[str, ...] = ("pix", "boleto", "link")
PAYMENT_CHANNELS: tuple[str, ...] = ("sms", "whatsapp", "email")
OUTBOX_EVENT_TYPES: tuple[str, ...] = (
    "promise.created",
    "payment_instruction.requested",
    "callback.scheduled",
    "review.opened",
    "call.completed",
)
OUTBOX_STATES: tuple[str, ...] = ("pending", "delivered", "dead")


class PromisePlanRecord(Base):
    """The plan behind a promise (or a debtor's proposal): its items, its offer, the discount, the balance."""

    __tablename__ = "promise_plans"
    __table_args__ = (CheckConstraint(_in("offer_type", OFFER_TYPES), name="offer_type"),)
    id: Mapped[int] = mapped_column(primary_key=True)
    attempt_id: Mapped[int] = mapped_column(ForeignKey("attempts.id", ondelete="CASCADE"), index=True)
    debtor_id: Mapped[int] = mapped_column(ForeignKey("debtors.id", ondelete="CASCADE"), index=True)
    debt_id: Mapped[int | None] = mapped_column(ForeignKey("debts.id", ondelete="SET NULL"))
    promise_id: Mapped[int | None] = mapped_column(ForeignKey("promises.id", ondelete="SET NULL"), index=True)
    """The promise it details; None for a proposal (a person decides)."""
    offer_type: Mapped[str] = mapped_column(String(16))
    original_balance: Mapped[Decimal] = mapped_column()
    """What was owed when the plan was made, reais."""
    discount: Mapped[Decimal] = mapped_column(default=Decimal("0"))
    """Reais taken off by the offer; the items add up to original_balance - discount (less for a partial plan)."""
    total: Mapped[Decimal] = mapped_column()
    down_payment: Mapped[bool] = mapped_column(Boolean, default=False)
    created_at: Mapped[dt.datetime] = mapped_column(default=utcnow)

    items: Mapped[list[PromisePlanItem]] = relationship(order_by="PromisePlanItem.seq", cascade="all, delete-orphan")
    promise: Mapped[Promise | None] = relationship()


class PromisePlanItem(Base):
    __tablename__ = "promise_plan_items"
    __table_args__ = (UniqueConstraint("plan_id", "seq"),)
    id: Mapped[int] = mapped_column(primary_key=True)
    plan_id: Mapped[int] = mapped_column(ForeignKey("promise_plans.id", ondelete="CASCADE"), index=True)
    seq: Mapped[int] = mapped_column(Integer)
    """1 is the first payment (the down payment when there is one)."""
    due_date: Mapped[dt.date] = mapped_column(Date)
    amount: Mapped[Decimal] = mapped_column()


class PaymentInstructionRecord(Base):
    """How to pay, and where the bot said it would be sent; the outbox event carries it to the creditor."""

    __tablename__ = "payment_instructions"
    __table_args__ = (
        CheckConstraint(_in("method", PAYMENT_METHODS), name="method"),
        CheckConstraint(_in("channel", PAYMENT_CHANNELS), name="channel"),
    )
    id: Mapped[int] = mapped_column(primary_key=True)
    attempt_id: Mapped[int] = mapped_column(ForeignKey("attempts.id", ondelete="CASCADE"), index=True)
    debtor_id: Mapped[int] = mapped_column(ForeignKey("debtors.id", ondelete="CASCADE"), index=True)
    plan_id: Mapped[int | None] = mapped_column(ForeignKey("promise_plans.id", ondelete="SET NULL"))
    method: Mapped[str] = mapped_column(String(8))
    channel: Mapped[str] = mapped_column(String(10))
    destination: Mapped[str] = mapped_column(String(120))
    """E.164 or e-mail: personal data, only in the webhook payload, masked everywhere else."""
    payload: Mapped[str] = mapped_column(Text)
    """PIX copia e cola, linha digitável or payment URL."""
    amount: Mapped[Decimal] = mapped_column()
    due_date: Mapped[dt.date] = mapped_column(Date)
    created_at: Mapped[dt.datetime] = mapped_column(default=utcnow)


class OutboxEvent(Base):
    """An event for the creditor's webhook, written in the transaction of what it describes.

    Delivered at least once by ``ivr outbox run``; the receiver drops repeats by ``idempotency_key``.
    """

    __tablename__ = "outbox_events"
    __table_args__ = (
        CheckConstraint(_in("event_type", OUTBOX_EVENT_TYPES), name="event_type"),
        CheckConstraint(_in("state", OUTBOX_STATES), name="state"),
        Index("ix_outbox_events_due", "state", "next_attempt_at"),
    )
    id: Mapped[int] = mapped_column(primary_key=True)
    event_type: Mapped[str] = mapped_column(String(40))
    idempotency_key: Mapped[str] = mapped_column(String(64), unique=True)
    attempt_id: Mapped[int | None] = mapped_column(ForeignKey("attempts.id", ondelete="SET NULL"), index=True)
    payload: Mapped[dict[str, Any]] = mapped_column(JSON)
    """The whole webhook body (see ivr/outbox/webhook-events.schema.json)."""
    state: Mapped[str] = mapped_column(String(10), default="pending")
    deliveries: Mapped[int] = mapped_column(Integer, default=0)
    """Failed delivery attempts so far."""
    next_attempt_at: Mapped[dt.datetime] = mapped_column(default=utcnow)
    lease_owner: Mapped[str | None] = mapped_column(String(80))
    lease_expires_at: Mapped[dt.datetime | None] = mapped_column()
    """A worker holds the event while it POSTs; an expired lease means that worker died."""
    last_error: Mapped[str | None] = mapped_column(Text)
    created_at: Mapped[dt.datetime] = mapped_column(default=utcnow)
    delivered_at: Mapped[dt.datetime | None] = mapped_column()
