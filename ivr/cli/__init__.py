"""The ``ivr`` command line: one group, commands registered by area (data, language, speech, call service, campaign).

Every error the operator can cause is an ``IvrError`` and is printed as one line with a non-zero exit.
"""

from __future__ import annotations

import sys
from typing import Any

import click

from ivr.config import Settings, load_settings
from ivr.errors import ConfigError, IvrError
from ivr.logs import LOG_FORMATS
from ivr.privacy import restrict_umask, setup_logging


class Context:
    """What every command receives: the settings, loaded lazily so ``--help`` never needs a config."""

    def __init__(self, config_path: str | None, log_format: str | None = None) -> None:
        self._config_path = config_path
        self._log_format = log_format
        self._settings: Settings | None = None

    @property
    def settings(self) -> Settings:
        if self._settings is None:
            self._settings = load_settings(self._config_path)
            if self._log_format:
                self._settings.log_format = self._log_format
                self._settings.sources["log_format"] = "command line"
            if self._settings.log_format not in LOG_FORMATS:
                raise ConfigError(f"setting log_format: {self._settings.log_format!r} is not text or json")
            setup_logging(self._settings.log_level, self._settings.log_format)
        return self._settings


pass_ctx = click.make_pass_decorator(Context)


@click.group(context_settings={"help_option_names": ["-h", "--help"], "max_content_width": 100})
@click.option("--config", "config_path", metavar="FILE", envvar="IVR_CONFIG", help="TOML settings file (or IVR_CONFIG).")
@click.option("--log-format", type=click.Choice(LOG_FORMATS), default=None,
              help="Log lines as text (default) or JSON with attempt_id, campaign, stage (setting log_format).")
@click.pass_context
def cli(ctx: click.Context, config_path: str | None, log_format: str | None) -> None:
    """Collections voice bot: polite pt-BR reminder calls on Asterisk."""
    ctx.obj = Context(config_path, log_format)


def _register() -> None:
    from ivr.cli import campaign_cmds, data_cmds, dialog_cmds, flow_cmds, language_cmds, speech_cmds, telephony_cmds
    from ivr.cli import web_cmds

    for mod in (data_cmds, language_cmds, dialog_cmds, speech_cmds, telephony_cmds, campaign_cmds, flow_cmds,
                web_cmds):
        mod.register(cli)
    from ivr.cli import recording_cmds
    recording_cmds.register(cli)
    from ivr.cli import config_cmds

    config_cmds.register(cli)
    from ivr.cli import outbox_cmds

    outbox_cmds.register(cli)
    from ivr.cli import loop_cmds

    loop_cmds.register(cli)


_register()


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
