"""The dialog engine on a text channel: typed replies in, the bot's words out (``ivr simulate``).

A line of digits (``1``, ``0512``, ``9``) is keypad input; an empty line is silence; anything else is speech
heard with full confidence. The end of the input is the debtor hanging up. A simulated clock advances with
what is said so that the 6-second minimum call length is honoured the way a phone channel would.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from datetime import date, datetime
from decimal import Decimal
from typing import Any, Callable, Iterable, Iterator

from ivr.dialog.engine import (
    Action,
    CallContext,
    CallStarted,
    DialogEngine,
    Digit,
    Event,
    HangUp,
    Heard,
    HungUp,
    Listen,
    NoInput,
    Parser,
    RecordOutcome,
    RecordTurn,
    Say,
    Transfer,
)
from ivr.dialog.offers import PromisePlan
from ivr.flows import Flow
from ivr.language.prompts import Catalog
from ivr.payment.instructions import PaymentInstruction

SPEECH_CHARS_PER_S = 14.0
"""Rough pt-BR speaking rate, for the simulated clock."""
REPLY_S = 2.0


@dataclass
class SimulationResult:
    outcome: str
    promise_date: date | None = None
    promise_amount: Decimal | None = None
    installments: int | None = None
    callback_at: date | datetime | None = None
    transcript: list[dict[str, str]] = field(default_factory=list)
    actions: list[Action] = field(default_factory=list)
    duration_s: float = 0.0
    """Simulated call time in seconds, hang-up included."""
    protocol: str = ""
    """The call's protocol number (stored on the attempt by the call service)."""
    plan: PromisePlan | None = None
    """The promise's plan, or the debtor's proposal."""
    payment: PaymentInstruction | None = None

    def to_json(self) -> dict[str, Any]:
        """The ``ivr simulate --json`` contract: exactly these seven keys. ``promise_plan`` is a list of
        ``{"date", "amount"}`` (amount a string in reais, "315.00") or null; ``payment_instruction`` is
        ``{"method", "channel", "payload"}`` or null."""
        return {
            "outcome": self.outcome,
            "promise_date": self.promise_date.isoformat() if self.promise_date else None,
            "promise_amount": float(self.promise_amount) if self.promise_amount is not None else None,
            "transcript": self.transcript,
            "protocol": self.protocol,
            "promise_plan": self.plan.to_json() if self.plan is not None else None,
            "payment_instruction": self.payment.to_json() if self.payment is not None else None,
        }


def event_for_line(line: str, at: float) -> Event:
    """One typed reply as the event a phone channel would produce."""
    text = line.rstrip("\r\n")
    if not text.strip():
        return NoInput(at)
    if re.fullmatch(r"\s*[0-9*#]+\s*", text):
        return Digit(text.strip(), at)
    return Heard(text.strip(), 1.0, at)


class TextChannel:
    """Drives one engine from a source of lines; ``on_action`` sees every action (the interactive chat prints)."""

    def __init__(self, engine: DialogEngine, on_action: Callable[[Action], None] | None = None) -> None:
        self.engine = engine
        self.clock = 0.0
        self.actions: list[Action] = []
        self._on_action = on_action

    def _run(self, actions: list[Action]) -> None:
        for action in actions:
            if isinstance(action, Say):
                self.clock += len(action.text) / SPEECH_CHARS_PER_S + action.pause_after_ms / 1000
            elif isinstance(action, HangUp):
                self.clock = max(self.clock, action.not_before_s)
            self.actions.append(action)
            if self._on_action:
                self._on_action(action)

    def run(self, lines: Iterable[str]) -> SimulationResult:
        self._run(self.engine.handle(CallStarted(self.clock)))
        replies: Iterator[str] = iter(lines)
        while not self.engine.done:
            listen = next((a for a in reversed(self.actions) if isinstance(a, Listen)), None)
            try:
                line = next(replies)
            except StopIteration:
                self._run(self.engine.handle(HungUp(self.clock)))
                break
            event = event_for_line(line, self.clock)
            self.clock += listen.timeout_s if isinstance(event, NoInput) and listen else REPLY_S
            self._run(self.engine.handle(event))
        return self.result()

    def result(self) -> SimulationResult:
        outcome = next((a for a in self.actions if isinstance(a, RecordOutcome)), RecordOutcome("hung_up"))
        transcript = [{"speaker": a.speaker, "text": a.text} for a in self.actions if isinstance(a, RecordTurn)]
        return SimulationResult(
            outcome.outcome,
            outcome.promise_date,
            outcome.promise_amount,
            outcome.installments,
            outcome.callback_at,
            transcript,
            list(self.actions),
            self.clock,
            outcome.protocol or self.engine.ctx.call_protocol,
            outcome.plan,
            outcome.payment,
        )


def simulate(
    ctx: CallContext,
    lines: Iterable[str],
    catalog: Catalog | None = None,
    parser: Parser | None = None,
    flow: Flow | None = None,
) -> SimulationResult:
    """Run one whole call from typed replies (``flow``: the default flow when None)."""
    return TextChannel(DialogEngine(ctx, catalog, parser, flow=flow)).run(lines)


def describe(action: Action) -> str | None:
    """How the interactive chat shows an action; None for those it keeps quiet about."""
    if isinstance(action, Say):
        return f"bot: {action.text}"
    if isinstance(action, Transfer):
        return f"[transfer to a human: {action.reason}]"
    if isinstance(action, HangUp):
        return "[bot hangs up]"
    if isinstance(action, RecordOutcome):
        extra = [
            f"{k}={v}"
            for k, v in (
                ("date", action.promise_date),
                ("amount", action.promise_amount),
                ("installments", action.installments),
                ("callback", action.callback_at),
                ("note", action.note),
            )
            if v
        ]
        if action.plan is not None:
            extra.append("plan=" + ",".join(f"{i.date.isoformat()}:{i.amount}" for i in action.plan.items))
        if action.payment is not None:
            extra.append(f"payment={action.payment.method}/{action.payment.channel}")
        return f"[outcome: {action.outcome}{' ' + ' '.join(extra) if extra else ''}]"
    return None
