"""CLI commands for the language area: ``ivr nlu`` (one utterance or JSON lines) and ``ivr verbalize``."""

from __future__ import annotations

import json
import sys
from datetime import date

import click

from ivr.cli.context import check_year
from ivr.errors import InputError
from ivr.vocabulary import Asked


def _parse_today(value: str | None) -> date:
    if value is None:
        return date.today()
    try:
        today = date.fromisoformat(value)
    except ValueError:
        raise InputError(f"--today must be YYYY-MM-DD, got {value!r}") from None
    check_year("--today", value, today)
    return today


@click.command("nlu")
@click.option("--today", metavar="YYYY-MM-DD", help="Date the utterance is said on (default: today).")
@click.option("--jsonl", is_flag=True, help="Read one utterance per stdin line; print one JSON object per line.")
@click.option(
    "--context",
    "asked",
    type=click.Choice([a.value for a in Asked]),
    default=None,
    help="What the bot just asked (the answer is read for that question).",
)
@click.option("--name", "debtor_name", default="", help="The debtor's name, for --context identity.")
@click.argument("text", required=False)
def nlu_cmd(today: str | None, jsonl: bool, asked: str | None, debtor_name: str, text: str | None) -> None:
    """Understand a caller utterance: intent and slots as JSON."""
    from functools import partial

    from ivr.language import nlu

    parse = partial(nlu.parse, context=asked, debtor_name=debtor_name)
    day = _parse_today(today)
    if jsonl:
        if text is not None:
            raise InputError("--jsonl reads utterances from stdin; do not pass TEXT too")
        out = sys.stdout
        for line in sys.stdin:
            out.write(json.dumps(parse(line.rstrip("\r\n"), day).to_json(), ensure_ascii=False) + "\n")
            out.flush()  # a caller piping one line at a time sees each answer at once
        return
    if text is None:
        raise InputError("give the utterance as TEXT, or use --jsonl to read stdin")
    click.echo(json.dumps(parse(text, day).to_json(), ensure_ascii=False))


@click.command("verbalize")
@click.argument("text")
def verbalize_cmd(text: str) -> None:
    """Print TEXT as the bot will speak it (amounts, dates, times, numbers in words)."""
    from ivr.language.verbalize import verbalize

    click.echo(verbalize(text))
