"""CLI commands for the campaign area: ``ivr window`` explains whether a number may be called at an instant."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from typing import TYPE_CHECKING
from zoneinfo import ZoneInfo

import click

from ivr.br.phone import normalize_phone
from ivr.campaign.calendar import load_calendar
from ivr.campaign.rules import check
from ivr.config import Settings
from ivr.errors import InputError

if TYPE_CHECKING:
    from ivr.dialer.dialer import Dialer

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
    @click.option("--state", metavar="UF", help="Debtor's address state: its time zone must be inside the window "
                  "too, its holidays apply and its profile is intersected with the DDD state's.")
    @click.option("--city", metavar="NAME", help="Debtor's address city: its municipal holidays apply "
                  "(shipped for the state capitals; needs --state).")
    @click.option("--calendar", "calendar_path", metavar="FILE", type=click.Path(dir_okay=False),
                  help="A campaign holiday file, CSV date;uf;city;name.")
    @click.option("--noronha", is_flag=True, help="The address is on Fernando de Noronha (DDD 81, UTC-2).")
    @click.option("--json", "as_json", is_flag=True, help="Print the decision as JSON.")
    def window(phone: str, at_text: str | None, profile: str | None, state: str | None, city: str | None,
               calendar_path: str | None, noronha: bool, as_json: bool) -> None:
        """Say whether PHONE may be called at an instant under the Brazilian rules, and when it next may.

        When the address (--state) and the number's DDD are in different places, the stricter of the two holds.
        """
        if city is not None and state is None:
            raise InputError("--city needs --state (the city's UF)")
        calendar = load_calendar(calendar_path) if calendar_path else None
        decision = check(normalize_phone(phone), parse_instant(at_text), profile=profile, state=state,
                         noronha=noronha, city=city, calendar=calendar)
        if as_json:
            click.echo(json.dumps(decision.to_json(), ensure_ascii=False))
            return
        verdict = "callable" if decision.callable else "not callable"
        line = f"{verdict} at {decision.local_time:%a %Y-%m-%d %H:%M} ({decision.timezone}): {decision.reason}"
        if not decision.callable:
            opens = decision.next_open
            line += f"; next open {opens:%a %Y-%m-%d %H:%M %z}" if opens else "; never opens"
        click.echo(line)

    register_operator(cli)


def _set_status(ctx_settings: Settings, name: str, allowed_from: tuple[str, ...], to: str, reopen: bool) -> str:
    from ivr.campaign.scheduler import campaign_policy, drop_unoriginated, refresh_queue
    from ivr.db.reports import find_campaign
    from ivr.db.session import open_database
    from ivr.errors import InputError as _InputError

    sessions = open_database(ctx_settings.database_url)
    with sessions.begin() as s:
        camp = find_campaign(s, name)
        if camp.status not in allowed_from:
            raise _InputError(f"campaign {name!r} is {camp.status}; only a campaign that is "
                              f"{' or '.join(allowed_from)} can become {to}")
        policy = campaign_policy(camp)
        camp.status = to
        queued = refresh_queue(s, camp.id, datetime.now(UTC), policy, reopen=True) if reopen else 0
        dropped = 0 if to == "running" else drop_unoriginated(s, camp.id, datetime.now(UTC))
    return f"campaign {name!r} is {to}" + (f" ({queued} people queued)" if reopen else "") \
        + (f" ({dropped} calls not yet dialled dropped)" if dropped else "")


AS_OF_HELP = ("Sandbox and demos only: the dialer's clock reads this instant at start and runs on in real "
              "time, so simulated phones can be called outside the calling window. Never in production.")


def register_operator(cli: click.Group) -> None:
    """``ivr campaign start|pause|resume|stop|status|run`` and ``ivr dialer``, attached to data_cmds' group."""
    from ivr.cli import Context, pass_ctx

    group = cli.commands["campaign"]
    assert isinstance(group, click.Group)

    @group.command("start")
    @click.argument("campaign")
    @pass_ctx
    def start(ctx: Context, campaign: str) -> None:
        """Let the dialers call this campaign (queues everyone with a debt in it)."""
        click.echo(_set_status(ctx.settings, campaign, ("draft", "stopped", "done"), "running", True))

    @group.command("pause")
    @click.argument("campaign")
    @pass_ctx
    def pause(ctx: Context, campaign: str) -> None:
        """No new calls; calls in progress finish."""
        click.echo(_set_status(ctx.settings, campaign, ("running",), "paused", False))

    @group.command("resume")
    @click.argument("campaign")
    @pass_ctx
    def resume(ctx: Context, campaign: str) -> None:
        """Dial again after a pause (everyone is re-checked against the rules)."""
        click.echo(_set_status(ctx.settings, campaign, ("paused",), "running", True))

    @group.command("stop")
    @click.argument("campaign")
    @pass_ctx
    def stop(ctx: Context, campaign: str) -> None:
        """Stop: no new calls; dialers exit when their calls end."""
        click.echo(_set_status(ctx.settings, campaign, ("running", "paused", "draft"), "stopped", False))

    @group.command("status")
    @click.argument("campaign")
    @click.option("--debtor", "debtor_ref", metavar="CPF_OR_ID", help="Explain whether this person may be called now.")
    @click.option("--at", "at_text", metavar="ISO8601", help="Instant for --debtor (default now).")
    @click.option("--json", "as_json", is_flag=True, help="Print JSON.")
    @pass_ctx
    def status(ctx: Context, campaign: str, debtor_ref: str | None, at_text: str | None, as_json: bool) -> None:
        """Live progress: dialled, answered, right-party contacts, promises, transfers, active calls, next time."""
        from ivr.campaign.status import campaign_status, explain_debtor

        at = parse_instant(at_text)
        if debtor_ref:
            info = explain_debtor(ctx.settings, campaign, debtor_ref, at)
            if as_json:
                click.echo(json.dumps(info, ensure_ascii=False))
                return
            click.echo(f"{info['debtor']}: {'callable' if info['callable'] else 'not callable'} — {info['reason']}")
            if info["next_try"]:
                click.echo(f"  next try: {info['next_try']}")
            for line in info["numbers"]:
                click.echo(f"  {line['number']}: {line['window']['reason']}")
            return
        info = campaign_status(ctx.settings, campaign, at)
        if as_json:
            click.echo(json.dumps(info, ensure_ascii=False))
            return
        for key, value in info.items():
            click.echo(f"{key.replace('_', ' ')}: {value}")

    def _observe(settings: Settings, dialer: Dialer, campaign: str) -> None:
        """Log lines carry the campaign; /metrics and /healthz when metrics.dialer_port is set."""
        from ivr import logs
        from ivr.metrics import database_check, start_metrics

        logs.bind(campaign=campaign)
        start_metrics(settings.metrics.host, settings.metrics.dialer_port, {
            "database": database_check(settings.database_url),
            "ami": lambda: (dialer.ami_connected, "connected" if dialer.ami_connected else "not connected")})

    def _run(ctx: Context, campaign: str, once: bool, until_idle: bool, as_of: str | None) -> None:
        import asyncio

        from ivr.db.session import open_database
        from ivr.dialer.dialer import Dialer, utc_now

        settings = ctx.settings
        clock = utc_now
        if as_of is not None:
            # The sandbox and the demo dial simulated phones at any hour: the calling-window rules are
            # evaluated as if the clock had started at --as-of, and it still advances in real time.
            offset = parse_instant(as_of) - utc_now()
            clock = lambda: utc_now() + offset  # noqa: E731
        dialer = Dialer(settings, open_database(settings.database_url), campaign, clock=clock)
        _observe(settings, dialer, campaign)
        try:
            stats = asyncio.run(dialer.run(once=once, until_idle=until_idle))
        except KeyboardInterrupt:
            click.echo("dialer interrupted; calls in progress are reconciled by the next dialer start", err=True)
            return
        outcomes = ", ".join(f"{k} {v}" for k, v in sorted(stats.outcomes.items())) or "none"
        click.echo(f"originated {stats.originated}, refused {stats.refused}, recovered {stats.recovered}; "
                   f"outcomes: {outcomes}")

    @group.command("run")
    @click.argument("campaign")
    @click.option("--once", is_flag=True, help="Dial one batch, wait for its outcomes, exit.")
    @click.option("--until-idle", is_flag=True, help="Exit when nobody is eligible now and no call is in progress.")
    @click.option("--as-of", "as_of", metavar="ISO8601", help=AS_OF_HELP)
    @pass_ctx
    def run(ctx: Context, campaign: str, once: bool, until_idle: bool, as_of: str | None) -> None:
        """Run a dialer on this campaign (several on PostgreSQL; one on SQLite)."""
        _run(ctx, campaign, once, until_idle, as_of)

    @cli.command("dialer")
    @click.argument("campaign")
    @click.option("--once", is_flag=True, help="Dial one batch, wait for its outcomes, exit.")
    @click.option("--until-idle", is_flag=True, help="Exit when nobody is eligible now and no call is in progress.")
    @click.option("--as-of", "as_of", metavar="ISO8601", help=AS_OF_HELP)
    @pass_ctx
    def dialer_cmd(ctx: Context, campaign: str, once: bool, until_idle: bool, as_of: str | None) -> None:
        """Run a dialer on CAMPAIGN (same as `ivr campaign run`)."""
        _run(ctx, campaign, once, until_idle, as_of)
