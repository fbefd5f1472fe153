"""CLI commands for the outbox: ``ivr outbox run|list|retry`` (events for the creditor's webhook)."""

from __future__ import annotations

import json
import signal
import threading

import click

from ivr.cli.context import Context, pass_ctx
from ivr.db.models import OUTBOX_STATES
from ivr.db.outbox import count_by_state, find_events, list_events, requeue
from ivr.errors import InputError
from ivr.privacy import redact_url


@click.group("outbox")
def outbox_group() -> None:
    """Events for the creditor (promises, payment instructions, callbacks, reviews, calls) and their delivery."""


@outbox_group.command("run")
@click.option("--until-idle", is_flag=True, help="Exit when nothing is pending (dead letters excepted).")
@pass_ctx
def run_cmd(ctx: Context, until_idle: bool) -> None:
    """Deliver pending events to outbox.webhook_url, signed with IVR_OUTBOX_WEBHOOK_SECRET, until stopped."""
    from ivr.db.session import open_database
    from ivr.outbox.delivery import Worker, check_settings

    settings = ctx.settings
    check_settings(settings.outbox)  # before the database: a missing secret is the one line said
    worker = Worker(settings.outbox, open_database(settings.database_url))
    stop = threading.Event()
    for sig in (signal.SIGTERM, signal.SIGINT):
        signal.signal(sig, lambda *_: stop.set())
    ctx.announce(f"ivr outbox: delivering to {redact_url(settings.outbox.webhook_url)}")
    result = worker.run(stop, until_idle=until_idle)
    summary = f"delivered {result.delivered}, failed {result.failed}, dead {result.dead}"
    if settings.log_format == "json":
        ctx.announce(summary)
    else:
        click.echo(summary)


@outbox_group.command("list")
@click.option("--state", type=click.Choice(OUTBOX_STATES), help="Only events in this state.")
@click.option("--limit", type=click.IntRange(1, 100000), default=50, show_default=True)
@click.option("--json", "as_json", is_flag=True, help="Print one JSON object per line.")
@pass_ctx
def list_cmd(ctx: Context, state: str | None, limit: int, as_json: bool) -> None:
    """Events, newest first, with their delivery state; a count per state at the end."""
    from ivr.db.session import open_database

    sessions = open_database(ctx.settings.database_url)
    with sessions() as s:
        events = list_events(s, state, limit)
        counts = count_by_state(s)
    for ev in events:
        if as_json:
            click.echo(
                json.dumps(
                    {
                        "id": ev.id,
                        "type": ev.event_type,
                        "idempotency_key": ev.idempotency_key,
                        "state": ev.state,
                        "attempt_id": ev.attempt_id,
                        "failures": ev.deliveries,
                        "last_error": ev.last_error,
                        "created_at": ev.created_at.isoformat(),
                        "delivered_at": ev.delivered_at.isoformat() if ev.delivered_at else None,
                    },
                    ensure_ascii=False,
                )
            )
            continue
        when = (
            f"delivered {ev.delivered_at:%Y-%m-%d %H:%M:%S}"
            if ev.delivered_at
            else f"next try {ev.next_attempt_at:%Y-%m-%d %H:%M:%S}"
            if ev.state == "pending"
            else "dead"
        )
        error = f" — {ev.last_error}" if ev.last_error else ""
        click.echo(
            f"{ev.id:>6} {ev.event_type:<30} {ev.state:<9} attempt {ev.attempt_id or '-':<6} "
            f"failures {ev.deliveries} {when}{error}"
        )
    if not as_json:
        click.echo(", ".join(f"{st} {counts.get(st, 0)}" for st in OUTBOX_STATES))


@outbox_group.command("retry")
@click.argument("event_ids", nargs=-1, type=int)
@click.option("--dead", "all_dead", is_flag=True, help="Every dead event.")
@pass_ctx
def retry_cmd(ctx: Context, event_ids: tuple[int, ...], all_dead: bool) -> None:
    """Send dead (or pending) events again now, with their failures reset; delivered ones are left alone."""
    from ivr.db.session import open_database

    if not event_ids and not all_dead:
        raise InputError("give event ids (see `ivr outbox list --state dead`) or --dead")
    sessions = open_database(ctx.settings.database_url)
    with sessions.begin() as s:
        events = find_events(s, event_ids, all_dead)
        found = {ev.id for ev in events}
        missing = [i for i in event_ids if i not in found]
        if missing:
            raise InputError(f"no outbox event {missing[0]}; `ivr outbox list` shows them")
        delivered = [ev.id for ev in events if ev.state == "delivered"]
        if delivered:
            raise InputError(f"outbox event {delivered[0]} was already delivered; it is not sent twice")
        requeue(events)
    click.echo(f"{len(events)} events queued for delivery")
