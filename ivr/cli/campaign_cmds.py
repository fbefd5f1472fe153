"""CLI commands for the campaign area: ``ivr window`` explains whether a number may be called at an instant."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from zoneinfo import ZoneInfo

import click

from ivr.br.phone import normalize_phone
from ivr.campaign.rules import check
from ivr.errors import InputError

NAIVE_ZONE = "America/Sao_Paulo"
"""An --at without offset is read as Brasília time: the time operators in Brazil think in."""


def parse_instant(text: str | None, now: datetime | None = None) -> datetime:
    """``--at`` as an aware datetime; ISO 8601 with offset or ``Z``; naive means Brasília time."""
    if text is None:
        return now if now is not None else datetime.now(UTC)
    try:
        at = datetime.fromisoformat(text.strip())
    except ValueError:
        raise InputError(f"--at {text!r} is not ISO 8601 (e.g. 2026-03-09T14:30:00-03:00 or 2026-03-09T17:30Z)") from None
    if at.tzinfo is None:
        at = at.replace(tzinfo=ZoneInfo(NAIVE_ZONE))
    return at


def register(cli: click.Group) -> None:
    """Attach this area's commands to the root group."""

    @cli.command("window")
    @click.argument("phone")
    @click.option("--at", "at_text", metavar="ISO8601",
                  help="Instant to check, e.g. 2026-03-09T14:30:00-03:00 or ...Z. Without an offset it is "
                       "Brasília time (America/Sao_Paulo). Default: now.")
    @click.option("--profile", metavar="NAME", help="Calling-window profile (default, SP, RJ, ...).")
    @click.option("--state", metavar="UF", help="Debtor's address state: adds its holidays and picks its profile.")
    @click.option("--noronha", is_flag=True, help="The address is on Fernando de Noronha (DDD 81, UTC-2).")
    @click.option("--json", "as_json", is_flag=True, help="Print the decision as JSON.")
    def window(phone: str, at_text: str | None, profile: str | None, state: str | None, noronha: bool,
               as_json: bool) -> None:
        """Say whether PHONE may be called at an instant under the Brazilian rules, and when it next may."""
        decision = check(normalize_phone(phone), parse_instant(at_text), profile=profile, state=state,
                         noronha=noronha)
        if as_json:
            click.echo(json.dumps(decision.to_json(), ensure_ascii=False))
            return
        verdict = "callable" if decision.callable else "not callable"
        line = f"{verdict} at {decision.local_time:%a %Y-%m-%d %H:%M} ({decision.timezone}): {decision.reason}"
        if not decision.callable:
            opens = decision.next_open
            line += f"; next open {opens:%a %Y-%m-%d %H:%M %z}" if opens else "; never opens"
        click.echo(line)
