"""CLI commands for call recordings: purge past retention, export one for a consumer, a campaign's retention."""

from __future__ import annotations

from pathlib import Path

import click

from ivr.cli.context import Context, pass_ctx


@click.group("recordings")
def recordings_group() -> None:
    """Call recordings (MixMonitor files): retention, purge, export."""


@recordings_group.command("purge")
@pass_ctx
def purge_cmd(ctx: Context) -> None:
    """Delete recordings (files and rows) past their campaign's retention, else recordings.retention_days.

    Safe from cron or a systemd timer: one purge runs at a time, a second exits 0 saying so.
    """
    from ivr.db.recordings import measure_pending, purge
    from ivr.db.session import open_database

    settings = ctx.settings
    sessions = open_database(settings.database_url)
    measure_pending(sessions, settings)
    done = purge(sessions, settings)
    if done.busy:
        click.echo("ivr recordings purge: another purge is running; nothing done", err=True)
        return
    click.echo(f"purged {done.files} files ({done.bytes} bytes), {done.rows} recordings past retention")
    if done.failed:
        click.echo(
            f"ivr recordings purge: {done.failed} files could not be deleted (see the log); they are "
            "tried again next run",
            err=True,
        )


@recordings_group.command("export")
@click.argument("attempt", type=int)
@click.option(
    "--out",
    "out",
    required=True,
    type=click.Path(dir_okay=False, path_type=Path),
    help="File to write (mode 0600), e.g. gravacao-123.wav.",
)
@pass_ctx
def export_cmd(ctx: Context, attempt: int, out: Path) -> None:
    """Copy the recording of ATTEMPT (a consumer's request) after checking its SHA-256."""
    from ivr.db.recordings import export
    from ivr.db.session import open_database

    rec = export(open_database(ctx.settings.database_url), attempt, out)
    duration = f"{rec.duration_s:.1f} s" if rec.duration_s is not None else "duration unknown"
    click.echo(f"attempt {attempt}: {out} ({rec.format}, {duration}, {rec.size_bytes} bytes, sha256 {rec.sha256})")


@recordings_group.command("measure")
@pass_ctx
def measure_cmd(ctx: Context) -> None:
    """Measure recordings Asterisk reported (size, duration, SHA-256); a running dialer does it by itself."""
    from ivr.db.recordings import measure_pending, pending_count
    from ivr.db.session import open_database

    sessions = open_database(ctx.settings.database_url)
    done = measure_pending(sessions, ctx.settings)
    pending = pending_count(sessions)
    click.echo(
        f"{len(done.stored)} recordings measured, {len(done.missing)} missing, {pending} still pending"
        + (" (call not ended, file still being written, or unreadable: see the warnings above)" if pending else "")
    )


@recordings_group.command("retention")
@click.argument("campaign")
@click.option("--days", type=int, help="Days to keep this campaign's recordings.")
@click.option("--default", "use_default", is_flag=True, help="Use the global recordings.retention_days again.")
@pass_ctx
def retention_cmd(ctx: Context, campaign: str, days: int | None, use_default: bool) -> None:
    """Set how long CAMPAIGN's recordings are kept."""
    from ivr.db.recordings import set_retention
    from ivr.db.session import open_database
    from ivr.errors import InputError

    if (days is None) == (not use_default):
        raise InputError("give --days N or --default")
    set_retention(open_database(ctx.settings.database_url), campaign, None if use_default else days)
    what = f"{days} days" if days is not None else f"the global {ctx.settings.recordings.retention_days} days"
    click.echo(f"campaign {campaign}: recordings kept {what}")
