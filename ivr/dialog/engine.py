"""The dialog engine: a pure state machine for one reminder call (events in, actions out, no I/O, no clock).

Contract for a channel (telephony, the text simulator, tests)::

    engine = DialogEngine(CallContext(...))
    actions = engine.handle(CallStarted(at=0.0))       # then for every later event: engine.handle(event)

Events carry ``at``, seconds since the call was answered; the engine never reads a clock.

- ``CallStarted``: the call was answered by a person. The engine greets at once (no silent calls).
- ``Heard(text, confidence)``: one final recognition result. ``Digit(digits)``: keypad input collected
  for the current ``Listen`` (up to ``max_digits`` or the ``terminator``). ``NoInput``: the ``Listen``
  timed out in silence. ``PlaybackDone``: a ``Say`` finished (optional; used only to track time).
  ``HungUp``: the caller hung up; the engine records the outcome and ends.

Actions, to be executed in order:

- ``Say``: play ``tts`` (or ``text``); the caller may interrupt it when ``barge_in`` is true.
- ``Listen``: after the preceding ``Say`` actions have played, listen once (speech with the ``hints``
  phrase list, or keypad) for at most ``timeout_s`` seconds; answer with one ``Heard``, ``Digit`` or ``NoInput``.
- ``RecordTurn``: a line of the transcript. ``RecordOutcome``: the attempt's single outcome (DESIGN.md).
- ``Transfer``: after the preceding ``Say`` actions have played, hand the call to a human queue.
- ``HangUp``: after the preceding ``Say`` actions have played, and not before ``not_before_s`` seconds
  of call time (Anatel: no answered call shorter than 6 s), hang up.

After ``Transfer``, ``HangUp`` or ``HungUp`` the engine is ``done`` and ignores further events. Every
turn that expects an answer ends with exactly one ``Listen``. No debt detail is said before the
person has confirmed identity (and passed verification when the campaign asks for it).
"""

from __future__ import annotations

import enum
import re
from dataclasses import dataclass, field
from datetime import date, datetime, time, timedelta
from decimal import ROUND_HALF_UP, Decimal
import dataclasses
from typing import TYPE_CHECKING, Any, Callable, Literal, Protocol

from ivr.dialog.closing import CHANNEL_HINTS, CLOSING_PROMPT_IDS, Closing
from ivr.dialog.offers import OffersPolicy, PromisePlan
from ivr.language.prompts import Catalog, load_catalog
from ivr.payment.instructions import DebtPaymentData, PaymentInstruction, PaymentPolicy
from ivr.vocabulary import DIALOG_OUTCOMES, QUESTION_INTENTS, Asked, Intent, Outcome, ReviewReason

if TYPE_CHECKING:
    from ivr.language.terms import Terms

MIN_CALL_S = 6.0
"""Seconds: the shortest an answered call may last (Anatel)."""

OUTCOMES: tuple[str, ...] = tuple(str(o) for o in DIALOG_OUTCOMES)

# Every prompt the engine can say; `ivr prompts check` fails when the catalog lacks one.
_ENGINE_PROMPT_IDS = (
    "greeting", "recording_notice", "ask_identity", "identity_reconfirm", "ask_verification_birth_year",
    "ask_verification_cpf3", "verification_retry", "verification_failed", "disclosure", "offer_pay", "ask_date",
    "ask_date_first_installment", "date_invalid_past", "date_invalid_late", "ask_amount", "readback",
    "readback_installments", "readback_denied", "promise_thanks", "negotiation_offer", "negotiation_limit",
    "offer_agent", "offer_agent_conditions", "cannot_pay_ack", "already_paid_thanks", "dispute_ack", "transfer",
    "ask_callback", "callback_confirm", "callback_open", "opt_out_confirm", "wrong_person", "not_available",
    "voicemail", "repeat_intro", "no_input", "no_match", "keypad_menu", "keypad_date", "keypad_number",
    "goodbye", "goodbye_no_response", "hold_ack", "hold_regreet", "hold_timeout",
    "deceased_ack", "unreachable_ack", "robot_answer", "who_answer", "cnpj_answer", "cnpj_unknown", "source_answer",
    "protocol_answer", "scam_answer", "amount_again", "calls_apology", "calls_continue", "hardship_ack",
    "hardship_goodbye", "refuse_ack", "refuse_goodbye", "callback_adjusted",
)
PROMPT_IDS: tuple[str, ...] = _ENGINE_PROMPT_IDS + CLOSING_PROMPT_IDS


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
class PlaybackDone:
    at: float = 0.0


@dataclass(frozen=True)
class HungUp:
    at: float = 0.0


Event = CallStarted | Heard | Digit | NoInput | PlaybackDone | HungUp


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
    """The number called (where SMS/WhatsApp instructions go)."""
    mobile: bool = False
    flow: str = "collection"
    """``collection`` (overdue) or ``reminder`` (before the due date), from the campaign's stages."""

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


class State(enum.Enum):
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
    REMINDER = "reminder"
    DONE = "done"


_ASKED = {
    State.IDENTITY: Asked.IDENTITY, State.HOLD: Asked.HOLD, State.VERIFY: Asked.VERIFY, State.OFFER: Asked.YES_NO,
    State.ASK_DATE: Asked.DATE, State.ASK_AMOUNT: Asked.AMOUNT, State.CONFIRM: Asked.YES_NO,
    State.NEGOTIATE: Asked.INSTALLMENTS, State.OFFER_AGENT: Asked.YES_NO, State.CALLBACK: Asked.CALLBACK,
    State.CALLBACK_CONFIRM: Asked.YES_NO, State.STOP_CALLS: Asked.YES_NO, State.HARDSHIP: Asked.OPEN,
    State.PLAN_CONFIRM: Asked.YES_NO, State.PAY_CHANNEL: Asked.OPEN, State.PROPOSAL_CONFIRM: Asked.YES_NO,
    State.REMINDER: Asked.YES_NO,
}
"""What each state asks: the context the NLU reads the answer in."""


_DEBT_INTENTS = {Intent.PROMISE_TO_PAY, Intent.ALREADY_PAID, Intent.CANNOT_PAY, Intent.NEGOTIATE, Intent.DISPUTE,
                 Intent.ASK_AMOUNT}
_YES_NO_HINTS = ["sim", "não", "isso", "pode ser", "atendente"]
_DATE_HINTS = ["dia", "amanhã", "depois de amanhã", "hoje", "segunda", "terça", "quarta", "quinta", "sexta",
               "sábado", "fim do mês", "semana que vem", "não consigo", "parcelar", "atendente"]
_MAX_INVALID_DATES = 3


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


class DialogEngine:
    """One call's conversation. Feed events to ``handle``; execute the actions it returns."""

    def __init__(self, ctx: CallContext, catalog: Catalog | None = None, parser: Parser | None = None) -> None:
        self.ctx = ctx
        self.catalog = catalog or load_catalog()
        self._parse = parser or _default_parser()
        self.state = State.START
        self.now = 0.0
        self.identity_confirmed = False
        self.outcome: RecordOutcome | None = None
        self._position: RecordOutcome | None = None  # kept if the caller hangs up (DESIGN.md hang-up rule)
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
        self._heard_speech = False  # the caller said something (an honest ending says "não entendi", not "a linha")
        self._resume: tuple[State, list[Say]] | None = None  # where to go back after "vocês ligam todo dia"
        self._callback_offer: datetime | None = None
        self.closing = Closing(self)

    @property
    def done(self) -> bool:
        return self.state is State.DONE

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
        if isinstance(event, PlaybackDone) or self.state is State.START:
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
            return _Answer("unknown", text=event.text), event.confidence
        self._heard_speech = True
        r = self._parse(event.text, self.ctx.today, context=_ASKED.get(self.state, Asked.OPEN),
                        debtor_name=self.ctx.debtor_name)
        answer = _Answer(r.intent, r.date, r.amount, r.installments, r.time, text=event.text,
                         reason=getattr(r, "reason", ""),
                         ambiguous=str(getattr(r, "evidence", "")).startswith("identity: ambiguous"))
        if self.identity_confirmed:
            from ivr.language.terms import read_terms

            answer.terms = read_terms(event.text, self.ctx.today)
        if self.state is State.VERIFY:
            answer.digits = self._spoken_digits(event.text, r.amount)
        elif self.state is State.NEGOTIATE and answer.installments is None and answer.intent == "unknown":
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
        digits = digits.strip().rstrip("#")
        if digits == "9" and self.state not in (State.VERIFY,):
            return _Answer("agent", digits=digits)
        if self.state is State.HOLD:
            return _Answer("affirm" if digits == "1" else "unknown", digits=digits)
        if self.state is State.VERIFY:
            return _Answer("unknown", digits=digits)
        if len(digits) == 4 and (self.identity_confirmed or self.state is State.CALLBACK):
            when = ddmm_to_date(digits, self.ctx.today)
            intent = "callback" if self.state is State.CALLBACK else "promise_to_pay"
            return _Answer(intent if when else "unknown", date=when, digits=digits)
        if self.state is State.NEGOTIATE and digits.isdigit():
            # "How many installments?": the digit is the count ("1" = all at once); 9 stays the agent.
            return _Answer("negotiate", installments=int(digits), digits=digits)
        return _Answer({"1": "affirm", "2": "deny"}.get(digits, "unknown"), digits=digits)

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
            "canais": ctx.official_channels or f"o site e o aplicativo oficiais de {ctx.creditor_name}",
            "data_limite": ctx.window_end,
            "parcelas": self.closing.installments_limit(),
        }
        if self._promise_date is not None:
            values["data"] = self._promise_date
        if self._installments:
            values["parcelas"] = self._installments
            values["valor_parcela"] = self._installment_amount()
        return values

    def _say(self, prompt_id: str, **extra: Any) -> Say:
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

    def _ask(self, state: State, says: list[Say], lead: list[Say] | None = None) -> list[Action]:
        """Say ``lead`` then the question ``says``, and listen; the question is what gets repeated."""
        self.state = state
        self._question = says
        self._last_turn = [*(lead or []), *says]
        return [*self._spoken([*(lead or []), *says]), self._listen()]

    def _listen(self, keypad: bool = False) -> Listen:
        timeout = self.ctx.listen_timeout_s + (4.0 if keypad else 0.0)
        if self.state is State.ASK_DATE:
            return Listen(_DATE_HINTS, timeout, max_digits=4)
        if self.state is State.VERIFY:
            digits = 4 if self.ctx.verification == "birth_year" else 3
            return Listen(["um", "dois", "três", "mil", "novecentos", "dois mil"], timeout, max_digits=digits)
        if self.state is State.PAY_CHANNEL:
            return Listen(CHANNEL_HINTS, timeout, max_digits=1)
        if self.state is State.NEGOTIATE:
            return Listen(["duas vezes", "três vezes", "quatro vezes", "à vista", "não", "atendente"], timeout, 2)
        if self.state is State.CALLBACK:
            return Listen(["amanhã", "hoje", "de manhã", "à tarde", "às", "horas", "segunda", "sexta"], timeout, 4)
        if self.state is State.HOLD:
            waited = self.now - (self._hold_started if self._hold_started is not None else self.now)
            return Listen(["alô", "oi", "sou eu", "pronto", "sim"], max(5.0, HOLD_MAX_S - waited), 1)
        if self.state is State.IDENTITY:
            return Listen(["sim", "sou eu", "é ela", "é ele", "não", "não está", "número errado", "atendente"],
                          timeout, 1)
        return Listen(_YES_NO_HINTS, timeout, max_digits=1)

    def _end(self, record: RecordOutcome, prompts: list[str], **extra: Any) -> list[Action]:
        self.state = State.DONE
        if not record.protocol:
            record = dataclasses.replace(record, protocol=self.ctx.call_protocol)
        self.outcome = record
        return [*self._spoken([self._say(p, **extra) for p in prompts]), record, HangUp(MIN_CALL_S)]

    def _transfer(self, reason: str) -> list[Action]:
        self.state = State.DONE
        position = self._position
        record = position if position is not None else RecordOutcome("transferred", note=reason)
        if position is not None:
            record = dataclasses.replace(position, note=f"{position.note}; transferred ({reason})".lstrip("; "))
        record = dataclasses.replace(record, protocol=self.ctx.call_protocol)
        self.outcome = record
        context = {
            "debtor_id": self.ctx.debtor_id,
            "reason": reason,
            "identity_confirmed": self.identity_confirmed,
            "promised_date": self._promise_date.isoformat() if self._promise_date else None,
        }
        return [*self._spoken([self._say("transfer")]), record, Transfer(reason, context)]

    # --- the flow ------------------------------------------------------------------

    def _start(self) -> list[Action]:
        lead = [self._say("greeting")]
        if self.ctx.records_call:
            lead.append(self._say("recording_notice"))
        return self._ask(State.IDENTITY, [self._say("ask_identity")], lead)

    def _caller_hung_up(self) -> list[Action]:
        self.state = State.DONE
        record = self._position if self._position is not None else RecordOutcome("hung_up")
        record = dataclasses.replace(record, protocol=self.ctx.call_protocol)
        self.outcome = record
        return [record]

    def _dispatch(self, a: _Answer) -> list[Action]:
        intent = a.intent
        if intent == "agent":
            return self._transfer("agent")
        if intent == "opt_out":
            return self._end(RecordOutcome("opt_out"), ["opt_out_confirm"])
        if intent == "repeat":
            return self._repeat()
        if intent == "wrong_person":
            return self._end(RecordOutcome("wrong_party"), ["wrong_person"])
        if intent == Intent.DECEASED and not self.identity_confirmed:
            return self._end(RecordOutcome(Outcome.DECEASED, note="a third party reported the death",
                                           review=ReviewReason.DECEASED), ["deceased_ack"])
        if intent == Intent.UNREACHABLE_PERSON and not self.identity_confirmed:
            return self._end(RecordOutcome(Outcome.UNREACHABLE_PERSON, note="reported out of reach (e.g. imprisoned)",
                                           review=ReviewReason.UNREACHABLE_PERSON), ["unreachable_ack"])
        if intent in QUESTION_INTENTS and not (intent == Intent.ASK_AMOUNT and not self.identity_confirmed):
            return self._answer_question(Intent(intent))
        if intent == Intent.HOLD and self.state is not State.HOLD:
            return self._hold()
        closing = self.closing.dispatch(a)
        if closing is not None:
            return closing
        if intent == "callback" and self.state not in (State.CALLBACK, State.CALLBACK_CONFIRM, State.HOLD,
                                                       State.PAY_CHANNEL):
            return self._callback(a)
        if self.identity_confirmed and self.state is not State.CALLBACK:
            if intent == "cannot_pay" and a.reason and self.state is not State.HARDSHIP:
                return self._hardship(a)
            if intent == "already_paid":
                return self._end(RecordOutcome("already_paid", note="review: debtor says it is paid"),
                                 ["already_paid_thanks", "goodbye"])
            if intent == "dispute":
                return self._dispute()
        handler = {
            State.IDENTITY: self._on_identity,
            State.VERIFY: self._on_verify,
            State.OFFER: self._on_offer,
            State.ASK_DATE: self._on_ask_date,
            State.ASK_AMOUNT: self._on_ask_amount,
            State.CONFIRM: self._on_confirm,
            State.NEGOTIATE: self._on_negotiate,
            State.OFFER_AGENT: self._on_offer_agent,
            State.CALLBACK: self._on_callback,
            State.HOLD: self._on_hold,
            State.CALLBACK_CONFIRM: self._on_callback_confirm,
            State.STOP_CALLS: self._on_stop_calls,
            State.HARDSHIP: self._on_hardship,
            State.PLAN_CONFIRM: self.closing.on_plan_confirm,
            State.PAY_CHANNEL: self.closing.on_pay_channel,
            State.PROPOSAL_CONFIRM: self.closing.on_proposal_confirm,
            State.REMINDER: self.closing.on_reminder,
        }[self.state]
        actions = handler(a)
        if actions is None:
            return self._failure("no_match")
        self._failures = 0
        return actions

    def _failure(self, kind: Literal["no_input", "no_match"]) -> list[Action]:
        """Two reprompts, then the keypad menu, then an honest goodbye (says it did not understand when the
        caller spoke; says nothing about the line when it was silence)."""
        if self.state is State.HOLD:
            return self._on_hold_silence()
        self._failures += 1
        if self._failures <= 2:
            return [*self._spoken([self._say(kind), *self._question]), self._listen()]
        if self._failures == 3:
            menu = {State.ASK_DATE: "keypad_date", State.VERIFY: "keypad_number", State.NEGOTIATE: "keypad_number",
                    State.CALLBACK: "keypad_number"}.get(self.state, "keypad_menu")
            return [*self._spoken([*self._question, self._say(menu)]), self._listen(keypad=True)]
        if self.state is State.CALLBACK:
            return self._end(RecordOutcome("callback_scheduled", note="no day or time given"), ["callback_open"])
        if self._position is not None:
            return self._end(self._position, ["goodbye_no_response"])
        why = "the caller spoke but was not understood" if self._heard_speech else "silence"
        return self._end(RecordOutcome("no_response", note=why), ["goodbye_no_response"])

    def _repeat(self) -> list[Action]:
        return [*self._spoken([self._say("repeat_intro"), *self._last_turn]), self._listen()]

    def _on_identity(self, a: _Answer) -> list[Action] | None:
        """Only an explicit confirmation opens the debt (``ivr.language.identity``); one re-ask when ambiguous."""
        if a.intent == "affirm":
            return self._identity_confirmed()
        if a.intent == "deny":
            return self._end(RecordOutcome("wrong_party"), ["wrong_person"])
        if a.intent == "not_available":
            return self._end(RecordOutcome("not_available"), ["not_available"])
        if a.intent in _DEBT_INTENTS and self._pending is None:
            # The person talks about the debt but has not said who they are: ask again, remember the answer.
            self._pending = a
            return self._ask(State.IDENTITY, [self._say("identity_reconfirm")])
        if a.ambiguous and self._identity_reasks == 0:
            self._identity_reasks += 1
            return self._ask(State.IDENTITY, [self._say("identity_reconfirm")])
        return None

    def _hold(self) -> list[Action]:
        """"Um momento, vou chamar ela": wait up to HOLD_MAX_S of line time, then ask identity of whoever comes."""
        self._hold_started = self.now
        self._resume = (self.state, self._question)
        self.state = State.HOLD
        self._question = [self._say("hold_regreet"), self._say("ask_identity")] if not self.identity_confirmed \
            else self._question
        self._last_turn = [self._say("hold_ack")]
        return [*self._spoken(self._last_turn), self._listen()]

    def _on_hold(self, a: _Answer) -> list[Action] | None:
        if not self.identity_confirmed:
            # Someone speaks: a soft re-greet and the identity question, to whoever came to the phone.
            return self._ask(State.IDENTITY, [self._say("ask_identity")], [self._say("hold_regreet")])
        state, question = self._resume or (State.OFFER, [self._say("offer_pay")])
        return self._ask(state, question)

    def _on_hold_silence(self) -> list[Action]:
        started = self._hold_started if self._hold_started is not None else self.now
        if self.now - started < HOLD_MAX_S - 1:
            return [self._listen()]  # still within the wait: keep listening, say nothing
        if self.identity_confirmed and self._position is not None:
            return self._end(self._position, ["hold_timeout"])
        return self._end(RecordOutcome("not_available", note="no one came to the phone"), ["hold_timeout"])

    def _answer_question(self, intent: Intent) -> list[Action]:
        """Honest answers (CDC art. 6 III, 42-A; LGPD art. 18/19), then back to the question the call was on."""
        if intent == Intent.TOO_MANY_CALLS:
            self._resume = (self.state, self._question)
            return self._ask(State.STOP_CALLS, [self._say("calls_apology")])
        answer = {
            Intent.ASK_ROBOT: "robot_answer", Intent.ASK_WHO: "who_answer", Intent.ASK_SOURCE: "source_answer",
            Intent.ASK_PROTOCOL: "protocol_answer", Intent.ASK_SCAM: "scam_answer", Intent.ASK_AMOUNT: "amount_again",
            Intent.ASK_CNPJ: "cnpj_answer" if self.ctx.creditor_cnpj else "cnpj_unknown",
        }[intent]
        lead = [self._say(answer)]
        if self.state in (State.IDENTITY, State.HOLD):
            return self._ask(State.IDENTITY, [self._say("identity_reconfirm")], lead)
        self._last_turn = [*lead, *self._question]
        return [*self._spoken(self._last_turn), self._listen()]

    def _on_stop_calls(self, a: _Answer) -> list[Action] | None:
        if a.intent in ("affirm", "opt_out"):
            return self._end(RecordOutcome("opt_out", note="asked to stop after 'vocês ligam todo dia'"),
                             ["opt_out_confirm"])
        if a.intent == "promise_to_pay" and self.identity_confirmed:
            return self._promise(a)
        if a.intent == "deny":
            state, question = self._resume or (State.IDENTITY, [self._say("identity_reconfirm")])
            return self._ask(state, question, [self._say("calls_continue")])
        return None

    def _hardship(self, a: _Answer) -> list[Action]:
        """Job loss, illness, no money for food: care, no request for money this turn, a person or a later contact."""
        note = f"hardship: {a.reason or 'said'}"
        self._position = RecordOutcome("cannot_pay", note=note)
        self._agent_reason = "hardship"
        return self._ask(State.HARDSHIP, [self._say("hardship_ack")])

    def _on_hardship(self, a: _Answer) -> list[Action] | None:
        if a.intent in ("affirm", "agent"):
            return self._transfer("hardship")
        if a.intent == "callback":
            return self._callback(a)
        if a.intent in ("deny", "cannot_pay", "opt_out"):
            assert self._position is not None
            return self._end(self._position, ["hardship_goodbye"])
        if a.intent == "promise_to_pay":
            return self._promise(a)
        return None

    def _identity_confirmed(self) -> list[Action]:
        if self.ctx.verification:
            self.state = State.VERIFY
            return self._ask(State.VERIFY, [self._say(f"ask_verification_{self.ctx.verification}")])
        return self._disclose()

    def _on_verify(self, a: _Answer) -> list[Action] | None:
        if a.intent == Intent.REFUSE_DATA or (a.intent == "deny" and not a.digits):
            # Respected, never counted as "cannot pay": a person is offered instead.
            self._agent_reason = "verification_refused"
            self._position = RecordOutcome("no_response", note="verification refused",
                                           review=ReviewReason.VERIFICATION_REFUSED)
            return self._ask(State.OFFER_AGENT, [self._say("refuse_ack")])
        if not a.digits:
            if a.intent == "affirm":
                return self._ask(State.VERIFY, self._question)  # "sim" to "vamos tentar de novo": ask again
            return None
        if self._verification_matches(a.digits):
            return self._disclose()
        self._verify_failures += 1
        if self._verify_failures >= 2:
            return self._end(RecordOutcome("wrong_party", note="verification failed"), ["verification_failed"])
        return self._ask(State.VERIFY, self._question, [self._say("verification_retry")])

    def _disclose(self) -> list[Action]:
        self.identity_confirmed = True
        if self.ctx.flow == "reminder" and self._pending is None:
            return self.closing.reminder_disclose()
        disclosure = self._say("disclosure")
        pending, self._pending = self._pending, None
        if pending is not None:
            # The debtor already said what they want: answer that instead of making the offer.
            self.state = State.OFFER
            self._question = [self._say("offer_pay")]
            rest = self._dispatch(pending)
            return [*self._spoken([disclosure]), *rest]
        return self._ask(State.OFFER, [self._say("offer_pay")], [disclosure])

    def _on_offer(self, a: _Answer) -> list[Action] | None:
        if a.intent == "promise_to_pay" or (a.intent == "affirm" and a.date):
            return self._promise(a)
        if a.intent == "affirm":
            return self._ask(State.ASK_DATE, [self._say("ask_date")])
        if a.intent in ("deny", "cannot_pay"):
            return self._cannot_pay()
        if a.intent == "negotiate":
            return self._negotiate(a)
        return None

    def _on_ask_date(self, a: _Answer) -> list[Action] | None:
        if a.date is not None and a.intent in ("promise_to_pay", "affirm", "unknown", "negotiate"):
            return self._promise(a)
        if a.intent == "promise_to_pay" and a.amount is not None:
            self._set_amount(a.amount)
            return self._ask(State.ASK_DATE, self._question)
        if a.intent in ("deny", "cannot_pay"):
            return self._cannot_pay()
        if a.intent == "negotiate":
            return self._negotiate(a)
        return None

    def _on_ask_amount(self, a: _Answer) -> list[Action] | None:
        if a.amount is not None and a.amount > 0:
            self._set_amount(a.amount)
            if a.date is not None:
                return self._promise(a)
            return self._ask(State.ASK_DATE, [self._say("ask_date")])
        if a.intent == "promise_to_pay" and a.date is not None:
            return self._promise(a)
        if a.intent in ("deny", "cannot_pay"):
            return self._cannot_pay()
        if a.intent == "negotiate":
            return self._negotiate(a)
        return None

    def _on_confirm(self, a: _Answer) -> list[Action] | None:
        if a.intent == "affirm" and a.date in (None, self._promise_date):
            return self.closing.confirm_promise()
        if a.date is not None and a.intent in ("promise_to_pay", "deny", "affirm"):
            return self._promise(a)
        if a.intent == "deny":
            self._promise_date = None
            return self._ask(State.ASK_DATE, [self._say("readback_denied")])
        if a.intent == "cannot_pay":
            return self._cannot_pay()
        return None

    def _on_negotiate(self, a: _Answer) -> list[Action] | None:
        count = a.installments
        limit = self.closing.installments_limit()
        if count is not None:
            self.closing.requested_installment = a.amount if count >= 2 else None  # "três vezes de cem"
            if count > limit:
                return self._ask(State.NEGOTIATE, [self._say("negotiation_limit")])
            self._installments = count if count >= 2 else None
            self._promise_amount = None
            if a.date is not None:
                return self._promise(a)
            prompt = "ask_date_first_installment" if self._installments else "ask_date"
            return self._ask(State.ASK_DATE, [self._say(prompt)])
        if a.intent == "promise_to_pay":
            return self._promise(a)
        if a.intent in ("deny", "cannot_pay"):
            return self._no_deal("cannot_pay")
        return None

    def _on_offer_agent(self, a: _Answer) -> list[Action] | None:
        if a.intent == "affirm":
            return self._transfer(self._agent_reason)
        if a.intent in ("deny", "cannot_pay") and self._agent_reason == "verification_refused":
            assert self._position is not None
            return self._end(self._position, ["refuse_goodbye"])
        if a.intent in ("deny", "cannot_pay"):
            if self._position is not None:
                return self._end(self._position, ["goodbye"])
            return self._end(RecordOutcome("cannot_pay"), ["cannot_pay_ack", "goodbye"])
        if a.intent == "promise_to_pay" and self.identity_confirmed:
            return self._promise(a)
        return None

    def _callback(self, a: _Answer) -> list[Action]:
        if a.date is not None or a.time is not None:
            return self._schedule(a)
        return self._ask(State.CALLBACK, [self._say("ask_callback")])

    def _on_callback(self, a: _Answer) -> list[Action] | None:
        if a.date is not None or a.time is not None:
            return self._schedule(a)
        if a.intent in ("deny", "not_available"):
            return self._end(RecordOutcome("callback_scheduled", note="no day or time given"), ["callback_open"])
        return None

    def _when_words(self, when: date | datetime) -> str:
        """"amanhã, às dez horas", "sexta-feira, treze de março, à uma hora" (a year when it is not this one)."""
        from ivr.language import verbalize

        today = self.ctx.today
        day = when.date() if isinstance(when, datetime) else when
        parts = ["hoje" if day == today else "amanhã" if day == today + timedelta(days=1) else
                 verbalize.say_date(day, weekday=True, year=day.year != today.year)]
        if isinstance(when, datetime):
            parts.append(verbalize.say_time_at(when.time()))
        return ", ".join(parts)

    def _schedule(self, a: _Answer) -> list[Action]:
        """Book a callback, but only at a time the calling rules allow for this debtor; else offer the nearest."""
        when_date = a.date if a.date is not None and a.date >= self.ctx.today else None
        if when_date is None and a.time is None:
            return self._end(RecordOutcome("callback_scheduled", note="no day or time given"), ["callback_open"])
        at: date | datetime = when_date if when_date is not None else self.ctx.today
        if a.time is not None:
            at = datetime.combine(when_date or self.ctx.today, a.time)
        allowed = self._allowed_callback(at)
        if allowed is not None and allowed != at:
            self._callback_offer = allowed
            return self._ask(State.CALLBACK_CONFIRM, [self._say("callback_adjusted", quando=self._when_words(allowed))])
        record = RecordOutcome("callback_scheduled", callback_at=at)
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

    def _on_callback_confirm(self, a: _Answer) -> list[Action] | None:
        """"Nesse horário não posso ligar; posso ligar {quando}?" — yes books it, a new time is checked again."""
        if a.date is not None or a.time is not None:
            return self._schedule(a)
        if a.intent == "affirm" and self._callback_offer is not None:
            record = RecordOutcome("callback_scheduled", callback_at=self._callback_offer,
                                   note="the nearest time the calling rules allow")
            return self._end(record, ["callback_confirm"], quando=self._when_words(self._callback_offer))
        if a.intent == "deny":
            return self._ask(State.CALLBACK, [self._say("ask_callback")])
        return None

    def _dispute(self) -> list[Action]:
        self._position = RecordOutcome("dispute", note="debtor disputes the debt")
        self._agent_reason = "dispute"
        return self._ask(State.OFFER_AGENT, [self._say("offer_agent")], [self._say("dispute_ack")])

    def _cannot_pay(self) -> list[Action]:
        if not self._asked_amount and self._installments is None:
            self._asked_amount = True
            return self._ask(State.ASK_AMOUNT, [self._say("ask_amount")])
        return self._negotiate(None)

    def _negotiate(self, a: _Answer | None) -> list[Action]:
        """Installments per policy; when there are none to offer, an explicit request goes to a human."""
        if self.closing.installments_limit() >= 2 and self._installments is None:
            if a is not None and a.installments is not None:
                self.state = State.NEGOTIATE
                self._question = [self._say("negotiation_offer")]
                return self._on_negotiate(a) or self._ask(State.NEGOTIATE, self._question)
            return self._ask(State.NEGOTIATE, [self._say("negotiation_offer")])
        if a is not None and self.ctx.negotiation.allow_transfer:
            return self._transfer("negotiate")
        return self._no_deal("cannot_pay")

    def _no_deal(self, reason: str) -> list[Action]:
        """The offers do not fit: a human if the campaign allows, else a kind goodbye."""
        if self.ctx.negotiation.allow_transfer:
            self._agent_reason = reason
            return self._ask(State.OFFER_AGENT, [self._say("offer_agent_conditions")])
        return self._end(RecordOutcome("cannot_pay"), ["cannot_pay_ack", "goodbye"])

    def _set_amount(self, amount: Decimal) -> None:
        amount = _cents(amount)
        # A figure above the balance is most likely a misrecognition: hold to the balance.
        self._promise_amount = None if amount >= self.ctx.amount or amount <= 0 else amount

    def _installment_amount(self) -> Decimal:
        assert self._installments
        return _cents(self.ctx.amount / self._installments)

    def _promise(self, a: _Answer) -> list[Action]:
        if a.amount is not None and self._installments is None:
            self._set_amount(a.amount)
        if a.date is None:
            return self._ask(State.ASK_DATE, [self._say("ask_date")])
        if a.date > self.ctx.window_end:
            # Past what the bot may accept: the window's end, then the debtor's proposal (never cannot_pay).
            return self.closing.late_date(a.date)
        if self.closing.parts_pending:
            return self.closing.offer_split(tuple((d or a.date, amount) for d, amount in self.closing.parts_pending))
        if a.date < self.ctx.today:
            self._invalid_dates += 1
            if self._invalid_dates >= _MAX_INVALID_DATES:
                return self._no_deal("date_outside_window")
            prompt = "date_invalid_past" if a.date < self.ctx.today else "date_invalid_late"
            return self._ask(State.ASK_DATE, [self._say(prompt)])
        self._promise_date = a.date
        if self._installments:
            return self.closing.offer_installments(a.date)
        return self._ask(State.CONFIRM, [self._say("readback")])


def voicemail_message(ctx: CallContext, catalog: Catalog | None = None) -> Say:
    """The neutral message for an answering machine (no debt detail: anyone may hear it)."""
    catalog = catalog or load_catalog()
    first = ctx.debtor_name.split()[0] if ctx.debtor_name.split() else ctx.debtor_name
    r = catalog.render("voicemail", {"credor": ctx.creditor_name, "primeiro_nome": first}, seed=ctx.seed)
    if r.disclosure != "none":
        raise RuntimeError("the voicemail prompt must have disclosure \"none\"")
    return Say(r.prompt_id, r.text, False, r.disclosure, r.tts, r.variant, r.pause_after_ms)
