"""Honest answers to what debtors ask (issue 10, section 2), at any point, then back to where the call was."""

from __future__ import annotations

from datetime import date, datetime

import pytest

from ivr.cli.dialog_cmds import callback_rules
from ivr.dialog.engine import RecordOutcome, Say
from tests.dialog.conftest import Talk
from tests.dialog.helpers import bot_lines, debt_words, said


def _debt_free_until(r, prompt: str) -> None:
    for a in r.actions:
        if isinstance(a, Say):
            if a.prompt_id == prompt:
                return
            assert a.disclosure == "none" and debt_words(a.text) == [], a.text


def test_robot_question_before_identity(talk: Talk) -> None:
    r = talk(["você é um robô?", "sou eu"])
    assert said(r)[3:6] == ["robot_answer", "identity_reconfirm", "disclosure"]
    assert "assistente virtual de Banco Exemplo" in bot_lines(r)[3] and "atendente" in bot_lines(r)[3]
    _debt_free_until(r, "disclosure")


def test_robot_question_mid_call_goes_back_to_the_question(talk: Talk) -> None:
    r = talk(["sim", "você é um robô?", "sim", "dia 15", "sim"])
    assert said(r)[3:8] == ["disclosure", "offer_pay", "robot_answer", "offer_pay", "ask_date"]
    assert r.outcome == "promise_to_pay"


@pytest.mark.parametrize("question", ["quem fala?", "de onde vocês falam?", "qual empresa?", "quem deseja?"])
def test_who_is_calling_names_the_creditor_only(talk: Talk, question: str) -> None:
    r = talk([question])
    assert said(r)[3:5] == ["who_answer", "identity_reconfirm"]
    assert "Banco Exemplo" in bot_lines(r)[3]
    _debt_free_until(r, "never")


def test_cnpj_is_said_in_groups(talk: Talk) -> None:
    r = talk(["qual o CNPJ?"], creditor_cnpj="12345678000190")
    assert "doze, três quatro cinco, seis sete oito, barra, zero zero zero um, traço, nove zero" in bot_lines(r)[3]
    r = talk(["qual o CNPJ?"])
    assert said(r)[3] == "cnpj_unknown"


def test_how_did_you_get_my_number(talk: Talk) -> None:
    r = talk(["sim", "como vocês conseguiram meu número?"])
    assert said(r)[5:7] == ["source_answer", "offer_pay"]
    assert "registros de contrato de Banco Exemplo" in bot_lines(r)[5]


def test_protocol_is_given_repeated_and_recorded(talk: Talk) -> None:
    r = talk(["sim", "me passa um protocolo", "repete", "não consigo pagar"])
    assert said(r)[5:7] == ["protocol_answer", "offer_pay"]
    spoken = "dois zero dois seis zero três um zero zero zero zero zero zero um"  # 20260310 + attempt-1
    assert spoken in bot_lines(r)[5]
    assert bot_lines(r).count(bot_lines(r)[5]) == 2  # "repete" says it again, word for word
    assert r.protocol == "20260310000001"
    record = next(a for a in r.actions if isinstance(a, RecordOutcome))
    assert record.protocol == r.protocol


def test_scam_question_is_not_a_dispute(talk: Talk) -> None:
    r = talk(["sim", "isso é golpe?", "sim", "dia 15", "sim"], official_channels="o aplicativo do Banco Exemplo")
    assert "scam_answer" in said(r) and "dispute_ack" not in said(r)
    scam = bot_lines(r)[said(r).index("scam_answer")]
    assert "não peço senha nem dados bancários" in scam and "o aplicativo do Banco Exemplo" in scam
    assert r.outcome == "promise_to_pay"


def test_scam_question_before_identity_says_nothing_about_a_debt(talk: Talk) -> None:
    r = talk(["isso é golpe?", "não"])
    assert said(r)[3] == "scam_answer" and r.outcome == "wrong_party"
    _debt_free_until(r, "never")


@pytest.mark.parametrize("question", ["qual é o valor mesmo?", "quanto que é mesmo", "qual o vencimento mesmo"])
def test_amount_again_after_identity(talk: Talk, question: str) -> None:
    r = talk(["sim", "sim", question, "dia 15", "sim"])
    assert said(r)[5:8] == ["ask_date", "amount_again", "ask_date"]
    assert "mil duzentos e trinta e quatro reais" in bot_lines(r)[6] and "primeiro de março" in bot_lines(r)[6]
    assert r.outcome == "promise_to_pay"


def test_amount_again_before_identity_asks_who_first(talk: Talk) -> None:
    r = talk(["qual é o valor mesmo?"])
    assert said(r)[3] == "identity_reconfirm"
    _debt_free_until(r, "never")


def test_too_many_calls_offers_to_stop(talk: Talk) -> None:
    r = talk(["sim", "vocês ligam todo dia", "sim"])
    assert said(r)[5:] == ["calls_apology", "opt_out_confirm"] and r.outcome == "opt_out"
    r = talk(["sim", "vocês ligam todo dia", "não", "sim", "dia 15", "sim"])
    assert said(r)[5:8] == ["calls_apology", "calls_continue", "offer_pay"] and r.outcome == "promise_to_pay"


@pytest.mark.parametrize(
    ("line", "reason"),
    [
        ("perdi o emprego", "job_loss"),
        ("não tenho nem pra comer", "no_food"),
        ("tô doente, internada", "illness"),
    ],
)
def test_hardship_is_met_with_care(talk: Talk, line: str, reason: str) -> None:
    r = talk(["sim", line, "não"])
    assert said(r)[5:] == ["hardship_ack", "hardship_goodbye"]
    ack = bot_lines(r)[5]
    assert "Não vou pedir nada agora" in ack or "não vou pedir nada" in ack
    record = next(a for a in r.actions if isinstance(a, RecordOutcome))
    assert (record.outcome, record.note) == ("cannot_pay", f"hardship: {reason}")


def test_hardship_then_a_person(talk: Talk) -> None:
    r = talk(["sim", "perdi o emprego", "quero falar com um atendente"])
    assert r.outcome == "cannot_pay" and said(r)[-1] == "transfer"


def test_honest_endings_say_why(talk: Talk) -> None:
    spoke = talk(["sim", "sim", "batata", "o gato subiu no telhado", "beterraba", "cenoura"])
    silent = talk(["", "", "", ""])
    for r, why in ((spoke, "the caller spoke but was not understood"), (silent, "silence")):
        record = next(a for a in r.actions if isinstance(a, RecordOutcome))
        assert (record.outcome, record.note) == ("no_response", why)
        assert "ligação não está boa" not in bot_lines(r)[-1] and "não consegui entender" in bot_lines(r)[-1]


def test_due_date_in_another_year_is_said_with_its_year(talk: Talk) -> None:
    r = talk(["sim"], due_date=date(2025, 11, 10))
    assert "dez de novembro de dois mil e vinte e cinco" in bot_lines(r)[3]
    r = talk(["sim"])
    assert "primeiro de março" in bot_lines(r)[3] and "dois mil" not in bot_lines(r)[3]


# --- callbacks only inside the calling rules (default profile: weekdays 09:00-18:00) ----------------------
RULES = {"next_allowed_call": callback_rules("+5511987654321")}


def test_callback_on_sunday_is_moved_to_the_nearest_allowed_time(talk: Talk) -> None:
    r = talk(["sim", "me liga domingo", "sim"], **RULES)  # TODAY is Tuesday 2026-03-10
    assert said(r)[-2:] == ["callback_adjusted", "callback_confirm"]
    assert "segunda-feira, dezesseis de março, às nove horas" in bot_lines(r)[-2]
    assert r.callback_at == datetime(2026, 3, 16, 9, 0)


def test_callback_at_night_is_moved_to_the_next_morning(talk: Talk) -> None:
    r = talk(["sim", "me liga às 21h", "sim"], **RULES)
    assert "amanhã, às nove horas" in bot_lines(r)[-2] and r.callback_at == datetime(2026, 3, 11, 9, 0)


def test_callback_adjusted_then_another_time(talk: Talk) -> None:
    r = talk(["sim", "me liga às 21h", "não", "amanhã na hora do almoço"], **RULES)
    assert r.callback_at == datetime(2026, 3, 11, 12, 0)
    assert "amanhã, ao meio-dia" in bot_lines(r)[-1]


@pytest.mark.parametrize(
    ("line", "expected"),
    [
        ("me liga amanhã de tarde", datetime(2026, 3, 11, 15, 0)),
        ("me liga amanhã no fim da tarde", datetime(2026, 3, 11, 17, 0)),
        ("me liga amanhã de manhã", datetime(2026, 3, 11, 10, 0)),
        ("me liga sexta na hora do almoço", datetime(2026, 3, 13, 12, 0)),
        ("pode me ligar à uma da tarde amanhã", datetime(2026, 3, 11, 13, 0)),
    ],
)
def test_callback_keeps_the_time_of_day(talk: Talk, line: str, expected: datetime) -> None:
    r = talk(["sim", line], **RULES)
    assert r.callback_at == expected and said(r)[-1] == "callback_confirm"


def test_an_angry_caller_not_understood_is_told_so_and_the_outcome_says_why(talk: Talk) -> None:
    r = talk(["sim", "sim", "que porra é essa", "merda de ligação", "saco cheio disso", "aaah"])
    record = next(a for a in r.actions if isinstance(a, RecordOutcome))
    assert (record.outcome, record.note) == ("no_response", "the caller was angry and was not understood")
    assert "não consegui entender" in bot_lines(r)[-1] and "atendente" in bot_lines(r)[-1]


def test_a_scam_question_without_a_promise_leaves_a_review(talk: Talk) -> None:
    r = talk(["sim", "isso é golpe?", "não"])
    record = next(a for a in r.actions if isinstance(a, RecordOutcome))
    assert record.outcome != "dispute" and record.review == "scam_suspicion"
    r = talk(["sim", "isso é golpe?", "sim", "dia 15", "sim"])
    record = next(a for a in r.actions if isinstance(a, RecordOutcome))
    assert record.outcome == "promise_to_pay" and record.review is None
