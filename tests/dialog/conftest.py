"""Fixtures for conversation tests: the shipped catalog, the NLU, and a text channel."""

from __future__ import annotations

from typing import Any, Callable, Iterable

import pytest

from ivr.dialog.engine import Parser
from ivr.dialog.simulator import SimulationResult, simulate
from ivr.language.prompts import Catalog, load_catalog
from tests.dialog.helpers import make_ctx


def _parser() -> Parser:
    try:
        from ivr.language.nlu import parse
    except ImportError:  # until the NLU lands: a fake, named as one
        from tests.dialog.fake_nlu import fake_parse

        return fake_parse  # type: ignore[return-value]
    return parse  # type: ignore[return-value]


@pytest.fixture(scope="session")
def catalog() -> Catalog:
    return load_catalog()


@pytest.fixture(scope="session")
def parser() -> Parser:
    return _parser()


Talk = Callable[..., SimulationResult]


@pytest.fixture
def talk(catalog: Catalog, parser: Parser) -> Talk:
    """Run a whole call from the debtor's replies (end of the list = the debtor hangs up)."""

    def run(lines: Iterable[str], **overrides: Any) -> SimulationResult:
        return simulate(make_ctx(**overrides), list(lines), catalog, parser)

    return run
