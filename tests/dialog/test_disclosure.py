"""Identity before disclosure (CDC art. 42/71, LGPD): no debt detail before identity, to third parties or to silence."""

from __future__ import annotations

import pytest

from ivr.dialog.engine import Say
from tests.dialog.conftest import Talk
from tests.dialog.helpers import debt_words

NEVER_CONFIRMED = {
    "silence": ["", "", "", ""],
    "no match": ["hã?", "o gato subiu no telhado", "batata", "cenoura"],
    "third party": ["ela não está, saiu pra trabalhar"],
    "third party asks to call later": ["ela não está, liga mais tarde", "amanhã às 10"],
    "wrong number": ["não, número errado"],
    "plain no": ["não"],
    "keypad no": ["2"],
    "asks for a human": ["quero falar com um atendente"],
    "opt-out": ["pare de ligar"],
    "talks about paying without confirming": ["vou pagar dia 15", "quem está falando?", "hã", "batata"],
    "suspects a scam": ["isso é golpe?", "não"],
    "says already paid, then hangs up": ["já paguei"],
    "repeat": ["como?", "pode repetir?"],
    "verification failed": ["sim", "1975", "1976"],
}


@pytest.mark.parametrize("lines", NEVER_CONFIRMED.values(), ids=NEVER_CONFIRMED.keys())
def test_nothing_about_the_debt_without_confirmed_identity(talk: Talk, lines: list[str]) -> None:
    overrides = {"verification": "birth_year", "verification_answer": "1980"} if lines[:1] == ["sim"] else {}
    r = talk(lines, **overrides)
    for turn in r.transcript:
        if turn["speaker"] == "bot":
            assert debt_words(turn["text"]) == [], turn["text"]
    assert all(a.disclosure == "none" for a in r.actions if isinstance(a, Say))


CONFIRMED = [
    ["sim", "sim", "dia 15", "sim"],
    ["1", "2", "não tenho", "não", "não"],
    ["vou pagar dia 15", "sou eu", "sim"],
    ["", "hã", "sou eu", "já paguei"],
]


@pytest.mark.parametrize("lines", CONFIRMED)
def test_debt_words_only_after_the_person_confirmed(talk: Talk, lines: list[str]) -> None:
    r = talk(lines)
    affirmed = False
    for turn in r.transcript:
        if turn["speaker"] == "debtor" and turn["text"] in ("sim", "1", "sou eu"):
            affirmed = True
        if turn["speaker"] == "bot" and not affirmed:
            assert debt_words(turn["text"]) == [], turn["text"]
    assert affirmed and any(debt_words(t["text"]) for t in r.transcript if t["speaker"] == "bot")


def test_debt_detector_catches_the_disclosure(talk: Talk) -> None:
    # The check above must be able to fail: the disclosure itself trips it.
    r = talk(["sim"])
    disclosure = next(a for a in r.actions if isinstance(a, Say) and a.prompt_id == "disclosure")
    assert {"vencimento", r"\bvalor", r"\breais\b"} <= set(debt_words(disclosure.text))


def test_engine_refuses_a_debt_prompt_before_identity(catalog, parser) -> None:
    from ivr.dialog.engine import CallStarted, DialogEngine
    from tests.dialog.helpers import make_ctx

    engine = DialogEngine(make_ctx(), catalog, parser)
    engine.handle(CallStarted(0))
    with pytest.raises(RuntimeError, match="before identity"):
        engine._say("disclosure")


def test_voicemail_message_is_neutral(catalog) -> None:
    prompt = catalog.get("voicemail")
    assert prompt.disclosure == "none"
    for i in range(len(prompt.variants)):
        text = catalog.render("voicemail", {"credor": "Banco Exemplo", "primeiro_nome": "Maria"}, variant=i).text
        assert debt_words(text) == []


def test_voicemail_message_for_the_channel(catalog) -> None:
    from ivr.dialog.engine import voicemail_message
    from tests.dialog.helpers import make_ctx

    say = voicemail_message(make_ctx(), catalog)
    assert say.prompt_id == "voicemail" and "Maria" in say.text and "Banco Exemplo" in say.text
    assert debt_words(say.text) == [] and "Souza" not in say.text
