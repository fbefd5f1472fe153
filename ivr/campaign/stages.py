"""Stages of the collection ruler ("régua de cobrança"): days relative to the due date choose the call flow.

Policy ``stages``: ``[{"from_day": -5, "to_day": 0, "flow": "reminder"}, {"from_day": 1, "to_day": 30,
"flow": "early"}, {"from_day": 31, "flow": "late"}]``. Day 0 is the due date, negative days are before it.
Ranges are inclusive, may not overlap, and only the last may be open-ended (no ``to_day``). When stages are
given, a debtor whose day falls in none is not called; without stages every day uses the default flow.
The order of the list is the calling priority between stages (agreements fall sharply after 30 days, so
campaigns list early delinquency first); within a stage the higher balance goes first.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

DEFAULT_FLOW = "default"
"""The flow used when a campaign has no stages (``ivr/flows/default.toml``; policy ``flow`` may change it)."""
REMINDER_FLOW = "reminder"
_FLOW_NAME = re.compile(r"[a-z][a-z0-9_]{0,39}")
_KEYS = ("from_day", "to_day", "flow")
_DAY_LIMIT = 3650


@dataclass(frozen=True)
class Stage:
    from_day: int
    """Days after the due date (negative: before it), inclusive."""
    to_day: int | None
    """Inclusive; None: no end."""
    flow: str

    def covers(self, day: int) -> bool:
        return self.from_day <= day and (self.to_day is None or day <= self.to_day)

    def to_json(self) -> dict[str, Any]:
        data: dict[str, Any] = {"from_day": self.from_day, "flow": self.flow}
        if self.to_day is not None:
            data["to_day"] = self.to_day
        return data


def _day(value: Any, where: str, errors: list[str]) -> int | None:
    if isinstance(value, bool) or not isinstance(value, int) or not -_DAY_LIMIT <= value <= _DAY_LIMIT:
        errors.append(
            f"{where} must be a whole number of days from the due date (-{_DAY_LIMIT} to {_DAY_LIMIT}), not {value!r}"
        )
        return None
    return value


def stages_from_dict(data: Any, source: str, errors: list[str]) -> tuple[Stage, ...]:
    """Policy ``stages`` from JSON; each problem appended to ``errors`` as one line naming the entry."""
    where = f"{source}: stages"
    if not isinstance(data, list):
        errors.append(f"{where} must be a list of {{from_day, to_day, flow}} objects")
        return ()
    stages: list[Stage] = []
    for i, spec in enumerate(data):
        at = f"{where}[{i}]"
        if not isinstance(spec, dict):
            errors.append(f"{at} must be an object with from_day, to_day (optional) and flow")
            continue
        for key in spec:
            if key not in _KEYS:
                errors.append(f"{at}: unknown key {key!r} (known: {', '.join(_KEYS)})")
        if "from_day" not in spec or "flow" not in spec:
            errors.append(f"{at}: from_day and flow are required")
            continue
        start = _day(spec["from_day"], f"{at}.from_day", errors)
        end = _day(spec["to_day"], f"{at}.to_day", errors) if spec.get("to_day") is not None else None
        flow = spec["flow"]
        if not isinstance(flow, str) or not _FLOW_NAME.fullmatch(flow):
            errors.append(f"{at}.flow must be a flow name (lower case letters, digits, _), not {flow!r}")
            continue
        if start is None or ("to_day" in spec and spec["to_day"] is not None and end is None):
            continue
        if end is not None and end < start:
            errors.append(f"{at}: to_day {end} is before from_day {start}")
            continue
        stages.append(Stage(start, end, flow))
    for i, stage in enumerate(stages):
        if stage.to_day is None and i != len(stages) - 1:
            errors.append(f"{where}: only the last stage may leave out to_day (stage from day {stage.from_day})")
        for other in stages[i + 1 :]:
            lo = max(stage.from_day, other.from_day)
            hi_a = stage.to_day if stage.to_day is not None else _DAY_LIMIT
            hi_b = other.to_day if other.to_day is not None else _DAY_LIMIT
            if lo <= min(hi_a, hi_b):
                errors.append(
                    f"{where}: the stages from day {stage.from_day} and from day {other.from_day} "
                    f"overlap (day {lo} is in both)"
                )
    return tuple(stages)


def stage_for(stages: Sequence[Stage], day: int) -> Stage | None:
    """The stage covering ``day`` (days after the due date), None when none does."""
    return next((s for s in stages if s.covers(day)), None)


def flow_for(stages: Sequence[Stage], day: int) -> str | None:
    """The flow for a debtor ``day`` days after the due date: the default without stages, None if not called."""
    if not stages:
        return DEFAULT_FLOW
    stage = stage_for(stages, day)
    return stage.flow if stage is not None else None


def stage_rank(stages: Sequence[Stage], day: int) -> int:
    """Calling priority between stages: the stage's place in the list (0 first); len(stages) when none."""
    for i, stage in enumerate(stages):
        if stage.covers(day):
            return i
    return len(stages)


def next_stage_day(stages: Sequence[Stage], day: int) -> int | None:
    """The first day after ``day`` that some stage covers (when a debtor next enters a stage); None if never."""
    later = [s.from_day for s in stages if s.from_day > day]
    return min(later) if later else None
