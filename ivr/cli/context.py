"""What every command module shares: the ``Context`` (settings loaded lazily), ``pass_ctx`` and option parsers.

Command modules import from here, never from ``ivr.cli`` itself: the package imports them.
"""

from __future__ import annotations

from datetime import UTC, date, datetime
from zoneinfo import ZoneInfo

import click

from ivr import logs
from ivr.config import Settings, load_settings
from ivr.errors import ConfigError, InputError
from ivr.logs import LOG_FORMATS
from ivr.privacy import setup_logging


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

    def announce(self, line: str) -> None:
        """A long-running command's status line (listening, delivering, summary): on stderr as is, or as a
        JSON log record under ``--log-format json``, so that the journal holds nothing but JSON lines."""
        if self.settings.log_format == "json":
            logs.status(line)
        else:
            click.echo(line, err=True)


pass_ctx = click.make_pass_decorator(Context)


NAIVE_ZONE = "America/Sao_Paulo"
"""An --at without offset is read as Brasília time: the time operators in Brazil think in."""

MIN_YEAR, MAX_YEAR = 1970, 2100
"""The years an instant given on the command line may fall in: calendars, windows and time zones are defined there."""


def check_year(option: str, text: str, when: date) -> None:
    """``InputError`` when a date or instant given as ``option`` is outside the years date arithmetic can use."""
    if not MIN_YEAR <= when.year <= MAX_YEAR:
        raise InputError(f"{option} {text!r}: the year must be between {MIN_YEAR} and {MAX_YEAR}")


def parse_instant(text: str | None, now: datetime | None = None, option: str = "--at") -> datetime:
    """``--at`` (or ``option``) as an aware datetime; ISO 8601 with offset or ``Z``; naive means Brasília time."""
    if text is None:
        return now if now is not None else datetime.now(UTC)
    try:
        at = datetime.fromisoformat(text.strip())
    except ValueError:
        raise InputError(
            f"{option} {text!r} is not ISO 8601 (e.g. 2026-03-09T14:30:00-03:00 or 2026-03-09T17:30Z)"
        ) from None
    check_year(option, text, at)  # 9999-12-31 parses, but the next opening after it overflows
    if at.tzinfo is None:
        at = at.replace(tzinfo=ZoneInfo(NAIVE_ZONE))
    return at


def brl(value: object) -> str:
    """An amount as operators read it: ``R$ 1.234,56``."""
    text = f"{value:,.2f}"
    return "R$ " + text.replace(",", "_").replace(".", ",").replace("_", ".")
