"""CLI commands for the data area: the ``ivr db`` group (upgrade, status), ``ivr import`` and ``ivr report``."""

from __future__ import annotations

import json
from pathlib import Path

import click
from rich.console import Console
from rich.progress import BarColumn, DownloadColumn, Progress, TextColumn, TimeRemainingColumn
from rich.table import Table

from ivr.cli.context import Context, brl, pass_ctx
from ivr.db.campaigns import ensure_campaign
from ivr.db.debtors import has_debtors
from ivr.db.reports import campaign_report, write_report_csv
from ivr.errors import InputError
from ivr.db.session import current_revision, get_engine, head_revision, known_revision, open_database, upgrade


@click.group("db")
def db_group() -> None:
    """The collections database (SQLite by default, any SQLAlchemy URL via IVR_DATABASE_URL)."""


@db_group.command("upgrade")
@pass_ctx
def db_upgrade(ctx: Context) -> None:
    """Create or migrate the database schema to the latest revision."""
    engine = get_engine(ctx.settings.database_url)
    before = current_revision(engine)
    upgrade(engine)
    after = current_revision(engine)
    click.echo(f"database at revision {after}" + ("" if before == after else f" (was {before or 'empty'})"))


@db_group.command("status")
@pass_ctx
def db_status(ctx: Context) -> None:
    """Show the schema revision of the database and the one this version needs."""
    from sqlalchemy.engine import make_url

    url = make_url(ctx.settings.database_url)
    click.echo(f"database: {url.render_as_string(hide_password=True)}")
    click.echo(f"from: {ctx.settings.database_origin()}")
    if (
        url.get_backend_name() == "sqlite"
        and url.database
        and url.database != ":memory:"
        and not Path(url.database).exists()
    ):
        click.echo("revision: none, the file does not exist yet (`ivr db upgrade` creates it)")
        return
    engine = get_engine(ctx.settings.database_url)
    current = current_revision(engine)
    unknown = (
        " (unknown to this version: written by a newer ivr?)" if current and not known_revision(engine, current) else ""
    )
    click.echo(f"revision: {current or 'empty'}{unknown} (needs {head_revision(engine)})")


@click.command("import")
@click.argument("file", type=click.Path(path_type=Path))
@click.option("--campaign", "campaign", required=True, help="Campaign the debts belong to.")
@click.option("--creditor", help="Create the campaign for this creditor if it does not exist yet.")
@pass_ctx
def import_cmd(ctx: Context, file: Path, campaign: str, creditor: str | None) -> None:
    """Import debtors and debts from a CSV (`;` or `,`, UTF-8 or Latin-1).

    Columns (Portuguese names accepted): nome, cpf, telefone (several columns, "a / b", ddd columns),
    valor (or principal + juros + multa + encargos), vencimento, contrato; optional nascimento, uf, cidade,
    linha digitável, link de pagamento, email. Refused rows are written to FILE.rejects.csv with
    linha;campo;motivo and their original columns: fix the cells and import that file as it is.
    """
    from ivr.db.importer import import_file

    sessions = open_database(ctx.settings.database_url)
    with sessions() as s:
        any_debtor = has_debtors(s)
    key = ctx.settings.hmac_key(create=not any_debtor)
    if creditor:
        ensure_campaign(sessions, campaign, creditor, None, False)
    size = file.stat().st_size if file.is_file() else 0
    console = Console(stderr=True)
    with Progress(
        TextColumn("importing"),
        BarColumn(),
        DownloadColumn(),
        TimeRemainingColumn(),
        console=console,
        transient=True,
        disable=not console.is_terminal,
    ) as progress:
        task = progress.add_task("import", total=size)
        try:
            report = import_file(file, campaign, sessions, key, progress=lambda n: progress.advance(task, n))
        except OSError as exc:
            if exc.filename is not None:
                raise
            # A read failing mid-file (a device, a network share gone): the transaction stored nothing.
            raise InputError(f"{file}: cannot be read ({exc.strerror or exc}); nothing was imported") from None
    click.echo(
        f"{file.name}: {report.taken} rows taken ({report.debts_new} new, {report.debts_updated} updated, "
        f"{report.debts_unchanged} unchanged), {report.refused} refused, "
        f"{report.warned} taken with warnings ({report.warnings} warnings)"
    )
    if report.contracts_moved:
        click.echo(f"  {report.contracts_moved} existing contract(s) now belong to another CPF, as this file says")
    for rej in report.rejects_sample:
        click.echo(f"  line {rej.line}: {rej.column or rej.field}: {rej.reason}")
    if report.rejects_path:
        more = report.refused - len(report.rejects_sample)
        click.echo(
            f"  {'…and ' + str(more) + ' more; ' if more > 0 else ''}all refused rows: {report.rejects_path} "
            "(fix the cells and import that file as it is)"
        )
    for warn in report.warnings_sample:
        click.echo(f"  warning: line {warn.line}: {warn.reason}")
    if report.warnings > len(report.warnings_sample):
        click.echo(f"  …and {report.warnings - len(report.warnings_sample)} more warnings")


@click.command("report")
@click.argument("campaign")
@click.option("--csv", "csv_path", type=click.Path(path_type=Path), help="Also write the report to this CSV file.")
@click.option("--json", "as_json", is_flag=True, help="Print JSON instead of tables.")
@pass_ctx
def report_cmd(ctx: Context, campaign: str, csv_path: Path | None, as_json: bool) -> None:
    """Results of a campaign: counts by outcome, contact rates, promises with dates and amounts."""
    sessions = open_database(ctx.settings.database_url)
    with sessions() as s:
        rep = campaign_report(s, campaign)
    if csv_path:
        write_report_csv(rep, csv_path)
    if as_json:
        click.echo(
            json.dumps(
                {
                    "campaign": rep.campaign,
                    "status": rep.status,
                    "attempts": rep.attempts,
                    "answered": rep.answered,
                    "right_party": rep.right_party,
                    "outcomes": rep.by_outcome,
                    "rates": {"rpc": rep.rpc_rate, "promise": rep.promise_rate, "transfer": rep.transfer_rate},
                    "by_day": rep.by_day,
                    "by_state": rep.by_state,
                    "short_calls_today": {
                        "short": rep.short_calls[0],
                        "answered": rep.short_calls[1],
                        "warning": rep.short_call_warning,
                    },
                    "reviews": rep.reviews,
                    "promise_results": rep.promise_results,
                    "promise_kept_rate": rep.promise_kept_rate,
                    "promise_results_by_day": rep.promise_results_by_day,
                    "transfer_results": rep.transfer_results,
                    "promises": [
                        {
                            "debtor": p.debtor,
                            "contract": p.contract,
                            "date": p.promised_date.isoformat(),
                            "amount": str(p.amount),
                            "installments": p.installments,
                        }
                        for p in rep.promises
                    ],
                    "offers": {
                        k: {
                            "plans": v.plans,
                            "promised": str(v.promised),
                            "without_discount": str(v.without_discount),
                            "discount": str(v.discount),
                        }
                        for k, v in rep.by_offer.items()
                    },
                    "payment_instructions": {
                        k: {"requested": v.requested, "delivered": v.delivered, "dead": v.dead}
                        for k, v in rep.payment_instructions.items()
                    },
                },
                ensure_ascii=False,
            )
        )
        return
    console = Console()
    console.print(f"[bold]{rep.campaign}[/bold] ({rep.status}): {rep.debts} debts, {brl(rep.total_owed)} owed")
    console.print(
        f"attempts {rep.attempts} · answered {rep.answered} ({rep.rate(rep.answered, rep.ended)}%) · "
        f"right-party contacts {rep.right_party} ({rep.rate(rep.right_party, rep.answered)}% of answered) · "
        f"promises {len(rep.promises)} ({rep.rate(len(rep.promises), rep.right_party)}% of contacts), "
        f"{brl(rep.promised_total)} · transfers {rep.by_outcome['transferred']} ({rep.transfer_rate}% of contacts)"
    )
    pr, tr = rep.promise_results, rep.transfer_results
    console.print(
        f"reviews: {rep.reviews.get('open', 0)} open, {rep.reviews.get('resolved', 0)} resolved · "
        f"promises: {pr.get('kept', 0)} kept, {pr.get('broken', 0)} broken, {pr.get('open', 0)} open "
        f"({rep.promise_kept_rate}% kept) · transfers: {tr.get('answered', 0)} answered, "
        f"{tr.get('abandoned', 0)} abandoned"
    )
    if rep.promise_results_by_day:
        kept_days = Table("promise day", "kept", "broken", "open")
        for day, counts in rep.promise_results_by_day.items():
            kept_days.add_row(day, str(counts.get("kept", 0)), str(counts.get("broken", 0)), str(counts.get("open", 0)))
        console.print(kept_days)
    outcomes = Table("outcome", "calls")
    for outcome, n in rep.by_outcome.items():
        if n:
            outcomes.add_row(outcome, str(n))
    console.print(outcomes)
    for title, groups in (("day", rep.by_day), ("state", rep.by_state)):
        if groups:
            table = Table(title, "attempts", "outcomes")
            for key, counts in groups.items():
                table.add_row(key, str(sum(counts.values())), ", ".join(f"{o} {n}" for o, n in sorted(counts.items())))
            console.print(table)
    if rep.short_call_warning:
        console.print(
            f"[bold red]warning[/bold red]: {rep.short_calls[0]} of {rep.short_calls[1]} answered calls "
            "today lasted 6 s or less (more than half): check the greeting and answering-machine detection"
        )
    if rep.by_offer:
        offers = Table("offer", "plans", "promised", "without discount", "discount given")
        for offer, line in rep.by_offer.items():
            offers.add_row(offer, str(line.plans), brl(line.promised), brl(line.without_discount), brl(line.discount))
        console.print(offers)
    if rep.payment_instructions:
        sent = Table("payment instruction", "requested", "delivered to the webhook", "dead")
        for key, item in rep.payment_instructions.items():
            sent.add_row(key.replace("/", " by "), str(item.requested), str(item.delivered), str(item.dead))
        console.print(sent)
    if rep.promises:
        promises = Table("promised date", "debtor", "contract", "amount", "installments", "confirmed")
        for p in rep.promises:
            promises.add_row(
                p.promised_date.strftime("%d/%m/%Y"),
                f"{p.debtor} {p.cpf_masked}",
                p.contract or "",
                brl(p.amount),
                str(p.installments),
                "yes" if p.confirmed else "no",
            )
        console.print(promises)
    if csv_path:
        console.print(f"written to {csv_path}")
