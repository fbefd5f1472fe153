"""Whole conversations through the engine, one per path of the call flow (docs/ARCHITECTURE.md outcomes)."""

from __future__ import annotations

from datetime import date, datetime
from decimal import Decimal

import pytest

from ivr.dialog.engine import (
    MIN_CALL_S,
    CallStarted,
    DialogEngine,
    Digit,
    HangUp,
    Heard,
    HungUp,
    Listen,
    NegotiationPolicy,
    NoInput,
    RecordOutcome,
    Say,
    Transfer,
    ddmm_to_date,
)
from tests.dialog.conftest import Talk
from tests.dialog.helpers import AMOUNT, TODAY, bot_lines, make_ctx, said


def test_right_party_promise_by_voice(talk: Talk) -> None:
    r = talk(["sim, sou eu", "consigo sim", "dia 15", "isso mesmo"])
    assert (r.outcome, r.promise_date, r.promise_amount) == ("promise_to_pay", date(2026, 3, 15), AMOUNT)
    assert said(r) == [
        "greeting",
        "recording_notice",
        "ask_identity",
        "disclosure",
        "offer_pay",
        "ask_date",
        "readback",
        "promise_thanks",
        "goodbye",
    ]
    readback = bot_lines(r)[6]
    assert "mil duzentos e trinta e quatro reais e cinquenta e seis centavos" in readback
    assert "quinze de março" in readback


def test_right_party_promise_by_keypad_ddmm(talk: Talk) -> None:
    r = talk(["1", "1", "1803", "1"])
    assert (r.outcome, r.promise_date, r.promise_amount) == ("promise_to_pay", date(2026, 3, 18), AMOUNT)


def test_keypad_date_is_listened_for_with_four_digits(talk: Talk) -> None:
    r = talk(["1", "1"])
    listens = [a for a in r.actions if isinstance(a, Listen)]
    assert listens[-1].max_digits == 4 and listens[0].max_digits == 1


def test_initiative_promise_after_identity_skips_the_date_question(talk: Talk) -> None:
    r = talk(["sou eu", "vou pagar dia 15", "sim"])
    assert (r.outcome, r.promise_date) == ("promise_to_pay", date(2026, 3, 15))
    assert "ask_date" not in said(r)


def test_initiative_promise_before_identity_waits_for_confirmation(talk: Talk) -> None:
    r = talk(["vou pagar dia 15", "sim", "sim"])
    assert said(r)[:6] == [
        "greeting",
        "recording_notice",
        "ask_identity",
        "identity_reconfirm",
        "disclosure",
        "readback",
    ]
    assert (r.outcome, r.promise_date) == ("promise_to_pay", date(2026, 3, 15))


def test_date_beyond_window_is_asked_again(talk: Talk) -> None:
    r = talk(["sim", "sim", "dia 30", "dia 18", "sim"])
    assert "date_invalid_late" in said(r)
    assert (r.outcome, r.promise_date) == ("promise_to_pay", date(2026, 3, 18))


def test_date_in_the_past_is_asked_again(catalog, parser) -> None:
    engine = DialogEngine(make_ctx(), catalog, parser)
    engine.handle(CallStarted(0.0))
    engine.handle(Heard("sim", 1.0, 3.0))
    engine.handle(Heard("sim", 1.0, 12.0))
    # Called straight, the way a recognizer could hand over "dia 2" resolved to this month.
    from ivr.dialog.engine import _Answer

    actions = engine._promise(_Answer("promise_to_pay", date=date(2026, 3, 2)))
    assert [a.prompt_id for a in actions if isinstance(a, Say)] == ["date_invalid_past"]


def test_late_dates_become_the_debtors_proposal(talk: Talk) -> None:
    # Issue 11: a date past the window is offered the window once, then kept as the debtor's proposal for a
    # person (outcome proposal, reviewed), never cannot_pay nor a silent transfer.
    r = talk(["sim", "sim", "dia 30", "dia 29", "sim"])
    assert said(r).count("date_invalid_late") == 1
    assert "proposal_offer" in said(r) and "proposal_recorded" in said(r)
    assert (r.outcome, r.promise_date) == ("proposal", date(2026, 3, 29))


def test_readback_no_goes_back_to_the_date(talk: Talk) -> None:
    r = talk(["sim", "sim", "dia 15", "não", "dia 16", "sim"])
    assert "readback_denied" in said(r)
    assert (r.outcome, r.promise_date) == ("promise_to_pay", date(2026, 3, 16))


def test_readback_no_with_a_new_date_reads_back_again(talk: Talk) -> None:
    r = talk(["sim", "sim", "dia 15", "não, dia 17", "sim"])
    assert said(r).count("readback") == 2
    assert r.promise_date == date(2026, 3, 17)


def test_partial_amount_is_a_promise(talk: Talk) -> None:
    r = talk(["sim", "posso pagar 500 reais no dia 15", "sim"])
    assert (r.outcome, r.promise_date, r.promise_amount) == ("promise_to_pay", date(2026, 3, 15), Decimal("500"))
    assert "quinhentos reais" in bot_lines(r)[-3]


def test_cannot_pay_asks_the_amount_then_the_date(talk: Talk) -> None:
    r = talk(["sim", "não consigo", "uns 300 reais", "dia 12", "sim"])
    assert said(r)[4:7] == ["offer_pay", "ask_amount", "ask_date"]
    assert (r.outcome, r.promise_amount, r.promise_date) == ("promise_to_pay", Decimal("300"), date(2026, 3, 12))


def test_negotiation_in_installments(talk: Talk) -> None:
    r = talk(["sim", "dá pra parcelar?", "em três vezes", "1503", "sim"])
    assert said(r)[5:8] == ["negotiation_offer", "ask_date_first_installment", "readback_installments"]
    assert (r.outcome, r.installments, r.promise_amount) == ("promise_to_pay", 3, Decimal("411.52"))
    assert "três parcelas de quatrocentos e onze reais e cinquenta e dois centavos" in bot_lines(r)[-3]


def test_negotiation_count_said_alone_and_by_keypad(talk: Talk) -> None:
    assert talk(["sim", "quero parcelar", "duas", "dia 15", "sim"]).installments == 2
    assert talk(["sim", "quero parcelar", "3", "dia 15", "sim"]).installments == 3


def test_negotiation_above_policy_is_capped(talk: Talk) -> None:
    r = talk(["sim", "dá pra parcelar em 10 vezes?", "em três vezes", "dia 15", "sim"])
    assert "negotiation_limit" in said(r)
    assert r.installments == 3


def test_negotiation_declined_offers_a_human_or_records_cannot_pay(talk: Talk) -> None:
    r = talk(["sim", "não consigo", "não tenho nada", "não", "não, obrigado"])
    assert said(r)[5:8] == ["ask_amount", "negotiation_offer", "offer_agent_conditions"]
    assert r.outcome == "cannot_pay"
    r = talk(["sim", "não consigo", "não tenho nada", "não"], negotiation=NegotiationPolicy(3, allow_transfer=False))
    assert r.outcome == "cannot_pay" and "cannot_pay_ack" in said(r)


def test_negotiation_without_installments_goes_to_a_human(talk: Talk) -> None:
    r = talk(["sim", "quero fazer um acordo"], negotiation=NegotiationPolicy(max_installments=1))
    transfer = [a for a in r.actions if isinstance(a, Transfer)]
    assert r.outcome == "transferred" and transfer[0].reason == "negotiate"


def test_callback_with_day_and_time(talk: Talk) -> None:
    r = talk(["sim", "agora não dá, me liga amanhã às 10"])
    assert (r.outcome, r.callback_at) == ("callback_scheduled", datetime(2026, 3, 11, 10, 0))
    assert "amanhã, às dez horas" in bot_lines(r)[-1]


def test_callback_asks_when(talk: Talk) -> None:
    r = talk(["liga depois", "às três da tarde"])
    assert said(r)[3] == "ask_callback"
    assert (r.outcome, r.callback_at) == ("callback_scheduled", datetime(2026, 3, 10, 15, 0))
    assert "hoje, às quinze horas" in bot_lines(r)[-1] or "às quinze" in bot_lines(r)[-1]


def test_callback_with_a_day_only(talk: Talk) -> None:
    r = talk(["sim", "pode me ligar na sexta?"])
    assert (r.outcome, r.callback_at) == ("callback_scheduled", date(2026, 3, 13))


def test_already_paid(talk: Talk) -> None:
    r = talk(["sim", "já paguei"])
    assert said(r)[-2:] == ["already_paid_thanks", "goodbye"]
    outcome = next(a for a in r.actions if isinstance(a, RecordOutcome))
    assert outcome.outcome == "already_paid" and "review" in outcome.note


def test_dispute_recorded_and_human_declined(talk: Talk) -> None:
    r = talk(["sim", "não reconheço essa dívida", "não"])
    assert said(r)[5:7] == ["dispute_ack", "offer_agent"]
    assert r.outcome == "dispute"


def test_dispute_then_human_keeps_the_dispute(talk: Talk) -> None:
    r = talk(["sim", "isso é golpe", "sim"])
    transfer = next(a for a in r.actions if isinstance(a, Transfer))
    assert transfer.reason == "dispute" and r.outcome == "dispute"


@pytest.mark.parametrize("lines", [["pare de ligar pra mim"], ["sim", "não quero mais receber ligação, pare de ligar"]])
def test_opt_out(talk: Talk, lines: list[str]) -> None:
    r = talk(lines)
    assert r.outcome == "opt_out" and said(r)[-1] == "opt_out_confirm"


@pytest.mark.parametrize("reply", ["não, número errado", "não", "2"])
def test_wrong_person(talk: Talk, reply: str) -> None:
    r = talk([reply])
    assert r.outcome == "wrong_party" and said(r)[-1] == "wrong_person"


def test_third_party_says_the_debtor_is_out(talk: Talk) -> None:
    r = talk(["ela não está, saiu pra trabalhar"])
    assert r.outcome == "not_available" and said(r)[-1] == "not_available"


def test_repeat_says_the_last_turn_again(talk: Talk) -> None:
    r = talk(["sim", "pode repetir?", "sim", "dia 15", "sim"])
    lines = bot_lines(r)
    assert lines[3:5] == lines[6:8]  # disclosure and offer, word for word
    assert said(r)[5] == "repeat_intro" and r.outcome == "promise_to_pay"


def test_silence_two_reprompts_keypad_menu_then_goodbye(talk: Talk) -> None:
    r = talk(["", "", "", ""])
    assert said(r)[3:] == [
        "no_input",
        "ask_identity",
        "no_input",
        "ask_identity",
        "ask_identity",
        "keypad_menu",
        "goodbye_no_response",
    ]
    assert r.outcome == "no_response"


def test_keypad_menu_answered_by_keypad(talk: Talk) -> None:
    r = talk(["", "hã", "", "1", "1", "1503", "1"])
    assert "keypad_menu" in said(r) and r.outcome == "promise_to_pay"


def test_no_match_chain_in_the_date_question_offers_keypad_date(talk: Talk) -> None:
    r = talk(["sim", "sim", "batata", "o gato subiu no telhado", "beterraba", "cenoura"])
    assert said(r)[6:] == [
        "no_match",
        "ask_date",
        "no_match",
        "ask_date",
        "ask_date",
        "keypad_date",
        "goodbye_no_response",
    ]
    assert r.outcome == "no_response"


def test_low_confidence_is_not_understood(talk: Talk, catalog, parser) -> None:
    engine = DialogEngine(make_ctx(), catalog, parser)
    engine.handle(CallStarted(0.0))
    actions = engine.handle(Heard("sim", 0.1, 3.0))
    assert [a.prompt_id for a in actions if isinstance(a, Say)] == ["no_match", "ask_identity"]


@pytest.mark.parametrize(
    "lines",
    [
        ["quero falar com um atendente"],
        ["sim", "me passa pra um atendente"],
        ["sim", "sim", "9"],
        ["sim", "sim", "dia 15", "quero falar com uma pessoa"],
    ],
)
def test_agent_at_any_point(talk: Talk, lines: list[str]) -> None:
    r = talk(lines)
    transfer = [a for a in r.actions if isinstance(a, Transfer)]
    assert r.outcome == "transferred" and transfer and said(r)[-1] == "transfer"
    assert transfer[0].context["debtor_id"] == "d-42" and transfer[0].context["reason"] == "agent"


def test_transfer_context_carries_the_date_heard(talk: Talk) -> None:
    r = talk(["sim", "sim", "dia 15", "9"])
    transfer = next(a for a in r.actions if isinstance(a, Transfer))
    assert transfer.context["promised_date"] == "2026-03-15"


@pytest.mark.parametrize(
    ("lines", "outcome"),
    [
        (["sim"], "hung_up"),
        (["sim", "sim", "dia 15"], "hung_up"),  # heard but not confirmed: no position
        (["sim", "não reconheço essa dívida"], "dispute"),
        ([], "hung_up"),
    ],
)
def test_hang_up_keeps_a_recorded_position(talk: Talk, lines: list[str], outcome: str) -> None:
    assert talk(lines).outcome == outcome


def test_hang_up_during_goodbye_keeps_the_promise(catalog, parser) -> None:
    engine = DialogEngine(make_ctx(), catalog, parser)
    for event in (CallStarted(0), Heard("sim", 1, 5), Heard("sim", 1, 15), Heard("dia 15", 1, 20), Heard("sim", 1, 26)):
        engine.handle(event)
    assert engine.handle(HungUp(28)) == []
    assert engine.outcome is not None and engine.outcome.outcome == "promise_to_pay"


def test_verification_by_voice_and_keypad(talk: Talk) -> None:
    r = talk(
        ["sim", "mil novecentos e oitenta", "sim", "dia 15", "sim"],
        verification="birth_year",
        verification_answer="1980",
    )
    assert said(r)[3:5] == ["ask_verification_birth_year", "disclosure"]
    assert r.outcome == "promise_to_pay"
    r = talk(["sim", "123", "sim", "dia 15", "sim"], verification="cpf3", verification_answer="123")
    assert said(r)[3:5] == ["ask_verification_cpf3", "disclosure"] and r.outcome == "promise_to_pay"
    r = talk(["sim", "um dois três"], verification="cpf3", verification_answer="123")
    assert said(r)[-2:] == ["disclosure", "offer_pay"]


def test_verification_failure_ends_without_disclosure(talk: Talk) -> None:
    r = talk(["sim", "1975", "1976"], verification="birth_year", verification_answer="1980")
    assert said(r)[3:] == [
        "ask_verification_birth_year",
        "verification_retry",
        "ask_verification_birth_year",
        "verification_failed",
    ]
    assert r.outcome == "wrong_party" and "disclosure" not in said(r)


def test_no_recording_notice_when_the_campaign_does_not_record(talk: Talk) -> None:
    assert "recording_notice" not in said(talk(["não"], records_call=False))


def test_every_hangup_waits_for_six_seconds_of_call(talk: Talk) -> None:
    for lines in (["não"], ["2"], ["pare de ligar"], ["sim", "sim", "dia 15", "sim"], ["", "", "", ""]):
        r = talk(lines)
        hangups = [a for a in r.actions if isinstance(a, HangUp)]
        assert len(hangups) == 1 and hangups[0].not_before_s >= MIN_CALL_S
        assert r.duration_s >= MIN_CALL_S
        # something is said right before hanging up: no silent ending
        last_say = max(i for i, a in enumerate(r.actions) if isinstance(a, Say))
        assert r.actions.index(hangups[0]) - last_say == 3  # Say, its RecordTurn, RecordOutcome, HangUp


def test_every_question_ends_with_one_listen(catalog, parser) -> None:
    engine = DialogEngine(make_ctx(), catalog, parser)
    for event in (CallStarted(0), Heard("sim", 1, 5), NoInput(12), Digit("1", 20), Heard("pode repetir", 1, 25)):
        actions = engine.handle(event)
        assert isinstance(actions[-1], Listen)
        assert sum(isinstance(a, Listen) for a in actions) == 1


def test_events_after_the_end_are_ignored(catalog, parser) -> None:
    engine = DialogEngine(make_ctx(), catalog, parser)
    engine.handle(CallStarted(0))
    engine.handle(Heard("não", 1, 4))
    assert engine.done and engine.handle(Heard("sim", 1, 9)) == [] and engine.handle(NoInput(10)) == []
    assert engine.outcome == RecordOutcome("wrong_party")


def test_variants_are_reproducible_per_seed_and_vary_across_seeds(talk: Talk) -> None:
    script = ["sim", "sim", "dia 15", "sim"]
    assert talk(script).transcript == talk(script).transcript
    transcripts = {tuple(bot_lines(talk(script, seed=f"attempt-{i}"))) for i in range(6)}
    assert len(transcripts) > 1


@pytest.mark.parametrize(
    ("digits", "expected"),
    [
        ("1503", date(2026, 3, 15)),
        ("1003", TODAY),
        ("0903", date(2027, 3, 9)),
        ("3102", None),
        ("9999", None),
        ("15", None),
        ("abcd", None),
    ],
)
def test_ddmm_to_date(digits: str, expected: date | None) -> None:
    assert ddmm_to_date(digits, TODAY) == expected
