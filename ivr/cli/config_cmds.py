"""``ivr config``: the effective settings with where each value came from, and the shipped samples."""

from __future__ import annotations

import json
from typing import Any

import click
from sqlalchemy.engine import make_url
from sqlalchemy.exc import ArgumentError

from ivr.cli.context import Context, pass_ctx
from ivr.config import SECRET_KEYS, Settings, env_name, setting_keys
from ivr.privacy import redact_url
from ivr.resources import sample

REDACTED = "<redacted>"
SAMPLES = ("ivr.toml.example", "asterisk.conf.example")


def _value(settings: Settings, key: str) -> Any:
    section, _, name = key.rpartition(".")
    return getattr(getattr(settings, section) if section else settings, name)


def effective(settings: Settings) -> list[dict[str, Any]]:
    """One row per setting: ``key``, ``env`` (its variable), ``value`` (secrets and URL passwords redacted),
    ``source`` (``default``, ``file`` or ``environment``)."""
    rows = []
    for key in setting_keys():
        value = _value(settings, key)
        section, _, name = key.rpartition(".")
        if (section, name) in SECRET_KEYS and value:
            value = REDACTED
        elif key == "database.url" and value:
            try:
                value = make_url(value).render_as_string(hide_password=True)
            except ArgumentError:
                value = REDACTED  # unparseable: it may hold a password anywhere
        elif key.endswith("_url") and value:
            value = redact_url(value)  # a webhook or mirror URL may carry a password or a token
        rows.append({"key": key, "env": env_name(key), "value": value, "source": settings.sources.get(key, "default")})
    return rows


@click.group("config")
def config_group() -> None:
    """The settings: effective values and the sample files."""


@config_group.command("show")
@click.option("--json", "as_json", is_flag=True, help="One JSON object: file, settings [{key, env, value, source}].")
@pass_ctx
def config_show(ctx: Context, as_json: bool) -> None:
    """Print every setting with its value and source (default, file, environment); secrets redacted."""
    settings = ctx.settings
    rows = effective(settings)
    if as_json:
        click.echo(
            json.dumps(
                {"file": settings.config_file or None, "database": settings.database_origin(), "settings": rows},
                ensure_ascii=False,
            )
        )
        return
    click.echo(f"# settings file: {settings.config_file or 'none (defaults and environment only)'}")
    width = max(len(r["key"]) + len(json.dumps(r["value"], ensure_ascii=False)) for r in rows) + 3
    for r in rows:
        text = f"{r['key']} = {json.dumps(r['value'], ensure_ascii=False)}"
        click.echo(f"{text:<{width}} # {r['source']}")
    click.echo(f"# database: {settings.database_origin()}")


@config_group.command("sample")
@click.argument("name", type=click.Choice(SAMPLES))
def config_sample(name: str) -> None:
    """Print a shipped sample: ivr.toml.example (this service) or asterisk.conf.example (Asterisk's side)."""
    click.echo(sample(name).read_text(encoding="utf-8"), nl=False)
