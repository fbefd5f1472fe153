"""The ``ivr`` root group and ``main()``: every command module's groups and commands are added here.

Every error the operator can cause is an ``IvrError`` and is printed as one line with a non-zero exit.
"""

from __future__ import annotations

import sys
from typing import Any

import click

from ivr.cli import (
    campaign_cmds,
    config_cmds,
    data_cmds,
    dialog_cmds,
    flow_cmds,
    language_cmds,
    loop_cmds,
    outbox_cmds,
    recording_cmds,
    speech_cmds,
    telephony_cmds,
    web_cmds,
)
from ivr.cli.context import Context
from ivr.errors import IvrError
from ivr.logs import LOG_FORMATS
from ivr.privacy import restrict_umask


@click.group(context_settings={"help_option_names": ["-h", "--help"], "max_content_width": 100})
@click.option(
    "--config", "config_path", metavar="FILE", envvar="IVR_CONFIG", help="TOML settings file (or IVR_CONFIG)."
)
@click.option(
    "--log-format",
    type=click.Choice(LOG_FORMATS),
    default=None,
    help="Log lines as text (default) or JSON with attempt_id, campaign, stage (setting log_format).",
)
@click.pass_context
def cli(ctx: click.Context, config_path: str | None, log_format: str | None) -> None:
    """Collections voice bot: polite pt-BR reminder calls on Asterisk."""
    ctx.obj = Context(config_path, log_format)


COMMANDS: tuple[click.Command, ...] = (
    # data: the database, debtor import, results
    data_cmds.db_group,
    data_cmds.import_cmd,
    data_cmds.report_cmd,
    # campaigns: the calling window, the campaign group, the dialer
    campaign_cmds.window_cmd,
    campaign_cmds.campaign_group,
    campaign_cmds.dialer_cmd,
    # language, dialog, call flows, speech
    language_cmds.nlu_cmd,
    language_cmds.verbalize_cmd,
    dialog_cmds.simulate_cmd,
    dialog_cmds.prompts_group,
    flow_cmds.flow_group,
    speech_cmds.say,
    speech_cmds.listen,
    speech_cmds.models,
    # telephony, the console, recordings, settings, the outbox, closing the loop
    telephony_cmds.serve_cmd,
    telephony_cmds.doctor_cmd,
    web_cmds.user_group,
    web_cmds.token_group,
    web_cmds.web_cmd,
    recording_cmds.recordings_group,
    config_cmds.config_group,
    outbox_cmds.outbox_group,
    loop_cmds.review_group,
    loop_cmds.payments_group,
    loop_cmds.disposition_cmd,
)
for _command in COMMANDS:
    cli.add_command(_command)


def main(argv: list[str] | None = None) -> Any:
    # Before anything can create a file: databases, keys, rejects, reports, audio and recordings are personal data.
    restrict_umask()
    try:
        return cli.main(args=argv, prog_name="ivr", standalone_mode=False)
    except IvrError as exc:
        click.echo(f"ivr: {exc}", err=True)
        sys.exit(exc.exit_code)
    except click.exceptions.Abort:
        click.echo("ivr: aborted", err=True)
        sys.exit(130)
    except click.ClickException as exc:
        exc.show()
        sys.exit(exc.exit_code)
    except click.exceptions.Exit as exc:
        sys.exit(exc.exit_code)
    except KeyboardInterrupt:
        click.echo("ivr: interrupted", err=True)
        sys.exit(130)
    except BrokenPipeError:
        sys.exit(0)
    except OSError as exc:  # e.g. --csv into a folder that does not exist
        where = f"{exc.filename}: " if exc.filename else ""
        click.echo(f"ivr: {where}{exc.strerror or exc}", err=True)
        sys.exit(1)
    except Exception as exc:  # a database that refuses mid-command: read-only file, full disk, lock held too long
        from ivr.db.session import database_failure

        line = database_failure(exc)
        if line is None:
            raise
        click.echo(f"ivr: {line}", err=True)
        sys.exit(1)
