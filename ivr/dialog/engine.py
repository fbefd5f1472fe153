"""The dialog engine: a pure state machine for one reminder call (events in, actions out, no I/O, no clock).

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

import enum
import re
from dataclasses import dataclass, field
from datetime import date, datetime, time, timedelta
from decimal import ROUND_HALF_UP, Decimal
from typing import Any, Callable, Literal, Protocol

from ivr.language.prompts import Catalog, load_catalog
from ivr.vocabulary import DIALOG_OUTCOMES

MIN_CALL_S = 6.0
"""Seconds: the shortest an answered call may last (Anatel)."""

OUTCOMES: tuple[str, ...] = tuple(str(o) for o in DIALOG_OUTCOMES)

# Every prompt the engine can say; `ivr prompts check` fails when the catalog lacks one.
PROMPT_IDS = (
    "greeting", "recording_notice", "ask_identity", "identity_reconfirm", "ask_verification_birth_year",
    "ask_verification_cpf3", "verification_retry", "verification_failed", "disclosure", "offer_pay", "ask_date",
    "ask_date_first_installment", "date_invalid_past", "date_invalid_late", "ask_amount", "readback",
    "readback_installments", "readback_denied", "promise_thanks", "negotiation_offer", "negotiation_limit",
    "offer_agent", "offer_agent_conditions", "cannot_pay_ack", "already_paid_thanks", "dispute_ack", "transfer",
    "ask_callback", "callback_confirm", "callback_open", "opt_out_confirm", "wrong_person", "not_available",
    "voicemail", "repeat_intro", "no_input", "no_match", "keypad_menu", "keypad_date", "keypad_number",
    "goodbye", "goodbye_no_response",
)


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
    promise_date: date | None = None
    promise_amount: Decimal | None = None
    installments: int | None = None
    callback_at: date | datetime | None = None
    """A datetime when the debtor named a time, a date when only the day."""
    note: str = ""


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


Parser = Callable[[str, date], Understanding]


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


class State(enum.Enum):
    START = "start"
    IDENTITY = "identity"
    VERIFY = "verify"
    OFFER = "offer"
    ASK_DATE = "ask_date"
    ASK_AMOUNT = "ask_amount"
    CONFIRM = "confirm"
    NEGOTIATE = "negotiate"
    OFFER_AGENT = "offer_agent"
    CALLBACK = "callback"
    DONE = "done"


_DEBT_INTENTS = {"promise_to_pay", "already_paid", "cannot_pay", "negotiate", "dispute"}
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
        self._position: RecordOutcome | None = None  # kept if the caller hangs up (docs/ARCHITECTURE.md, "The conversation")
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
            return _Answer("unknown", text=event.text), event.confidence
        r = self._parse(event.text, self.ctx.today)
        answer = _Answer(r.intent, r.date, r.amount, r.installments, r.time, text=event.text)
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
        """Digits said aloud: "um nove oito zero", "mil novecentos e oitenta", "1980"."""
        from ivr.language import numbers  # lazy, like the NLU

        dictated = numbers.words_to_digits(text)
        if dictated:
            return dictated
        whole = numbers.words_to_number(text)
        if whole is not None:
            return str(whole)
        if amount is not None and amount == amount.to_integral_value():
            return str(int(amount))
        return "".join(re.findall(r"\d", text))

    def _from_digits(self, digits: str) -> _Answer:
        digits = digits.strip().rstrip("#")
        if digits == "9" and self.state not in (State.VERIFY,):
            return _Answer("agent", digits=digits)
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
        ctx = self.ctx
        values: dict[str, Any] = {
            "nome": ctx.debtor_name,
            "primeiro_nome": ctx.debtor_name.split()[0] if ctx.debtor_name.split() else ctx.debtor_name,
            "credor": ctx.creditor_name,
            "valor": self._promise_amount if self._promise_amount is not None else ctx.amount,
            "vencimento": ctx.due_date,
            "data_limite": ctx.window_end,
            "parcelas": ctx.negotiation.max_installments,
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
        if self.state is State.NEGOTIATE:
            return Listen(["duas vezes", "três vezes", "quatro vezes", "à vista", "não", "atendente"], timeout, 2)
        if self.state is State.CALLBACK:
            return Listen(["amanhã", "hoje", "de manhã", "à tarde", "às", "horas", "segunda", "sexta"], timeout, 4)
        if self.state is State.IDENTITY:
            return Listen(["sim", "sou eu", "é ela", "é ele", "não", "não está", "número errado", "atendente"],
                          timeout, 1)
        return Listen(_YES_NO_HINTS, timeout, max_digits=1)

    def _end(self, record: RecordOutcome, prompts: list[str], **extra: Any) -> list[Action]:
        self.state = State.DONE
        self.outcome = record
        return [*self._spoken([self._say(p, **extra) for p in prompts]), record, HangUp(MIN_CALL_S)]

    def _transfer(self, reason: str) -> list[Action]:
        self.state = State.DONE
        position = self._position
        record = position if position is not None else RecordOutcome("transferred", note=reason)
        if position is not None:
            record = RecordOutcome(position.outcome, position.promise_date, position.promise_amount,
                                   position.installments, position.callback_at,
                                   f"{position.note}; transferred ({reason})".lstrip("; "))
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
        if intent == "callback" and self.state is not State.CALLBACK:
            return self._callback(a)
        if self.identity_confirmed and self.state is not State.CALLBACK:
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
        }[self.state]
        actions = handler(a)
        if actions is None:
            return self._failure("no_match")
        self._failures = 0
        return actions

    def _failure(self, kind: Literal["no_input", "no_match"]) -> list[Action]:
        """Two reprompts, then the keypad menu, then a polite goodbye."""
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
        return self._end(RecordOutcome("no_response"), ["goodbye_no_response"])

    def _repeat(self) -> list[Action]:
        return [*self._spoken([self._say("repeat_intro"), *self._last_turn]), self._listen()]

    def _on_identity(self, a: _Answer) -> list[Action] | None:
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
        return None

    def _identity_confirmed(self) -> list[Action]:
        if self.ctx.verification:
            self.state = State.VERIFY
            return self._ask(State.VERIFY, [self._say(f"ask_verification_{self.ctx.verification}")])
        return self._disclose()

    def _on_verify(self, a: _Answer) -> list[Action] | None:
        if not a.digits:
            return None
        if a.digits == re.sub(r"\D", "", self.ctx.verification_answer):
            return self._disclose()
        self._verify_failures += 1
        if self._verify_failures >= 2:
            return self._end(RecordOutcome("wrong_party", note="verification failed"), ["verification_failed"])
        return self._ask(State.VERIFY, self._question, [self._say("verification_retry")])

    def _disclose(self) -> list[Action]:
        self.identity_confirmed = True
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
            amount = self._promise_amount
            if amount is None:
                amount = self._installment_amount() if self._installments else self.ctx.amount
            note = f"first of {self._installments} installments" if self._installments else \
                ("partial amount" if self._promise_amount is not None else "")
            record = RecordOutcome("promise_to_pay", self._promise_date, amount, self._installments, note=note)
            self._position = record
            return self._end(record, ["promise_thanks", "goodbye"])
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
        limit = self.ctx.negotiation.max_installments
        if count is not None:
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

    def _schedule(self, a: _Answer) -> list[Action]:
        from ivr.language import verbalize

        when_date = a.date if a.date is not None and a.date >= self.ctx.today else None
        parts: list[str] = []
        if when_date is not None:
            parts.append("hoje" if when_date == self.ctx.today else
                         "amanhã" if when_date == self.ctx.today + timedelta(days=1) else
                         verbalize.say_date(when_date, weekday=True))
        if a.time is not None:
            spoken = verbalize.say_time(a.time)
            article = "ao " if a.time.hour == 12 else "à " if a.time.hour in (0, 1) else "às "
            parts.append(article + spoken)
        at: date | datetime | None = when_date
        if a.time is not None:
            at = datetime.combine(when_date or self.ctx.today, a.time)
        if not parts:
            return self._end(RecordOutcome("callback_scheduled", note="no day or time given"), ["callback_open"])
        record = RecordOutcome("callback_scheduled", callback_at=at)
        return self._end(record, ["callback_confirm"], quando=", ".join(parts))

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
        if self.ctx.negotiation.max_installments >= 2 and self._installments is None:
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
        if a.date < self.ctx.today or a.date > self.ctx.window_end:
            self._invalid_dates += 1
            if self._invalid_dates >= _MAX_INVALID_DATES:
                return self._no_deal("date_outside_window")
            prompt = "date_invalid_past" if a.date < self.ctx.today else "date_invalid_late"
            return self._ask(State.ASK_DATE, [self._say(prompt)])
        self._promise_date = a.date
        if self._installments:
            return self._ask(State.CONFIRM, [self._say("readback_installments")])
        return self._ask(State.CONFIRM, [self._say("readback")])


def voicemail_message(ctx: CallContext, catalog: Catalog | None = None) -> Say:
    """The neutral message for an answering machine (no debt detail: anyone may hear it)."""
    catalog = catalog or load_catalog()
    first = ctx.debtor_name.split()[0] if ctx.debtor_name.split() else ctx.debtor_name
    r = catalog.render("voicemail", {"credor": ctx.creditor_name, "primeiro_nome": first}, seed=ctx.seed)
    if r.disclosure != "none":
        raise RuntimeError("the voicemail prompt must have disclosure \"none\"")
    return Say(r.prompt_id, r.text, False, r.disclosure, r.tts, r.variant, r.pause_after_ms)
