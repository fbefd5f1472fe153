"""The call flow as a checked script (issue 10, section 4): shipped flows pass `ivr flow check`, planted unsafe
ones fail with one line per problem, `ivr flow graph` renders, the engine runs what the file says."""

from __future__ import annotations

import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from ivr.campaign.rules import Policy
from ivr.dialog.engine import DialogEngine, Say
from ivr.dialog.simulator import TextChannel
from ivr.errors import ConfigError, InputError
from ivr.flows import announced_keys, check, load_flow, shipped_flows, to_dot, to_mermaid
from ivr.language.prompts import Catalog
from tests.dialog.helpers import make_ctx, said

IVR = str(Path(sys.executable).with_name("ivr"))


def _planted(tmp_path: Path, body: str, name: str = "planted") -> Path:
    path = tmp_path / f"{name}.toml"
    path.write_text(f'[flow]\nname = "{name}"\nextends = "default"\n' + body, encoding="utf-8")
    return path


def test_shipped_flows_pass_the_check(catalog: Catalog) -> None:
    assert set(shipped_flows()) >= {"default", "reminder", "early", "late"}
    for name in shipped_flows():
        assert check(load_flow(name), catalog) == [], name


def test_a_flow_that_reaches_the_disclosure_before_identity_fails(catalog: Catalog, tmp_path: Path) -> None:
    # "sim" to the identity question goes straight to the offer: the debt, before the identity guard.
    path = _planted(tmp_path, '[states.identity.on]\naffirm = { goto = "offer", say = ["disclosure"] }\n')
    problems = check(load_flow(path), catalog)
    leaks = [p for p in problems if "before the identity guard" in p]
    assert leaks and any("'disclosure'" in p and ": identity -affirm-> offer" in p for p in leaks)
    assert any("'offer_pay'" in p for p in leaks)
    # The same step behind the guard is accepted.
    safe = _planted(
        tmp_path,
        '[states.identity.on]\naffirm = { goto = "offer", say = ["disclosure"], guard = "identity_confirmed" }\n',
        "safe",
    )
    assert not [p for p in check(load_flow(safe), catalog) if "identity guard" in p]


def test_the_check_command_fails_one_line_per_problem(tmp_path: Path) -> None:
    path = _planted(
        tmp_path,
        '[states.identity.on]\naffirm = "offer"\n[states.orphan]\nask = ["goodbye"]\n'
        'failure = [{ end = "no_response", say = ["nao_existe"] }]\n',
    )
    proc = subprocess.run([IVR, "flow", "check", str(path)], capture_output=True, text=True, check=False)
    assert proc.returncode == 1, proc.stdout
    lines = proc.stdout.strip().splitlines()
    assert any("prompt 'nao_existe' is not in the catalog" in line for line in lines)
    assert all(line.startswith(str(path)) for line in lines) and "Traceback" not in proc.stderr
    proc = subprocess.run([IVR, "flow", "check"], capture_output=True, text=True, check=False)
    assert (
        proc.returncode == 0 and "ivr/flows/default.toml: 16 states, no problems"
    )  # + plan_confirm, pay_channel, proposal_confirm (issue 11) in proc.stdout


@pytest.mark.parametrize(
    ("body", "expected"),
    [
        (
            '[states.orphan]\nask = ["goodbye"]\nfailure = [{ end = "no_response", say = ["goodbye"] }]\n',
            "states.orphan: not reachable",
        ),
        (
            '[states.offer]\nkeypad = { "1" = "affirm", "2" = "deny", "3" = "negotiate", "9" = "agent" }\n',
            "key 3 is mapped to 'negotiate' but prompt 'keypad_menu' variant 1 does not announce it",
        ),
        (
            '[states.offer]\nkeypad = { "1" = "affirm", "9" = "agent" }\n',
            "announces key 2, which the state's keypad does not map",
        ),
        ('[states.offer.on]\naffirm = "@teleport"\n', "unknown action @teleport"),
        ('[states.offer.on]\nmaybe = "ask_date"\n', "states.offer.on.maybe: unknown intent"),
        (
            '[states.offer.on]\naffirm = { goto = "ask_date", guard = "feeling_lucky" }\n',
            "unknown guard 'feeling_lucky'",
        ),
        ('[states.offer.on]\naffirm = { end = "happy" }\n', "unknown outcome 'happy'"),
    ],
)
def test_planted_problems_are_found(catalog: Catalog, tmp_path: Path, body: str, expected: str) -> None:
    problems = check(load_flow(_planted(tmp_path, body)), catalog)
    assert any(expected in p for p in problems), problems


def test_a_state_that_cannot_end_is_found(catalog: Catalog, tmp_path: Path) -> None:
    path = tmp_path / "loop.toml"
    path.write_text(
        '[flow]\nname = "loop"\nstart = "a"\n'
        '[states.a]\nask = ["ask_identity"]\nfailure = ["reprompt", { goto = "b" }]\n[states.a.on]\nunknown = "b"\n'
        '[states.b]\nask = ["ask_identity"]\nfailure = ["reprompt", { goto = "a" }]\n',
        encoding="utf-8",
    )
    problems = check(load_flow(path), catalog)
    assert any("states.a: no way to end the call" in p for p in problems), problems


def test_a_malformed_flow_is_one_line_naming_the_field(tmp_path: Path) -> None:
    path = _planted(tmp_path, "[states.offer]\nmax_digits = 99\n")
    with pytest.raises(InputError, match=r"planted.toml: states.offer.max_digits must be 1 to 8"):
        load_flow(path)
    with pytest.raises(InputError, match="no flow named 'nope'"):
        load_flow("nope")


def test_keys_announced_in_words() -> None:
    assert announced_keys("digite um para sim, dois para não, ou nove para falar com um atendente") == {"1", "2", "9"}
    assert announced_keys("Para falar com um atendente, digite nove.") == {"9"}
    assert announced_keys("cinco de dezembro é zero cinco um dois") == set()


def test_graph_renders_as_dot_and_mermaid(catalog: Catalog, tmp_path: Path) -> None:
    flow = load_flow("default")
    dot = to_dot(flow, catalog)
    assert dot.startswith('digraph "default"') and '"identity" -> "offer"' in dot and "style=bold" in dot
    mermaid = to_mermaid(flow)
    assert mermaid.startswith("stateDiagram-v2\n    [*] --> identity")
    graphviz = shutil.which("dot")
    assert graphviz, "graphviz is a bootstrap package (scripts/bootstrap.sh)"
    svg = subprocess.run([graphviz, "-Tsvg"], input=dot, capture_output=True, text=True, check=True).stdout
    assert "<svg" in svg and "identity" in svg
    out = tmp_path / "flow.mmd"
    proc = subprocess.run(
        [IVR, "flow", "graph", "--format", "mermaid", "--out", str(out)], capture_output=True, text=True, check=False
    )
    assert proc.returncode == 0 and out.read_text(encoding="utf-8") == mermaid


def test_stage_flows_change_what_is_said(catalog: Catalog, parser) -> None:
    for name, disclosure in (("reminder", "disclosure_reminder"), ("late", "disclosure_late"), ("early", "disclosure")):
        engine = DialogEngine(make_ctx(), catalog, parser, flow=load_flow(name))
        r = TextChannel(engine).run(["sim", "sim", "dia 15", "sim"])
        assert said(r)[3] == disclosure and r.outcome == "promise_to_pay", name


def test_the_engine_runs_what_the_flow_says(catalog: Catalog, parser, tmp_path: Path) -> None:
    # A script writer sends "não" at the offer straight to a human offer instead of the amount question.
    path = _planted(tmp_path, '[states.offer.on]\ndeny = { goto = "offer_agent", guard = "identity_confirmed" }\n')
    flow = load_flow(path)
    assert check(flow, catalog) == []
    r = TextChannel(DialogEngine(make_ctx(), catalog, parser, flow=flow)).run(["sim", "não", "sim"])
    assert said(r)[4:] == ["offer_pay", "offer_agent", "transfer"] and r.outcome == "transferred"


def test_the_runtime_guard_still_refuses_an_unchecked_unsafe_flow(catalog: Catalog, parser, tmp_path: Path) -> None:
    flow = load_flow(_planted(tmp_path, '[states.identity.on]\naffirm = "offer"\n'))
    engine = DialogEngine(make_ctx(), catalog, parser, flow=flow)
    with pytest.raises(RuntimeError, match="before identity"):
        TextChannel(engine).run(["sim"])


def test_campaign_policy_picks_a_flow() -> None:
    assert Policy.from_dict({"flow": "reminder"}).flow == "reminder"
    assert Policy().flow == "default"
    with pytest.raises(ConfigError, match="flow: no flow named 'lembrete'"):
        Policy.from_dict({"flow": "lembrete"})


def test_serve_preflight_refuses_a_failing_flow(catalog: Catalog, tmp_path: Path) -> None:
    from ivr.callservice.service import preflight

    assert preflight(catalog) == []
    bad = _planted(tmp_path, '[states.identity.on]\naffirm = "offer"\n')
    problems = preflight(catalog, [str(bad)])
    assert problems and "before the identity guard" in problems[0]


def test_serve_refuses_to_start_with_a_broken_catalog(tmp_path: Path) -> None:
    broken = tmp_path / "catalog.toml"
    shipped = Path(__file__).resolve().parents[2] / "ivr" / "prompts" / "catalog.toml"
    broken.write_text(
        shipped.read_text(encoding="utf-8").replace("[prompts.hold_ack]", "[prompts.hold_ack_gone]"), encoding="utf-8"
    )
    import os

    env = {**os.environ, "IVR_PROMPTS_CATALOG": str(broken)}
    proc = subprocess.run([IVR, "serve"], capture_output=True, text=True, check=False, env=env, timeout=60)
    assert proc.returncode == 1
    assert "hold_ack" in proc.stderr and "refusing to start" in proc.stderr and "Traceback" not in proc.stderr


def test_voicemail_is_linted_before_it_is_played(tmp_path: Path) -> None:
    from ivr.dialog.engine import voicemail_message
    from ivr.language.prompts import catalog_from_dict

    ok = voicemail_message(make_ctx(creditor_name="Banco Real"))  # a creditor's name is not a debt word
    assert isinstance(ok, Say) and "Banco Real" in ok.text
    planted = catalog_from_dict(
        {
            "prompts": {
                "voicemail": {
                    "disclosure": "none",
                    "placeholders": ["credor", "primeiro_nome"],
                    "variants": [
                        "Oi {primeiro_nome}, aqui é {credor}, sobre a sua dívida.",
                        "Oi {primeiro_nome}, {credor}.",
                    ],
                }
            }
        }
    )
    with pytest.raises(InputError, match="voicemail message refused by the prompt linter: .*debt word"):
        voicemail_message(make_ctx(seed="0"), planted)
