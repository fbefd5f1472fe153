"""Log context (attempt id, campaign, call stage) and the two log formats, text and JSON.

``bind(attempt_id=..., campaign=..., stage=...)`` stores the fields in context variables: asyncio copies
them into every task it creates, so a call's or an Originate's log lines carry their own attempt id
without passing it around. ``--log-format json`` (setting ``log_format``) prints one JSON object per
line with those fields; the text format is the one-line format it always was. Personal data is masked
before either formatter sees the message (``ivr.privacy.MaskingFilter``).
"""

from __future__ import annotations

import contextvars
import datetime as dt
import json
import logging
from typing import Any

LOG_FORMATS = ("text", "json")
FIELDS = ("attempt_id", "campaign", "stage")

_context: dict[str, contextvars.ContextVar[Any]] = {
    name: contextvars.ContextVar(f"ivr_log_{name}", default=None) for name in FIELDS
}


def bind(**fields: Any) -> None:
    """Set context fields (``attempt_id``, ``campaign``, ``stage``) for this task and the tasks it starts."""
    for name, value in fields.items():
        if name not in _context:
            raise ValueError(f"unknown log field {name!r}; known: {', '.join(FIELDS)}")
        _context[name].set(value)


def current() -> dict[str, Any]:
    """The bound fields that are set."""
    return {name: var.get() for name, var in _context.items() if var.get() is not None}


class ContextFilter(logging.Filter):
    """Copies the bound fields onto each record (``record.attempt_id`` ...), None when unset."""

    def filter(self, record: logging.LogRecord) -> bool:
        for name, var in _context.items():
            if not hasattr(record, name):
                setattr(record, name, var.get())
        return True


class JsonFormatter(logging.Formatter):
    """One JSON object per line: time (UTC, ISO 8601), level, logger, message, attempt_id, campaign, stage,
    and ``exc`` (the already masked traceback) when there is one."""

    def format(self, record: logging.LogRecord) -> str:
        entry: dict[str, Any] = {
            "time": dt.datetime.fromtimestamp(record.created, dt.timezone.utc).isoformat(timespec="milliseconds"),
            "level": record.levelname,
            "logger": record.name,
            "message": record.getMessage(),
        }
        for name in FIELDS:
            value = getattr(record, name, None)
            if value is not None:
                entry[name] = value
        if record.exc_text:
            entry["exc"] = record.exc_text
        return json.dumps(entry, ensure_ascii=False, default=str)


def status(line: str, logger: str = "ivr.cli") -> None:
    """Log a long-running command's status line (listening on, delivering to, summary) at INFO whatever the
    configured level, the way it is printed in text mode: it is what an admin looks for in the journal."""
    log = logging.getLogger(logger)
    log.handle(log.makeRecord(logger, logging.INFO, "(status)", 0, line, (), None))


def formatter(log_format: str) -> logging.Formatter:
    """The formatter for ``text`` or ``json``; ValueError otherwise."""
    if log_format == "json":
        return JsonFormatter()
    if log_format == "text":
        return logging.Formatter("%(asctime)s %(levelname)s %(name)s: %(message)s")
    raise ValueError(f"log format {log_format!r}: use {' or '.join(LOG_FORMATS)}")
