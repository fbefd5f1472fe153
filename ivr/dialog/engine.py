"""The dialog engine: a pure state machine for one reminder call (events in, actions out, no I/O, no clock).

The call flow is data (``ivr/flows/<name>.toml``, run through ``ivr.flows``): states, what is said and listened
for, the next step per intent and the failure ladder. The engine runs it; the named actions (``ACTIONS``) and
guards (``ivr.flows.GUARDS``) are the Python half. ``DialogEngine(ctx, catalog, parser, flow=load_flow("late"))``.

Contract for a channel (telephony, the text simulator, tests)::

    engine = DialogEngine(CallContext(...))
    actions = engine.handle(CallStarted(at=0.0))       # then for every later event: engine.handle(event)

Events carry ``at``, seconds since the call was answered; the engine never reads a clock.

- ``CallStarted``: the call was answered by a person. The engine greets at once (no silent calls).
- ``Heard(text, confidence)``: one final recognition result. ``Digit(digits)``: keypad input collected
  for the current ``Listen`` (up to ``max_digits`` or the ``terminator``). ``NoInput``: the ``Listen``
  timed out in silence. ``HungUp``: the caller hung up; the engine records the outcome and ends.

Actions, to be executed in order:

- ``Say``: play ``tts`` (or ``text``); the caller may interrupt it when ``barge_in`` is true.
- ``Listen``: after the preceding ``Say`` actions have played, listen once (speech with the ``hints``
  phrase list, or keypad) for at most ``timeout_s`` seconds; answer with one ``Heard``, ``Digit`` or ``NoInput``.
- ``RecordTurn``: a line of the transcript. ``RecordOutcome``: the attempt's single outcome (docs/ARCHITECTURE.md).
- ``Transfer``: after the preceding ``Say`` actions have played, hand the call to a human queue.
- ``HangUp``: after the preceding ``Say`` actions have played, and not before ``not_before_s`` seconds
  of call time (Anatel: no answered call shorter than 6 s), hang up.

After ``Transfer``, ``HangUp`` or ``HungUp`` the engine is ``done`` and ignores further events. Every
turn that expects an answer ends with exactly one ``Listen``. No debt detail is said before the
person has confirmed identity (and passed verification when the campaign asks for it).
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field, replace
from datetime import date, datetime, time, timedelta
from decimal import ROUND_HALF_UP, Decimal
from enum import StrEnum
from typing import TYPE_CHECKING, Any, Callable, Literal, Protocol

from ivr.dialog.closing import CLOSING_PROMPT_IDS, Closing, due_words
from ivr.dialog.offers import OffersPolicy, PromisePlan
from ivr.flows import Flow, StateSpec, Step, load_flow
from ivr.errors import InputError
from ivr.language.prompts import Catalog, lint_rendered, load_catalog
from ivr.payment.instructions import DebtPaymentData, PaymentInstruction, PaymentPolicy
from ivr.vocabulary import Asked, Intent, Outcome, ReviewReason

if TYPE_CHECKING:
    from ivr.language.terms import Terms

MIN_CALL_S = 6.0
"""Seconds: the shortest an answered call may last (Anatel)."""


# Every prompt the engine can say; `ivr prompts check` fails when the catalog lacks one.
PROMPT_IDS = (
    "greeting",
    "recording_notice",
    "ask_identity",
    "identity_reconfirm",
    "ask_verification_birth_year",
    "ask_verification_cpf3",
    "verification_retry",
    "verification_failed",
    "disclosure",
    "offer_pay",
    "ask_date",
    "ask_date_first_installment",
    "date_invalid_past",
    "date_invalid_late",
    "ask_amount",
    "readback",
    "readback_installments",
    "readback_denied",
    "promise_thanks",
    "negotiation_offer",
    "negotiation_limit",
    "offer_agent",
    "offer_agent_conditions",
    "cannot_pay_ack",
    "already_paid_thanks",
    "dispute_ack",
    "transfer",
    "ask_callback",
    "callback_confirm",
    "callback_open",
    "opt_out_confirm",
    "wrong_person",
    "not_available",
    "voicemail",
    "repeat_intro",
    "no_input",
    "no_match",
    "keypad_menu",
    "keypad_date",
    "keypad_number",
    "goodbye",
    "goodbye_no_response",
    "hold_ack",
    "hold_regreet",
    "hold_timeout",
    "deceased_ack",
    "unreachable_ack",
    "robot_answer",
    "who_answer",
    "cnpj_answer",
    "cnpj_unknown",
    "source_answer",
    "protocol_answer",
    "scam_answer",
    "amount_again",
    "calls_apology",
    "calls_continue",
    "hardship_ack",
    "hardship_goodbye",
    "refuse_ack",
    "refuse_goodbye",
    "callback_adjusted",
) + CLOSING_PROMPT_IDS

HOLD_MAX_S = 60.0
"""Seconds of line time the bot waits while someone fetches the debtor ("um momento, vou chamar ela")."""


# --- events -------------------------------------------------------------------


@dataclass(frozen=True)
class CallStarted:
    at: float = 0.0
    """Seconds since the call was answered."""


@dataclass(frozen=True)
class Heard:
    text: str
    confidence: float = 1.0
    """Recognizer confidence, 0 to 1."""
    at: float = 0.0


@dataclass(frozen=True)
class Digit:
    digits: str
    """Keypad digits collected for one Listen, terminator excluded."""
    at: float = 0.0


@dataclass(frozen=True)
class NoInput:
    at: float = 0.0


@dataclass(frozen=True)
class HungUp:
    at: float = 0.0


Event = CallStarted | Heard | Digit | NoInput | HungUp


# --- actions ------------------------------------------------------------------


@dataclass(frozen=True)
class Say:
    prompt_id: str
    text: str
    """Plain words, for transcripts."""
    barge_in: bool = True
    disclosure: str = "none"
    """"none" or "debt" (see the catalog)."""
    tts: str = ""
    """Words with ``<pause>`` markers, for the synthesizer."""
    variant: int = 0
    """Catalog variant index: (prompt_id, variant) keys pre-rendered audio when the prompt has no placeholders."""
    pause_after_ms: int = 0


@dataclass(frozen=True)
class Listen:
    hints: list[str]
    """Phrases the recognizer should favour for this question."""
    timeout_s: float = 6.0
    max_digits: int = 1
    terminator: str = "#"


@dataclass(frozen=True)
class Transfer:
    reason: str
    context: dict[str, Any]


@dataclass(frozen=True)
class HangUp:
    not_before_s: float = MIN_CALL_S
    """Call time (seconds since answer) before which the channel must keep the line open."""


@dataclass(frozen=True)
class RecordOutcome:
    outcome: str
    """An ``ivr.vocabulary.Outcome`` value."""
    promise_date: date | None = None
    promise_amount: Decimal | None = None
    installments: int | None = None
    callback_at: date | datetime | None = None
    """A datetime when the debtor named a time, a date when only the day."""
    note: str = ""
    review: str | None = field(default=None, compare=False)
    """An ``ivr.vocabulary.ReviewReason`` a person must look at (e.g. ``deceased``: every call held until resolved)."""
    protocol: str = field(default="", compare=False)
    """The call's protocol number (stored on the attempt; said digit by digit when the debtor asks)."""
    plan: PromisePlan | None = field(default=None, compare=False)
    """The promise's plan (items that add up exactly), or the debtor's terms for ``proposal``."""
    payment: PaymentInstruction | None = field(default=None, compare=False)
    """How to pay and where the debtor asked it to be sent (written to the outbox with the promise)."""


@dataclass(frozen=True)
class RecordTurn:
    speaker: Literal["bot", "debtor"]
    text: str
    intent: str | None = None
    confidence: float | None = None


Action = Say | Listen | Transfer | HangUp | RecordOutcome | RecordTurn


# --- context and NLU interface ----------------------------------------------------


@dataclass(frozen=True)
class NegotiationPolicy:
    max_installments: int = 3
    """1 disables installment offers."""
    allow_transfer: bool = True
    """Offer a human for other conditions when the offers do not fit."""


@dataclass(frozen=True)
class CallContext:
    debtor_name: str
    creditor_name: str
    amount: Decimal
    due_date: date
    today: date
    debtor_id: str = ""
    records_call: bool = True
    verification: Literal["birth_year", "cpf3"] | None = None
    verification_answer: str = ""
    promise_window_days: int = 10
    negotiation: NegotiationPolicy = field(default_factory=NegotiationPolicy)
    seed: str | int = 0
    """The attempt id: picks prompt variants, so repeat calls vary and tests are reproducible."""
    listen_timeout_s: float = 6.0
    min_confidence: float = 0.35
    """Recognitions below this are treated as not understood."""
    creditor_cnpj: str = ""
    """14 digits (punctuation allowed); said in its groups when asked. Empty: a person can tell."""
    official_channels: str = ""
    """Where the debtor can check the call is real, as words ("o aplicativo do Banco Exemplo ou o telefone ...")."""
    protocol: str = ""
    """The call's protocol number; empty: derived from the date and the attempt id (``seed``)."""
    next_allowed_call: Callable[[datetime], datetime | None] | None = None
    """The calling rules for this debtor: the first allowed moment at or after a local time (None: none soon).
    Without it, callbacks are taken as asked (the text simulator)."""
    offers: OffersPolicy = field(default_factory=OffersPolicy)
    """Policy ``offers``: lump-sum discount, installments (minimum, down payment), partial payments."""
    charges: Decimal = Decimal("0.00")
    """Interest + fines + fees within ``amount`` (a discount may apply to these only)."""
    payment: PaymentPolicy = field(default_factory=PaymentPolicy)
    payment_data: DebtPaymentData = field(default_factory=DebtPaymentData)
    """The debt's boleto line, payment link and e-mail, when the import had them."""
    phone_e164: str = ""
    """The number called (where SMS/WhatsApp payment instructions go)."""
    mobile: bool = False

    @property
    def call_protocol(self) -> str:
        """The protocol number: ``protocol`` or YYYYMMDD + the attempt id's digits, zero-padded to 6."""
        if self.protocol:
            return self.protocol
        digits = re.sub(r"\D", "", str(self.seed))[-8:] or "0"
        return f"{self.today:%Y%m%d}{int(digits):06d}"

    @property
    def window_end(self) -> date:
        return self.today + timedelta(days=self.promise_window_days)


class Understanding(Protocol):
    """What the engine reads from ``ivr.language.nlu.NluResult``."""

    @property
    def intent(self) -> str: ...
    @property
    def date(self) -> date | None: ...
    @property
    def amount(self) -> Decimal | None: ...
    @property
    def installments(self) -> int | None: ...
    @property
    def time(self) -> time | None: ...
    @property
    def confidence(self) -> float: ...


Parser = Callable[..., Understanding]
"""``parse(text, today, context=Asked..., debtor_name=...)`` (``ivr.language.nlu.parse``)."""


def _default_parser() -> Parser:
    from ivr.language.nlu import parse  # lazy: keeps the engine importable without the NLU

    return parse


@dataclass
class _Answer:
    """One caller turn, from voice or keypad, as the state handlers see it."""

    intent: str
    """An ``ivr.vocabulary.Intent`` value (or one of ``DERIVED_INTENTS``)."""
    date: date | None = None
    amount: Decimal | None = None
    installments: int | None = None
    time: time | None = None
    digits: str = ""
    text: str = ""
    ambiguous: bool = False
    """An identity reply that is neither yes nor no ("tudo bem, e você?", "pois não?"): asked once more."""
    reason: str = ""
    """Why, when the NLU says (``cannot_pay``: "job_loss", "illness", "no_money")."""
    terms: Terms | None = None
    """Payment terms in the words (discount, method, channel, split); read only after identity."""


class State(StrEnum):
    """The states of the shipped flows (``ivr/flows/*.toml``); a flow may add its own (plain strings)."""

    START = "start"
    IDENTITY = "identity"
    HOLD = "hold"
    VERIFY = "verify"
    OFFER = "offer"
    ASK_DATE = "ask_date"
    ASK_AMOUNT = "ask_amount"
    CONFIRM = "confirm"
    NEGOTIATE = "negotiate"
    OFFER_AGENT = "offer_agent"
    CALLBACK = "callback"
    CALLBACK_CONFIRM = "callback_confirm"
    STOP_CALLS = "stop_calls"
    HARDSHIP = "hardship"
    PLAN_CONFIRM = "plan_confirm"
    PAY_CHANNEL = "pay_channel"
    PROPOSAL_CONFIRM = "proposal_confirm"
    DONE = "done"


_ASKED = {
    State.IDENTITY: Asked.IDENTITY,
    State.HOLD: Asked.HOLD,
    State.VERIFY: Asked.VERIFY,
    State.OFFER: Asked.YES_NO,
    State.ASK_DATE: Asked.DATE,
    State.ASK_AMOUNT: Asked.AMOUNT,
    State.CONFIRM: Asked.YES_NO,
    State.NEGOTIATE: Asked.INSTALLMENTS,
    State.OFFER_AGENT: Asked.YES_NO,
    State.CALLBACK: Asked.CALLBACK,
    State.CALLBACK_CONFIRM: Asked.YES_NO,
    State.STOP_CALLS: Asked.YES_NO,
    State.HARDSHIP: Asked.OPEN,
    State.PLAN_CONFIRM: Asked.YES_NO,
    State.PAY_CHANNEL: Asked.OPEN,
    State.PROPOSAL_CONFIRM: Asked.YES_NO,
}
"""What each state asks: the context the NLU reads the answer in."""


def asked_for(state: str) -> Asked:
    """The question a state asks (``_ASKED``); a state the table does not name asks an open question."""
    return next((asked for st, asked in _ASKED.items() if st == state), Asked.OPEN)


IDENTITY_ACTIONS = frozenset({"confirm_identity", "verify_answer"})
"""Actions that open the debt: run only as the answer to the identity (or verification) question."""
IDENTITY_QUESTIONS = frozenset({Asked.IDENTITY, Asked.HOLD, Asked.VERIFY})

DERIVED_INTENTS = frozenset({"hardship", "ask_discount", "split_payment", "payment_method"})
"""Intents the engine derives from the NLU's (``cannot_pay`` with a hardship reason; after identity, the payment
terms of ``ivr.language.terms``: a discount request, the debtor's own split, how/where to pay): flows route them."""

_MAX_INVALID_DATES = 3
_ANGRY = re.compile(
    r"\b(?:porra|caralho|merda|foder|fodase|foda-se|puta|idiota|babaca|otário|otario|desgraça|desgraca|"
    r"palhaçada|palhacada|vagabund\w*|inferno|saco cheio)\b"
)
"""Words of an angry caller: the honest ending's outcome note says so."""


@dataclass(frozen=True)
class Exit:
    """One way a named action can leave (for ``ivr flow check`` and ``ivr flow graph``)."""

    target: str | None
    """The next state; ``"="`` the state the action ran in; None: the call ends."""
    says: tuple[str, ...] = ()
    guard: str | None = None
    """``identity_confirmed`` when this exit is taken only after the identity guard passed."""
    asks_again: bool = False
    """The state's own question is said again (``target`` "=")."""


@dataclass(frozen=True)
class ActionSpec:
    method: str
    exits: tuple[Exit, ...]
    doc: str = ""


_ID = "identity_confirmed"
# Issue 11 (ivr.dialog.closing): plans read back, a person for what the policy cannot meet, proposals, paying.
_PAY_EXITS = (
    Exit("pay_channel", ("ask_channel",), _ID),
    Exit(None, ("payment_sent", "promise_thanks", "goodbye"), _ID),
    Exit(None, ("promise_thanks", "goodbye"), _ID),
)
_PERSON_EXITS = (
    Exit(
        "offer_agent",
        ("no_discount", "installments_mismatch", "partial_not_allowed", "offer_agent", "offer_agent_conditions"),
        _ID,
    ),
    Exit(None, ("proposal_recorded", "cannot_pay_ack", "goodbye"), _ID),
)
_OFFER_EXITS = (
    Exit("plan_confirm", ("offer_lump_sum", "readback_plan", "readback_installments"), _ID),
    Exit("confirm", ("readback",), _ID),
    Exit("ask_date", ("ask_date", "date_invalid_past", "date_invalid_late", "payment_noted"), _ID),
    Exit("negotiate", ("negotiation_limit",), _ID),
    Exit("proposal_confirm", ("proposal_offer",), _ID),
    *_PERSON_EXITS,
)
_PROMISE_EXITS = (
    Exit("ask_date", ("ask_date", "date_invalid_past", "date_invalid_late"), _ID),
    Exit("confirm", ("readback", "readback_installments"), _ID),
    Exit("offer_agent", ("offer_agent_conditions",), _ID),
    Exit(None, ("cannot_pay_ack", "goodbye"), _ID),
    *_OFFER_EXITS,
)
_NEGOTIATE_EXITS = (
    Exit("negotiate", ("negotiation_offer", "negotiation_limit"), _ID),
    Exit("ask_date", ("ask_date", "ask_date_first_installment", "ask_date_down_payment"), _ID),
    Exit("offer_agent", ("offer_agent_conditions", "transfer"), _ID),
    Exit(None, ("transfer", "cannot_pay_ack", "goodbye"), _ID),
    *_PROMISE_EXITS,
)
_QUESTION_ANSWERS = (
    "robot_answer",
    "who_answer",
    "source_answer",
    "protocol_answer",
    "scam_answer",
    "cnpj_answer",
    "cnpj_unknown",
)

ACTIONS: dict[str, ActionSpec] = {
    "transfer": ActionSpec("_act_transfer", (Exit(None, ("transfer",)),), "hand the call to a human queue"),
    "repeat": ActionSpec(
        "_act_repeat", (Exit("=", ("repeat_intro",), asks_again=True),), "say the last turn again, word for word"
    ),
    "answer_question": ActionSpec(
        "_act_answer_question",
        (
            Exit("identity", (*_QUESTION_ANSWERS, "identity_reconfirm")),
            Exit("=", _QUESTION_ANSWERS, asks_again=True),
            Exit("=", ("amount_again",), _ID, asks_again=True),
        ),
        "an honest answer, then back to the question the call was on (identity re-asked before identity)",
    ),
    "too_many_calls": ActionSpec(
        "_act_too_many_calls", (Exit("stop_calls", ("calls_apology",)),), "apologise and offer to stop the calls"
    ),
    "resume": ActionSpec(
        "_act_resume",
        (
            Exit("identity", ("calls_continue", "identity_reconfirm")),
            Exit("offer", ("calls_continue", "offer_pay"), _ID),
            Exit("ask_date", ("calls_continue", "ask_date"), _ID),
        ),
        "go back to where the call was",
    ),
    "hold": ActionSpec("_act_hold", (Exit("hold", ("hold_ack",)),), "wait while someone fetches the debtor"),
    "hold_spoke": ActionSpec(
        "_act_hold_spoke",
        (Exit("identity", ("hold_regreet", "ask_identity")), Exit("offer", ("offer_pay",), _ID)),
        "someone speaks after the wait: re-greet and ask identity again",
    ),
    "hold_silence": ActionSpec(
        "_act_hold_silence",
        (
            Exit(
                "=",
            ),
            Exit(None, ("hold_timeout",)),
        ),
        "keep waiting up to a minute of line time, then a neutral goodbye",
    ),
    "callback": ActionSpec(
        "_act_callback",
        (
            Exit("callback", ("ask_callback",)),
            Exit("callback_confirm", ("callback_adjusted",)),
            Exit(None, ("callback_confirm", "callback_open")),
        ),
        "ask when, or book the time given",
    ),
    "schedule": ActionSpec(
        "_act_schedule",
        (Exit("callback_confirm", ("callback_adjusted",)), Exit(None, ("callback_confirm", "callback_open"))),
        "book a callback inside the calling window, or offer the nearest allowed time",
    ),
    "callback_offer_yes": ActionSpec(
        "_act_callback_offer_yes", (Exit(None, ("callback_confirm",)),), "book the time offered"
    ),
    "confirm_identity": ActionSpec(
        "_act_confirm_identity",
        (
            Exit("verify", ("ask_verification_{verification}",)),
            Exit("offer", ("disclosure", "offer_pay"), _ID),
        ),
        "the explicit confirmation: verification when asked, else the disclosure",
    ),
    "remember_and_reconfirm": ActionSpec(
        "_act_remember_and_reconfirm",
        (Exit("identity", ("identity_reconfirm",)),),
        "talk about the debt before identity: remembered, identity asked again",
    ),
    "reconfirm_once": ActionSpec(
        "_act_reconfirm_once",
        (Exit("identity", ("identity_reconfirm",)),),
        "an ambiguous identity answer: asked once more",
    ),
    "verify_answer": ActionSpec(
        "_act_verify_answer",
        (
            Exit("offer", ("disclosure", "offer_pay"), _ID),
            Exit("verify", ("verification_retry", "ask_verification_{verification}")),
            Exit(None, ("verification_failed",)),
        ),
        "compare the digits said or typed",
    ),
    "refuse_verification": ActionSpec(
        "_act_refuse_verification", (Exit("offer_agent", ("refuse_ack",)),), "respect a refusal and offer a person"
    ),
    "decline_agent": ActionSpec(
        "_act_decline_agent",
        (Exit(None, ("refuse_goodbye",)), Exit(None, ("goodbye", "cannot_pay_ack"), _ID)),
        "no human wanted: a kind goodbye keeping any position",
    ),
    "promise": ActionSpec("_act_promise", _PROMISE_EXITS, "a promise: date in the window, then the read-back"),
    "offer_yes": ActionSpec("_act_offer_yes", _PROMISE_EXITS, "yes to the offer: the date, or straight to it"),
    "date_answer": ActionSpec("_act_date_answer", (*_PROMISE_EXITS, *_NEGOTIATE_EXITS), "an answer to 'which day?'"),
    "amount_answer": ActionSpec(
        "_act_amount_answer", (*_PROMISE_EXITS, *_NEGOTIATE_EXITS), "a partial amount, then the date"
    ),
    "cannot_pay": ActionSpec(
        "_act_cannot_pay",
        (
            Exit("ask_amount", ("ask_amount",), _ID),
            *_NEGOTIATE_EXITS,
            Exit("proposal_confirm", ("proposal_offer",), _ID),
        ),
        "ask what part they can pay, then installments, then a human",
    ),
    "negotiate": ActionSpec("_act_negotiate", _NEGOTIATE_EXITS, "installments per policy, else a human"),
    "installments": ActionSpec("_act_installments", _NEGOTIATE_EXITS, "a count of installments"),
    "no_deal": ActionSpec("_act_no_deal", _NEGOTIATE_EXITS, "the offers do not fit"),
    "confirm_yes": ActionSpec(
        "_act_confirm_yes",
        (*_PAY_EXITS, *_PERSON_EXITS, *_PROMISE_EXITS),
        "the read-back confirmed: the promise and its plan are recorded, then how to pay",
    ),
    "ask_discount": ActionSpec(
        "_act_ask_discount", _OFFER_EXITS, "the lump-sum price the policy allows (discount on the total or the charges)"
    ),
    "split_payment": ActionSpec(
        "_act_split_payment",
        _OFFER_EXITS,
        "the debtor's own split (half, the rest later, two dates): read back, or a person",
    ),
    "payment_method": ActionSpec(
        "_act_payment_method",
        (*_OFFER_EXITS, *_PAY_EXITS),
        "how to pay, asked at any time: noted (the date next), or a yes at a read-back",
    ),
    "plan_yes": ActionSpec("_act_plan_yes", _PAY_EXITS, "the plan confirmed: recorded, then how to pay"),
    "plan_answer": ActionSpec(
        "_act_plan_answer",
        (*_OFFER_EXITS, *_NEGOTIATE_EXITS),
        "another date, a no, or installments instead of the plan read back",
    ),
    "channel_answer": ActionSpec(
        "_act_channel_answer",
        (
            Exit(None, ("payment_sent", "promise_thanks", "goodbye"), _ID),
            Exit(None, ("payment_not_sent", "goodbye"), _ID),
        ),
        "where to send how to pay (SMS, WhatsApp, e-mail), or not at all",
    ),
    "proposal_answer": ActionSpec(
        "_act_proposal_answer",
        (Exit(None, ("proposal_recorded", "goodbye"), _ID), *_PROMISE_EXITS),
        "a date past the window kept as the debtor's proposal (a person decides)",
    ),
    "reminder_yes": ActionSpec(
        "_act_reminder_yes",
        (*_PAY_EXITS, *_PROMISE_EXITS),
        "before the due date, yes to paying by then: a promise for the due date",
    ),
    "confirm_correction": ActionSpec("_act_confirm_correction", _PROMISE_EXITS, "another date in the read-back"),
    "confirm_no": ActionSpec(
        "_act_confirm_no",
        (Exit("ask_date", ("readback_denied",), _ID), *_PROMISE_EXITS),
        "the read-back denied: ask the date again",
    ),
    "dispute": ActionSpec(
        "_act_dispute",
        (Exit("offer_agent", ("dispute_ack", "offer_agent"), _ID),),
        "record the dispute and offer a person",
    ),
    "hardship": ActionSpec(
        "_act_hardship",
        (Exit("hardship", ("hardship_ack",), _ID),),
        "care, no request for money, a person or a later contact",
    ),
}
"""The named actions a flow may use (``"@name"``): the Python half of the flow, with the ways each can leave."""


def ddmm_to_date(digits: str, today: date) -> date | None:
    """Keypad DDMM to the first such date on or after today (this year or next); None when not a date."""
    if not re.fullmatch(r"\d{4}", digits):
        return None
    day, month = int(digits[:2]), int(digits[2:])
    for year in (today.year, today.year + 1):
        try:
            candidate = date(year, month, day)
        except ValueError:
            return None
        if candidate >= today:
            return candidate
    return None  # pragma: no cover - a valid DDMM is always ahead within a year


def _cents(value: Decimal) -> Decimal:
    return value.quantize(Decimal("0.01"), rounding=ROUND_HALF_UP)


def _with_protocol(record: RecordOutcome, protocol: str) -> RecordOutcome:
    return replace(record, protocol=record.protocol or protocol)


class DialogEngine:
    """One call's conversation, run from a flow (``ivr.flows``). Feed events to ``handle``; execute the actions.

    To add a state: write it in the flow file (``ask``, ``hints``, ``keypad``, ``on``, ``failure``); if it needs
    logic, add a method ``_act_<name>(answer) -> list[Action] | None`` and its ``ACTIONS`` entry (with its exits,
    so the checker sees them). To add an intent: one ``Intent`` member in ``ivr.vocabulary``, its NLU rule, and
    a line in the flow's ``on``/``anywhere`` table.
    """

    def __init__(
        self, ctx: CallContext, catalog: Catalog | None = None, parser: Parser | None = None, flow: Flow | None = None
    ) -> None:
        self.ctx = ctx
        self.catalog = catalog or load_catalog()
        self._parse = parser or _default_parser()
        self.flow = flow or default_flow()
        self.state: str = State.START
        self.now = 0.0
        self.identity_confirmed = False
        self.outcome: RecordOutcome | None = None
        self._position: RecordOutcome | None = (
            None  # kept if the caller hangs up (docs/ARCHITECTURE.md, "The conversation")
        )
        self._said: dict[str, int] = {}
        self._question: list[Say] = []  # the last question asked: said again on reprompts
        self._last_turn: list[Say] = []  # everything said in the last turn: said again on "repeat"
        self._failures = 0
        self._invalid_dates = 0
        self._verify_failures = 0
        self._pending: _Answer | None = None  # a debt answer given before identity was confirmed
        self._promise_date: date | None = None
        self._promise_amount: Decimal | None = None
        self._installments: int | None = None
        self._asked_amount = False
        self._agent_reason = "agent"
        self._identity_reasks = 0
        self._hold_started: float | None = None
        self._heard_speech = False  # the caller said something: an honest ending says why
        self._angry = False
        self._scam_asked = False
        self._resume: tuple[str, list[Say]] | None = None  # where to go back after "vocês ligam todo dia"
        self._callback_offer: datetime | None = None
        self.closing = Closing(self)  # offers, plans, proposals, how to pay (ivr.dialog.closing)

    @property
    def done(self) -> bool:
        return self.state == State.DONE

    # --- entry point -------------------------------------------------------------

    def handle(self, event: Event) -> list[Action]:
        """Advance the conversation by one event."""
        self.now = max(self.now, event.at)
        if self.done:
            return []
        if isinstance(event, CallStarted):
            return self._start()
        if isinstance(event, HungUp):
            return self._caller_hung_up()
        if self.state is State.START:
            return []
        if isinstance(event, NoInput):
            return [RecordTurn("debtor", "", "silence", None), *self._failure("no_input")]
        if isinstance(event, Digit):
            answer = self._from_digits(event.digits)
            turn = RecordTurn("debtor", event.digits, answer.intent, 1.0)
        else:
            answer, conf = self._from_speech(event)
            turn = RecordTurn("debtor", event.text, answer.intent, conf)
        return [turn, *self._dispatch(answer)]

    # --- understanding -------------------------------------------------------------

    def _from_speech(self, event: Heard) -> tuple[_Answer, float]:
        if not event.text.strip() or event.confidence < self.ctx.min_confidence:
            return _Answer(Intent.UNKNOWN, text=event.text), event.confidence
        self._heard_speech = True
        if _ANGRY.search(event.text.lower()):
            self._angry = True
        r = self._parse(
            event.text,
            self.ctx.today,
            context=_ASKED.get(self.state, Asked.OPEN),  # type: ignore[call-overload]
            debtor_name=self.ctx.debtor_name,
        )
        answer = _Answer(
            r.intent,
            r.date,
            r.amount,
            r.installments,
            r.time,
            text=event.text,
            reason=getattr(r, "reason", ""),
            ambiguous=str(getattr(r, "evidence", "")).startswith("identity: ambiguous"),
        )
        if self.identity_confirmed and answer.intent == Intent.NOT_AVAILABLE:
            from ivr.language.identity import debtor_away
            from ivr.language.nlu import normalize

            if not debtor_away(normalize(event.text), self.ctx.debtor_name):
                answer.intent = Intent.UNKNOWN  # the debtor's own words ("o dinheiro não tá dando"), not an absence
        if self.identity_confirmed:
            from ivr.language.terms import read_terms

            answer.terms = read_terms(event.text, self.ctx.today)
        if self.state == State.VERIFY:
            answer.digits = self._spoken_digits(event.text, r.amount)
        elif self.state == State.NEGOTIATE and answer.installments is None and answer.intent == "unknown":
            from ivr.language import numbers

            # "três" alone, answering "em quantas vezes?", is a count the NLU cannot know out of context.
            count = numbers.words_to_number(event.text)
            if count is not None:
                answer.intent, answer.installments = "negotiate", count
        return answer, r.confidence

    @staticmethod
    def _spoken_digits(text: str, amount: Decimal | None) -> str:
        """Digits said aloud: "um nove oito zero", "mil novecentos e oitenta", "nasci em 82", "zero doze"."""
        from ivr.language import numbers  # lazy, like the NLU

        dictated = numbers.words_to_digits(text)
        if dictated:
            return dictated
        whole = numbers.words_to_number(text)
        if whole is not None:
            return str(whole)
        # Number groups said one after another ("zero doze" -> 0, 12 -> "012"), words around them ignored.
        tokens = [t for t in re.split(r"[^\w]+", numbers.strip_accents(text)) if t]
        groups = [(s, e, str(v)) for s, e, v in numbers.scan_numbers(tokens)]
        digit_tokens = [(i, i + 1, t) for i, t in enumerate(tokens) if t.isdigit()]
        joined = "".join(g for _, _, g in sorted(groups + digit_tokens))
        if joined:
            return joined
        if amount is not None and amount == amount.to_integral_value():
            return str(int(amount))
        return "".join(re.findall(r"\d", text))

    def _verification_matches(self, digits: str) -> bool:
        """The year in full or its last two digits ("oitenta e dois" for 1982); the CPF's 3 digits exactly."""
        expected = re.sub(r"\D", "", self.ctx.verification_answer)
        if not digits or not expected:
            return False
        if digits == expected:
            return True
        return self.ctx.verification == "birth_year" and len(digits) == 2 and expected[-2:] == digits

    def _from_digits(self, digits: str) -> _Answer:
        """Keypad input through the state's keypad map (a key, ``DDMM`` a date, ``N`` a count, ``digits``)."""
        digits = digits.strip().rstrip("#")
        keys = self._spec().keypad if self.state in self.flow.states else {}
        if digits in keys:
            return _Answer(keys[digits], digits=digits)
        if "digits" in keys:
            return _Answer(keys["digits"], digits=digits)
        if "DDMM" in keys and len(digits) == 4:
            when = ddmm_to_date(digits, self.ctx.today)
            return _Answer(keys["DDMM"] if when else "unknown", date=when, digits=digits)
        if "N" in keys and digits.isdigit():
            return _Answer(keys["N"], installments=int(digits), digits=digits)
        return _Answer(Intent.UNKNOWN, digits=digits)

    # --- speaking ----------------------------------------------------------------

    def _values(self) -> dict[str, Any]:
        from ivr.language import verbalize

        ctx = self.ctx
        values: dict[str, Any] = {
            "nome": ctx.debtor_name,
            "primeiro_nome": ctx.debtor_name.split()[0] if ctx.debtor_name.split() else ctx.debtor_name,
            "credor": ctx.creditor_name,
            "valor": self._promise_amount if self._promise_amount is not None else ctx.amount,
            # A due date in another year is said with its year ("dez de novembro de dois mil e vinte e cinco").
            "vencimento": verbalize.say_date(ctx.due_date, year=ctx.due_date.year != ctx.today.year),
            "cnpj": verbalize.say_cnpj(ctx.creditor_cnpj) if ctx.creditor_cnpj else "",
            "protocolo": verbalize.say_digits(ctx.call_protocol),
            "canais": ctx.official_channels or f"o site e o aplicativo de {ctx.creditor_name}",
            "data_limite": ctx.window_end,
            "parcelas": self.closing.installments_limit(),
            "vencimento_semana": due_words(ctx.due_date, ctx.today),
        }
        if self._promise_date is not None:
            values["data"] = self._promise_date
        if self._installments:
            values["parcelas"] = self._installments
            values["valor_parcela"] = self._installment_amount()
        return values

    def _say(self, prompt_id: str, **extra: Any) -> Say:
        prompt_id = self.flow.prompt(prompt_id.replace("{verification}", self.ctx.verification or ""))
        if self.catalog.get(prompt_id).disclosure != "none" and not self.identity_confirmed:
            # The one guard that must never fail open: debt detail only to the confirmed person.
            raise RuntimeError(f"dialog bug: debt prompt {prompt_id!r} before identity was confirmed")
        values = {**self._values(), **extra}
        count = self._said.get(prompt_id, 0)
        self._said[prompt_id] = count + 1
        r = self.catalog.render(prompt_id, values, seed=self.ctx.seed, said_before=count)
        return Say(prompt_id, r.text, r.barge_in, r.disclosure, r.tts, r.variant, r.pause_after_ms)

    @staticmethod
    def _spoken(says: list[Say]) -> list[Action]:
        out: list[Action] = []
        for s in says:
            out += [s, RecordTurn("bot", s.text)]
        return out

    def _spec(self, state: str | None = None) -> StateSpec:
        return self.flow.state(state or self.state)

    def _question_of(self, state: str) -> list[Say]:
        return [self._say(p) for p in self._spec(state).ask]

    def _ask(self, state: str, says: list[Say] | None = None, lead: list[Say] | None = None) -> list[Action]:
        """Say ``lead`` then the question ``says`` (default: the state's own), and listen; the question is
        what gets repeated."""
        self.state = state
        self._question = says if says is not None else self._question_of(state)
        self._last_turn = [*(lead or []), *self._question]
        return [*self._spoken(self._last_turn), self._listen()]

    def _listen(self, keypad: bool = False) -> Listen:
        spec = self._spec()
        timeout = self.ctx.listen_timeout_s + (spec.keypad_extra_s if keypad else 0.0)
        if spec.timeout == "hold":
            waited = self.now - (self._hold_started if self._hold_started is not None else self.now)
            timeout = max(5.0, HOLD_MAX_S - waited)
        digits = spec.max_digits
        if digits == "verification":
            digits = 4 if self.ctx.verification == "birth_year" else 3
        return Listen(list(spec.hints), timeout, max_digits=int(digits))

    def _end(self, record: RecordOutcome, prompts: list[str], **extra: Any) -> list[Action]:
        self.state = State.DONE
        record = self._finish(record)
        self.outcome = record
        return [*self._spoken([self._say(p, **extra) for p in prompts]), record, HangUp(MIN_CALL_S)]

    def _finish(self, record: RecordOutcome) -> RecordOutcome:
        """The protocol on every outcome; a scam question without a promise leaves a review for a person
        (``scam_suspicion``: the debtor may prefer to hear from the creditor's official channels)."""
        record = _with_protocol(record, self.ctx.call_protocol)
        if self._scam_asked and record.review is None and record.outcome != Outcome.PROMISE_TO_PAY:
            record = replace(record, review=ReviewReason.SCAM_SUSPICION)
        return record

    def _transfer(self, reason: str) -> list[Action]:
        self.state = State.DONE
        position = self._position
        record = position if position is not None else RecordOutcome(Outcome.TRANSFERRED, note=reason)
        if position is not None:
            record = replace(position, note=f"{position.note}; transferred ({reason})".lstrip("; "))
        record = self._finish(record)
        self.outcome = record
        context = {
            "debtor_id": self.ctx.debtor_id,
            "reason": reason,
            "identity_confirmed": self.identity_confirmed,
            "promised_date": self._promise_date.isoformat() if self._promise_date else None,
        }
        return [*self._spoken([self._say("transfer")]), record, Transfer(reason, context)]

    # --- running the flow -------------------------------------------------------------

    def _guard(self, name: str | None) -> bool:
        """The named guards of ``ivr.flows.GUARDS``; ``!name`` negates."""
        if name is None:
            return True
        negate = name.startswith("!")
        value = {
            "identity_confirmed": self.identity_confirmed,
            "records_call": self.ctx.records_call,
            "verification_required": self.ctx.verification is not None,
            "transfer_allowed": self.ctx.negotiation.allow_transfer,
            "installments_allowed": self.closing.installments_limit() >= 2,
        }[name.removeprefix("!")]
        return value != negate

    def _start(self) -> list[Action]:
        spec = self._spec(self.flow.start)
        lead = [self._say(p) for p, guard in spec.intro if self._guard(guard)]
        return self._ask(self.flow.start, self._question_of(self.flow.start), lead)

    def _caller_hung_up(self) -> list[Action]:
        self.state = State.DONE
        record = self._position if self._position is not None else RecordOutcome(Outcome.HUNG_UP)
        record = self._finish(record)
        self.outcome = record
        return [record]

    def _dispatch(self, a: _Answer) -> list[Action]:
        """The flow's tables in order: ``always``, the state's ``on``, ``anywhere``, the state's ``otherwise``;
        the first step whose guard holds and that applies is taken; none: the failure ladder."""
        if (
            a.intent == Intent.CANNOT_PAY
            and a.reason
            and self.identity_confirmed
            and self.state not in (State.HARDSHIP, State.CALLBACK)
        ):
            a.intent = "hardship"
        derived = self.closing.derive_intent(a)
        if derived is not None:
            a.intent = derived
        spec = self._spec()
        for table in (self.flow.always, spec.on, self.flow.anywhere):
            for step in table.get(a.intent, ()):
                if self._guard(step.guard):
                    actions = self._run(step, a)
                    if actions is not None:
                        self._failures = 0
                        return actions
        if spec.otherwise is not None:
            actions = self._run(spec.otherwise, a)
            if actions is not None:
                self._failures = 0
                return actions
        return self._failure("no_match")

    def _run(self, step: Step, a: _Answer) -> list[Action] | None:
        if step.end is not None:
            record = RecordOutcome(step.end, note=step.note, review=step.review)
            if step.keep_position and self._position is not None:
                record = self._position
            elif step.end == Outcome.NO_RESPONSE and not step.note:
                why = (
                    "the caller was angry and was not understood"
                    if self._angry
                    else "the caller spoke but was not understood"
                    if self._heard_speech
                    else "silence"
                )
                record = replace(record, note=why)
            return self._end(record, list(step.say))
        if step.goto is not None:
            return self._ask(step.goto, lead=[self._say(p) for p in step.say])
        assert step.do is not None
        spec = ACTIONS[step.do]
        if not self.identity_confirmed and spec.exits and all(e.guard == _ID for e in spec.exits):
            # Every way out of this action is declared after identity (what ``ivr flow check`` trusts):
            # before identity the step does not apply, whatever the flow forgot to guard.
            return None
        if step.do in IDENTITY_ACTIONS and asked_for(self.state) not in IDENTITY_QUESTIONS:
            return None  # "sim" to another question is not "yes, I am the debtor"
        method: Callable[[_Answer], list[Action] | None] = getattr(self, spec.method)
        return method(a)

    def _failure(self, kind: Literal["no_input", "no_match"]) -> list[Action]:
        """The state's failure ladder: reprompt, keypad menu, then its last step (an honest goodbye)."""
        ladder = self._spec().failure
        self._failures += 1
        item = ladder[min(self._failures, len(ladder)) - 1]
        if item == "reprompt":
            return [*self._spoken([self._say(kind), *self._question]), self._listen()]
        if item == "keypad":
            menu = self._spec().keypad_menu or "keypad_menu"
            return [*self._spoken([*self._question, self._say(menu)]), self._listen(keypad=True)]
        assert isinstance(item, Step)
        actions = self._run(item, _Answer(Intent.UNKNOWN))
        return actions if actions is not None else [self._listen()]

    # --- named actions (ACTIONS) -------------------------------------------------------

    def _act_transfer(self, a: _Answer) -> list[Action]:
        return self._transfer("agent" if a.intent == Intent.AGENT else self._agent_reason)

    def _act_repeat(self, a: _Answer) -> list[Action]:
        return [*self._spoken([self._say("repeat_intro"), *self._last_turn]), self._listen()]

    def _act_confirm_identity(self, a: _Answer) -> list[Action]:
        if self.ctx.verification:
            return self._ask(State.VERIFY)
        return self._disclose()

    def _act_remember_and_reconfirm(self, a: _Answer) -> list[Action] | None:
        if self._pending is not None:
            return None
        # The person talks about the debt but has not said who they are: ask again, remember the answer.
        self._pending = a
        return self._ask(State.IDENTITY, [self._say("identity_reconfirm")])

    def _act_reconfirm_once(self, a: _Answer) -> list[Action] | None:
        """Only an explicit confirmation opens the debt (``ivr.language.identity``); one re-ask when ambiguous."""
        if not a.ambiguous or self._identity_reasks:
            return None
        self._identity_reasks += 1
        return self._ask(State.IDENTITY, [self._say("identity_reconfirm")])

    def _act_hold(self, a: _Answer) -> list[Action]:
        """ "Um momento, vou chamar ela": wait up to HOLD_MAX_S of line time, then ask identity of whoever comes."""
        if self.state == State.HOLD:
            return [self._listen()]
        self._hold_started = self.now
        self._resume = (self.state, self._question)
        self.state = State.HOLD
        self._last_turn = self._question_of(State.HOLD)
        return [*self._spoken(self._last_turn), self._listen()]

    def _act_hold_spoke(self, a: _Answer) -> list[Action]:
        if not self.identity_confirmed:
            # Someone speaks: a soft re-greet and the identity question, to whoever came to the phone.
            return self._ask(State.IDENTITY, [self._say("ask_identity")], [self._say("hold_regreet")])
        state, question = self._resume or (State.OFFER, self._question_of(State.OFFER))
        return self._ask(state, question)

    def _act_hold_silence(self, a: _Answer) -> list[Action]:
        self._failures = 0
        started = self._hold_started if self._hold_started is not None else self.now
        if self.now - started < HOLD_MAX_S - 1:
            return [self._listen()]  # still within the wait: keep listening, say nothing
        if self.identity_confirmed and self._position is not None:
            return self._end(self._position, ["hold_timeout"])
        return self._end(RecordOutcome(Outcome.NOT_AVAILABLE, note="no one came to the phone"), ["hold_timeout"])

    def _act_answer_question(self, a: _Answer) -> list[Action] | None:
        """Honest answers (CDC art. 6 III, 42-A; LGPD art. 18/19), then back to the question the call was on."""
        intent = Intent(a.intent)
        if intent == Intent.ASK_AMOUNT and not self.identity_confirmed:
            return None  # the amount only after identity (its exit is declared so), whatever the flow says
        self._scam_asked = self._scam_asked or intent == Intent.ASK_SCAM
        answer = {
            Intent.ASK_ROBOT: "robot_answer",
            Intent.ASK_WHO: "who_answer",
            Intent.ASK_SOURCE: "source_answer",
            Intent.ASK_PROTOCOL: "protocol_answer",
            Intent.ASK_SCAM: "scam_answer",
            Intent.ASK_AMOUNT: "amount_again",
            Intent.ASK_CNPJ: "cnpj_answer" if self.ctx.creditor_cnpj else "cnpj_unknown",
        }[intent]
        lead = [self._say(answer)]
        if self.state in (State.IDENTITY, State.HOLD):
            return self._ask(State.IDENTITY, [self._say("identity_reconfirm")], lead)
        self._last_turn = [*lead, *self._question]
        return [*self._spoken(self._last_turn), self._listen()]

    def _act_too_many_calls(self, a: _Answer) -> list[Action]:
        self._resume = (self.state, self._question)
        return self._ask(State.STOP_CALLS)

    def _act_resume(self, a: _Answer) -> list[Action]:
        state, question = self._resume or (State.IDENTITY, [self._say("identity_reconfirm")])
        return self._ask(state, question, [self._say("calls_continue")])

    def _act_hardship(self, a: _Answer) -> list[Action]:
        """Job loss, illness, no money for food: care, no request for money this turn, a person or a later contact."""
        self._position = RecordOutcome(Outcome.CANNOT_PAY, note=f"hardship: {a.reason or 'said'}")
        self._agent_reason = "hardship"
        return self._ask(State.HARDSHIP)

    def _disclose(self) -> list[Action]:
        self.identity_confirmed = True
        disclosure = self._say("disclosure")
        pending, self._pending = self._pending, None
        if pending is not None:
            # The debtor already said what they want: answer that instead of making the offer.
            self.state = State.OFFER
            self._question = self._question_of(State.OFFER)
            rest = self._dispatch(pending)
            return [*self._spoken([disclosure]), *rest]
        return self._ask(State.OFFER, lead=[disclosure])

    def _act_verify_answer(self, a: _Answer) -> list[Action] | None:
        if not a.digits:
            if a.intent == Intent.AFFIRM:
                return self._ask(State.VERIFY, self._question)  # "sim" to "vamos tentar de novo": ask again
            return None
        if self._verification_matches(a.digits):
            return self._disclose()
        self._verify_failures += 1
        if self._verify_failures >= 2:
            return self._end(RecordOutcome(Outcome.WRONG_PARTY, note="verification failed"), ["verification_failed"])
        return self._ask(State.VERIFY, self._question, [self._say("verification_retry")])

    def _act_refuse_verification(self, a: _Answer) -> list[Action] | None:
        if a.intent == Intent.DENY and a.digits:
            return None
        # Respected, never counted as "cannot pay": a person is offered instead.
        self._agent_reason = "verification_refused"
        self._position = RecordOutcome(
            Outcome.NO_RESPONSE, note="verification refused", review=ReviewReason.VERIFICATION_REFUSED
        )
        return self._ask(State.OFFER_AGENT, [self._say("refuse_ack")])

    def _act_offer_yes(self, a: _Answer) -> list[Action]:
        if a.date:
            return self._act_promise(a)
        return self._ask(State.ASK_DATE)

    def _act_date_answer(self, a: _Answer) -> list[Action] | None:
        if a.date is not None:
            return self._act_promise(a)
        if a.intent == Intent.PROMISE_TO_PAY and a.amount is not None:
            self._set_amount(a.amount)
            return self._ask(State.ASK_DATE, self._question)
        if a.intent == Intent.NEGOTIATE:
            return self._act_negotiate(a)
        return None

    def _act_amount_answer(self, a: _Answer) -> list[Action] | None:
        if a.amount is not None and a.amount > 0:
            self._set_amount(a.amount)
            if a.date is not None:
                return self._act_promise(a)
            return self._ask(State.ASK_DATE)
        if a.intent == Intent.PROMISE_TO_PAY and a.date is not None:
            return self._act_promise(a)
        return None

    def _act_confirm_yes(self, a: _Answer) -> list[Action]:
        if a.date not in (None, self._promise_date):
            return self._act_promise(a)
        # The plan behind the read-back (lump sum, or the partial amount), then how to pay.
        return self.closing.confirm_promise()

    def _act_ask_discount(self, a: _Answer) -> list[Action]:
        return self.closing.offer_lump_sum(a.date)

    def _act_split_payment(self, a: _Answer) -> list[Action]:
        assert a.terms is not None
        return self.closing.offer_split(a.terms.parts)

    def _act_payment_method(self, a: _Answer) -> list[Action]:
        return self.closing.act_payment_method(a)

    def _act_plan_yes(self, a: _Answer) -> list[Action] | None:
        return self.closing.on_plan_confirm(a)

    def _act_plan_answer(self, a: _Answer) -> list[Action] | None:
        return self.closing.on_plan_confirm(a)

    def _act_channel_answer(self, a: _Answer) -> list[Action] | None:
        return self.closing.on_pay_channel(a)

    def _act_proposal_answer(self, a: _Answer) -> list[Action] | None:
        return self.closing.on_proposal_confirm(a)

    def _act_reminder_yes(self, a: _Answer) -> list[Action]:
        return self.closing.on_reminder(a)

    def _act_confirm_correction(self, a: _Answer) -> list[Action] | None:
        return self._act_promise(a) if a.date is not None else None

    def _act_confirm_no(self, a: _Answer) -> list[Action]:
        if a.date is not None:
            return self._act_promise(a)
        self._promise_date = None
        return self._ask(State.ASK_DATE, [self._say("readback_denied")])

    def _act_installments(self, a: _Answer) -> list[Action] | None:
        count = a.installments
        limit = self.closing.installments_limit()
        if count is not None:
            self.closing.requested_installment = a.amount if count >= 2 else None  # "três vezes de cem"
            if count > limit:
                return self._ask(State.NEGOTIATE, [self._say("negotiation_limit")])
            self._installments = count if count >= 2 else None
            self._promise_amount = None
            if a.date is not None:
                return self._act_promise(a)
            prompt = "ask_date_first_installment" if self._installments else "ask_date"
            if self._installments and self.ctx.offers.installments.down_payment_percent > 0:
                prompt = "ask_date_down_payment"  # the first payment is the down payment (issue 11)
            return self._ask(State.ASK_DATE, [self._say(prompt)])
        if a.intent == Intent.PROMISE_TO_PAY:
            return self._act_promise(a)
        return None

    def _act_decline_agent(self, a: _Answer) -> list[Action]:
        if self._agent_reason == "verification_refused":
            assert self._position is not None
            return self._end(self._position, ["refuse_goodbye"])
        if self._position is not None:
            return self._end(self._position, ["goodbye"])
        return self._end(RecordOutcome(Outcome.CANNOT_PAY), ["cannot_pay_ack", "goodbye"])

    def _act_callback(self, a: _Answer) -> list[Action] | None:
        if a.date is not None or a.time is not None:
            return self._act_schedule(a)
        return self._ask(State.CALLBACK)

    def _when_words(self, when: date | datetime) -> str:
        """ "amanhã, às dez horas", "sexta-feira, treze de março, à uma hora" (a year when it is not this one)."""
        from ivr.language import verbalize

        today = self.ctx.today
        day = when.date() if isinstance(when, datetime) else when
        parts = [
            "hoje"
            if day == today
            else "amanhã"
            if day == today + timedelta(days=1)
            else verbalize.say_date(day, weekday=True, year=day.year != today.year)
        ]
        if isinstance(when, datetime):
            parts.append(verbalize.say_time_at(when.time()))
        return ", ".join(parts)

    def _act_schedule(self, a: _Answer) -> list[Action] | None:
        """Book a callback, but only at a time the calling rules allow for this debtor; else offer the nearest."""
        when_date = a.date if a.date is not None and a.date >= self.ctx.today else None
        if when_date is None and a.time is None:
            return None
        at: date | datetime = when_date if when_date is not None else self.ctx.today
        if a.time is not None:
            at = datetime.combine(when_date or self.ctx.today, a.time)
        allowed = self._allowed_callback(at)
        if allowed is not None and allowed != at:
            self._callback_offer = allowed
            return self._ask(State.CALLBACK_CONFIRM, [self._say("callback_adjusted", quando=self._when_words(allowed))])
        record = RecordOutcome(Outcome.CALLBACK_SCHEDULED, callback_at=at)
        return self._end(record, ["callback_confirm"], quando=self._when_words(at))

    def _allowed_callback(self, at: date | datetime) -> datetime | None:
        """The nearest moment the rules allow for ``at`` (a day alone: any time of that day), None without rules."""
        rules = self.ctx.next_allowed_call
        if rules is None:
            return None
        if isinstance(at, datetime):
            return rules(at)
        opening = rules(datetime.combine(at, time(0, 0)))
        if opening is not None and opening.date() == at:
            return None  # the day itself has a window: keep the day as asked
        return opening

    def _act_callback_offer_yes(self, a: _Answer) -> list[Action] | None:
        """ "Nesse horário não posso ligar; posso ligar {quando}?" — yes books it."""
        if a.date is not None or a.time is not None:
            return self._act_schedule(a)
        if self._callback_offer is None:
            return None
        record = RecordOutcome(
            Outcome.CALLBACK_SCHEDULED,
            callback_at=self._callback_offer,
            note="the nearest time the calling rules allow",
        )
        return self._end(record, ["callback_confirm"], quando=self._when_words(self._callback_offer))

    def _act_dispute(self, a: _Answer) -> list[Action]:
        self._position = RecordOutcome(Outcome.DISPUTE, note="debtor disputes the debt")
        self._agent_reason = "dispute"
        return self._ask(State.OFFER_AGENT, [self._say("offer_agent")], [self._say("dispute_ack")])

    def _act_cannot_pay(self, a: _Answer) -> list[Action] | None:
        if self.closing.late_pending() and self.state == State.ASK_DATE and a.date is None:
            return self.closing.propose_late()  # "não dá, só no dia do salário": their proposal
        if not self._asked_amount and self._installments is None:
            self._asked_amount = True
            return self._ask(State.ASK_AMOUNT)
        return self._act_negotiate(None)

    def _act_negotiate(self, a: _Answer | None) -> list[Action]:
        """Installments per policy; when there are none to offer, an explicit request goes to a human."""
        if self.closing.installments_limit() >= 2 and self._installments is None:
            if a is not None and a.installments is not None:
                self.state = State.NEGOTIATE
                self._question = [self._say("negotiation_offer")]
                return self._act_installments(a) or self._ask(State.NEGOTIATE, self._question)
            return self._ask(State.NEGOTIATE)
        if a is not None and self.ctx.negotiation.allow_transfer:
            return self._transfer("negotiate")
        return self._no_deal("cannot_pay")

    def _act_no_deal(self, a: _Answer) -> list[Action]:
        return self._no_deal("cannot_pay")

    def _no_deal(self, reason: str) -> list[Action]:
        """The offers do not fit: a human if the campaign allows, else a kind goodbye."""
        if self.ctx.negotiation.allow_transfer:
            self._agent_reason = reason
            return self._ask(State.OFFER_AGENT, [self._say("offer_agent_conditions")])
        return self._end(RecordOutcome(Outcome.CANNOT_PAY), ["cannot_pay_ack", "goodbye"])

    def _set_amount(self, amount: Decimal) -> None:
        amount = _cents(amount)
        # A figure above the balance is most likely a misrecognition: hold to the balance.
        self._promise_amount = None if amount >= self.ctx.amount or amount <= 0 else amount

    def _installment_amount(self) -> Decimal:
        assert self._installments
        return _cents(self.ctx.amount / self._installments)

    def _act_promise(self, a: _Answer) -> list[Action]:
        if a.amount is not None and self._installments is None:
            self._set_amount(a.amount)
        if a.date is None:
            return self._ask(State.ASK_DATE)
        if a.date > self.ctx.window_end:
            # Past what the bot may accept: the window's end, then the debtor's proposal (never cannot_pay).
            return self.closing.late_date(a.date)
        if self.closing.parts_pending:
            return self.closing.offer_split(tuple((d or a.date, v) for d, v in self.closing.parts_pending))
        if a.date < self.ctx.today:
            self._invalid_dates += 1
            if self._invalid_dates >= _MAX_INVALID_DATES:
                return self._no_deal("date_outside_window")
            prompt = "date_invalid_past" if a.date < self.ctx.today else "date_invalid_late"
            return self._ask(State.ASK_DATE, [self._say(prompt)])
        self._promise_date = a.date
        self.closing.date_accepted()
        if self._installments:
            return self.closing.offer_installments(a.date)
        return self._ask(State.CONFIRM)

    # Kept for callers that drive the engine directly (tests, other branches).
    _promise = _act_promise


def default_flow() -> Flow:
    """The shipped default flow, loaded once."""
    global _DEFAULT_FLOW
    if _DEFAULT_FLOW is None:
        _DEFAULT_FLOW = load_flow("default")
    return _DEFAULT_FLOW


_DEFAULT_FLOW: Flow | None = None


def voicemail_message(ctx: CallContext, catalog: Catalog | None = None) -> Say:
    """The neutral message for an answering machine (no debt detail: anyone may hear it)."""
    catalog = catalog or load_catalog()
    first = ctx.debtor_name.split()[0] if ctx.debtor_name.split() else ctx.debtor_name
    values = {"credor": ctx.creditor_name, "primeiro_nome": first}
    r = catalog.render("voicemail", values, seed=ctx.seed)
    problems = lint_rendered(catalog, r, values)
    if problems:
        raise InputError(f"voicemail message refused by the prompt linter: {'; '.join(problems)}")
    return Say(r.prompt_id, r.text, False, r.disclosure, r.tts, r.variant, r.pause_after_ms)
