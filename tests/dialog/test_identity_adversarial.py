"""Adversarial identity-gate tables (review of issue 10), written and labelled BEFORE they were run.

The debtor is "Maria Aparecida Souza" (tests/dialog/helpers.py). A third party must never hear an amount,
a creditor-debt sentence or a due date: the bot's transcript text is checked, not only the outcome.
"""

from __future__ import annotations

import pytest

from ivr.dialog.engine import Say
from tests.dialog.conftest import Talk
from tests.dialog.helpers import bot_lines, debt_words, said

# (reply, outcomes accepted). None of these people is the debtor, or none has said so.
THIRD_PARTIES: list[tuple[str, set[str]]] = [
    ("ela tá no trabalho", {"not_available"}),
    ("aqui é o esposo", {"not_available"}),
    ("sou a cuidadora", {"not_available"}),
    ("é engano", {"wrong_party"}),
    ("é engano moço", {"wrong_party"}),
    ("foi engano", {"wrong_party"}),
    ("não conheço nenhuma maria", {"wrong_party"}),
    ("sou a mãe dela, pode falar comigo", {"not_available"}),
    ("sou a mae dela pode falar comigo", {"not_available"}),
    ("ela nao ta", {"not_available"}),
    ("ela num tá", {"not_available"}),
    ("a maria num tá não", {"not_available"}),
    ("uai ela saiu", {"not_available"}),
    ("oxe ela tá no trabalho", {"not_available"}),
    ("bah ela não tá", {"not_available"}),
    ("ela tá no serviço", {"not_available"}),
    ("ela foi no mercado", {"not_available"}),
    ("ela não mora mais aqui", {"not_available", "wrong_party"}),
    ("essa pessoa não mora mais aqui", {"not_available", "wrong_party"}),
    ("é o marido", {"not_available"}),
    ("sou a sogra", {"not_available"}),
    ("oi aqui é a filha dela", {"not_available"}),
    ("aqui é o vizinho dela", {"not_available"}),
    ("sim ela não está", {"not_available"}),
    ("sim mas ela não tá", {"not_available"}),
    ("é a mãe dela sim", {"not_available"}),
    ("sim sou o marido", {"not_available"}),
    ("sim aqui é o irmão", {"not_available"}),
    ("pode falar comigo eu sou a esposa", {"not_available"}),
    ("é o companheiro dela", {"not_available"}),
    ("sou a enfermeira dela", {"not_available"}),
    ("sou o advogado dela", {"not_available"}),
    ("é o sócio dela", {"not_available"}),
    ("sou a vó", {"not_available"}),
    ("a maria é minha filha", {"not_available"}),
    ("maria é minha esposa", {"not_available"}),
    ("a maria é minha mulher", {"not_available"}),
    ("aqui quem fala é o marido da maria", {"not_available"}),
    ("a maria é minha mãe", {"not_available"}),
    ("sou filho da maria", {"not_available"}),
    ("ela ta ocupada agora liga depois", {"not_available", "callback_scheduled"}),
    ("sou eu que cuido das coisas dela", {"not_available"}),
    ("aqui é a casa dela mas ela saiu", {"not_available"}),
]

# Not a confirmation and not a third party (yet): the bot may ask again, never says the debt.
NO_DEBT_YET = [
    "quem gostaria?",
    "do que se trata?",
    "quem gostaria de falar?",
    "qual é o assunto?",
    "fala comigo mesmo que eu resolvo",
    "pode falar comigo",
    "pode falar comigo que eu resolvo",
    "é sobre o que",
    "sobre o que seria?",
    "quem gostaria",
    "do que se trata",
    "Cida",
    "qual é o valor?",
    "quanto é?",
    "é sobre a dívida?",
    "pode falar comigo mesmo",
]

# Explicit confirmations: the debt is disclosed right after.
CONFIRMATIONS = [
    "isso",
    "sou eu sim",
    "pois é sou eu",
    "sim senhor",
    "eu mesmo falando",
    "é o próprio",
    "Maria",
    "sou sim",
    "é comigo",
    "é comigo mesmo",
    "sim é comigo",
    "pode falar sou eu",
    "sou eu pode falar",
    "sim sou eu mesma",
    "sou eu mesma falando",
    "é ela mesma falando",
    "isso mesmo sou eu",
    "é isso",
    "isso aí",
    "isso aí sou eu",
    "opa sou eu",
    "sim pode falar",
    "sim é ela falando",
    "é a própria falando",
    "sou eu quem fala",
    "quem fala é a maria",
    "maria sou eu",
    "eu sou a maria",
    "eu sou a maria souza",
    "aqui é a maria aparecida",
    "maria aparecida souza",
    "sou eu a maria",
    "positivo",
    "afirmativo",
    "sim sim sou eu",
    "é ela mesma sim",
    "tá falando com a maria",
    "pois não sou eu",
    "Aparecida",
]


@pytest.mark.parametrize(("reply", "outcomes"), THIRD_PARTIES)
def test_third_party_never_hears_the_debt(talk: Talk, reply: str, outcomes: set[str]) -> None:
    r = talk([reply])
    assert "disclosure" not in said(r), (reply, said(r))
    for text in bot_lines(r):
        assert debt_words(text) == [], (reply, text)
    assert all(a.disclosure == "none" for a in r.actions if isinstance(a, Say)), reply
    assert r.outcome in outcomes, (reply, r.outcome, said(r))


@pytest.mark.parametrize("reply", NO_DEBT_YET)
def test_unclear_reply_never_hears_the_debt(talk: Talk, reply: str) -> None:
    r = talk([reply])
    assert "disclosure" not in said(r), (reply, said(r))
    for text in bot_lines(r):
        assert debt_words(text) == [], (reply, text)


@pytest.mark.parametrize("reply", CONFIRMATIONS)
def test_confirmation_opens_the_debt(talk: Talk, reply: str) -> None:
    r = talk([reply])
    assert said(r)[3] == "disclosure", (reply, said(r))


def test_yes_then_she_is_not_here_stops_the_debt_talk(talk: Talk) -> None:
    """ "sim" opens the debt (the issue's rule); if the same person then says the debtor is not there, the
    bot says no more about the debt and records no payment outcome for a third party."""
    r = talk(["sim", "ela não está"])
    turns = r.transcript
    last = max(i for i, t in enumerate(turns) if t["speaker"] == "debtor")
    for text in [t["text"] for t in turns[last + 1 :] if t["speaker"] == "bot"]:
        assert debt_words(text) == [], text
    assert r.outcome in {"not_available", "wrong_party"}, (r.outcome, said(r))


# Found by probing `ivr nlu --context identity` after the tables above were run (so not counted in them):
# a "não" in the reply takes the confirmation away ("é ela não" is "it is not her" in the Northeast).
NEGATED = [
    "aqui não tem maria",
    "é ela não",
    "é ela que tá falando não",
    "maria não",
    "é a maria não",
    "sou eu não",
    "não tem maria aqui não",
]


@pytest.mark.parametrize("reply", NEGATED)
def test_a_negated_confirmation_never_hears_the_debt(talk: Talk, reply: str) -> None:
    r = talk([reply])
    assert "disclosure" not in said(r), (reply, said(r))
    for text in bot_lines(r):
        assert debt_words(text) == [], (reply, text)


@pytest.mark.parametrize(
    "reply", ["eu mesma, pois não", "sou eu pois não", "pois não sou eu", "sou eu não tem problema"]
)
def test_pois_nao_and_reassurances_are_not_a_negation(talk: Talk, reply: str) -> None:
    assert said(talk([reply]))[3] == "disclosure", reply


@pytest.mark.parametrize(
    "reply", ["o dinheiro não tá dando", "meu marido não tá trabalhando", "não tá no momento", "ele saiu do emprego"]
)
def test_after_identity_only_the_debtor_away_ends_as_not_available(talk: Talk, reply: str) -> None:
    """The 'ela não está' step after identity must not swallow the debtor's own words about money or family."""
    assert talk(["sim", reply]).outcome != "not_available", reply


@pytest.mark.parametrize("reply", ["a Maria não está", "ela não tá", "ela não pode atender", "ela não se encontra"])
def test_after_identity_the_debtor_away_ends_as_not_available(talk: Talk, reply: str) -> None:
    assert talk(["sim", reply]).outcome == "not_available", reply
