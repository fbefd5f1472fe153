"""Call flows as data: states, what is said and listened for, the next step per intent, the failure ladder.

A flow is a TOML file (``ivr/flows/<name>.toml``, shipped as package data; a campaign picks one with its
``flow`` policy key). The dialog engine (``ivr.dialog.engine``) runs it; ``check`` proves what a compliance
reviewer needs (reachability, endings, keys announced vs mapped, prompt ids, and no ``debt`` prompt before
the identity guard); ``to_dot`` / ``to_mermaid`` draw it.

File shape::

    [flow]
    name = "default"
    start = "identity"
    extends = "default"          # optional: take another flow and change only what is written here
    [flow.prompts]               # optional: say another catalog prompt wherever the flow says this one
    disclosure = "disclosure_reminder"
    [always]                     # tried before the state's own table (agent, opt-out)
    agent = "@transfer"
    [anywhere]                   # tried after the state's own table (questions, callbacks, ...)
    repeat = "@repeat"
    [states.offer]
    ask = ["offer_pay"]          # the question: said on entry, repeated by the ladder
    hints = ["sim", "não"]       # phrases the recognizer favours
    max_digits = 1
    keypad = { "1" = "affirm", "2" = "deny", "9" = "agent" }   # also "DDMM" (a date) and "N" (a count)
    keypad_menu = "keypad_menu"  # the prompt that announces the keys (third step of the ladder)
    failure = ["reprompt", "reprompt", "keypad", { end = "no_response", say = ["goodbye_no_response"] }]
    [states.offer.on]
    affirm = "@offer_yes"        # "@name": a named action (Python); "state": go there and ask its question
    deny = { end = "cannot_pay", say = ["cannot_pay_ack"] }      # or end the call with an outcome
    dispute = { do = "@dispute", guard = "identity_confirmed" }  # guards come from a small named set

Guards (``GUARDS``) and actions (``ivr.dialog.engine.ACTIONS``) are Python; the flow only names them.
"""

from __future__ import annotations

import re
import tomllib
from collections import deque
from dataclasses import dataclass, field, replace
from importlib import resources
from pathlib import Path
from typing import Any, Iterable, Iterator

from ivr.errors import InputError

GUARDS: dict[str, str] = {
    "identity_confirmed": "the person said they are the debtor and passed verification when the campaign asks",
    "records_call": "the campaign records calls (the recording notice is said)",
    "verification_required": "the campaign asks a verification question after the identity answer",
    "transfer_allowed": "the campaign offers a human for other conditions",
    "installments_allowed": "the campaign allows installment offers",
}
"""The named guards a flow may use (``!name`` negates). Evaluated by the engine; documented here."""

FAILURE_STEPS = ("reprompt", "keypad")
SPECIAL_KEYS = ("DDMM", "N", "digits")
"""Keypad entries that are not one key: a 4-digit date, a count, free digits (verification)."""

IDENTITY_GUARD = "identity_confirmed"


@dataclass(frozen=True)
class Step:
    """What happens on one intent (or one ladder step): go to a state, run an action, or end the call."""

    where: str
    goto: str | None = None
    do: str | None = None
    end: str | None = None
    say: tuple[str, ...] = ()
    note: str = ""
    review: str | None = None
    guard: str | None = None
    keep_position: bool = False
    """On an ending: keep an outcome already recorded in the call (a promise, a dispute) instead."""

    def describe(self) -> str:
        if self.goto:
            return self.goto
        if self.do:
            return "@" + self.do
        return f"end:{self.end}"


@dataclass(frozen=True)
class StateSpec:
    name: str
    ask: tuple[str, ...] = ()
    intro: tuple[tuple[str, str | None], ...] = ()
    """(prompt, guard) said before the question when the call starts here."""
    hints: tuple[str, ...] = ()
    max_digits: int | str = 1
    """Digits collected per keypad answer; ``"verification"``: 4 for a birth year, 3 for CPF digits."""
    keypad_extra_s: float = 4.0
    keypad: dict[str, str] = field(default_factory=dict)
    keypad_menu: str | None = None
    on: dict[str, tuple[Step, ...]] = field(default_factory=dict)
    otherwise: Step | None = None
    failure: tuple[str | Step, ...] = ("reprompt", "reprompt", "keypad")
    timeout: str = "listen"
    """``listen``: the campaign's listen timeout; ``hold``: what is left of the wait for the debtor."""


@dataclass(frozen=True)
class Flow:
    name: str
    start: str
    states: dict[str, StateSpec]
    always: dict[str, tuple[Step, ...]] = field(default_factory=dict)
    anywhere: dict[str, tuple[Step, ...]] = field(default_factory=dict)
    prompt_map: dict[str, str] = field(default_factory=dict)
    description: str = ""
    source: str = "<memory>"

    def prompt(self, prompt_id: str) -> str:
        """The catalog prompt said for a prompt id of the flow (stage flows swap some)."""
        return self.prompt_map.get(prompt_id, prompt_id)

    def state(self, name: str) -> StateSpec:
        try:
            return self.states[name]
        except KeyError:
            raise InputError(f"{self.source}: the flow has no state {name!r}") from None


# --- loading -------------------------------------------------------------------------------------------


def shipped_flows() -> list[str]:
    """Names of the flows shipped in the package (``default``, ``reminder``, ``early``, ``late``)."""
    return sorted(
        p.name.removesuffix(".toml") for p in resources.files(__package__).iterdir() if p.name.endswith(".toml")
    )


def _read(name_or_path: str | Path) -> tuple[dict[str, Any], str]:
    text_path = str(name_or_path)
    if text_path.endswith(".toml") or "/" in text_path:
        path = Path(text_path)
        try:
            raw = path.read_text(encoding="utf-8")
        except FileNotFoundError:
            raise InputError(f"flow file {path} not found") from None
        source = str(path)
    else:
        resource = resources.files(__package__) / f"{text_path}.toml"
        if not resource.is_file():
            raise InputError(
                f"no flow named {text_path!r} (shipped: {', '.join(shipped_flows())}); "
                f'pass a .toml file or set the campaign policy key "flow"'
            )
        raw = resource.read_text(encoding="utf-8")
        source = f"ivr/flows/{text_path}.toml"
    try:
        return tomllib.loads(raw), source
    except tomllib.TOMLDecodeError as exc:
        raise InputError(f"{source}: {exc}") from None


def load_flow(name_or_path: str | Path = "default") -> Flow:
    """A shipped flow by name, or a flow file; InputError (one line: file, field, what to do) when malformed."""
    data, source = _read(name_or_path)
    base: Flow | None = None
    meta = data.get("flow", {})
    if not isinstance(meta, dict):
        raise InputError(f"{source}: [flow] must be a table")
    if meta.get("extends"):
        base = load_flow(str(meta["extends"]))
    return _build(data, source, base)


def _strs(value: Any, where: str, source: str) -> tuple[str, ...]:
    if isinstance(value, str):
        return (value,)
    if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
        raise InputError(f"{source}: {where} must be a list of texts")
    return tuple(value)


def _step(value: Any, where: str, source: str) -> Step:
    if isinstance(value, str):
        return Step(where, do=value[1:]) if value.startswith("@") else Step(where, goto=value)
    if not isinstance(value, dict):
        raise InputError(f'{source}: {where} must be a state name, "@action" or a table (goto/do/end)')
    known = {"goto", "do", "end", "say", "note", "review", "guard", "keep_position"}
    unknown = set(value) - known
    if unknown:
        raise InputError(f"{source}: {where}: unknown key {sorted(unknown)[0]!r} (known: {', '.join(sorted(known))})")
    targets = [k for k in ("goto", "do", "end") if k in value]
    if len(targets) != 1:
        raise InputError(f"{source}: {where} needs exactly one of goto, do, end")
    do = value.get("do")
    if isinstance(do, str):
        do = do.removeprefix("@")
    return Step(
        where,
        goto=value.get("goto"),
        do=do,
        end=value.get("end"),
        say=_strs(value.get("say", []), f"{where}.say", source),
        note=str(value.get("note", "")),
        review=value.get("review"),
        guard=value.get("guard"),
        keep_position=bool(value.get("keep_position")),
    )


def _steps(value: Any, where: str, source: str) -> tuple[Step, ...]:
    if isinstance(value, list):
        return tuple(_step(v, f"{where}[{i}]", source) for i, v in enumerate(value))
    return (_step(value, where, source),)


def _table(data: Any, where: str, source: str) -> dict[str, tuple[Step, ...]]:
    if data is None:
        return {}
    if not isinstance(data, dict):
        raise InputError(f"{source}: [{where}] must be a table of intent = step")
    return {intent: _steps(v, f"{where}.{intent}", source) for intent, v in data.items()}


def _state(name: str, table: dict[str, Any], source: str, base: StateSpec | None) -> StateSpec:
    where = f"states.{name}"
    known = {
        "ask",
        "intro",
        "hints",
        "max_digits",
        "keypad_extra_s",
        "keypad",
        "keypad_menu",
        "on",
        "otherwise",
        "failure",
        "timeout",
    }
    unknown = set(table) - known
    if unknown:
        raise InputError(f"{source}: {where}: unknown key {sorted(unknown)[0]!r} (known: {', '.join(sorted(known))})")
    spec = base or StateSpec(name)
    changes: dict[str, Any] = {}
    if "ask" in table:
        changes["ask"] = _strs(table["ask"], f"{where}.ask", source)
    if "intro" in table:
        intro: list[tuple[str, str | None]] = []
        for i, item in enumerate(table["intro"]):
            if isinstance(item, str):
                intro.append((item, None))
            elif isinstance(item, dict) and isinstance(item.get("say"), str):
                intro.append((item["say"], item.get("guard")))
            else:
                raise InputError(f"{source}: {where}.intro[{i}] must be a prompt id or {{ say = ..., guard = ... }}")
        changes["intro"] = tuple(intro)
    if "hints" in table:
        changes["hints"] = _strs(table["hints"], f"{where}.hints", source)
    if "max_digits" in table:
        value = table["max_digits"]
        if not (isinstance(value, int) and 1 <= value <= 8) and value != "verification":
            raise InputError(f'{source}: {where}.max_digits must be 1 to 8 or "verification", not {value!r}')
        changes["max_digits"] = value
    if "keypad_extra_s" in table:
        changes["keypad_extra_s"] = float(table["keypad_extra_s"])
    if "keypad" in table:
        keypad = table["keypad"]
        if not isinstance(keypad, dict) or not all(isinstance(v, str) for v in keypad.values()):
            raise InputError(f'{source}: {where}.keypad must map keys to intents, like {{ "1" = "affirm" }}')
        changes["keypad"] = dict(keypad)
    if "keypad_menu" in table:
        changes["keypad_menu"] = str(table["keypad_menu"])
    if "on" in table:
        merged = dict(spec.on) if base else {}
        merged.update(_table(table["on"], f"{where}.on", source))
        changes["on"] = merged
    if "otherwise" in table:
        changes["otherwise"] = _step(table["otherwise"], f"{where}.otherwise", source)
    if "failure" in table:
        ladder: list[str | Step] = []
        for i, item in enumerate(table["failure"]):
            ladder.append(
                item
                if isinstance(item, str) and not item.startswith("@")
                else _step(item, f"{where}.failure[{i}]", source)
            )
        changes["failure"] = tuple(ladder)
    if "timeout" in table:
        changes["timeout"] = str(table["timeout"])
    return replace(spec, name=name, **changes)


def _build(data: dict[str, Any], source: str, base: Flow | None) -> Flow:
    meta = data.get("flow", {})
    states: dict[str, StateSpec] = dict(base.states) if base else {}
    raw_states = data.get("states", {})
    if not isinstance(raw_states, dict):
        raise InputError(f"{source}: [states] must be a table of state tables")
    for name, table in raw_states.items():
        if not isinstance(table, dict):
            raise InputError(f"{source}: states.{name} must be a table")
        states[name] = _state(name, table, source, states.get(name))
    always = {**(base.always if base else {}), **_table(data.get("always"), "always", source)}
    anywhere = {**(base.anywhere if base else {}), **_table(data.get("anywhere"), "anywhere", source)}
    prompt_map = {**(base.prompt_map if base else {}), **{str(k): str(v) for k, v in meta.get("prompts", {}).items()}}
    start = str(meta.get("start") or (base.start if base else ""))
    if not start:
        raise InputError(f'{source}: [flow] needs start = "<state>"')
    return Flow(
        str(meta.get("name") or Path(source).stem),
        start,
        states,
        always,
        anywhere,
        prompt_map,
        str(meta.get("description", base.description if base else "")),
        source,
    )


# --- checking ------------------------------------------------------------------------------------------

_KEY_WORDS = {
    "zero": "0",
    "um": "1",
    "dois": "2",
    "três": "3",
    "tres": "3",
    "quatro": "4",
    "cinco": "5",
    "seis": "6",
    "sete": "7",
    "oito": "8",
    "nove": "9",
    "asterisco": "*",
    "estrela": "*",
    "cerquilha": "#",
    "jogo da velha": "#",
}
_KEY_RE = re.compile(
    r"\b(?:(?:digite|digitar|tecle|teclar|aperte|apertar)\s+(?:o\s+)?(" + "|".join(_KEY_WORDS) + r")|"
    r"(" + "|".join(_KEY_WORDS) + r")\s+para)\b",
    re.IGNORECASE,
)


def announced_keys(text: str) -> set[str]:
    """Keys a prompt tells the caller to press: "digite um para sim ... ou nove para um atendente" -> {1, 9}."""
    keys = set()
    for m in _KEY_RE.finditer(text):
        keys.add(_KEY_WORDS[(m.group(1) or m.group(2)).lower()])
    return keys


@dataclass(frozen=True)
class _Edge:
    source: str
    label: str
    target: str | None
    """A state, or None for the end of the call."""
    says: tuple[str, ...]
    guard: str | None


def _expand(prompt_id: str) -> list[str]:
    if "{verification}" in prompt_id:
        return [prompt_id.replace("{verification}", v) for v in ("birth_year", "cpf3")]
    return [prompt_id]


def edges(flow: Flow) -> Iterator[_Edge]:
    """Every transition of the flow, actions expanded by what they declare (``ivr.dialog.engine.ACTIONS``)."""
    from ivr.dialog.engine import ACTIONS

    def of_step(state: str, label: str, step: Step) -> Iterator[_Edge]:
        if step.goto is not None:
            yield _Edge(
                state,
                label,
                step.goto,
                step.say + tuple(flow.states[step.goto].ask) if step.goto in flow.states else step.say,
                step.guard,
            )
        elif step.end is not None:
            yield _Edge(state, label, None, step.say, step.guard)
        elif step.do is not None and step.do in ACTIONS:
            for exit_ in ACTIONS[step.do].exits:
                target = state if exit_.target == "=" else exit_.target
                says = exit_.says
                if exit_.target == "=" and exit_.asks_again:
                    says = says + tuple(flow.states[state].ask) if state in flow.states else says
                guard = exit_.guard or step.guard
                yield _Edge(state, f"{label} @{step.do}", target, says, guard)

    for name, spec in flow.states.items():
        tables = [("always", flow.always), ("on", spec.on), ("anywhere", flow.anywhere)]
        for _, table in tables:
            for intent, steps in table.items():
                for step in steps:
                    yield from of_step(name, intent, step)
        if spec.otherwise is not None:
            yield from of_step(name, "otherwise", spec.otherwise)
        for i, item in enumerate(spec.failure):
            if isinstance(item, Step):
                yield from of_step(name, f"failure {i + 1}", item)
            elif item == "reprompt":  # "não entendi" / "não ouvi", then the question again (engine._failure)
                yield _Edge(name, f"failure {i + 1} reprompt", name, ("no_match", "no_input", *spec.ask), None)
            elif item == "keypad":  # the question, then the keypad menu
                yield _Edge(name, f"failure {i + 1} keypad", name, (*spec.ask, spec.keypad_menu or "keypad_menu"), None)


def _guard_sets_identity(guard: str | None) -> bool:
    return guard == IDENTITY_GUARD


def check(flow: Flow, catalog: Any) -> list[str]:
    """Problems, one line each (empty: the flow is fit to run). See the module docstring for what is proved."""
    from ivr.dialog.engine import ACTIONS, DERIVED_INTENTS
    from ivr.vocabulary import Intent, Outcome, ReviewReason

    problems: list[str] = []
    key_problems: list[str] = []
    src = flow.source
    intents = {str(i) for i in Intent} | DERIVED_INTENTS

    def prompt_ok(pid: str, where: str) -> None:
        for p in _expand(pid):
            if flow.prompt(p) not in catalog.prompts:
                problems.append(f"{src}: {where}: prompt {flow.prompt(p)!r} is not in the catalog {catalog.source}")

    def step_ok(step: Step) -> None:
        if step.goto is not None and step.goto not in flow.states:
            problems.append(f"{src}: {step.where}: goes to {step.goto!r}, which is not a state")
        if step.do is not None and step.do not in ACTIONS:
            problems.append(f"{src}: {step.where}: unknown action @{step.do} (known: {', '.join(sorted(ACTIONS))})")
        if step.end is not None and step.end not in {str(o) for o in Outcome}:
            problems.append(f"{src}: {step.where}: unknown outcome {step.end!r}")
        if step.review is not None and step.review not in {str(r) for r in ReviewReason}:
            problems.append(f"{src}: {step.where}: unknown review reason {step.review!r}")
        if step.guard is not None and step.guard.removeprefix("!") not in GUARDS:
            problems.append(f"{src}: {step.where}: unknown guard {step.guard!r} (known: {', '.join(GUARDS)})")
        for p in step.say:
            prompt_ok(p, step.where)

    if flow.start not in flow.states:
        problems.append(f"{src}: flow.start: {flow.start!r} is not a state")
        return problems
    for label, table in (("always", flow.always), ("anywhere", flow.anywhere)):
        for intent, steps in table.items():
            if intent not in intents:
                problems.append(f"{src}: {label}.{intent}: unknown intent (see ivr.vocabulary.Intent)")
            for step in steps:
                step_ok(step)
    for name, spec in flow.states.items():
        where = f"states.{name}"
        for p in spec.ask:
            prompt_ok(p, f"{where}.ask")
        for p, guard in spec.intro:
            prompt_ok(p, f"{where}.intro")
            if guard is not None and guard.removeprefix("!") not in GUARDS:
                problems.append(f"{src}: {where}.intro: unknown guard {guard!r}")
        for intent, steps in spec.on.items():
            if intent not in intents:
                problems.append(f"{src}: {where}.on.{intent}: unknown intent (see ivr.vocabulary.Intent)")
            for step in steps:
                step_ok(step)
        if spec.otherwise is not None:
            step_ok(spec.otherwise)
        for item in spec.failure:
            if isinstance(item, Step):
                step_ok(item)
            elif item not in FAILURE_STEPS:
                problems.append(
                    f"{src}: {where}.failure: unknown step {item!r} (known: {', '.join(FAILURE_STEPS)}, "
                    f"or a step table)"
                )
        if spec.failure and not isinstance(spec.failure[-1], Step):
            problems.append(f"{src}: {where}.failure: the ladder must end with a step that ends or leaves the state")
        for key, intent in spec.keypad.items():
            if key not in SPECIAL_KEYS and not re.fullmatch(r"[0-9*#]", key):
                problems.append(f"{src}: {where}.keypad: {key!r} is not a key (0-9, *, #, {', '.join(SPECIAL_KEYS)})")
            if intent not in intents:
                problems.append(f"{src}: {where}.keypad.{key}: unknown intent {intent!r}")
        if "keypad" in spec.failure and spec.keypad_menu is None:
            problems.append(f"{src}: {where}: the ladder has a keypad step but no keypad_menu prompt")
        if spec.keypad_menu is not None:
            prompt_ok(spec.keypad_menu, f"{where}.keypad_menu")
            key_problems += _keys_problems(flow, spec, catalog)
    key_problems += _identity_action_problems(flow)
    if problems:
        return problems + key_problems
    # Keys that disagree with their menu, or an identity action in the wrong state, do not stop the walk: a
    # leak is reported alongside them.
    problems += key_problems + _graph_problems(flow, catalog)
    return problems


def _identity_action_problems(flow: Flow) -> list[str]:
    """The actions that open the debt (``@confirm_identity``, ``@verify_answer``) only where the question
    asked is the identity or verification question: "sim" to "when may we call?" is not "I am the debtor"."""
    from ivr.dialog.engine import IDENTITY_ACTIONS, IDENTITY_QUESTIONS, asked_for

    problems: list[str] = []
    for name, spec in flow.states.items():
        if asked_for(name) in IDENTITY_QUESTIONS:
            continue
        steps = [(f"on.{i}", s) for i, ss in spec.on.items() for s in ss]
        steps += [(f"always.{i}", s) for i, ss in flow.always.items() for s in ss]
        steps += [(f"anywhere.{i}", s) for i, ss in flow.anywhere.items() for s in ss]
        steps += [(f"failure {n + 1}", s) for n, s in enumerate(spec.failure) if isinstance(s, Step)]
        if spec.otherwise is not None:
            steps.append(("otherwise", spec.otherwise))
        for where, step in steps:
            if step.do in IDENTITY_ACTIONS:
                problems.append(
                    f"{flow.source}: states.{name}.{where}: @{step.do} answers the identity question, but "
                    f"state {name!r} asks another one (the engine will not run it here)"
                )
    return problems


def _variants(flow: Flow, catalog: Any, pid: str) -> list[str]:
    out: list[str] = []
    for p in _expand(pid):
        prompt = catalog.prompts.get(flow.prompt(p))
        if prompt is not None:
            out.extend(prompt.variants)
    return out


def _keys_problems(flow: Flow, spec: StateSpec, catalog: Any) -> list[str]:
    """Every key a state's keypad menu announces is mapped, and every mapped key is announced (each variant)."""
    problems: list[str] = []
    menu = spec.keypad_menu
    assert menu is not None
    mapped = {k for k in spec.keypad if k not in SPECIAL_KEYS}
    for i, text in enumerate(_variants(flow, catalog, menu), 1):
        said = announced_keys(text)
        for key in sorted(said - mapped):
            if "digits" not in spec.keypad and not ("N" in spec.keypad and key.isdigit()):
                problems.append(
                    f"{flow.source}: states.{spec.name}: prompt {menu!r} variant {i} announces key {key}, "
                    f"which the state's keypad does not map"
                )
        for key in sorted(mapped - said):
            problems.append(
                f"{flow.source}: states.{spec.name}: key {key} is mapped to {spec.keypad[key]!r} but "
                f"prompt {menu!r} variant {i} does not announce it"
            )
    return problems


def _graph_problems(flow: Flow, catalog: Any) -> list[str]:
    """Reachability, a way to end from every state, and no debt prompt before the identity guard."""
    from ivr.language.prompts import reveals_debt

    problems: list[str] = []
    src = flow.source
    all_edges = list(edges(flow))
    out: dict[str, list[_Edge]] = {name: [] for name in flow.states}
    for e in all_edges:
        out.setdefault(e.source, []).append(e)

    def debt(pid: str) -> bool:
        # Marked "debt", or saying debt detail whatever its mark (a {valor} in a prompt marked "none").
        return any(
            reveals_debt(catalog.prompts[flow.prompt(p)]) for p in _expand(pid) if flow.prompt(p) in catalog.prompts
        )

    # Walk (state, identity passed) from the start; the intro and the start's question come first.
    start = flow.states[flow.start]
    for pid, _ in start.intro:
        if debt(pid):
            problems.append(f"{src}: states.{flow.start}.intro: debt prompt {pid!r} said before the identity guard")
    for pid in start.ask:
        if debt(pid):
            problems.append(f"{src}: states.{flow.start}.ask: debt prompt {pid!r} said before the identity guard")
    seen: set[tuple[str, bool]] = {(flow.start, False)}
    path: dict[tuple[str, bool], str] = {(flow.start, False): flow.start}
    queue: deque[tuple[str, bool]] = deque(seen)
    reported: set[str] = set()  # each leaked prompt once, with the shortest path (breadth first)
    while queue:
        state, confirmed = queue.popleft()
        for e in out.get(state, []):
            if e.guard == "!" + IDENTITY_GUARD and confirmed:
                continue  # never taken once identity is confirmed
            after = confirmed or _guard_sets_identity(e.guard)
            if not after:
                for pid in e.says:
                    if debt(pid) and flow.prompt(pid) not in reported:
                        reported.add(flow.prompt(pid))
                        problems.append(
                            f"{src}: debt prompt {flow.prompt(pid)!r} is reachable before the identity "
                            f"guard: {path[(state, confirmed)]} -{e.label}-> {e.target or 'end'} "
                            f'(guard the step with "{IDENTITY_GUARD}")'
                        )
            if e.target is not None and e.target in flow.states and (e.target, after) not in seen:
                seen.add((e.target, after))
                path[(e.target, after)] = f"{path[(state, confirmed)]} -{e.label}-> {e.target}"
                queue.append((e.target, after))
    reached = {s for s, _ in seen}
    for name in flow.states:
        if name not in reached:
            problems.append(f"{src}: states.{name}: not reachable from the start state {flow.start!r}")
    # Every reachable state must be able to end the call.
    ends = {e.source for e in all_edges if e.target is None}
    can_end = set(ends)
    changed = True
    while changed:
        changed = False
        for e in all_edges:
            if e.target in can_end and e.source not in can_end:
                can_end.add(e.source)
                changed = True
    for name in sorted(reached - can_end):
        problems.append(f"{src}: states.{name}: no way to end the call from here")
    return problems


# --- drawing -------------------------------------------------------------------------------------------


def _graph_edges(flow: Flow) -> list[tuple[str, str, str, bool]]:
    """(from, to, label, guarded by identity) with parallel labels merged; "END" for endings."""
    merged: dict[tuple[str, str, bool], list[str]] = {}
    for e in edges(flow):
        key = (e.source, e.target or "END", e.guard == IDENTITY_GUARD)
        merged.setdefault(key, [])
        if e.label not in merged[key]:
            merged[key].append(e.label)
    return [(s, t, ", ".join(labels), g) for (s, t, g), labels in merged.items()]


def to_dot(flow: Flow, catalog: Any | None = None) -> str:
    """Graphviz DOT; states with a debt prompt are shaded, edges through the identity guard are bold."""
    lines = [
        f'digraph "{flow.name}" {{',
        "  rankdir=LR;",
        '  node [shape=box, fontname="Helvetica"];',
        '  END [shape=doublecircle, label="fim"];',
        f'  START [shape=point]; START -> "{flow.start}";',
    ]
    for name, spec in flow.states.items():
        debt = catalog is not None and any(
            catalog.prompts.get(flow.prompt(p)) is not None and catalog.prompts[flow.prompt(p)].disclosure == "debt"
            for a in spec.ask
            for p in _expand(a)
        )
        style = ', style=filled, fillcolor="#f4cccc"' if debt else ""
        label = name + ("\\n" + ", ".join(spec.ask) if spec.ask else "")
        lines.append(f'  "{name}" [label="{label}"{style}];')
    for s, t, label, guarded in _graph_edges(flow):
        extra = ", style=bold, color=darkgreen" if guarded else ""
        lines.append(f'  "{s}" -> "{t}" [label="{_dot_escape(label)}"{extra}];')
    lines.append("}")
    return "\n".join(lines) + "\n"


def _dot_escape(text: str) -> str:
    return text.replace('"', '\\"')


def to_mermaid(flow: Flow) -> str:
    """Mermaid ``stateDiagram-v2`` text."""
    lines = ["stateDiagram-v2", f"    [*] --> {flow.start}"]
    for s, t, label, guarded in _graph_edges(flow):
        target = "[*]" if t == "END" else t
        mark = " [identity]" if guarded else ""
        lines.append(f"    {s} --> {target}: {label.replace(':', ' ')}{mark}")
    return "\n".join(lines) + "\n"


def all_prompts(flow: Flow) -> Iterable[str]:
    """Every catalog prompt id the flow can say (for ``ivr prompts check``)."""
    out: set[str] = set()
    for spec in flow.states.values():
        out.update(p for a in spec.ask for p in _expand(a))
        out.update(p for p, _ in spec.intro)
        if spec.keypad_menu:
            out.add(spec.keypad_menu)
    for e in edges(flow):
        out.update(p for a in e.says for p in _expand(a))
    return sorted(flow.prompt(p) for p in out)
