"""Debtor rows from a CSV source: a pure reader driven by a table of field validators.

:func:`read_rows` turns a :class:`~ivr.db.csvsource.CsvSource` into :class:`Row`\\ s (with warnings for
optional values it dropped) and :class:`Reject`\\ s (the field at fault comes from :data:`FIELDS`). It reads
no clock (``today`` is an argument) and no database; storing is :func:`ivr.db.importer.store_rows`.

Before the rows it surveys the file once (flat memory): which decimal mark its amounts use, and which
contract ids appear with two different CPFs (both rows are refused: the debt cannot be given to either).
"""

from __future__ import annotations

import datetime as dt
import hashlib
import os
import re
import sqlite3
import tempfile
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass
from dataclasses import field as _field
from decimal import Decimal
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

from ivr.br.boleto import parse_boleto
from ivr.br.cpf import normalize_cpf, refuse_scientific, unwrap_spreadsheet_text
from ivr.br.formats import (
    DecimalMark,
    amount_evidence,
    decide_decimal_mark,
    is_placeholder,
    is_placeholder_date,
    parse_amount,
    parse_date,
)
from ivr.br.phone import Phone, parse_phone
from ivr.br.uf import parse_uf
from ivr.db.csvsource import CsvSource, Record, header_key, match_headers
from ivr.errors import InputError
from ivr.privacy import holds_cpf_fragment

# Canonical field → accepted header keys (see ivr.db.csvsource.header_key: no case, accents, units, "de").
HEADER_ALIASES: dict[str, tuple[str, ...]] = {
    "name": (
        "nome",
        "nomecompleto",
        "devedor",
        "cliente",
        "nomecliente",
        "nomedevedor",
        "name",
        "razaosocial",
        "nomerazaosocial",
        "sacado",
        "nomesacado",
    ),
    "cpf": (
        "cpf",
        "cpfdevedor",
        "cpfcliente",
        "documento",
        "doc",
        "nrcpf",
        "numcpf",
        "cpfcnpj",
        "cnpjcpf",
        "nocpf",
        "ncpf",
        "numerocpf",
        "cpfsacado",
    ),
    "phone": ("telefone", "telefones", "celular", "fone", "tel", "phone", "contato", "whatsapp", "numero"),
    "total": (
        "valor",
        "valortotal",
        "total",
        "saldo",
        "saldodevedor",
        "valoratualizado",
        "valordivida",
        "amount",
        "valordebito",
        "valorcorrigido",
        "valoratual",
        "totaldevido",
        "valordevido",
    ),
    "principal": ("principal", "valorprincipal", "valororiginal", "valornominal"),
    "interest": ("juros", "valorjuros"),
    "fines": ("multa", "multas", "valormulta"),
    "fees": ("encargos", "tarifas", "taxas", "honorarios", "despesas", "custas"),
    "due_date": (
        "vencimento",
        "datavencimento",
        "dtvencimento",
        "datadevencimento",
        "vencto",
        "duedate",
        "venc",
        "dtvenc",
        "datavenc",
        "dtvencto",
        "datavencto",
        "dtvcto",
        "vcto",
    ),
    "contract": (
        "contrato",
        "numerocontrato",
        "nrcontrato",
        "numcontrato",
        "idcontrato",
        "contract",
        "fatura",
        "nocontrato",
        "ncontrato",
        "codcontrato",
        "codigocontrato",
    ),
    "birth_date": (
        "nascimento",
        "datanascimento",
        "dtnascimento",
        "datadenascimento",
        "birthdate",
        "dtnasc",
        "datanasc",
        "nasc",
    ),
    "state": ("uf", "estado", "ufendereco"),
    "city": ("cidade", "municipio"),
    "boleto": ("linhadigitavel", "codigobarras", "codbarras", "boleto", "linhadigitavelboleto", "codigoboleto"),
    "payment_link": ("linkpagamento", "link", "urlpagamento", "linkboleto", "linkpix"),
    "email": ("email", "emaildevedor", "emailcliente", "correioeletronico"),
}
REQUIRED = ("name", "cpf", "phone", "due_date", "contract")
_MULTI = {"phone", "boleto"}
# Columns whose header starts with these names are extra phone columns: "telefone 2", "celular2", "fone_res".
_PHONE_PREFIXES = ("telefone", "celular", "fone", "tel", "whatsapp")
_PARTICLES = {"da", "de", "do", "das", "dos", "e", "di", "du"}
_ITEMS = ("interest", "fines", "fees")
_AMOUNTS = ("principal", *_ITEMS, "total")
FIELD_LABELS = {
    "name": "nome",
    "cpf": "CPF",
    "phone": "telefone",
    "total": "valor",
    "principal": "principal",
    "interest": "juros",
    "fines": "multa",
    "fees": "encargos",
    "due_date": "vencimento",
    "contract": "contrato",
    "birth_date": "nascimento",
    "state": "UF",
    "city": "cidade",
    "boleto": "linha digitável",
    "payment_link": "link de pagamento",
    "email": "e-mail",
    "record": "linha",
    "encoding": "codificação",
}


@dataclass
class RowWarning:
    """Something dropped from a row that was taken (an unusable extra phone, a boleto whose DV fails...)."""

    line: int
    field: str
    reason: str


@dataclass
class Row:
    line: int
    name: str
    cpf_digits: str
    phones: list[Phone]
    contract: str
    """Canonical contract id (see :func:`canonical_contract`)."""
    principal: Decimal
    interest: Decimal
    fines: Decimal
    fees: Decimal
    total: Decimal
    due_date: dt.date
    birth_date: dt.date | None
    state: str | None
    city: str | None
    boleto_line: str | None = None
    """Linha digitável, digits only (47 bank, 48 arrecadação)."""
    payment_link: str | None = None
    email: str | None = None
    warnings: list[RowWarning] = _field(default_factory=list)


@dataclass
class Reject:
    line: int
    field: str
    """Canonical field name (a key of :data:`FIELD_LABELS`)."""
    reason: str
    """Portuguese, for the operator who fixes the file."""
    fields: list[str] = _field(default_factory=list)
    """The record as read, written back to the rejects file."""
    column: str = ""
    """The input's header of the column at fault (empty when no single column is)."""


@dataclass
class Columns:
    """Where each canonical field is in the file; DDD columns paired with the phone column they complete."""

    headers: list[str]
    index: dict[str, list[int]]
    ddd_for: dict[int, int]
    """Phone column index → index of its DDD column (``ddd;telefone``, ``ddd celular;celular``)."""

    def __post_init__(self) -> None:
        self.plan = [(rule, self.index[rule.name]) for rule in FIELDS if rule.name in self.index]
        """The rules of :data:`FIELDS` this file has columns for, with their column indexes."""

    def header(self, name: str) -> str:
        idx = self.index.get(name)
        return self.headers[idx[0]] if idx else FIELD_LABELS.get(name, name)


def map_columns(headers: list[str]) -> Columns:
    """Canonical fields of a debtor file's header; ``InputError`` (without the file name) when one is missing."""

    def extra_phone(key: str) -> bool:
        return key.startswith(_PHONE_PREFIXES) and key.rstrip("0123456789") != ""

    keys = [header_key(h) for h in headers]
    aliases = {canon: list(names) for canon, names in HEADER_ALIASES.items()}
    aliases["phone"] += [k for k in keys if extra_phone(k) and k not in {a for n in aliases.values() for a in n}]
    index = match_headers(headers, aliases, multi=lambda canon, key: canon in _MULTI)
    phones = index.get("phone", [])
    ddd_for: dict[int, int] = {}
    for i, key in enumerate(keys):
        if not key.startswith("ddd") or not phones:
            continue
        suffix = key[3:]
        named = [p for p in phones if suffix and keys[p] == suffix and p not in ddd_for]
        right = [p for p in phones if p > i and p not in ddd_for]
        left = [p for p in reversed(phones) if p < i and p not in ddd_for]
        candidates = named or right or left
        if candidates:
            ddd_for[candidates[0]] = i
    missing = [f for f in REQUIRED if f not in index]
    if "total" not in index and "principal" not in index:
        missing.append("total")
    if missing:
        names = "; ".join(f"{f}: {'/'.join(HEADER_ALIASES[f][:3])}" for f in missing)
        raise InputError(f"missing column(s) {', '.join(missing)} (accepted names: {names})")
    return Columns(headers, index, ddd_for)


def nice_name(raw: str) -> str:
    """Collapse spaces; turn an all-caps export ("MARIA DA SILVA") into "Maria da Silva" for the voice."""
    name = " ".join(raw.split())
    if name.isupper() or name.islower():
        words = [w.lower() if w.lower() in _PARTICLES and i else w.capitalize() for i, w in enumerate(name.split())]
        name = " ".join(words)
    return name


_FLOAT_ARTEFACT = re.compile(r"(\d+)[.,]0+")


def canonical_contract(text: str) -> str:
    """The form contract ids are compared and stored in, so an Excel round trip updates instead of adding.

    Spreadsheet text markers (``'000123``, ``="000123"``) and a float artefact (``123.0``) are undone,
    spaces removed, letters upper-cased, and an all-digit id loses its leading zeros (``000123`` → ``123``:
    Excel drops them when the column is numeric). Scientific notation (``4.51236E+15``) is refused: the
    digits Excel dropped made different contracts equal. ``InputError`` (Portuguese) on refusal.
    """
    raw = text.strip()
    if len(raw) <= 64 and raw.isalnum() and raw.isascii() and raw[0] != "0" and "e" not in raw and "E" not in raw:
        return raw.upper()  # the common case: nothing to undo
    raw = unwrap_spreadsheet_text(raw)
    if not raw:
        raise InputError("contrato vazio")
    refuse_scientific(raw, "contrato")
    if m := _FLOAT_ARTEFACT.fullmatch(raw):
        raw = m[1]
    key = re.sub(r"\s+", "", raw).upper()
    if key.isdigit():
        key = key.lstrip("0") or "0"
    if len(key) > 64:
        raise InputError("contrato tem mais de 64 caracteres")
    return key


# -- the field validators -----------------------------------------------------------------------------


@dataclass
class _Context:
    today: dt.date
    decimal: DecimalMark
    columns: Columns
    record: Sequence[str]
    line: int
    warnings: list[RowWarning] = _field(default_factory=list)
    cpf: str | None = None
    """The row's CPF digits once read: other columns are checked for them (ivr.privacy.holds_cpf_fragment)."""

    def warn(self, name: str, reason: str) -> None:
        self.warnings.append(RowWarning(self.line, name, reason))


def _one(cells: list[str]) -> str:
    return cells[0] if len(cells) == 1 else next((c for c in cells if c), "")


def _name(cells: list[str], ctx: _Context) -> str:
    name = nice_name(_one(cells))
    if len(name) > 200:
        raise InputError("nome tem mais de 200 caracteres")
    return name


def _cpf(cells: list[str], ctx: _Context) -> str:
    return normalize_cpf(_one(cells))


def _contract(cells: list[str], ctx: _Context) -> str:
    return canonical_contract(_one(cells))


def _amount(cells: list[str], ctx: _Context) -> Decimal:
    return parse_amount(_one(cells), ctx.decimal)


def _due(cells: list[str], ctx: _Context) -> dt.date:
    return parse_date(_one(cells))


def _birth(cells: list[str], ctx: _Context) -> dt.date | None:
    text = _one(cells)
    if is_placeholder_date(text):
        return None
    birth = parse_date(text, today=ctx.today, past=True)
    if not dt.date(1900, 1, 1) < birth < ctx.today:
        raise InputError("data de nascimento não é plausível (antes de 1900 ou no futuro)")
    return birth


def _state(cells: list[str], ctx: _Context) -> str:
    return parse_uf(_one(cells))


def _city(cells: list[str], ctx: _Context) -> str:
    return " ".join(_one(cells).split())[:120]


_PHONE_SPLIT = re.compile(r"[|;/]|,(?!\d+[eE][+-]?\d)| e | ou ")
"""What separates several numbers in one cell; not the decimal comma of a pt-BR Excel's ``1,19877E+10``."""


def _phones(cells: list[str], ctx: _Context) -> list[Phone]:
    phones: list[Phone] = []
    problems: list[tuple[str, str]] = []
    columns = ctx.columns
    for col in columns.index.get("phone", []):
        cell = ctx.record[col].strip() if col < len(ctx.record) else ""
        header = columns.headers[col]
        ddd_col = columns.ddd_for.get(col)
        ddd = re.sub(r"\D", "", ctx.record[ddd_col]) if ddd_col is not None and ddd_col < len(ctx.record) else ""
        ddd = ddd.lstrip("0")
        for part in _PHONE_SPLIT.split(cell):
            part = part.strip()
            if not part:
                continue
            if ddd and len(re.sub(r"\D", "", part)) in (8, 9):
                part = f"({ddd}) {part}"
            # A CPF pasted into a phone column can pass as a mobile (11987654374 is both), and a refused one would
            # be quoted by its last digits: neither stored nor quoted.
            if ctx.cpf is not None and holds_cpf_fragment(part, ctx.cpf, window=9):
                raise InputError(_CPF_ELSEWHERE["phone"])
            try:
                phone = parse_phone(part)
            except InputError as exc:
                if is_placeholder(part):
                    problems.append((header, f"{part!r} não é um número"))
                    continue
                reason = str(exc)
                try:
                    refuse_scientific(part, "telefone")
                except InputError as sci:
                    reason = str(sci)  # the spreadsheet's damage, with its fix, says more than the digits do
                problems.append((header, reason))
                continue
            if all(p.e164 != phone.e164 for p in phones):
                phones.append(phone)
    if not phones:
        if problems:
            raise InputError(f"nenhum telefone utilizável ({problems[0][0]}: {problems[0][1]})")
        raise InputError("sem telefone")
    for header, reason in problems:
        ctx.warn("phone", f"{header}: {reason}; valor ignorado, a linha foi importada com os outros telefones")
    return phones


def _boleto(cells: list[str], ctx: _Context) -> str | None:
    text = _one(cells)
    if is_placeholder(text):
        return None
    refuse_scientific(text, "linha digitável")
    return parse_boleto(text).line


def _link(cells: list[str], ctx: _Context) -> str | None:
    text = _one(cells)
    if is_placeholder(text):
        return None
    parts = urlsplit(text)
    if parts.scheme.lower() != "https" or not parts.netloc or re.search(r"\s", text) or len(text) > 2000:
        raise InputError("link de pagamento não é um endereço https:// válido")
    return text


def _email(cells: list[str], ctx: _Context) -> str | None:
    text = _one(cells)
    if is_placeholder(text):
        return None
    if len(text) > 254 or not re.fullmatch(r"[^@\s;,]+@[^@\s;,]+\.[A-Za-z]{2,}", text):
        raise InputError("e-mail não é um endereço válido (nome@dominio.com.br)")
    return text.lower()


@dataclass(frozen=True)
class FieldRule:
    """How one canonical field is read: its parser, whether it must be filled, what a bad value does."""

    name: str
    parse: Callable[[list[str], _Context], Any]
    required: bool = False
    optional_value: bool = False
    """A bad value is a warning that drops the value (the row is taken), not a refusal."""


FIELDS: tuple[FieldRule, ...] = (
    FieldRule("name", _name, required=True),
    FieldRule("cpf", _cpf, required=True),
    FieldRule("phone", _phones, required=True),
    FieldRule("contract", _contract, required=True),
    FieldRule("principal", _amount),
    FieldRule("interest", _amount),
    FieldRule("fines", _amount),
    FieldRule("fees", _amount),
    FieldRule("total", _amount),
    FieldRule("due_date", _due, required=True),
    FieldRule("birth_date", _birth),
    FieldRule("state", _state),
    FieldRule("city", _city),
    FieldRule("boleto", _boleto, optional_value=True),
    FieldRule("payment_link", _link, optional_value=True),
    FieldRule("email", _email, optional_value=True),
)
"""The table :func:`read_rows` applies in order: the first refusing rule names the reject's field."""

_EMPTY = {
    "name": "nome vazio",
    "cpf": "CPF vazio",
    "phone": "sem telefone",
    "contract": "contrato vazio",
    "due_date": "vencimento vazio",
}


def _amounts(values: dict[str, Any], columns: Columns, ctx: _Context) -> dict[str, Decimal]:
    """principal/interest/fines/fees/total made consistent; ``InputError`` (field ``total``) otherwise."""
    zero = Decimal("0.00")
    parts = {k: values.get(k) or zero for k in ("principal", *_ITEMS)}
    total = values.get("total")
    items = sum((parts[k] for k in _ITEMS), zero)
    has_item_columns = any(k in columns.index for k in _ITEMS)
    if total is not None:
        if values.get("principal") is None:
            parts["principal"] = total - items
            if parts["principal"] < 0:
                raise InputError(f"valor {total} é menor que juros + multa + encargos")
        elif has_item_columns:
            if parts["principal"] + items != total:
                raise InputError(
                    f"valor {total} difere de principal + juros + multa + encargos = {parts['principal'] + items}; "
                    "corrija um deles"
                )
        elif total >= parts["principal"]:
            # "Valor Original" + "Valor Atualizado" without itemised columns: the difference is charges the
            # file does not itemise, stored as encargos.
            parts["fees"] = total - parts["principal"]
        else:
            ctx.warn(
                "principal",
                f"valor atualizado {total} é menor que o original {parts['principal']}: "
                "guardado o atualizado como principal",
            )
            parts["principal"] = total
    elif values.get("principal") is not None:
        total = parts["principal"] + items
    else:
        raise InputError("valor vazio (preencha o valor, ou o principal e suas partes)")
    if total <= 0:
        raise InputError("o valor deve ser maior que zero")
    return {**parts, "total": total}


_CPF_ELSEWHERE = {
    "name": "o nome tem um número longo (um CPF ou telefone?); deixe nesta coluna só o nome da pessoa",
    "city": "a cidade tem um número longo (um CPF ou telefone?); deixe nesta coluna só o nome da cidade",
    "phone": "o telefone tem dígitos do CPF do devedor (colado na coluna errada?); ponha aqui o número",
    "contract": "o contrato tem dígitos do CPF do devedor, e nenhum CPF pode ser guardado (LGPD); "
    "use o número de contrato do próprio credor",
}


def parse_record(record: Record, columns: Columns, today: dt.date, decimal: DecimalMark) -> Row | Reject:
    """One CSV record → a Row, or the first problem found as a Reject naming its field (from :data:`FIELDS`)."""
    fields = record.fields
    ctx = _Context(today, decimal, columns, fields, record.line)

    def refuse(name: str, reason: str) -> Reject:
        return Reject(record.line, name, reason, list(fields), columns.header(name) if name in columns.index else "")

    if record.bad_encoding:
        return refuse(
            "encoding",
            "a linha não está em UTF-8 como o resto do arquivo (ou tem bytes nulos); "
            "salve o arquivo inteiro de novo como CSV UTF-8",
        )
    if len(fields) > len(columns.headers) and sum(1 for c in fields if c.strip()) > len(columns.headers):
        return refuse(
            "record",
            f"a linha tem {len(fields)} campos e o cabeçalho {len(columns.headers)}: "
            "ponha entre aspas os valores que têm vírgula (ou use ; como separador)",
        )
    values: dict[str, Any] = {}
    width = len(fields)
    for rule, idx in columns.plan:
        cells = [fields[i].strip() if i < width else "" for i in idx]
        if rule.name != "phone" and not any(cells):
            if rule.required:
                return refuse(rule.name, _EMPTY[rule.name])
            continue
        try:
            values[rule.name] = rule.parse(cells, ctx)
            if rule.name == "cpf":
                ctx.cpf = values["cpf"]
        except InputError as exc:
            if rule.optional_value:
                ctx.warn(
                    rule.name, f"{columns.header(rule.name)}: {exc}; valor ignorado, a linha foi importada sem ele"
                )
                continue
            return refuse(rule.name, str(exc))
    if not values.get("name"):
        return refuse("name", "nome vazio")
    # A CPF typed into another column would be stored whole (the bot would even speak it): refused, and the
    # reason does not quote the value (see ivr.privacy.holds_cpf_fragment).
    for name in ("name", "city", "contract"):
        text = values.get(name) or ""
        if holds_cpf_fragment(text, values.get("cpf") if name == "contract" else None):
            return refuse(name, _CPF_ELSEWHERE[name])
    try:
        amounts = _amounts(values, columns, ctx)
    except InputError as exc:
        return refuse("total", str(exc))
    return Row(
        line=record.line,
        name=values["name"],
        cpf_digits=values["cpf"],
        phones=values["phone"],
        contract=values["contract"],
        due_date=values["due_date"],
        birth_date=values.get("birth_date"),
        state=values.get("state"),
        city=values.get("city") or None,
        boleto_line=values.get("boleto"),
        payment_link=values.get("payment_link"),
        email=values.get("email"),
        warnings=ctx.warnings,
        **amounts,
    )


# -- the survey: what only the whole file tells -----------------------------------------------------------


@dataclass
class Survey:
    decimal: DecimalMark
    """The decimal mark the file's unambiguous amounts use (``?`` when they disagree or none exists in a
    ``,``-separated file; ``,`` by default in a ``;`` or tab file, a pt-BR export)."""
    conflicts: dict[str, list[int]]
    """Contract id → the lines where it appears, for contracts written with two or more CPFs."""


def _survey_cpf(cell: str) -> str:
    """The CPF digits as :func:`normalize_cpf` would give them for a valid CPF, without validating it
    (a row with an invalid CPF is refused anyway): the survey reads every row, so it stays cheap."""
    raw = cell.strip()
    if len(raw) == 11 and raw.isdigit():
        return raw
    if raw.endswith(("0", "'", '"')) and (m := _FLOAT_ARTEFACT.fullmatch(unwrap_spreadsheet_text(raw))):
        raw = m[1]
    digits = re.sub(r"\D", "", raw)
    return digits.zfill(11) if 9 <= len(digits) < 11 else digits


def survey(source: CsvSource, columns: Columns) -> Survey:
    """One pass over the file: its decimal mark and its contracts with more than one CPF.

    The contract → CPF pairs go to a scratch SQLite file (a keyed digest of the CPF, never the CPF) so
    memory stays flat for any file size; the scratch directory is private and removed at the end.
    """
    marks: set[str] = set()
    amount_cols = [i for k in _AMOUNTS for i in columns.index.get(k, [])]
    cpf_col = columns.index["cpf"][0]
    contract_col = columns.index["contract"][0]
    # A random key per run: the scratch file's digests cannot be matched against the 10^9 possible CPFs.
    salt = os.urandom(16)
    with tempfile.TemporaryDirectory(prefix="ivr-import-") as tmp:
        db = sqlite3.connect(Path(tmp) / "survey.db")
        try:
            db.execute("PRAGMA journal_mode=OFF")
            db.execute("PRAGMA synchronous=OFF")
            db.execute("CREATE TABLE seen (contract TEXT, cpf INTEGER, line INTEGER)")
            batch: list[tuple[str, int, int]] = []
            for record in source.records():
                f = record.fields
                if len(marks) < 2:
                    for i in amount_cols:
                        # Only a cell with the separator not yet proven can prove something new.
                        if i < len(f) and ("," in f[i] or "." in f[i]) and (mark := amount_evidence(f[i])):
                            marks.add(mark)
                try:
                    cpf = _survey_cpf(f[cpf_col]) if cpf_col < len(f) else ""
                    contract = canonical_contract(f[contract_col]) if contract_col < len(f) else ""
                except InputError:
                    continue
                if cpf and contract:
                    digest = hashlib.blake2b(cpf.encode(), key=salt, digest_size=8).digest()
                    batch.append((contract, int.from_bytes(digest, "big", signed=True), record.line))
                    if len(batch) >= 10_000:
                        db.executemany("INSERT INTO seen VALUES (?, ?, ?)", batch)
                        batch.clear()
            if batch:
                db.executemany("INSERT INTO seen VALUES (?, ?, ?)", batch)
            conflicts: dict[str, list[int]] = {}
            for contract, line in db.execute(
                "SELECT contract, line FROM seen WHERE contract IN "
                "(SELECT contract FROM seen GROUP BY contract HAVING COUNT(DISTINCT cpf) > 1) ORDER BY line"
            ):
                conflicts.setdefault(contract, []).append(line)
        finally:
            db.close()
    return Survey(decide_decimal_mark(marks, source.delimiter), conflicts)


def read_rows(source: CsvSource, today: dt.date) -> Iterator[Row | Reject]:
    """Every record of ``source`` as a :class:`Row` or a :class:`Reject`, in file order.

    Pure apart from reading ``source`` (twice: the survey, then the rows) and a private scratch file; ``today``
    judges birth dates. ``InputError`` before the first row when a required column is missing (the message
    names the file and line).
    """
    try:
        columns = map_columns(source.headers)
    except InputError as exc:
        raise InputError(f"{source.name}: line {source.header_line}: {exc}") from None
    found = survey(source, columns)
    for record in source.records(with_progress=True):
        parsed = parse_record(record, columns, today, found.decimal)
        if isinstance(parsed, Row) and parsed.contract in found.conflicts:
            others = [n for n in found.conflicts[parsed.contract] if n != record.line]
            parsed = Reject(
                record.line,
                "contract",
                f"o contrato {parsed.contract} aparece com outro CPF na(s) linha(s) {', '.join(map(str, others[:5]))}: "
                "corrija o CPF ou o contrato (nenhuma das linhas foi importada)",
                list(record.fields),
                columns.header("contract"),
            )
        yield parsed
