"""CLI commands for the telephony area: the call service and the health check of a live setup."""

from __future__ import annotations

import asyncio
import signal

import click

from ivr.cli.context import Context, pass_ctx


@click.command("serve")
@click.option("--test-models", is_flag=True,
              help="Fall back to the test speech models (Korean Vosk) when the Portuguese ones are missing.")
@pass_ctx
def serve_cmd(ctx: Context, test_models: bool) -> None:
    """Run the call service: FastAGI (control) and AudioSocket (media) for Asterisk."""
    from ivr.db.session import open_database
    from ivr.privacy import setup_logging
    from ivr.callservice.service import build_speech, serve

    settings = ctx.settings
    setup_logging("INFO" if settings.log_level.upper() == "WARNING" else settings.log_level, settings.log_format)
    from ivr.language.prompts import load_catalog
    from ivr.callservice.service import preflight

    problems = preflight(load_catalog(settings.prompts.catalog or None))
    if problems:
        for line in problems:
            click.echo(line, err=True)
        click.echo("ivr serve: refusing to start; fix the flow or catalog above (`ivr flow check`, `ivr prompts check`)",
                   err=True)
        raise click.exceptions.Exit(1)
    sessions = open_database(settings.database_url)
    speech = build_speech(settings, allow_test_models=test_models)

    def ready(service: object) -> None:
        from ivr.metrics import database_check, start_metrics

        start_metrics(settings.metrics.host, settings.metrics.serve_port, {
            "models": lambda: (speech.asr is not None and speech.tts is not None,
                               f"TTS {speech.tts.name}, ASR {speech.asr.path if speech.asr else 'none'}"),
            "database": database_check(settings.database_url)})
        click.echo(f"ivr serve: FastAGI {settings.service.agi_host}:{settings.service.agi_port}, "
                   f"AudioSocket {settings.service.audiosocket_host}:{settings.service.audiosocket_port}, "
                   f"TTS {speech.tts.name}, ASR {speech.asr.path if speech.asr else 'none'}", err=True)

    outbox = None
    if settings.outbox.webhook_url and settings.outbox.run_in_serve:
        from ivr.outbox.delivery import start_in_thread

        outbox = start_in_thread(settings.outbox, sessions)
        click.echo(f"ivr serve: outbox delivering to {settings.outbox.webhook_url}", err=True)

    async def main() -> None:
        task = asyncio.ensure_future(serve(settings, sessions, speech, ready))
        loop = asyncio.get_running_loop()
        for sig in (signal.SIGTERM, signal.SIGINT):
            loop.add_signal_handler(sig, task.cancel)
        try:
            await task
        except asyncio.CancelledError:
            pass

    try:
        asyncio.run(main())
    finally:
        if outbox is not None:
            outbox[1].set()
            outbox[0].join(timeout=5)


@click.command("doctor")
@pass_ctx
def doctor_cmd(ctx: Context) -> None:
    """Check a live setup: AMI login, Asterisk modules and dialplan, the service's ports, models, database."""
    from ivr.doctor import failed, run_checks

    checks = run_checks(ctx.settings)
    for check in checks:
        click.echo(check.line())
    bad = failed(checks)
    if bad:
        click.echo(f"{len(bad)} of {len(checks)} checks failed", err=True)
        raise click.exceptions.Exit(1)
    else:
        click.echo(f"all {len(checks)} checks passed")
