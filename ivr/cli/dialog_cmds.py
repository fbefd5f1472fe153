"""CLI commands for the dialog area: ``ivr simulate`` and the ``ivr prompts`` group (``check``, ``render``)."""

from __future__ import annotations

import json
import logging
import re
import sys
from datetime import date, datetime
from decimal import Decimal, InvalidOperation
from typing import Callable, Iterator
from urllib.parse import urlsplit

import click

from ivr.br.boleto import parse_boleto
from ivr.cli.context import Context, check_year, parse_instant, pass_ctx
from ivr.errors import InputError

log = logging.getLogger(__name__)


def _parse_amount(text: str) -> Decimal:
    """Accept "1234.56", "1.234,56", "1234,56" and "R$ 150"."""
    cleaned = text.replace("R$", "").strip()
    if "," in cleaned:
        cleaned = cleaned.replace(".", "").replace(",", ".")
    try:
        value = Decimal(cleaned)
    except InvalidOperation:
        value = Decimal("NaN")
    if not value.is_finite():  # also 1e400, Infinity, NaN: Decimal reads them, no amount arithmetic can use them
        raise InputError(f"--amount {text!r} is not an amount; write it like 1234.56")
    if value >= Decimal("1000000000000"):
        raise InputError(f"--amount {text!r} is too large")
    if value <= 0:
        raise InputError(f"--amount {text!r} must be above zero")
    return value


def _parse_cnpj(text: str) -> str:
    if not text:
        return ""
    digits = "".join(ch for ch in text if ch.isdigit())
    if len(digits) != 14:
        raise InputError(f"--cnpj {text!r} must have 14 digits, like 12.345.678/0001-90")
    return digits


def callback_rules(
    phone: str, state: str | None = None, profile: str | None = None
) -> Callable[[datetime], datetime | None]:
    """The calling window of one number as the dialog needs it (``ivr.campaign.rules.next_open_local``)."""
    from ivr.campaign.rules import next_open_local, resolve_target

    return next_open_local(resolve_target(phone, profile, state))


def _parse_day(option: str, text: str) -> date:
    try:
        day = date.fromisoformat(text)
    except ValueError:
        raise InputError(f"{option} {text!r} is not a date; write it as YYYY-MM-DD") from None
    check_year(option, text, day)
    return day


@click.command("simulate")
@click.option(
    "--campaign",
    "campaign",
    metavar="NAME",
    help="Run as a real call of --debtor in this campaign "
    "(its debtor, amounts and policy; no --name/--amount/--due/--today).",
)
@click.option(
    "--debtor",
    "debtor_ref",
    metavar="ID_OR_CONTRACT",
    help="With --campaign: the debtor id, CPF or a contract id of the campaign.",
)
@click.option(
    "--store",
    is_flag=True,
    help="With --campaign: store the attempt, turns and outcome as the call "
    "service does (the rules see it as a real call).",
)
@click.option("--at", "at_text", metavar="ISO8601", help="With --campaign: the instant of the call (default now).")
@click.option("--name", help="Debtor's full name, as the bot asks for it.")
@click.option("--amount", help="Balance in reais, e.g. 1234.56.")
@click.option("--due", metavar="YYYY-MM-DD", help="Due date.")
@click.option("--today", metavar="YYYY-MM-DD", help="The call's date (promise window starts here).")
@click.option(
    "--creditor", default="Financeira Exemplo", show_default=True, help="Creditor's name, said in the greeting."
)
@click.option(
    "--window", "window_days", type=click.IntRange(0, 60), default=10, show_default=True, help="Promise window in days."
)
@click.option("--max-installments", type=click.IntRange(1, 36), default=3, show_default=True)
@click.option("--no-transfer", is_flag=True, help="Do not offer a human for other conditions.")
@click.option(
    "--records/--no-records", "records_call", default=True, show_default=True, help="Say the recording notice."
)
@click.option("--verify", type=click.Choice(["birth_year", "cpf3"]), default=None, help="Ask a verification question.")
@click.option("--verify-answer", default="", help="Expected verification answer (digits).")
@click.option("--seed", default="0", show_default=True, help="Attempt id: picks the prompt variants.")
@click.option("--cnpj", default="", help="Creditor's CNPJ, said in its groups when the debtor asks.")
@click.option("--channels", default="", help="Creditor's official channels, as words (said to a scam question).")
@click.option(
    "--phone",
    default="+5511987654321",
    show_default=True,
    help="The debtor's number: callbacks are offered only inside its calling window.",
)
@click.option("--state", "address_state", default=None, help="Debtor's address state (UF), for the calling window.")
@click.option(
    "--flow",
    "flow_name",
    default="default",
    show_default=True,
    help="Call flow: a shipped name (default, reminder, early, late) or a .toml file.",
)
@click.option("--catalog", "catalog_path", type=click.Path(dir_okay=False), default=None, help="Prompt catalog TOML.")
@click.option(
    "--policy",
    "policy_json",
    default=None,
    metavar="JSON",
    help="A campaign policy to try (as `ivr campaign create --policy`): offers, payment, stages, promise "
    "window, installments. --window/--max-installments/--no-transfer given explicitly win.",
)
@click.option(
    "--charges",
    default="0",
    show_default=True,
    help="Interest + fines + fees inside --amount (a discount on charges applies to these).",
)
@click.option("--email", default="", help="The debtor's e-mail (payment instructions by e-mail).")
@click.option("--boleto", "boleto_line", default="", help="The debt's linha digitável (payment method boleto).")
@click.option("--link", "payment_link", default="", help="The debt's payment URL (payment method link).")
@click.option("--json", "as_json", is_flag=True, help="Read replies from stdin, print one JSON object.")
@click.pass_context
def simulate_cmd(
    click_ctx: click.Context,
    campaign: str | None,
    debtor_ref: str | None,
    store: bool,
    at_text: str | None,
    name: str | None,
    amount: str | None,
    due: str | None,
    today: str | None,
    creditor: str,
    window_days: int,
    max_installments: int,
    no_transfer: bool,
    records_call: bool,
    verify: str | None,
    verify_answer: str,
    seed: str,
    cnpj: str,
    channels: str,
    phone: str,
    address_state: str | None,
    flow_name: str,
    catalog_path: str | None,
    policy_json: str | None,
    charges: str,
    email: str,
    boleto_line: str,
    payment_link: str,
    as_json: bool,
) -> None:
    """Talk to the bot in text: one debtor reply per line (empty = silence, end of input = hang up).

    With --campaign and --debtor the call is that debtor's, as the call service would run it; --store
    writes it to the ledger.
    """
    from ivr.dialog.engine import Action, CallContext, DialogEngine, NegotiationPolicy
    from ivr.dialog.simulator import TextChannel, describe
    from ivr.language.prompts import load_catalog

    if campaign or debtor_ref or store or at_text:
        _simulate_campaign(click_ctx, campaign, debtor_ref, store, at_text, catalog_path, as_json)
        return
    missing = [
        opt for opt, value in (("--name", name), ("--amount", amount), ("--due", due), ("--today", today)) if not value
    ]
    if missing:
        raise InputError(f"simulate needs {', '.join(missing)} (or --campaign NAME --debtor ID)")
    assert name is not None and amount is not None and due is not None and today is not None
    if verify and not verify_answer:
        raise InputError("--verify needs --verify-answer (the digits the debtor should give)")
    from click.core import ParameterSource

    from ivr.br.phone import parse_phone
    from ivr.campaign.rules import Policy
    from ivr.campaign.stages import flow_for
    from ivr.payment.instructions import DebtPaymentData

    policy = Policy()
    if policy_json is not None:
        try:
            data = json.loads(policy_json)
        except json.JSONDecodeError as exc:
            raise InputError(f"--policy: not valid JSON ({exc.msg} at column {exc.colno})") from None
        policy = Policy.from_dict(data, "--policy")

    def given(option: str) -> bool:
        return click_ctx.get_parameter_source(option) is ParameterSource.COMMANDLINE

    if policy_json is not None:
        window_days = window_days if given("window_days") else policy.promise_window_days
        max_installments = max_installments if given("max_installments") else policy.max_installments
        no_transfer = no_transfer or not policy.allow_transfer
    balance = _parse_amount(amount)
    charge_amount = _parse_amount(charges) if charges.strip() not in ("", "0", "0.00", "0,00") else Decimal("0.00")
    if charge_amount > balance:
        raise InputError(f"--charges {charges!r} is more than --amount {amount!r}")
    called = parse_phone(phone)
    due_day, call_day = _parse_day("--due", due), _parse_day("--today", today)
    if policy_json is not None and not given("flow_name"):
        # The policy's stage for these dates (days from the due date), else its flow.
        staged = flow_for(policy.stages, (call_day - due_day).days) if policy.stages else None
        flow_name = staged or policy.flow
    ctx = CallContext(
        debtor_name=name,
        creditor_name=creditor,
        amount=balance,
        due_date=due_day,
        today=call_day,
        records_call=records_call,
        verification=verify,  # type: ignore[arg-type]
        verification_answer=verify_answer,
        promise_window_days=window_days,
        negotiation=NegotiationPolicy(max_installments, not no_transfer),
        seed=seed,
        creditor_cnpj=_parse_cnpj(cnpj) or policy.creditor_cnpj,
        official_channels=channels or policy.official_channels,
        next_allowed_call=callback_rules(phone, address_state),
        offers=policy.offers,
        charges=charge_amount,
        payment=policy.payment,
        payment_data=DebtPaymentData(_boleto_option(boleto_line), _link_option(payment_link), email or None),
        phone_e164=called.e164,
        mobile=called.mobile,
    )
    from ivr.flows import check, load_flow

    catalog = load_catalog(
        catalog_path or (click_ctx.find_object(Context) or Context(None)).settings.prompts.catalog or None
    )
    flow = load_flow(flow_name)
    problems = check(flow, catalog)
    if problems:
        raise InputError(f"{problems[0]} ({len(problems)} problems; run `ivr flow check {flow_name}`)")
    engine = DialogEngine(ctx, catalog, flow=flow)
    interactive = not as_json and sys.stdin.isatty()
    if as_json:
        result = TextChannel(engine).run(sys.stdin)
        click.echo(json.dumps(result.to_json(), ensure_ascii=False))
        return

    def show(action: Action) -> None:
        line = describe(action)
        if line:
            click.echo(line)

    if interactive:
        click.echo("(uma resposta por linha; linha vazia = silêncio; 1 sim, 2 não, 9 atendente; Ctrl-D desliga)")
    TextChannel(engine, show).run(_replies(interactive))


def _replies(interactive: bool) -> Iterator[str]:
    while True:
        try:
            line = input("você: ") if interactive else sys.stdin.readline()
        except EOFError:
            return
        if not interactive and line == "":
            return
        if not interactive:
            click.echo(f"você: {line.rstrip()}")
        yield line


def _simulate_campaign(
    click_ctx: click.Context,
    campaign: str | None,
    debtor_ref: str | None,
    store: bool,
    at_text: str | None,
    catalog_path: str | None,
    as_json: bool,
) -> None:
    """``ivr simulate --campaign NAME --debtor ID [--store] [--at ISO]``."""
    from ivr.db.session import open_database
    from ivr.dialog.engine import Action
    from ivr.dialog.simulator import describe
    from ivr.dialog.stored import simulate_stored_call
    from ivr.language.prompts import load_catalog

    if not campaign or not debtor_ref:
        raise InputError("--store, --at and --debtor go with --campaign NAME --debtor ID (id or contract)")
    settings = click_ctx.find_root().obj.settings
    at = parse_instant(at_text)
    interactive = not as_json and sys.stdin.isatty()

    def show(action: Action) -> None:
        line = describe(action)
        if line and not as_json:
            click.echo(line)

    key = settings.hmac_key(create=False) if len(re.sub(r"\D", "", debtor_ref)) == 11 else None
    sessions = open_database(settings.database_url)
    if not store:
        # A dry run: the same context, nothing written (the attempt is rolled back).
        from ivr.dialog.engine import DialogEngine
        from ivr.dialog.simulator import TextChannel
        from ivr.dialog.stored import preview_call
        from ivr.callservice.service import context_for

        info = preview_call(sessions, campaign, debtor_ref, at, key)
        engine = DialogEngine(context_for(info, at), load_catalog(catalog_path))
        lines = sys.stdin if as_json else _replies(interactive)
        result = TextChannel(engine, show).run(lines)
        if as_json:
            click.echo(json.dumps(result.to_json(), ensure_ascii=False))
        return
    lines = sys.stdin if as_json else _replies(interactive)
    stored = simulate_stored_call(
        sessions, campaign, debtor_ref, lines, at, catalog=load_catalog(catalog_path), hmac_key=key, on_action=show
    )
    if not stored.eligible:
        click.echo(f"note: the dialer would not have called now ({stored.reason})", err=True)
    if as_json:
        out = stored.result.to_json()
        out["attempt_id"] = stored.attempt_id
        click.echo(json.dumps(out, ensure_ascii=False))
        return
    click.echo(f"stored as attempt {stored.attempt_id}: {stored.result.outcome}")


@click.group("prompts")
def prompts_group() -> None:
    """The prompt catalog: what the bot says."""


@prompts_group.command("check")
@click.option(
    "--catalog",
    "catalog_path",
    type=click.Path(dir_okay=False),
    default=None,
    help="Catalog TOML (default: setting prompts.catalog, else the shipped one).",
)
@pass_ctx
def check_cmd(ctx: Context, catalog_path: str | None) -> None:
    """Lint the catalog: placeholders, forbidden words (CDC art. 71), debt detail before identity, lengths."""
    from ivr.dialog.engine import PROMPT_IDS
    from ivr.flows import all_prompts, load_flow, shipped_flows
    from ivr.language.prompts import lint, load_catalog

    catalog = load_catalog(catalog_path or ctx.settings.prompts.catalog or None)
    required = set(PROMPT_IDS)
    for name in shipped_flows():
        required.update(all_prompts(load_flow(name)))
    problems = lint(catalog, required=sorted(required))
    for problem in problems:
        click.echo(f"{catalog.source}: {problem}")
    if problems:
        raise click.exceptions.Exit(1)
    variants = sum(len(p.variants) for p in catalog.prompts.values())
    click.echo(f"{catalog.source}: {len(catalog.prompts)} prompts, {variants} variants, no problems")


@prompts_group.command("render")
@click.option("--force", is_flag=True, help="Synthesize again even when cached.")
@pass_ctx
def prompts_render(ctx: Context, force: bool) -> None:
    """Render every static prompt variant of the catalog into the audio cache."""
    from ivr.language.prompts import load_catalog, static_variants
    from ivr.speech.tts import CachedTts, make_tts, prepare_text

    engine = make_tts(ctx.settings)
    assert isinstance(engine, CachedTts)
    engine.start()
    made = hit = 0
    for prompt_id, variant, text in static_variants(load_catalog(ctx.settings.prompts.catalog or None)):
        spoken = prepare_text(text)
        if force:
            for sentence in engine.sentences(spoken):
                engine.cache.path(engine.voice_id, sentence).unlink(missing_ok=True)
        if engine.render(spoken):
            made += 1
            log.debug("rendered %s[%d]", prompt_id, variant)
        else:
            hit += 1
    click.echo(f"prompts: {made} rendered, {hit} already cached ({engine.name}, cache {engine.cache.dir})")


def _boleto_option(text: str) -> str | None:
    """``--boleto`` checked as the import checks ``linha digitável`` (check digits); InputError otherwise."""
    if not text.strip():
        return None
    try:
        return parse_boleto(text).line
    except InputError as exc:
        raise InputError(f"--boleto: {exc}") from None


def _link_option(text: str) -> str | None:
    """``--link`` checked as the import checks ``link de pagamento``: an https:// address."""
    if not text.strip():
        return None
    parts = urlsplit(text.strip())
    if parts.scheme.lower() != "https" or not parts.netloc or re.search(r"\s", text.strip()):
        raise InputError(f"--link {text!r} is not an https:// address (the payment link the debtor opens)")
    return text.strip()
