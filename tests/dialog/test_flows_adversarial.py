"""Planted unsafe flows the shipped tests do not try (review of issue 10, section 4).

Each plant says debt detail before the identity guard in a NEW way. Labelled BEFORE running: for each, the
expectation is that `ivr.flows.check` reports a leak ("before the identity guard") OR, where the engine itself
refuses the step (a named action whose exits are guarded), that running it never says a debt prompt and does
not crash.
"""

from __future__ import annotations

import tomllib
from pathlib import Path

import pytest

from ivr.dialog.engine import DialogEngine, Say
from ivr.dialog.simulator import TextChannel
from ivr.flows import check, load_flow
from ivr.language.nlu import parse
from ivr.language.prompts import Catalog, catalog_from_dict, default_catalog_path
from tests.dialog.helpers import make_ctx

LEAK = "before the identity guard"


def _planted(tmp_path: Path, body: str, name: str = "planted") -> Path:
    path = tmp_path / f"{name}.toml"
    path.write_text(f'[flow]\nname = "{name}"\nextends = "default"\n' + body, encoding="utf-8")
    return path


def _catalog_with(**prompts: dict[str, object]) -> Catalog:
    data = tomllib.loads(Path(default_catalog_path()).read_text(encoding="utf-8"))
    for pid, table in prompts.items():
        data["prompts"][pid] = {"barge_in": True, "pause_after_ms": 0, "notes": "", **table}
    return catalog_from_dict(data, "<planted catalog>")


# (label, flow body): each must be reported by the check.
PLANTS = [
    (
        "the failure ladder's last step says the amount",
        '[states.identity]\nfailure = ["reprompt", "reprompt", "keypad", { end = "no_response", say = ["amount_again"] }]\n',
    ),
    ("a ladder step goes to the offer", '[states.identity]\nfailure = ["reprompt", { goto = "offer" }]\n'),
    (
        "a repeat handler in the identity state says the amount",
        '[states.identity.on]\nrepeat = { goto = "identity", say = ["amount_again"] }\n',
    ),
    (
        "the callback path ends with the amount",
        '[states.callback.on]\ndeny = { end = "callback_scheduled", say = ["amount_again", "callback_open"] }\n',
    ),
    ("the hold state returns to the offer", '[states.hold]\notherwise = { goto = "offer" }\n'),
    (
        "a state reached only through a guard that is not identity_confirmed",
        '[states.identity.on]\naffirm = { goto = "offer", guard = "records_call" }\n',
    ),
    (
        "a negated guard is not the identity guard",
        '[states.identity.on]\naffirm = { goto = "offer", guard = "!transfer_allowed" }\n',
    ),
    (
        "the reprompt's 'não entendi' swapped for the disclosure (flow.prompts)",
        '[flow.prompts]\nno_match = "disclosure"\n',
    ),
    ("the silence reprompt swapped for the amount", '[flow.prompts]\nno_input = "amount_again"\n'),
    ("the keypad menu swapped for a debt prompt", '[flow.prompts]\nkeypad_menu = "amount_again"\n'),
    ("repeat's lead-in swapped for the amount", '[flow.prompts]\nrepeat_intro = "amount_again"\n'),
    ("the not_available goodbye swapped for the disclosure", '[flow.prompts]\nnot_available = "disclosure"\n'),
    (
        "callback_open swapped for the amount (callback before identity)",
        '[flow.prompts]\ncallback_open = "amount_again"\n',
    ),
]


@pytest.mark.parametrize(("label", "body"), PLANTS, ids=[p[0] for p in PLANTS])
def test_planted_leak_is_reported(catalog: Catalog, tmp_path: Path, label: str, body: str) -> None:
    problems = check(load_flow(_planted(tmp_path, body)), catalog)
    assert any(LEAK in p for p in problems), (label, problems)


def test_a_keypad_menu_that_is_a_debt_prompt_is_reported(tmp_path: Path) -> None:
    catalog = _catalog_with(
        keypad_debt={
            "disclosure": "debt",
            "placeholders": ["valor"],
            "variants": [
                "O valor é {valor}. Digite um para sim, dois para não, ou nove para um atendente.",
                "São {valor}. Tecle um para sim, dois para não, ou nove para um atendente.",
            ],
        }
    )
    path = _planted(tmp_path, '[states.identity]\nkeypad_menu = "keypad_debt"\n')
    problems = check(load_flow(path), catalog)
    assert any(LEAK in p and "keypad_debt" in p for p in problems), problems


def test_a_prompt_not_marked_debt_that_says_the_amount_is_reported(tmp_path: Path) -> None:
    catalog = _catalog_with(
        ask_identity={
            "disclosure": "none",
            "placeholders": ["nome", "valor"],
            "variants": ["Eu falo com {nome}? É sobre {valor}.", "É {nome}? Sobre {valor}."],
        }
    )
    problems = check(load_flow("default"), catalog)
    assert any("ask_identity" in p for p in problems), problems


UNGUARDED_ACTIONS = [
    (
        "'qual é o valor' answered before identity",
        '[states.identity.on]\nask_amount = "@answer_question"\n',
        ["qual é o valor?"],
    ),
    ("a promise anywhere, unguarded", '[anywhere]\npromise_to_pay = "@promise"\n', ["pago dia 15", "pago dia 15"]),
    (
        "a dispute anywhere, unguarded",
        '[anywhere]\ndispute = "@dispute"\n[states.identity.on]\ndispute = "@dispute"\n',
        ["não devo nada"],
    ),
    ("cannot_pay straight to its action", '[states.identity.on]\ncannot_pay = "@cannot_pay"\n', ["não tenho dinheiro"]),
]


@pytest.mark.parametrize(("label", "body", "lines"), UNGUARDED_ACTIONS, ids=[u[0] for u in UNGUARDED_ACTIONS])
def test_an_unguarded_action_never_speaks_the_debt(
    catalog: Catalog, tmp_path: Path, label: str, body: str, lines: list[str]
) -> None:
    flow = load_flow(_planted(tmp_path, body))
    problems = check(flow, catalog)
    if any(LEAK in p for p in problems):
        return  # reported: the flow would be refused
    result = TextChannel(DialogEngine(make_ctx(), catalog, parse, flow=flow)).run(lines)
    assert all(a.disclosure == "none" for a in result.actions if isinstance(a, Say)), label


def test_confirming_identity_from_another_question_is_refused(catalog: Catalog, tmp_path: Path) -> None:
    """ "sim" to "when may we call back?" is not "yes, I am Maria": @confirm_identity outside the identity
    question must be reported by the check, and the engine must not disclose on it."""
    flow = load_flow(_planted(tmp_path, '[states.callback.on]\naffirm = "@confirm_identity"\n'))
    problems = check(flow, catalog)
    assert any("confirm_identity" in p for p in problems), problems
    result = TextChannel(DialogEngine(make_ctx(), catalog, parse, flow=flow)).run(["me liga mais tarde", "sim"])
    assert all(a.disclosure == "none" for a in result.actions if isinstance(a, Say))
