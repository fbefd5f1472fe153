"""CLI commands for the campaign area: the ``ivr campaign`` group (create, list, show, start, pause, resume, stop,
status, run), ``ivr dialer`` (same as ``campaign run``) and ``ivr window`` (may a number be called at an instant)."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING

import click
from rich.console import Console
from rich.table import Table

from ivr.br.phone import normalize_phone
from ivr.campaign.calendar import load_calendar
from ivr.campaign.rules import check
from ivr.cli.context import Context, brl, parse_instant, pass_ctx
from ivr.config import Settings
from ivr.db.campaigns import campaign_summaries, change_campaign_status, ensure_campaign, set_campaign_policy
from ivr.db.reports import campaign_report, find_campaign
from ivr.db.session import open_database
from ivr.errors import InputError

if TYPE_CHECKING:
    from ivr.dialer.dialer import Dialer

AS_OF_HELP = (
    "Sandbox and demos only: the dialer's clock reads this instant at start and runs on in real "
    "time, so simulated phones can be called outside the calling window. Never in production."
)


@click.command("window")
@click.argument("phone")
@click.option(
    "--at",
    "at_text",
    metavar="ISO8601",
    help="Instant to check, e.g. 2026-03-09T14:30:00-03:00 or ...Z. Without an offset it is "
    "Brasília time (America/Sao_Paulo). Default: now.",
)
@click.option("--profile", metavar="NAME", help="Calling-window profile (default, SP, RJ, ...).")
@click.option(
    "--state",
    metavar="UF",
    help="Debtor's address state: its time zone must be inside the window "
    "too, its holidays apply and its profile is intersected with the DDD state's.",
)
@click.option(
    "--city",
    metavar="NAME",
    help="Debtor's address city: its municipal holidays apply (shipped for the state capitals; needs --state).",
)
@click.option(
    "--calendar",
    "calendar_path",
    metavar="FILE",
    type=click.Path(dir_okay=False),
    help="A campaign holiday file, CSV date;uf;city;name.",
)
@click.option("--noronha", is_flag=True, help="The address is on Fernando de Noronha (DDD 81, UTC-2).")
@click.option("--json", "as_json", is_flag=True, help="Print the decision as JSON.")
def window_cmd(
    phone: str,
    at_text: str | None,
    profile: str | None,
    state: str | None,
    city: str | None,
    calendar_path: str | None,
    noronha: bool,
    as_json: bool,
) -> None:
    """Say whether PHONE may be called at an instant under the Brazilian rules, and when it next may.

    When the address (--state) and the number's DDD are in different places, the stricter of the two holds.
    """
    if city is not None and state is None:
        raise InputError("--city needs --state (the city's UF)")
    calendar = load_calendar(calendar_path) if calendar_path else None
    decision = check(
        normalize_phone(phone),
        parse_instant(at_text),
        profile=profile,
        state=state,
        noronha=noronha,
        city=city,
        calendar=calendar,
    )
    if as_json:
        click.echo(json.dumps(decision.to_json(), ensure_ascii=False))
        return
    verdict = "callable" if decision.callable else "not callable"
    line = f"{verdict} at {decision.local_time:%a %Y-%m-%d %H:%M} ({decision.timezone}): {decision.reason}"
    if not decision.callable:
        opens = decision.next_open
        line += f"; next open {opens:%a %Y-%m-%d %H:%M %z}" if opens else "; never opens"
    click.echo(line)


@click.group("campaign")
def campaign_group() -> None:
    """Create, inspect and run dial campaigns."""


@campaign_group.command("create")
@click.argument("name")
@click.option("--creditor", required=True, help="Creditor the debts are owed to (spoken in the greeting).")
@click.option("--cnpj", help="Creditor CNPJ (14 characters, numeric or alphanumeric; check digits validated).")
@click.option("--records-calls", is_flag=True, help="Calls are recorded: the bot says so at the start.")
@click.option("--policy", "policy_json", help="JSON object of rule overrides (window profile, caps, retries...).")
@pass_ctx
def campaign_create(
    ctx: Context, name: str, creditor: str, cnpj: str | None, records_calls: bool, policy_json: str | None
) -> None:
    """Create a campaign for a creditor."""
    if cnpj is not None:
        from ivr.br.cnpj import normalize_cnpj

        try:
            cnpj = normalize_cnpj(cnpj)
        except InputError as exc:
            raise InputError(f"--cnpj: {exc}") from None
    policy = {}
    if policy_json:
        try:
            policy = json.loads(policy_json)
        except json.JSONDecodeError as exc:
            raise InputError(f"--policy: not valid JSON ({exc.msg} at column {exc.colno})") from None
        if not isinstance(policy, dict):
            raise InputError("--policy: must be a JSON object")
        from ivr.campaign.rules import Policy

        Policy.from_dict(policy, "--policy")  # refuse a typo now, not when the dialer starts
        if isinstance(policy.get("calendar"), str):
            policy["calendar"] = str(Path(policy["calendar"]).resolve())  # dialers may run from another folder
    sessions = open_database(ctx.settings.database_url)
    camp, created = ensure_campaign(sessions, name, creditor, cnpj, records_calls)
    if not created:
        raise InputError(f"campaign {name!r} already exists")
    if policy:
        with sessions.begin() as s:
            set_campaign_policy(s, camp.id, policy)
    click.echo(f"campaign {name!r} created for {creditor} (status draft)")


@campaign_group.command("list")
@pass_ctx
def campaign_list(ctx: Context) -> None:
    """List campaigns with their debts and status."""
    sessions = open_database(ctx.settings.database_url)
    table = Table("campaign", "creditor", "status", "debts", "owed")
    with sessions() as s:
        rows = campaign_summaries(s)
    for row in rows:
        table.add_row(row.name, row.creditor, row.status, str(row.debts), brl(row.owed or 0))
    Console().print(table)


@campaign_group.command("show")
@click.argument("name")
@pass_ctx
def campaign_show(ctx: Context, name: str) -> None:
    """Show one campaign: creditor, policy, debts and results so far."""
    sessions = open_database(ctx.settings.database_url)
    with sessions() as s:
        camp = find_campaign(s, name)
        click.echo(f"campaign: {camp.name}")
        click.echo(f"creditor: {camp.creditor.name}" + (f" (CNPJ {camp.creditor.cnpj})" if camp.creditor.cnpj else ""))
        click.echo(f"status: {camp.status}")
        click.echo(f"records calls: {'yes' if camp.records_calls else 'no'}")
        click.echo(f"policy: {json.dumps(camp.policy or {}, ensure_ascii=False)}")
        rep = campaign_report(s, name)
    click.echo(f"debts: {rep.debts}, owed {brl(rep.total_owed)}")
    click.echo(f"attempts: {rep.attempts}, answered {rep.answered}, promises {len(rep.promises)}")


def _set_status(ctx_settings: Settings, name: str, allowed_from: tuple[str, ...], to: str, reopen: bool) -> str:
    sessions = open_database(ctx_settings.database_url)
    with sessions.begin() as s:
        queued, dropped = change_campaign_status(s, name, allowed_from, to, reopen, datetime.now(UTC))
    return (
        f"campaign {name!r} is {to}"
        + (f" ({queued} people queued)" if reopen else "")
        + (f" ({dropped} calls not yet dialled dropped)" if dropped else "")
    )


@campaign_group.command("start")
@click.argument("campaign")
@pass_ctx
def campaign_start(ctx: Context, campaign: str) -> None:
    """Let the dialers call this campaign (queues everyone with a debt in it)."""
    click.echo(_set_status(ctx.settings, campaign, ("draft", "stopped", "done"), "running", True))


@campaign_group.command("pause")
@click.argument("campaign")
@pass_ctx
def campaign_pause(ctx: Context, campaign: str) -> None:
    """No new calls; calls in progress finish."""
    click.echo(_set_status(ctx.settings, campaign, ("running",), "paused", False))


@campaign_group.command("resume")
@click.argument("campaign")
@pass_ctx
def campaign_resume(ctx: Context, campaign: str) -> None:
    """Dial again after a pause (everyone is re-checked against the rules)."""
    click.echo(_set_status(ctx.settings, campaign, ("paused",), "running", True))


@campaign_group.command("stop")
@click.argument("campaign")
@pass_ctx
def campaign_stop(ctx: Context, campaign: str) -> None:
    """Stop: no new calls; dialers exit when their calls end."""
    click.echo(_set_status(ctx.settings, campaign, ("running", "paused", "draft"), "stopped", False))


@campaign_group.command("status")
@click.argument("campaign")
@click.option("--debtor", "debtor_ref", metavar="CPF_OR_ID", help="Explain whether this person may be called now.")
@click.option("--at", "at_text", metavar="ISO8601", help="Instant for --debtor (default now).")
@click.option("--json", "as_json", is_flag=True, help="Print JSON.")
@pass_ctx
def campaign_status_cmd(
    ctx: Context, campaign: str, debtor_ref: str | None, at_text: str | None, as_json: bool
) -> None:
    """Live progress: dialled, answered, right-party contacts, promises, transfers, active calls, next time."""
    from ivr.campaign.status import campaign_status, explain_debtor

    at = parse_instant(at_text)
    if debtor_ref is not None:
        if not debtor_ref.strip():
            raise InputError("--debtor is empty: give the debtor's id, CPF or contract id")
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
    start_metrics(
        settings.metrics.host,
        settings.metrics.dialer_port,
        {
            "database": database_check(settings.database_url),
            "ami": lambda: (dialer.ami_connected, "connected" if dialer.ami_connected else "not connected"),
        },
    )


def _run(ctx: Context, campaign: str, once: bool, until_idle: bool, as_of: str | None) -> None:
    import asyncio

    from ivr.dialer.dialer import Dialer, utc_now
    from ivr.sdnotify import Notifier

    settings = ctx.settings
    clock = utc_now
    if as_of is not None:
        # The sandbox and the demo dial simulated phones at any hour: the calling-window rules are
        # evaluated as if the clock had started at --as-of, and it still advances in real time.
        offset = parse_instant(as_of, option="--as-of") - utc_now()
        clock = lambda: utc_now() + offset  # noqa: E731
    dialer = Dialer(settings, open_database(settings.database_url), campaign, clock=clock)
    _observe(settings, dialer, campaign)
    try:
        stats = asyncio.run(Notifier().around(dialer.run(once=once, until_idle=until_idle), f"dialling {campaign}"))
    except KeyboardInterrupt:
        ctx.announce("dialer interrupted; calls in progress are reconciled by the next dialer start")
        return
    outcomes = ", ".join(f"{k} {v}" for k, v in sorted(stats.outcomes.items())) or "none"
    summary = (
        f"originated {stats.originated}, refused {stats.refused}, recovered {stats.recovered}; outcomes: {outcomes}"
    )
    if settings.log_format == "json":
        ctx.announce(summary)
    else:
        click.echo(summary)


@campaign_group.command("run")
@click.argument("campaign")
@click.option("--once", is_flag=True, help="Dial one batch, wait for its outcomes, exit.")
@click.option("--until-idle", is_flag=True, help="Exit when nobody is eligible now and no call is in progress.")
@click.option("--as-of", "as_of", metavar="ISO8601", help=AS_OF_HELP)
@pass_ctx
def campaign_run(ctx: Context, campaign: str, once: bool, until_idle: bool, as_of: str | None) -> None:
    """Run a dialer on this campaign (several on PostgreSQL; one on SQLite)."""
    _run(ctx, campaign, once, until_idle, as_of)


@click.command("dialer")
@click.argument("campaign")
@click.option("--once", is_flag=True, help="Dial one batch, wait for its outcomes, exit.")
@click.option("--until-idle", is_flag=True, help="Exit when nobody is eligible now and no call is in progress.")
@click.option("--as-of", "as_of", metavar="ISO8601", help=AS_OF_HELP)
@pass_ctx
def dialer_cmd(ctx: Context, campaign: str, once: bool, until_idle: bool, as_of: str | None) -> None:
    """Run a dialer on CAMPAIGN (same as `ivr campaign run`)."""
    _run(ctx, campaign, once, until_idle, as_of)
