"""CLI commands for the telephony area: the call service and the health check of a live setup."""

from __future__ import annotations

import click

from ivr.cli.context import Context, pass_ctx


@click.command("serve")
@click.option(
    "--test-models",
    is_flag=True,
    help="Fall back to the test speech models (Korean Vosk) when the Portuguese ones are missing.",
)
@click.option(
    "--workers",
    type=int,
    default=None,
    metavar="N",
    help="Processes sharing the FastAGI port, one per core pays (setting service.workers; default 1).",
)
@pass_ctx
def serve_cmd(ctx: Context, test_models: bool, workers: int | None) -> None:
    """Run the call service: FastAGI (control) and AudioSocket (media) for Asterisk."""
    from ivr.callservice import supervisor
    from ivr.callservice.service import preflight
    from ivr.errors import ConfigError
    from ivr.language.prompts import load_catalog
    from ivr.privacy import setup_logging

    settings = ctx.settings
    if workers is not None:
        settings.service.workers = workers
        settings.sources["service.workers"] = "command line"
    if not 1 <= settings.service.workers <= supervisor.MAX_WORKERS:
        raise ConfigError(
            f"setting service.workers: {settings.service.workers} is not between 1 and {supervisor.MAX_WORKERS}"
        )
    if settings.service.workers > 1 and not settings.service.agi_port:
        raise ConfigError("setting service.workers: several workers share one FastAGI port; set service.agi_port")
    setup_logging("INFO" if settings.log_level.upper() == "WARNING" else settings.log_level, settings.log_format)
    problems = preflight(load_catalog(settings.prompts.catalog or None))
    if problems:
        for line in problems:
            click.echo(line, err=True)
        click.echo(
            "ivr serve: refusing to start; fix the flow or catalog above (`ivr flow check`, `ivr prompts check`)",
            err=True,
        )
        raise click.exceptions.Exit(1)
    if settings.service.workers > 1:
        raise click.exceptions.Exit(supervisor.supervise(settings, test_models=test_models))
    supervisor.run(settings, test_models=test_models, announce=ctx.announce)


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
