"""The identity gate (issue 10, section 1): only an explicit confirmation opens the debt.

The tables were written and labelled before the engine was changed to pass them. The debtor is
"Maria Aparecida Souza" (tests/dialog/helpers.py); "é ele" is still a confirmation by its form.
"""

from __future__ import annotations

import pytest

from ivr.dialog.engine import Say
from tests.dialog.conftest import Talk
from tests.dialog.helpers import debt_words, said

# --- explicit confirmations: the debt is disclosed ----------------------------------------------------
ISSUE_CONFIRMATIONS = [
    "sim",
    "sou eu",
    "sou eu mesma",
    "sou eu mesmo",
    "é ela",
    "é ele",
    "ela mesma",
    "ele mesmo",
    "a própria",
    "Maria",
    "1",
    "sou eu, não tem problema",
    "sim, pode falar",
    "sou eu nao tem problema pode falar",
]
OWN_CONFIRMATIONS = [
    "é ela mesma",
    "eu mesma",
    "pode falar que é ela",
    "sim sou eu",
    "sim, é ela",
    "é a Maria",
    "Maria falando",
    "sou a Maria",
    "aqui é a Maria",
    "é a própria",
    "ela mesma falando",
    "falando",
    "é ela sim",
    "sou eu sim",
    "isso, sou eu",
    "sim senhora",
    "sim senhor",
    "é sim",
    "sou eu mesma, pode falar",
    "é eu",
    "tá falando com ela",
    "com ela mesma",
    "é com ela mesma",
    "sim, Maria",
    "Maria Aparecida",
    "sou a Maria Aparecida",
    "Maria Souza sou eu",
    "sim é a Maria",
    "isso mesmo",
    "pode falar, sou eu",
    "é ela que tá falando",
    "eu mesma falando",
    "sim, a própria",
    "aham sou eu",
    "uhum, sou eu",
    "sou eu sim senhora",
    "oi, sou eu",
    "alô, é ela",
    "bom dia, sou eu",
    "tudo bem, sou eu",
    "exatamente, sou eu",
    "ela mesma, pode dizer",
    "sim sim",
    "isso",
    "é a Maria sim",
    "sou eu, pode continuar",
]

# --- third parties: neutral not_available, nothing about a debt -----------------------------------------
ISSUE_THIRD_PARTIES = [
    "é a mãe",
    "é a Joana",
    "é a mãe dela",
    "sou o pai dela",
    "é o filho dela",
    "é a filha",
    "é o marido dela",
    "é a esposa",
    "é a irmã dela",
    "sou o cunhado",
    "é a vizinha",
    "cuido das contas dela",
    "é da casa dela",
    "sou a nora dela",
    "ela não pode atender",
]
OWN_THIRD_PARTIES = [
    "ela não pode atender agora",
    "é o genro",
    "é a sogra dela",
    "aqui é a tia dela",
    "é a avó",
    "sou o neto dela",
    "aqui é o Pedro",
    "é o João",
    "é a Ana",
    "sou a Carla",
    "aqui quem fala é a Fernanda",
    "Joana falando",
    "é a Joana, filha dela",
    "não, é a filha dela",
    "ela tá no trabalho",
    "ela saiu",
    "ela tá dormindo",
    "ela tá tomando banho",
    "é o namorado dela",
    "sou a colega de trabalho dela",
    "é a patroa dela",
    "sou a secretária dela",
    "aqui é a diarista",
    "sou a cuidadora dela",
    "é a prima dela",
    "sou o primo",
    "é o sobrinho dela",
    "sou a madrinha dela",
    "é o padrasto",
    "a Maria não está",
    "a Maria saiu",
    "dona Maria não está",
    "ela tá viajando",
    "eu sou a mãe da Maria",
    "eu resolvo as coisas dela",
    "pode falar comigo, sou a mãe dela",
    "eu sou filho dela, pode falar comigo",
    "é o irmão",
    "ela não tá",
    "aqui é da casa da Maria",
    "sim, sou a filha dela",
    "é a mulher dele",
    "sou o esposo dela",
]

# --- not a confirmation, not a refusal: asked again (no debt) ---------------------------------------------
AMBIGUOUS = [
    "tudo bem, e você?",
    "pois não?",
    "pode falar",
    "quem é?",
    "quem deseja?",
    "alô",
    "oi",
    "tudo bom",
    "bem e você",
    "quem quer falar?",
    "do que se trata?",
    "quem tá falando?",
    "sim?",
    "pois não",
    "bom dia",
    "oi, tudo bem?",
    "é sobre o quê?",
    "pode dizer",
    "tudo ótimo e com você",
    "Maria?",
    "fala",
    "diga",
]


def _disclosed(lines: list[str], talk: Talk) -> bool:
    r = talk(lines)
    return "disclosure" in said(r)


@pytest.mark.parametrize("reply", ISSUE_CONFIRMATIONS + OWN_CONFIRMATIONS)
def test_explicit_confirmation_opens_the_debt(talk: Talk, reply: str) -> None:
    r = talk([reply])
    assert said(r)[3] == "disclosure", (reply, said(r))


@pytest.mark.parametrize("reply", ISSUE_THIRD_PARTIES + OWN_THIRD_PARTIES)
def test_third_party_ends_neutrally(talk: Talk, reply: str) -> None:
    r = talk([reply])
    assert r.outcome == "not_available", (reply, r.outcome, said(r))
    assert "disclosure" not in said(r)
    for turn in r.transcript:
        if turn["speaker"] == "bot":
            assert debt_words(turn["text"]) == [], turn["text"]
    assert all(a.disclosure == "none" for a in r.actions if isinstance(a, Say))


@pytest.mark.parametrize("reply", AMBIGUOUS)
def test_ambiguous_reply_is_asked_again_never_the_debt(talk: Talk, reply: str) -> None:
    r = talk([reply])
    assert "disclosure" not in said(r), (reply, said(r))
    assert "identity_reconfirm" in said(r), (reply, said(r))
    assert r.outcome == "hung_up"


@pytest.mark.parametrize("reply", AMBIGUOUS)
def test_ambiguous_then_a_confirmation_opens_the_debt(talk: Talk, reply: str) -> None:
    r = talk([reply, "sou eu"])
    assert "disclosure" in said(r), (reply, said(r))


def test_tables_are_large_enough() -> None:
    assert len(OWN_CONFIRMATIONS) >= 40 and len(OWN_THIRD_PARTIES) >= 40


# --- waiting for the debtor, death, prison ---------------------------------------------------------------


def test_hold_waits_then_asks_identity_of_whoever_comes(talk: Talk) -> None:
    from ivr.dialog.engine import HOLD_MAX_S, Listen

    r = talk(["um momento, vou chamar ela", "alô?", "sou eu"])
    assert said(r)[3:7] == ["hold_ack", "hold_regreet", "ask_identity", "disclosure"]
    hold_listen = [a for a in r.actions if isinstance(a, Listen)][1]
    assert 50 <= hold_listen.timeout_s <= HOLD_MAX_S


def test_hold_silence_past_the_minute_ends_neutrally(catalog, parser) -> None:
    from ivr.dialog.engine import CallStarted, DialogEngine, Heard, NoInput, RecordOutcome
    from tests.dialog.helpers import make_ctx

    engine = DialogEngine(make_ctx(), catalog, parser)
    engine.handle(CallStarted(0))
    engine.handle(Heard("peraí", 1.0, 5))
    assert [a for a in engine.handle(NoInput(30)) if isinstance(a, Say)] == []  # still waiting, nothing said
    actions = engine.handle(NoInput(66))
    assert [a.prompt_id for a in actions if isinstance(a, Say)] == ["hold_timeout"]
    assert engine.outcome == RecordOutcome("not_available", note="no one came to the phone")


@pytest.mark.parametrize(
    ("reply", "outcome", "review", "prompt"),
    [
        ("ela faleceu", "deceased", "deceased", "deceased_ack"),
        ("a Maria morreu ano passado", "deceased", "deceased", "deceased_ack"),
        ("ela tá presa", "unreachable_person", "unreachable_person", "unreachable_ack"),
        ("ela está no presídio", "unreachable_person", "unreachable_person", "unreachable_ack"),
    ],
)
def test_death_or_prison_ends_with_a_holding_review(
    talk: Talk, reply: str, outcome: str, review: str, prompt: str
) -> None:
    from ivr.dialog.engine import RecordOutcome
    from ivr.vocabulary import HOLDING_REVIEW_REASONS, ReviewReason

    r = talk([reply])
    record = next(a for a in r.actions if isinstance(a, RecordOutcome))
    assert (r.outcome, record.review, said(r)[-1]) == (outcome, review, prompt)
    assert ReviewReason(review) in HOLDING_REVIEW_REASONS
    assert all(debt_words(t["text"]) == [] for t in r.transcript if t["speaker"] == "bot")


# --- verification in spoken forms; a refusal is respected -----------------------------------------------


@pytest.mark.parametrize(
    ("reply", "answer", "kind"),
    [
        ("oitenta e dois", "1982", "birth_year"),
        ("82", "1982", "birth_year"),
        ("nasci em mil novecentos e oitenta e dois", "1982", "birth_year"),
        ("mil novecentos e oitenta e dois", "1982", "birth_year"),
        ("zero doze", "012", "cpf3"),
        ("zero um dois", "012", "cpf3"),
    ],
)
def test_verification_accepts_spoken_forms(talk: Talk, reply: str, answer: str, kind: str) -> None:
    r = talk(["sim", reply], verification=kind, verification_answer=answer)
    assert said(r)[-2:] == ["disclosure", "offer_pay"], said(r)


def test_verification_wrong_two_digits_is_not_accepted(talk: Talk) -> None:
    r = talk(["sim", "oitenta e três", "oitenta e quatro"], verification="birth_year", verification_answer="1982")
    assert "disclosure" not in said(r) and r.outcome == "wrong_party"


def test_verification_retry_accepts_sim(talk: Talk) -> None:
    r = talk(["sim", "1975", "sim", "1982"], verification="birth_year", verification_answer="1982")
    assert "disclosure" in said(r)


@pytest.mark.parametrize("refusal", ["não vou passar meus dados", "prefiro não informar", "não passo CPF por telefone"])
def test_refusing_verification_is_respected_and_offers_a_person(talk: Talk, refusal: str) -> None:
    from ivr.dialog.engine import RecordOutcome, Transfer

    r = talk(["sim", refusal, "não"], verification="cpf3", verification_answer="123")
    assert said(r)[-2:] == ["refuse_ack", "refuse_goodbye"]
    record = next(a for a in r.actions if isinstance(a, RecordOutcome))
    assert r.outcome != "cannot_pay" and record.review == "verification_refused"
    assert "disclosure" not in said(r)
    r = talk(["sim", refusal, "sim"], verification="cpf3", verification_answer="123")
    transfer = next(a for a in r.actions if isinstance(a, Transfer))
    assert transfer.reason == "verification_refused" and transfer.context["identity_confirmed"] is False
