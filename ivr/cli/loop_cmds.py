"""CLI commands that close the loop between calls: ``ivr review``, ``ivr payments import``, ``ivr disposition``."""

from __future__ import annotations

import getpass
import json
from pathlib import Path

import click

from ivr.cli.context import Context, parse_instant, pass_ctx
from ivr.errors import InputError


def _operator(by: str | None) -> str:
    if by:
        return by
    try:
        return getpass.getuser()
    except (KeyError, OSError):
        return "operator"


@click.group("review")
def review_group() -> None:
    """Reviews a person must resolve (already paid, dispute, deceased, proposal, scam, failed transfer...)."""


@review_group.command("list")
@click.option("--campaign", "campaign", metavar="NAME", help="Only reviews opened by this campaign's calls.")
@click.option("--open", "open_only", is_flag=True, help="Only reviews still open.")
@click.option("--json", "as_json", is_flag=True, help="Print a JSON list (id, reason, state, debtor_id, ...).")
@pass_ctx
def review_list(ctx: Context, campaign: str | None, open_only: bool, as_json: bool) -> None:
    """List reviews, oldest first."""
    from ivr.db.reports import find_campaign
    from ivr.db.reviews import list_reviews, review_json
    from ivr.db.session import open_database

    sessions = open_database(ctx.settings.database_url)
    with sessions() as s:
        campaign_id = find_campaign(s, campaign).id if campaign else None
        rows = [review_json(r) for r in list_reviews(s, campaign_id=campaign_id, open_only=open_only)]
    if as_json:
        click.echo(json.dumps(rows, ensure_ascii=False))
        return
    if not rows:
        click.echo("no reviews")
    for r in rows:
        hold = " (holds calls)" if r["holds_calls"] else ""
        click.echo(
            f"{r['id']}: {r['reason']} {r['state']}{hold} — debtor {r['debtor_id']}, attempt "
            f"{r['attempt_id'] or '-'}, since {r['created_at'][:10]}"
            + (f"; {r['resolution']}" if r["resolution"] else "")
        )


@review_group.command("show")
@click.argument("review_id", type=int)
@click.option("--json", "as_json", is_flag=True, help="Print JSON (the review and the call's turns).")
@pass_ctx
def review_show(ctx: Context, review_id: int, as_json: bool) -> None:
    """One review: its reason, state, the attempt and what was said in that call."""
    from ivr.db.reviews import get_review, review_json, review_turns
    from ivr.db.session import open_database

    sessions = open_database(ctx.settings.database_url)
    with sessions() as s:
        review = get_review(s, review_id)
        info = review_json(review)
        info["turns"] = [{"speaker": t.speaker, "text": t.text, "intent": t.intent} for t in review_turns(s, review)]
    if as_json:
        click.echo(json.dumps(info, ensure_ascii=False))
        return
    click.echo(
        f"review {info['id']}: {info['reason']} ({info['state']})"
        + (" — holds every call of this creditor" if info["holds_calls"] else "")
    )
    click.echo(f"debtor: {info['debtor_id']}  attempt: {info['attempt_id'] or '-'}  opened: {info['created_at']}")
    if info["note"]:
        click.echo(f"note: {info['note']}")
    if info["resolved_at"]:
        click.echo(
            f"resolved {info['resolved_at']} by {info['resolved_by']}: {info['resolution']}"
            + (f" [{info['action']}]" if info["action"] else "")
        )
    for turn in info["turns"]:
        click.echo(f"  {turn['speaker']}: {turn['text']}")


@review_group.command("resolve")
@click.argument("review_id", type=int)
@click.option("--resolution", required=True, metavar="TEXT", help="What was decided (kept with the review).")
@click.option("--resume", "action", flag_value="resume", help="Call the debtor again (the rules still decide).")
@click.option("--close-debt", "action", flag_value="close_debt", help="Close the debtor's debts of this creditor.")
@click.option("--stop-debtor", "action", flag_value="stop_debtor", help="Never call this person again (do-not-call).")
@click.option("--by", "by", metavar="NAME", help="Who resolves it (default: the logged-in user).")
@pass_ctx
def review_resolve(ctx: Context, review_id: int, resolution: str, action: str | None, by: str | None) -> None:
    """Resolve a review; an open review of a holding kind stops every call to the debtor until then."""
    from ivr.db.reviews import resolve_review
    from ivr.db.session import open_database

    sessions = open_database(ctx.settings.database_url)
    with sessions.begin() as s:
        review = resolve_review(s, review_id, resolution, action=action, resolved_by=_operator(by))
        what = {
            "resume": "the debtor may be called again",
            "close_debt": "the debts are closed",
            "stop_debtor": "the person is on the do-not-call list",
        }.get(action or "", "")
        click.echo(f"review {review.id} resolved" + (f": {what}" if what else ""))


@click.group("payments")
def payments_group() -> None:
    """Payments reported by the creditor."""


@payments_group.command("import")
@click.argument("file", type=click.Path(path_type=Path))
@click.option("--campaign", "campaign", required=True, help="Campaign whose contracts were paid.")
@click.option(
    "--at",
    "at_text",
    metavar="ISO8601",
    help="Import as of this instant (tests and replays; default now): "
    "payments after it are refused, promises due before it without a payment are broken.",
)
@pass_ctx
def payments_import(ctx: Context, file: Path, campaign: str, at_text: str | None) -> None:
    """Import payments from a CSV (contrato;valor pago;data do pagamento; `;` or `,`, UTF-8 or Latin-1).

    One transaction; importing the same file again changes nothing; refused rows go to FILE.rejects.csv.
    """
    from ivr.db.payments import import_payments
    from ivr.db.session import open_database

    report = import_payments(file, campaign, open_database(ctx.settings.database_url), at=parse_instant(at_text))
    click.echo(
        f"{file.name}: {report.taken} payments taken, {report.unchanged} already imported, "
        f"{report.refused} refused; {report.debts_closed} debts paid in full, "
        f"{report.promises_kept} promises kept, {report.promises_broken} promises broken"
    )
    for rej in report.rejects[:10]:
        click.echo(f"  line {rej.line}: {rej.field}: {rej.reason}")
    if report.rejects_path:
        click.echo(f"  all refused rows: {report.rejects_path}")


@click.command("disposition")
@click.argument("attempt_id", type=int, metavar="ATTEMPT")
@click.option("--outcome", required=True, help="The agent's result: promise_to_pay, already_paid, dispute, ...")
@click.option(
    "--date", "date_text", metavar="DATA", help="Promised payment date (promise_to_pay): DD/MM/AAAA or YYYY-MM-DD."
)
@click.option("--amount", "amount_text", metavar="VALOR", help="Promised amount, e.g. 150,00.")
@click.option("--note", default="", help="Free text kept with the attempt.")
@click.option("--agent", "agent", metavar="NAME", help="Who spoke with the debtor (default: the logged-in user).")
@pass_ctx
def disposition_cmd(
    ctx: Context,
    attempt_id: int,
    outcome: str,
    date_text: str | None,
    amount_text: str | None,
    note: str,
    agent: str | None,
) -> None:
    """Record an agent's result for ATTEMPT (after a transfer); it supersedes the bot's outcome."""
    from ivr.br.formats import parse_amount, parse_date
    from ivr.db.dispositions import record_disposition
    from ivr.db.session import open_database

    promised = None
    if date_text:
        try:
            promised = parse_date(date_text)  # 10/12/2026 as operators write it, or ISO
        except (InputError, ValueError):
            raise InputError(f"--date {date_text!r} is not a date; write it as DD/MM/AAAA or YYYY-MM-DD") from None
    amount = None
    if amount_text:
        try:
            amount = parse_amount(amount_text)
        except InputError as exc:
            raise InputError(f"--amount: {exc}") from None
    sessions = open_database(ctx.settings.database_url)
    with sessions.begin() as s:
        attempt = record_disposition(
            s, attempt_id, outcome, promise_date=promised, amount=amount, note=note, agent=_operator(agent)
        )
        bot = attempt.outcome or "none"
    click.echo(f"attempt {attempt_id}: {outcome} recorded by the agent (the bot's outcome was {bot})")
