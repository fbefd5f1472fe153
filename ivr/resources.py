"""Files shipped inside the package (prompt catalog, flows, migrations, dialplan, sample configs).

Everything is found through ``importlib.resources`` from the installed ``ivr`` package, never from the
current folder or the source checkout, so an installed wheel works from anywhere. Layout::

    ivr/prompts/catalog.toml      every sentence the bot says
    ivr/flows/                    the conversation as data
    ivr/db/migrations/            Alembic environment and versions
    ivr/dialplan/                 extensions_ivr.conf, manager_ivr.conf, sandbox/
    ivr/samples/                  ivr.toml.example (the service), asterisk.conf.example (Asterisk's side)
    ivr/deploy/                   systemd/ (units, sysusers), ivr-admin (operator commands as the service user)
"""

from __future__ import annotations

from importlib.resources import files
from pathlib import Path

from ivr.errors import ConfigError


def package_path(*parts: str) -> Path:
    """The real filesystem path of ``ivr/<parts...>`` inside the installed package.

    Raises ConfigError when the package is not installed as plain files (a zip import): Alembic, Asterisk
    and the operator need real paths.
    """
    resource = files("ivr").joinpath(*parts)
    if not isinstance(resource, Path):  # pragma: no cover - zipimport installs only
        raise ConfigError(f"ivr/{'/'.join(parts)} is inside an archive; install the package unpacked (pip does)")
    return resource


def prompts_catalog() -> Path:
    """The shipped prompt catalog (``ivr/prompts/catalog.toml``)."""
    return package_path("prompts", "catalog.toml")


def flows_dir() -> Path:
    """The shipped conversation flows (``ivr/flows/``)."""
    return package_path("flows")


def migrations_dir() -> Path:
    """The Alembic script directory (``ivr/db/migrations``)."""
    return package_path("db", "migrations")


def dialplan_dir() -> Path:
    """The Asterisk-side files (``ivr/dialplan``): ``extensions_ivr.conf``, ``manager_ivr.conf``, ``sandbox/``."""
    return package_path("dialplan")


def sample(name: str) -> Path:
    """A sample configuration in ``ivr/samples`` (``ivr.toml.example`` or ``asterisk.conf.example``)."""
    return package_path("samples", name)


def deploy_dir() -> Path:
    """The production install files (``ivr/deploy``): ``systemd/`` (units, ``ivr.sysusers.conf``) and
    ``ivr-admin``; docs/INSTALL.md copies them from here, so an installed wheel is enough."""
    return package_path("deploy")
