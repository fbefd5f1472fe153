"""Fixtures for conversation tests: the shipped catalog, the NLU, and a text channel."""

from __future__ import annotations

from typing import Any, Callable, Iterable

import pytest

from ivr.dialog.engine import Parser
from ivr.dialog.simulator import SimulationResult, simulate
from ivr.language.nlu import parse
from ivr.language.prompts import Catalog, load_catalog
from tests.dialog.helpers import make_ctx


@pytest.fixture(scope="session")
def catalog() -> Catalog:
    return load_catalog()


@pytest.fixture(scope="session")
def parser() -> Parser:
    """The real NLU: conversations are tested with what the bot will really understand."""
    return parse


Talk = Callable[..., SimulationResult]


@pytest.fixture
def talk(catalog: Catalog, parser: Parser) -> Talk:
    """Run a whole call from the debtor's replies (end of the list = the debtor hangs up)."""

    def run(lines: Iterable[str], **overrides: Any) -> SimulationResult:
        return simulate(make_ctx(**overrides), list(lines), catalog, parser)

    return run
