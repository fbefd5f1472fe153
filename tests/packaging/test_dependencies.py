"""The declared dependencies are the ones the product uses, at versions the tests really ran with.

A dependency nothing imports is a package an admin installs, patches and audits for nothing (issue 17:
``asterisk-ami`` was declared and never imported); a lower bound below what the tests ran with promises
versions nobody tried."""

from __future__ import annotations

import ast
import tomllib
from importlib import metadata
from pathlib import Path

from packaging.requirements import Requirement
from packaging.version import Version

REPO = Path(__file__).resolve().parents[2]

# Needed at run time without an ``import`` of their own in ivr/, each with the reason.
INDIRECT = {
    "tzdata": "zoneinfo's time-zone data where the OS has none",
    "jinja2": "fastapi.templating.Jinja2Templates renders the console's pages",
    "python-multipart": "FastAPI parses Form/File fields (the console's forms and uploads) with it",
    "itsdangerous": "signs the cookie of Starlette's SessionMiddleware",
}


def _requirements() -> list[Requirement]:
    project = tomllib.loads((REPO / "pyproject.toml").read_text(encoding="utf-8"))["project"]
    return [Requirement(r) for r in project["dependencies"]]


def _imported_top_level_modules() -> set[str]:
    names: set[str] = set()
    for path in (REPO / "ivr").rglob("*.py"):
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if isinstance(node, ast.Import):
                names.update(alias.name.split(".")[0] for alias in node.names)
            elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
                names.add(node.module.split(".")[0])
    return names


def _canonical(name: str) -> str:
    return name.lower().replace("_", "-")


def test_every_runtime_dependency_is_imported_by_the_product_or_has_a_reason() -> None:
    provided: dict[str, set[str]] = {}
    for module, dists in metadata.packages_distributions().items():
        for dist in dists:
            provided.setdefault(_canonical(dist), set()).add(module)
    imported = _imported_top_level_modules()
    unused = [
        r.name
        for r in _requirements()
        if _canonical(r.name) not in INDIRECT and not provided.get(_canonical(r.name), set()) & imported
    ]
    assert unused == [], f"declared in pyproject.toml but never imported by ivr/: {unused}"
    assert set(INDIRECT) <= {_canonical(r.name) for r in _requirements()}, "a reason for a dependency not declared"


def test_lower_bounds_are_met_by_the_versions_the_tests_run_with() -> None:
    for requirement in _requirements():
        installed = Version(metadata.version(requirement.name))
        assert requirement.specifier.contains(installed, prereleases=True), (requirement, installed)
        lower = [Version(s.version) for s in requirement.specifier if s.operator == ">="]
        assert lower, f"{requirement.name}: no lower bound"
