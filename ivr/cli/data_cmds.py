"""CLI commands for the data area: the database, debtor import, campaigns and reports."""

from __future__ import annotations

import json
import sys
from pathlib import Path

import click
from rich.console import Console
from rich.progress import BarColumn, DownloadColumn, Progress, TextColumn, TimeRemainingColumn
from rich.table import Table
from sqlalchemy import func, select
from sqlalchemy.orm import Session, sessionmaker

from ivr.cli import Context, pass_ctx
from ivr.db.models import CAMPAIGN_STATES, Campaign, Creditor, Debt, Debtor
from ivr.db.reports import campaign_report, find_campaign, write_report_csv
from ivr.db.session import current_revision, get_engine, head_revision, open_database, upgrade
from ivr.errors import InputError

_CNPJ_LEN = 14


def _brl(value: object) -> str:
    text = f"{value:,.2f}"
    return "R$ " + text.replace(",", "_").replace(".", ",").replace("_", ".")


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
    engine = get_engine(ctx.settings.database_url)
    click.echo(f"url: {engine.url.render_as_string(hide_password=True)}")
    click.echo(f"revision: {current_revision(engine) or 'empty'} (needs {head_revision(engine)})")


@click.command("import")
@click.argument("file", type=click.Path(path_type=Path))
@click.option("--campaign", "campaign", required=True, help="Campaign the debts belong to.")
@click.option("--creditor", help="Create the campaign for this creditor if it does not exist yet.")
@pass_ctx
def import_cmd(ctx: Context, file: Path, campaign: str, creditor: str | None) -> None:
    """Import debtors and debts from a CSV (`;` or `,`, UTF-8 or Latin-1).

    Columns (Portuguese names accepted): nome, cpf, telefone (several columns or "a / b" allowed),
    valor (or principal + juros + multa + encargos), vencimento, contrato; optional nascimento, uf, cidade.
    Refused rows are listed in FILE.rejects.csv with line, field and reason.
    """
    from ivr.db.importer import import_file

    sessions = open_database(ctx.settings.database_url)
    with sessions() as s:
        has_debtors = s.scalar(select(Debtor.id).limit(1)) is not None
    key = ctx.settings.hmac_key(create=not has_debtors)
    if creditor:
        _ensure_campaign(sessions, campaign, creditor, None, False)
    size = file.stat().st_size if file.is_file() else 0
    console = Console(stderr=True)
    with Progress(
        TextColumn("importing"), BarColumn(), DownloadColumn(), TimeRemainingColumn(),
        console=console, transient=True, disable=not console.is_terminal,
    ) as progress:
        task = progress.add_task("import", total=size)
        report = import_file(
            file, campaign, sessions, key, progress=lambda n: progress.advance(task, n)
        )
    click.echo(
        f"{file.name}: {report.taken} rows taken ({report.debts_new} new, {report.debts_updated} updated, "
        f"{report.debts_unchanged} unchanged), {report.refused} refused"
    )
    for rej in report.rejects_sample:
        click.echo(f"  line {rej.line}: {rej.field}: {rej.reason}")
    if report.rejects_path:
        more = report.refused - len(report.rejects_sample)
        click.echo(f"  {'…and ' + str(more) + ' more; ' if more > 0 else ''}all refused rows: {report.rejects_path}")


def _ensure_campaign(sessions: sessionmaker[Session], name: str, creditor: str, cnpj: str | None,
                     records: bool) -> tuple[Campaign, bool]:
    with sessions.begin() as s:
        camp = s.scalar(select(Campaign).where(Campaign.name == name))
        if camp is not None:
            return camp, False
        cred = s.scalar(select(Creditor).where(Creditor.name == creditor))
        if cred is None:
            cred = Creditor(name=creditor, cnpj=cnpj)
            s.add(cred)
            s.flush()
        camp = Campaign(name=name, creditor_id=cred.id, records_calls=records, policy={})
        s.add(camp)
        return camp, True


@click.group("campaign")
def campaign_group() -> None:
    """Create, inspect and run dial campaigns."""


@campaign_group.command("create")
@click.argument("name")
@click.option("--creditor", required=True, help="Creditor the debts are owed to (spoken in the greeting).")
@click.option("--cnpj", help="Creditor CNPJ (14 digits).")
@click.option("--records-calls", is_flag=True, help="Calls are recorded: the bot says so at the start.")
@click.option("--policy", "policy_json", help="JSON object of rule overrides (window profile, caps, retries...).")
@pass_ctx
def campaign_create(ctx: Context, name: str, creditor: str, cnpj: str | None, records_calls: bool,
                    policy_json: str | None) -> None:
    """Create a campaign for a creditor."""
    if cnpj is not None:
        digits = "".join(c for c in cnpj if c.isdigit())
        if len(digits) != _CNPJ_LEN:
            raise InputError(f"--cnpj: {cnpj!r} must have 14 digits")
        cnpj = digits
    policy = {}
    if policy_json:
        try:
            policy = json.loads(policy_json)
        except json.JSONDecodeError as exc:
            raise InputError(f"--policy: not valid JSON ({exc.msg} at column {exc.colno})") from None
        if not isinstance(policy, dict):
            raise InputError("--policy: must be a JSON object")
        from ivr.campaign.rules import Policy

        Policy.from_dict(policy, "--policy")  # refuse a typo now, not when the dialer starts
    sessions = open_database(ctx.settings.database_url)
    camp, created = _ensure_campaign(sessions, name, creditor, cnpj, records_calls)
    if not created:
        raise InputError(f"campaign {name!r} already exists")
    if policy:
        with sessions.begin() as s:
            s.get(Campaign, camp.id).policy = policy  # type: ignore[union-attr]
    click.echo(f"campaign {name!r} created for {creditor} (status draft)")


@campaign_group.command("list")
@pass_ctx
def campaign_list(ctx: Context) -> None:
    """List campaigns with their debts and status."""
    sessions = open_database(ctx.settings.database_url)
    table = Table("campaign", "creditor", "status", "debts", "owed")
    with sessions() as s:
        rows = s.execute(
            select(Campaign.name, Creditor.name, Campaign.status, func.count(Debt.id), func.sum(Debt.total))
            .join(Creditor, Creditor.id == Campaign.creditor_id)
            .outerjoin(Debt, Debt.campaign_id == Campaign.id)
            .group_by(Campaign.id, Creditor.name).order_by(Campaign.name)
        ).all()
    for name, cred, status, n, owed in rows:
        table.add_row(name, cred, status, str(n), _brl(owed or 0))
    Console().print(table)


@campaign_group.command("show")
@click.argument("name")
@pass_ctx
def campaign_show(ctx: Context, name: str) -> None:
    """Show one campaign: creditor, policy, debts and results so far."""
    sessions = open_database(ctx.settings.database_url)
    with sessions() as s:
        camp = find_campaign(s, name)
        click.echo(f"campaign: {camp.name}")
        click.echo(f"creditor: {camp.creditor.name}" + (f" (CNPJ {camp.creditor.cnpj})" if camp.creditor.cnpj else ""))
        click.echo(f"status: {camp.status}")
        click.echo(f"records calls: {'yes' if camp.records_calls else 'no'}")
        click.echo(f"policy: {json.dumps(camp.policy or {}, ensure_ascii=False)}")
        rep = campaign_report(s, name)
    click.echo(f"debts: {rep.debts}, owed {_brl(rep.total_owed)}")
    click.echo(f"attempts: {rep.attempts}, answered {rep.answered}, promises {len(rep.promises)}")


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
        click.echo(json.dumps({
            "campaign": rep.campaign, "status": rep.status, "attempts": rep.attempts, "answered": rep.answered,
            "right_party": rep.right_party, "outcomes": rep.by_outcome,
            "rates": {"rpc": rep.rpc_rate, "promise": rep.promise_rate, "transfer": rep.transfer_rate},
            "by_day": rep.by_day, "by_state": rep.by_state,
            "short_calls_today": {"short": rep.short_calls[0], "answered": rep.short_calls[1],
                                  "warning": rep.short_call_warning},
            "reviews": rep.reviews, "promise_results": rep.promise_results,
            "promise_kept_rate": rep.promise_kept_rate, "promise_results_by_day": rep.promise_results_by_day,
            "transfer_results": rep.transfer_results,
            "promises": [{"debtor": p.debtor, "contract": p.contract, "date": p.promised_date.isoformat(),
                          "amount": str(p.amount), "installments": p.installments} for p in rep.promises],
        }, ensure_ascii=False))
        return
    console = Console()
    console.print(f"[bold]{rep.campaign}[/bold] ({rep.status}): {rep.debts} debts, {_brl(rep.total_owed)} owed")
    console.print(
        f"attempts {rep.attempts} · answered {rep.answered} ({rep.rate(rep.answered, rep.ended)}%) · "
        f"right-party contacts {rep.right_party} ({rep.rate(rep.right_party, rep.answered)}% of answered) · "
        f"promises {len(rep.promises)} ({rep.rate(len(rep.promises), rep.right_party)}% of contacts), "
        f"{_brl(rep.promised_total)} · transfers {rep.by_outcome['transferred']} ({rep.transfer_rate}% of contacts)"
    )
    pr, tr = rep.promise_results, rep.transfer_results
    console.print(f"reviews: {rep.reviews.get('open', 0)} open, {rep.reviews.get('resolved', 0)} resolved · "
                  f"promises: {pr.get('kept', 0)} kept, {pr.get('broken', 0)} broken, {pr.get('open', 0)} open "
                  f"({rep.promise_kept_rate}% kept) · transfers: {tr.get('answered', 0)} answered, "
                  f"{tr.get('abandoned', 0)} abandoned")
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
        console.print(f"[bold red]warning[/bold red]: {rep.short_calls[0]} of {rep.short_calls[1]} answered calls "
                      "today lasted 6 s or less (more than half): check the greeting and answering-machine detection")
    if rep.promises:
        promises = Table("promised date", "debtor", "contract", "amount", "installments", "confirmed")
        for p in rep.promises:
            promises.add_row(p.promised_date.strftime("%d/%m/%Y"), f"{p.debtor} {p.cpf_masked}", p.contract or "",
                             _brl(p.amount), str(p.installments), "yes" if p.confirmed else "no")
        console.print(promises)
    if csv_path:
        console.print(f"written to {csv_path}")


def register(cli: click.Group) -> None:
    """Attach this area's commands to the root group."""
    cli.add_command(db_group)
    cli.add_command(import_cmd)
    cli.add_command(campaign_group)
    cli.add_command(report_cmd)
