"""Closing the deal inside the dialog: offers by policy, the debtor's own split or proposal, how to pay.

A companion of ``DialogEngine`` (it drives the engine's states and helpers: ``_ask``, ``_say``, ``_end``...),
kept apart so the engine's file stays about the conversation's skeleton. The arithmetic is ``ivr.dialog.offers`` (pure);
the words are prompts of the catalog; what the debtor said about terms is ``ivr.language.terms``.

- a discount request → the lump-sum price the policy allows (``offer_lump_sum``), or "no discount here"
  and a person;
- installments → ``offers.installment_plan`` (minimum installment, down payment, remainder cents on the
  first payment) read back as a plan; figures the policy cannot meet ("três de cem" on R$ 350) are said
  plainly and go to a person as the debtor's proposal, never silently replaced;
- "metade", "metade agora e o resto mês que vem", "150 dia 10 e 150 dia 20" → a partial plan, read back,
  or a person when the policy forbids it;
- a date past the promise window → the debtor's proposal (outcome ``proposal``, reviewed by a person);
- after a promise: how to pay (PIX BR Code, boleto line, payment link) and where to send it (SMS,
  WhatsApp, e-mail), written as a payment instruction for the outbox; the debtor may ask for it at any
  time after identity;
- the reminder flow (before the due date): "vence na sexta-feira..." and "posso contar com o pagamento?".
"""

from __future__ import annotations

import dataclasses
from datetime import date
from decimal import Decimal
from typing import TYPE_CHECKING, Any

from ivr.dialog.offers import (
    Balance,
    OfferType,
    PlanItem,
    PromisePlan,
    Refusal,
    RefusalReason,
    add_months,
    discount_quote,
    installment_plan,
    lump_sum,
    most_installments,
    partial_plan,
    proposal,
    resolve_parts,
)
from ivr.payment.instructions import PaymentInstruction, build_instruction, channels_for, methods_for
from ivr.vocabulary import ReviewReason

if TYPE_CHECKING:
    from ivr.dialog.engine import Action, DialogEngine, RecordOutcome, _Answer

CLOSING_PROMPT_IDS = (
    "offer_lump_sum",
    "no_discount",
    "readback_plan",
    "installments_mismatch",
    "partial_not_allowed",
    "proposal_offer",
    "proposal_recorded",
    "ask_channel",
    "payment_sent",
    "payment_not_sent",
    "payment_noted",
    "reminder_ask",
    "ask_date_down_payment",
)
"""Prompts this module says; `ivr prompts check` requires them in the catalog."""

METHOD_WORDS = {"pix": "o código PIX", "boleto": "a linha digitável do boleto", "link": "o link de pagamento"}
CHANNEL_WORDS = {"whatsapp": "WhatsApp", "sms": "SMS", "email": "e-mail"}
CHANNEL_HINTS = ["whatsapp", "zap", "sms", "mensagem", "e-mail", "sim", "não", "atendente"]


def _amount(value: Decimal) -> str:
    from ivr.language import verbalize

    return verbalize.say_amount(value)


def _day(d: date, today: date) -> str:
    from ivr.language import verbalize

    if d == today:
        return "hoje"
    return verbalize.say_date(d, weekday=True, year=d.year != today.year)


def speak_plan(plan: PromisePlan, today: date) -> str:
    """A plan in words, e.g. "uma entrada de setenta reais e um centavo hoje, e mais três parcelas de noventa
    e três reais e trinta e três centavos, a primeira em ..., todo dia cinco"."""
    from ivr.language import verbalize

    items = plan.items
    if plan.offer is OfferType.INSTALLMENTS:
        rest = plan.installments
        monthly = f"todo dia {verbalize.number_to_words(rest[-1].date.day)}"
        if plan.down_payment:
            return (
                f"uma entrada de {_amount(items[0].amount)} {_when(items[0].date, today)}, e mais "
                f"{verbalize.say_installments(len(rest))} de {_amount(rest[-1].amount)}, {monthly}"
            )
        if rest[0].amount != rest[-1].amount:
            return (
                f"{verbalize.say_installments(len(rest))}: a primeira de {_amount(rest[0].amount)} "
                f"{_when(rest[0].date, today)}, e as outras de {_amount(rest[-1].amount)}, {monthly}"
            )
        return (
            f"{verbalize.say_installments(len(rest))} de {_amount(rest[0].amount)}, a primeira "
            f"{_when(rest[0].date, today)}, {monthly}"
        )
    parts = [f"{_amount(i.amount)} {_when(i.date, today)}" for i in items]
    return parts[0] if len(parts) == 1 else ", ".join(parts[:-1]) + " e " + parts[-1]


def _when(d: date, today: date) -> str:
    """ "hoje", "amanhã", "na sexta-feira, quatro de dezembro", "no sábado, cinco de dezembro"."""
    return due_words(d, today)


def due_words(due: date, today: date) -> str:
    """ "na sexta-feira, cinco de dezembro" / "no sábado, seis de dezembro" / "hoje" / "amanhã"."""
    from datetime import timedelta

    if due == today:
        return "hoje"
    if due == today + timedelta(days=1):
        return "amanhã"
    article = "no" if due.weekday() >= 5 else "na"
    return f"{article} {_day(due, today)}"


class Closing:
    """Offer, plan, proposal and payment states of one ``DialogEngine`` (see the module docstring)."""

    def __init__(self, engine: DialogEngine) -> None:
        self.e = engine
        self._channel_options: list[str] = []
        self._plan: PromisePlan | None = None
        self._method: str | None = None
        self._channel: str | None = None
        self.parts_pending: tuple[tuple[date | None, Any], ...] = ()
        self.requested_installment: Decimal | None = None
        self._proposed: PromisePlan | None = None
        self._late: date | None = None  # a date past the window, already answered with the window's end

    # --- what the policy and the debtor allow ----------------------------------------

    def balance(self) -> Balance:
        return Balance(self.e.ctx.amount, min(self.e.ctx.charges, self.e.ctx.amount))

    def installments_limit(self) -> int:
        """The most installments the campaign allows for this balance (the minimum installment included)."""
        offer = dataclasses.replace(self.e.ctx.offers.installments, max=self.e.ctx.negotiation.max_installments)
        return most_installments(self.balance(), offer) if offer.max >= 2 else 1

    def methods(self) -> list[str]:
        return methods_for(self.e.ctx.payment, self.e.ctx.payment_data)

    def channels(self) -> list[str]:
        return channels_for(self.e.ctx.payment, self.e.ctx.mobile, self.e.ctx.payment_data)

    # --- the hook in every answer after identity ----------------------------------------

    def derive_intent(self, a: _Answer) -> str | None:
        """After identity, the payment terms in an answer as a flow intent: ``ask_discount`` ("tem desconto?"),
        ``split_payment`` ("metade", "150 dia 10 e 150 dia 20"), ``payment_method`` ("manda o pix no zap").
        The method and channel named are remembered for the payment step either way."""
        from ivr.dialog.engine import State

        terms = a.terms
        if (
            terms is None
            or not self.e.identity_confirmed
            or self.e.state in (State.VERIFY, State.HOLD, State.CALLBACK, State.CALLBACK_CONFIRM, State.PAY_CHANNEL)
        ):
            return None
        if terms.method in self.methods():
            self._method = terms.method
        if terms.channel in self.channels():
            self._channel = terms.channel
        if a.intent in ("deny", "opt_out", "dispute", "already_paid", "agent"):
            return None
        if terms.discount and a.installments is None and self.e.state != State.PLAN_CONFIRM:
            return "ask_discount"
        if terms.split:
            return "split_payment"
        if (
            (terms.method or terms.channel)
            and a.installments is None
            and (a.date is None or self.e.state in (State.CONFIRM, State.PLAN_CONFIRM))
        ):
            return "payment_method"
        return None

    def act_payment_method(self, a: _Answer) -> list[Action]:
        """ "Quero pagar no pix", "me manda o boleto pelo whatsapp": at a read-back it is a yes; before a
        promise it is noted and the date is asked."""
        from ivr.dialog.engine import State

        if self.e.state == State.CONFIRM:
            return self.confirm_promise()
        if self.e.state == State.PLAN_CONFIRM and self._plan is not None:
            return self.plan_confirmed()
        method = self._method or next(iter(self.methods()), None)
        lead = [self.e._say("payment_noted", metodo=METHOD_WORDS[method])] if method else []
        return self.e._ask(State.ASK_DATE, [self.e._say("ask_date")], lead)

    def date_accepted(self) -> None:
        """A date inside the window was given: an earlier late date is no longer the debtor's last word."""
        self._late = None

    def late_pending(self) -> bool:
        """A late date was answered with the window's end and no other date came yet."""
        return self._late is not None

    def propose_late(self) -> list[Action]:
        """ "Não dá" after the window's end was offered: the late date is the debtor's proposal."""
        assert self._late is not None
        return self.propose([(self._late, self.e.ctx.amount)])

    # --- offers ----------------------------------------------------------------------

    def offer_lump_sum(self, pay_on: date | None) -> list[Action]:
        from ivr.dialog.engine import State

        ctx = self.e.ctx
        quote = discount_quote(self.balance(), ctx.offers.lump_sum, ctx.today, ctx.promise_window_days)
        if pay_on is not None and not isinstance(quote, Refusal):
            quote = lump_sum(self.balance(), ctx.offers.lump_sum, ctx.today, ctx.promise_window_days, pay_on)
        if isinstance(quote, Refusal):
            if quote.reason is RefusalReason.DATE_OUTSIDE_WINDOW and pay_on is not None:
                return self.propose([(pay_on, ctx.amount)])
            if quote.reason is RefusalReason.DATE_PAST:
                return self.e._ask(State.ASK_DATE, [self.e._say("date_invalid_past")])
            # No discount in this campaign: said plainly, and a person may look at it.
            return self.offer_person("negotiate", [self.e._say("no_discount")])
        self.e._promise_date = quote.first.date
        if quote.discount == 0:
            # Past the discount's deadline but inside the window: the full balance, read back as usual.
            self._plan = None
            return self.e._ask(State.CONFIRM, [self.e._say("readback")])
        self._plan = quote
        return self.e._ask(
            State.PLAN_CONFIRM,
            [self.e._say("offer_lump_sum", valor_oferta=quote.total, desconto=quote.discount, data=quote.first.date)],
        )

    def offer_installments(self, first_date: date) -> list[Action]:
        from ivr.dialog.engine import State

        ctx = self.e.ctx
        count = self.e._installments or 2
        offer = dataclasses.replace(ctx.offers.installments, max=ctx.negotiation.max_installments)
        quote = installment_plan(
            self.balance(),
            offer,
            count,
            first_date,
            ctx.today,
            ctx.promise_window_days,
            requested_amount=self.requested_installment,
        )
        if isinstance(quote, Refusal):
            if quote.reason is RefusalReason.DATE_OUTSIDE_WINDOW:
                return self.propose([(first_date, ctx.amount)])
            if quote.reason in (RefusalReason.BELOW_MINIMUM, RefusalReason.TOO_MANY_INSTALLMENTS):
                self.e._installments = None
                return self.e._ask(State.NEGOTIATE, [self.e._say("negotiation_limit")])
            if quote.reason is RefusalReason.AMOUNT_MISMATCH and self.requested_installment is not None:
                asked = self.requested_installment
                good = installment_plan(self.balance(), offer, count, first_date, ctx.today, ctx.promise_window_days)
                terms = [(add_months(first_date, n), asked) for n in range(count)]
                plan_words = speak_plan(good, ctx.today) if isinstance(good, PromisePlan) else ""
                return self.offer_person(
                    "installments_mismatch",
                    [self.e._say("installments_mismatch", plano=plan_words)],
                    proposed=proposal(self.balance(), terms),
                )
            return self.offer_person("negotiate", [self.e._say("offer_agent_conditions")], question=False)
        self._plan = quote
        self.e._promise_date = quote.first.date
        if not quote.down_payment and len({i.amount for i in quote.items}) == 1:
            # Equal installments: the plain readback ("três parcelas de X, a primeira até Y").
            return self.e._ask(State.PLAN_CONFIRM, [self.e._say("readback_installments")])
        return self.e._ask(State.PLAN_CONFIRM, [self.e._say("readback_plan", plano=speak_plan(quote, ctx.today))])

    def offer_split(self, parts: tuple[tuple[date | None, Any], ...]) -> list[Action]:
        """The debtor's own split; a part without a date waits for one (asked next)."""
        from ivr.dialog.engine import State

        ctx = self.e.ctx
        if any(d is None for d, _ in parts):
            self.parts_pending = parts
            return self.e._ask(State.ASK_DATE, [self.e._say("ask_date")])
        self.parts_pending = ()
        dated = tuple((d, amount) for d, amount in parts if d is not None)
        horizon = 31 * max(self.installments_limit(), 1)
        quote = partial_plan(
            self.balance(), ctx.offers.partial, dated, ctx.today, ctx.promise_window_days, horizon_days=horizon
        )
        if isinstance(quote, Refusal):
            if quote.reason is RefusalReason.DATE_PAST:
                return self.e._ask(State.ASK_DATE, [self.e._say("date_invalid_past")])
            # The debtor's own parts are their proposal ("150 dia 10 e 150 dia 20" stays 150 + 150).
            ordered = sorted(dated, key=lambda p: p[0])
            terms = list(zip((d for d, _ in ordered), resolve_parts(self.balance(), [a for _, a in ordered])))
            if quote.reason is RefusalReason.DATE_OUTSIDE_WINDOW:
                return self.propose(terms, keep_amounts=True)
            return self.offer_person(
                "partial", [self.e._say("partial_not_allowed")], proposed=proposal(self.balance(), terms)
            )
        self._plan = quote
        self.e._promise_date = quote.first.date
        return self.e._ask(State.PLAN_CONFIRM, [self.e._say("readback_plan", plano=speak_plan(quote, ctx.today))])

    def offer_person(
        self, reason: str, lead: list[Any], proposed: PromisePlan | None = None, question: bool = True
    ) -> list[Action]:
        """What the policy cannot meet goes to a person (transfer, if the campaign allows); the debtor's terms
        are kept as a proposal so nothing they said is lost."""
        from ivr.dialog.engine import RecordOutcome, State

        if proposed is not None:
            self.e._position = RecordOutcome(
                "proposal",
                proposed.first.date,
                proposed.first.amount,
                note=f"debtor's terms ({reason})",
                review=ReviewReason.PROPOSAL,
                plan=proposed,
            )
        if not self.e.ctx.negotiation.allow_transfer:
            record = self.e._position or RecordOutcome("cannot_pay", note=reason)
            return self.e._end(record, ["proposal_recorded" if proposed else "cannot_pay_ack", "goodbye"])
        self.e._agent_reason = reason
        ask = [self.e._say("offer_agent")] if question else []
        if not ask:
            return self.e._ask(State.OFFER_AGENT, lead)
        return self.e._ask(State.OFFER_AGENT, ask, lead)

    # --- the debtor's proposal (past the window) ----------------------------------------

    def late_date(self, when: date) -> list[Action]:
        """A date past the window: first the window's end is offered; a second late date (or "não dá")
        becomes the debtor's proposal, for a person to decide. Never ``cannot_pay``."""
        from ivr.dialog.engine import State

        if self._late is None:
            self._late = when
            return self.e._ask(State.ASK_DATE, [self.e._say("date_invalid_late")])
        self._late = when
        return self.propose([(when, self.e.ctx.amount)])

    def propose(self, parts: list[tuple[date, Decimal]], keep_amounts: bool = False) -> list[Action]:
        """Ask to keep ``parts`` as the debtor's proposal; unless ``keep_amounts``, an amount the debtor said
        earlier replaces the first part's."""
        from ivr.dialog.engine import State

        said = self.e._promise_amount
        amount = said if said is not None and not keep_amounts else parts[0][1]
        self._proposed = proposal(self.balance(), [(parts[0][0], amount), *parts[1:]])
        self.e._promise_date = None
        return self.e._ask(State.PROPOSAL_CONFIRM, [self.e._say("proposal_offer", data=parts[0][0])])

    def on_proposal_confirm(self, a: _Answer) -> list[Action] | None:
        from ivr.dialog.engine import RecordOutcome, State

        proposed = self._proposed
        assert proposed is not None
        if a.intent == "affirm":
            record = RecordOutcome(
                "proposal",
                proposed.first.date,
                proposed.first.amount,
                note="date past the promise window",
                review=ReviewReason.PROPOSAL,
                plan=proposed,
            )
            self.e._position = record
            return self.e._end(record, ["proposal_recorded", "goodbye"])
        if a.date is not None:
            return self.e._promise(a)
        if a.intent in ("deny", "negotiate"):
            self._proposed = None
            return self.e._ask(State.ASK_DATE, [self.e._say("ask_date")])
        return None

    # --- confirming a plan, then how to pay -----------------------------------------

    def on_plan_confirm(self, a: _Answer) -> list[Action] | None:
        from ivr.dialog.engine import State

        plan = self._plan
        assert plan is not None
        if a.intent == "affirm" and a.date in (None, plan.first.date):
            return self.plan_confirmed()
        if a.date is not None and a.intent in ("promise_to_pay", "affirm", "deny", "unknown"):
            if plan.offer is OfferType.LUMP_SUM and plan.discount > 0:
                return self.offer_lump_sum(a.date)
            if plan.offer is OfferType.INSTALLMENTS:
                return (
                    self.offer_installments(a.date)
                    if a.date <= self.e.ctx.window_end
                    else self.propose([(a.date, self.e.ctx.amount)])
                )
            self._plan = None
            return self.e._promise(a)
        if a.intent == "deny":
            self._plan, self.e._promise_date = None, None
            return self.e._ask(State.ASK_DATE, [self.e._say("readback_denied")])
        if a.intent == "negotiate":
            self._plan = None
            return self.e._act_negotiate(a)
        if a.intent == "cannot_pay":
            self._plan = None
            return self.e._act_cannot_pay(a)
        return None

    def confirm_promise(self) -> list[Action]:
        """The simple readback ("R$ X até sexta") was confirmed: its plan, then how to pay."""
        ctx = self.e.ctx
        assert self.e._promise_date is not None
        if self.e._promise_amount is not None:
            quote = partial_plan(
                self.balance(),
                ctx.offers.partial,
                [(self.e._promise_date, self.e._promise_amount)],
                ctx.today,
                ctx.promise_window_days,
            )
            if isinstance(quote, Refusal):
                return self.offer_person(
                    "partial",
                    [self.e._say("partial_not_allowed")],
                    proposed=proposal(self.balance(), [(self.e._promise_date, self.e._promise_amount)]),
                )
            self._plan = quote
        else:
            self._plan = PromisePlan(OfferType.LUMP_SUM, (PlanItem(self.e._promise_date, ctx.amount),), ctx.amount)
        return self.plan_confirmed()

    def plan_confirmed(self) -> list[Action]:
        from ivr.dialog.engine import RecordOutcome, State

        plan = self._plan
        assert plan is not None
        count = len(plan.installments) if plan.offer is OfferType.INSTALLMENTS else None
        note = {
            OfferType.INSTALLMENTS: f"plan: {count} installments"
            + (" after a down payment" if plan.down_payment else ""),
            OfferType.PARTIAL: "plan: partial" if len(plan.items) == 1 else f"plan: {len(plan.items)} parts",
        }.get(plan.offer, "plan: lump sum" + (f", discount {plan.discount}" if plan.discount else ""))
        record = RecordOutcome("promise_to_pay", plan.first.date, plan.first.amount, count, note=note, plan=plan)
        self.e._position = record
        methods, channels = self.methods(), self.channels()
        if not methods or not channels:
            return self.e._end(record, ["promise_thanks", "goodbye"])
        method = self._method if self._method in methods else methods[0]
        self._method = method
        if self._channel in channels:
            return self.send(record, method, self._channel)
        options = channels[:2]
        where = " ou ".join(CHANNEL_WORDS[c] for c in options)
        phone_channels = [c for c in options if c != "email"]
        if phone_channels:
            where = (
                f"por {where}, no número final {self.final_digits()}"
                if len(phone_channels) == len(options)
                else f"por {where}"
            )
        else:
            where = "por e-mail, no endereço cadastrado"
        self._channel_options = options
        return self.e._ask(State.PAY_CHANNEL, [self.e._say("ask_channel", metodo=METHOD_WORDS[method], onde=where)])

    def final_digits(self) -> str:
        from ivr.language import verbalize

        return verbalize.say_digits(self.e.ctx.phone_e164[-4:]) if self.e.ctx.phone_e164 else ""

    def on_pay_channel(self, a: _Answer) -> list[Action] | None:
        record = self.e._position
        assert record is not None and self._method is not None
        options = self._channel_options or self.channels()
        chosen: str | None = None
        if a.terms is not None and a.terms.channel in self.channels():
            chosen = a.terms.channel
        elif a.intent in ("affirm", "promise_to_pay"):
            chosen = options[0]  # "sim", "pode ser", key 1: the first option offered
        if chosen is not None:
            return self.send(record, self._method, chosen)
        if a.intent in ("deny", "cannot_pay"):
            return self.e._end(record, ["payment_not_sent", "goodbye"])
        return None

    def send(self, record: RecordOutcome, method: str, channel: str) -> list[Action]:
        plan = self._plan
        assert plan is not None
        ctx = self.e.ctx
        instruction: PaymentInstruction = build_instruction(
            ctx.payment,
            method,
            channel,
            plan.first.amount,
            plan.first.date,
            ctx.phone_e164,
            ctx.payment_data,
            ctx.call_protocol,
        )
        record = dataclasses.replace(record, payment=instruction)
        self.e._position = record
        where = f"por {CHANNEL_WORDS[channel]}" + (
            f", no número final {self.final_digits()}" if channel != "email" else ", no e-mail cadastrado"
        )
        return self.e._end(
            record,
            ["payment_sent", "promise_thanks", "goodbye"],
            metodo=METHOD_WORDS[method],
            valor=plan.first.amount,
            meio=where,
        )

    # --- the reminder flow (before the due date) ----------------------------------------

    def on_reminder(self, a: _Answer) -> list[Action]:
        """Yes to "posso contar com o pagamento até lá?": the balance on the due date, then how to pay."""
        ctx = self.e.ctx
        if a.date is not None and a.date != ctx.due_date:
            return self.e._act_promise(a)
        self._plan = PromisePlan(OfferType.LUMP_SUM, (PlanItem(max(ctx.due_date, ctx.today), ctx.amount),), ctx.amount)
        return self.plan_confirmed()
