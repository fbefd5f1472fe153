"""No combination of stored columns gives a CPF back (DESIGN.md personal data; LGPD art. 6 III).

Nine digits fix a CPF (the two check digits follow from them). Three tests, each on SQLite and PostgreSQL:

- information flow: the same data is stored with the debtor's CPF changed in one of its nine digits at a time;
  a digit is exposed when any stored value (every column of every table, and the rejects file) changes with it.
  Only digits 1-6 may be exposed: then no column, pair or larger combination can hold the other three.
- an attacker who reads every column of the debtor's rows, and every combination of them, and completes
  nine known digits with the check digits, never finds the CPF (and does find it in rows of the old scheme).
- the migration 1502 rewrites a database written by the old scheme so that the same attacker finds nothing.

The keyed HMAC depends on every digit by design; without the key (which is not in the database: asserted)
it tells nothing, so it is the one column left out of the flow comparison.
"""

from __future__ import annotations

import csv
import datetime as dt
import itertools
import re
from collections.abc import Callable, Iterator
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest
import sqlalchemy as sa
from sqlalchemy.orm import Session, sessionmaker

from ivr.br.cpf import cpf_with_check_digits, is_valid_cpf
from ivr.db import results
from ivr.db.importer import import_file
from ivr.db.models import Attempt, Base, Campaign, Creditor, Debt, Debtor, Phone, Turn, UTCDateTime
from ivr.db.session import dispose_engines, get_engine, open_database, upgrade

KEY = b"rebuild-test-key"
CPF_X = "52998224725"
"""The debtor whose CPF the attacker wants: in a campaign that verifies by CPF and in one that does not."""
CPF_Y = cpf_with_check_digits("318407569")
"""A debtor only in the campaign that does not verify by CPF."""


def fmt(cpf: str) -> str:
    return f"{cpf[:3]}.{cpf[3:6]}.{cpf[6:9]}-{cpf[9:]}"


def with_digit_changed(cpf: str, position: int) -> str:
    base = list(cpf[:9])
    base[position] = str((int(base[position]) + 1) % 10)
    return cpf_with_check_digits("".join(base))


@pytest.fixture(params=["sqlite", pytest.param("postgresql", marks=pytest.mark.postgres)])
def new_db(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Callable[[], str]]:
    """A factory of empty databases of one backend."""
    count = itertools.count()

    def make() -> str:
        if request.param == "sqlite":
            return f"sqlite:///{tmp_path / f'db{next(count)}.sqlite'}"
        return str(request.getfixturevalue("postgres").new_database())

    yield make
    dispose_engines()


# --------------------------------------------------------------------------- storing through the product


def store_everything(url: str, cpf_x: str, workdir: Path) -> sessionmaker[Session]:
    """Two campaigns, imports (one refused row), a call with turns keying the CPF, outcomes with notes."""
    workdir.mkdir(parents=True, exist_ok=True)
    sessions = open_database(url)
    with sessions.begin() as s:
        cred = Creditor(name="Banco Exemplo")
        s.add(cred)
        s.flush()
        s.add_all(
            [
                Campaign(name="plain", creditor_id=cred.id, policy={}),
                Campaign(name="verified", creditor_id=cred.id, policy={"verification": "cpf3"}),
            ]
        )
    header = "nome;cpf;telefone;valor;vencimento;contrato;nascimento;uf;cidade\n"
    plain = workdir / "plain.csv"
    plain.write_text(
        header
        + f"Maria Souza;{fmt(cpf_x)};11987654321;150,50;10/11/2026;P1;03/04/1980;SP;São Paulo\n"
        + f"João Lima;{CPF_Y};21987654321;99,90;10/11/2026;P2;;RJ;Rio de Janeiro\n"
        + f"Maria Souza;{cpf_x};11 9876-543;10,00;10/11/2026;P3;;SP;\n",
        encoding="utf-8",
    )
    verified = workdir / "verified.csv"
    verified.write_text(
        header + f"Maria Souza;{cpf_x};11987654321;80,00;20/11/2026;V1;03/04/1980;SP;São Paulo\n", encoding="utf-8"
    )
    # First into a campaign that does not verify by CPF (no digits kept), then into one that does.
    import_file(plain, "plain", sessions, KEY)
    import_file(verified, "verified", sessions, KEY)
    with sessions.begin() as s:
        camp_id = s.scalar(sa.select(Campaign.id).where(Campaign.name == "verified"))
        debt = s.scalars(sa.select(Debt).where(Debt.contract_id == "V1")).one()
        phone_id = s.scalar(sa.select(Phone.id).where(Phone.debtor_id == debt.debtor_id))
        attempts = [
            Attempt(campaign_id=camp_id, debtor_id=debt.debtor_id, phone_id=phone_id, debt_id=debt.id, state="answered")
            for _ in range(2)
        ]
        s.add_all(attempts)
        s.flush()
        first, second = (a.id for a in attempts)
    for seq, (speaker, text) in enumerate(
        [
            ("bot", "Para confirmar, digite os três primeiros números do seu CPF."),
            ("debtor", cpf_x[:3]),  # the verification answer
            ("debtor", cpf_x),  # a caller who keys the whole CPF
            ("debtor", f"meu cpf é {fmt(cpf_x)}"),  # or says it, punctuated by the recognizer
            ("debtor", f"é {cpf_x[:9]}"),  # or keys the nine digits without the check digits
        ],
        start=1,
    ):
        results.record_turn(sessions, first, seq, speaker, text)
    results.record_outcome(
        sessions, first, "callback_scheduled", callback_at=dt.date(2026, 11, 25), note=f"ligar amanhã; cpf {fmt(cpf_x)}"
    )
    results.record_outcome(sessions, second, "dispute", note=f"diz que o cpf {cpf_x} não é dele")
    return sessions


def dump(sessions: sessionmaker[Session], workdir: Path) -> dict[tuple[str, str, int], str]:
    """Every stored value as text, keyed by (table, column, row number), plus the rejects file's lines."""
    values: dict[tuple[str, str, int], str] = {}
    with sessions() as s:
        for table in Base.metadata.sorted_tables:
            columns = [c for c in table.columns if not isinstance(c.type, UTCDateTime)]  # wall-clock instants
            order = list(table.primary_key.columns)
            for n, row in enumerate(s.execute(sa.select(*columns).order_by(*order))):
                for column, value in zip(columns, row, strict=True):
                    values[(table.name, column.name, n)] = "" if value is None else str(value)
    # The rejects file hands the operator's own refused rows back, original cells included, for them to fix and
    # import again (issue 16; 0600 like the input it copies): only what the product adds, the reasons, counts.
    for path in sorted(workdir.glob("*.rejects.csv")):
        with path.open(encoding="utf-8-sig", newline="") as fh:
            for n, rec in enumerate(csv.reader(fh, delimiter=";")):
                values[(path.name, "line", n)] = ";".join(rec[:3])
    return values


# --------------------------------------------------------------------------- the attacker


_LAYOUT = re.compile(r"(?<![\d*])([\d*]{3})\.([\d*]{3})\.([\d*]{3})-([\d*]{2})(?![\d*])")


def knowledge(column: str, value: str) -> dict[int, str]:
    """Which CPF positions (0-based) a value tells, read as an attacker reads it.

    A CPF layout (``***.456.***-**``, ``529.982.247-25``), eleven bare digits that pass the CPF check, and a
    value of three digits or a ``prefix`` column (the first digits, as verification stores or asks them).
    """
    known: dict[int, str] = {}
    for m in _LAYOUT.finditer(value):
        for i, ch in enumerate("".join(m.groups())):
            if ch.isdigit():
                known[i] = ch
    # Digit runs inside random tokens (an outbox idempotency key is hex: 9 digits in a row happen by chance in
    # about one key in three) say nothing about a CPF; a run standing as a word of its own does.
    for run in re.findall(r"(?<![0-9A-Za-z])\d{11}(?![0-9A-Za-z])", value):
        if is_valid_cpf(run):
            known.update(enumerate(run))
    stripped = value.strip()
    if stripped.isdigit() and (len(stripped) == 3 or "prefix" in column):
        known.update(enumerate(stripped))
    for run in re.findall(
        r"(?<![0-9A-Za-z])\d{9}(?![0-9A-Za-z])", value
    ):  # nine digits: a CPF without its check digits
        known.update(enumerate(run))
    return known


def rebuilt(columns: dict[str, dict[int, str]], cpf: str) -> list[tuple[str, ...]]:
    """Combinations of columns whose digits, completed with the check digits, give ``cpf``."""
    useful = {name: k for name, k in columns.items() if k}
    assert len(useful) <= 16, "too many columns to try every combination"
    found = []
    for size in range(1, len(useful) + 1):
        for combo in itertools.combinations(sorted(useful), size):
            merged: dict[int, str] = {}
            if any(merged.setdefault(p, d) != d for name in combo for p, d in useful[name].items()):
                continue  # the columns disagree: not one CPF
            if all(p in merged for p in range(9)):
                if cpf_with_check_digits("".join(merged[p] for p in range(9))) == cpf:
                    found.append(combo)
    return found


def debtor_columns(sessions: sessionmaker[Session], cpf: str) -> dict[str, dict[int, str]]:
    """What every column of every row about one debtor tells (the debtor found by its HMAC, as a join would)."""
    from ivr.privacy import cpf_hmac

    columns: dict[str, dict[int, str]] = {}
    with sessions() as s:
        debtor_id = s.scalar(sa.select(Debtor.id).where(Debtor.cpf_hmac == cpf_hmac(cpf, KEY)))
        assert debtor_id is not None
        attempt_ids = list(s.scalars(sa.select(Attempt.id).where(Attempt.debtor_id == debtor_id)))
        for table in Base.metadata.sorted_tables:
            if table.name == "debtors":
                where = table.c.id == debtor_id
            elif "debtor_id" in table.c:
                where = table.c.debtor_id == debtor_id
            elif "attempt_id" in table.c:
                where = table.c.attempt_id.in_(attempt_ids)
            else:
                continue
            for n, row in enumerate(s.execute(sa.select(table).where(where))):
                for column, value in row._mapping.items():
                    if value is not None:
                        columns[f"{table.name}.{column}#{n}"] = knowledge(column, str(value))
    return columns


# --------------------------------------------------------------------------- tests


def test_attacker_rebuilds_the_cpf_from_rows_of_the_old_scheme() -> None:
    """The attacker is able: the old row (first 3 digits + digits 4-9) gives the CPF back."""
    old = {
        "debtors.cpf_prefix": knowledge("cpf_prefix", CPF_X[:3]),
        "debtors.cpf_masked": knowledge("cpf_masked", "***.982.247-**"),
    }
    assert rebuilt(old, CPF_X) == [("debtors.cpf_masked", "debtors.cpf_prefix")]
    assert rebuilt({"turns.text#0": knowledge("text", CPF_X)}, CPF_X)


def test_no_stored_value_depends_on_cpf_digits_7_to_9(new_db: Callable[[], str], tmp_path: Path) -> None:
    base = dump(store_everything(new_db(), CPF_X, tmp_path / "base"), tmp_path / "base")
    assert any(v == CPF_X[:3] for (t, c, _), v in base.items() if (t, c) == ("debtors", "cpf_prefix"))
    assert not any(KEY.decode() in v for v in base.values()), "the HMAC key must not be in the database"
    again = dump(store_everything(new_db(), CPF_X, tmp_path / "again"), tmp_path / "again")
    # Columns that differ between two identical runs (random tokens, if a table ever has one) say nothing.
    noise = {(t, c) for (t, c, n), v in again.items() if v != base.get((t, c, n))}
    exposed: dict[int, list[tuple[str, str]]] = {}
    for position in range(9):
        workdir = tmp_path / f"v{position}"
        other = dump(store_everything(new_db(), with_digit_changed(CPF_X, position), workdir), workdir)
        assert other.keys() == base.keys()
        changed = [
            (t, c)
            for (t, c, n), v in other.items()
            if v != base[(t, c, n)] and (t, c) != ("debtors", "cpf_hmac") and (t, c) not in noise
        ]
        if changed:
            exposed[position] = sorted(set(changed))
    # Digits 1-3: the prefix kept for the cpf3 campaign (and the keyed answer); 4-6: the display mask.
    assert sorted(exposed) == [0, 1, 2, 3, 4, 5], exposed
    assert ("debtors", "cpf_masked") in exposed[3]


def test_no_combination_of_a_debtors_columns_rebuilds_the_cpf(new_db: Callable[[], str], tmp_path: Path) -> None:
    sessions = store_everything(new_db(), CPF_X, tmp_path)
    for cpf in (CPF_X, CPF_Y):
        columns = debtor_columns(sessions, cpf)
        assert rebuilt(columns, cpf) == []
        known = set().union(*(set(k) for k in columns.values()))
        assert len(known & set(range(9))) <= 6
    with sessions() as s:
        prefixes = dict(s.execute(sa.select(Debtor.name, Debtor.cpf_prefix)).all())
        masks = set(s.scalars(sa.select(Debtor.cpf_masked)))
    # Imported into the cpf3 campaign after the plain one: the prefix was filled then; never for the other.
    assert prefixes == {"Maria Souza": CPF_X[:3], "João Lima": None}
    assert masks == {f"***.{CPF_X[3:6]}.***-**", f"***.{CPF_Y[3:6]}.***-**"}


def _insert(conn: sa.Connection, table: str, **values: Any) -> int:
    cols = ", ".join(values)
    params = ", ".join(f":{k}" for k in values)
    conn.execute(sa.text(f"INSERT INTO {table} ({cols}) VALUES ({params})"), values)
    return int(conn.execute(sa.text(f"SELECT max(id) FROM {table}")).scalar_one())


def test_migration_1502_stops_old_rows_leaking(db_url: str) -> None:
    """Rows written at revision 0003 by the old scheme (raw SQL: the models may have moved on)."""
    from ivr.privacy import cpf_hmac

    engine = get_engine(db_url)
    upgrade(engine, "0003")
    now = dt.datetime(2026, 11, 20, 12, 0)
    stamps = {"created_at": now, "updated_at": now}
    with engine.begin() as conn:
        cred = _insert(conn, "creditors", name="Banco Exemplo", created_at=now)
        plain = _insert(
            conn,
            "campaigns",
            name="plain",
            creditor_id=cred,
            status="draft",
            records_calls=False,
            policy="{}",
            **stamps,
        )
        verified = _insert(
            conn,
            "campaigns",
            name="verified",
            creditor_id=cred,
            status="running",
            records_calls=False,
            policy='{"verification": "cpf3"}',
            **stamps,
        )
        ids = {}
        for cpf, campaign in ((CPF_X, verified), (CPF_Y, plain)):
            debtor = _insert(
                conn,
                "debtors",
                name=f"D{cpf[:3]}",
                cpf_hmac=cpf_hmac(cpf, KEY),
                cpf_masked=f"***.{cpf[3:6]}.{cpf[6:9]}-**",
                cpf_prefix=cpf[:3],
                noronha=False,
                **stamps,
            )
            phone = _insert(
                conn,
                "phones",
                debtor_id=debtor,
                e164="+5511987654321",
                ddd=11,
                state="SP",
                timezones="America/Sao_Paulo",
                status="ok",
                created_at=now,
            )
            _insert(
                conn,
                "debts",
                campaign_id=campaign,
                debtor_id=debtor,
                contract_id=f"C{cpf[:3]}",
                principal=1000,
                interest=0,
                fines=0,
                fees=0,
                total=1000,
                due_date=dt.date(2026, 11, 10),
                **stamps,
            )
            attempt = _insert(
                conn,
                "attempts",
                campaign_id=campaign,
                debtor_id=debtor,
                phone_id=phone,
                state="ended",
                scheduled_at=now,
                right_party=False,
                note=f"caller said {fmt(cpf)}; shown as ***.{cpf[3:6]}.{cpf[6:9]}-**",
            )
            _insert(conn, "turns", attempt_id=attempt, seq=1, speaker="debtor", text=cpf)
            _insert(conn, "turns", attempt_id=attempt, seq=2, speaker="debtor", text=f"é {cpf[:9]}")
            _insert(conn, "turns", attempt_id=attempt, seq=3, speaker="bot", text="Protocolo 20261120123456.")
            _insert(conn, "turns", attempt_id=attempt, seq=4, speaker="debtor", text=f"termina {cpf[5:]}")
            ids[cpf] = debtor
    upgrade(engine)
    with engine.connect() as conn:
        # The debtors table is recreated on SQLite: its children must survive, and foreign keys be back on.
        assert conn.execute(sa.text("SELECT count(*) FROM debts")).scalar_one() == 2
        if engine.dialect.name == "sqlite":
            assert conn.exec_driver_sql("PRAGMA foreign_keys").scalar_one() == 1
    sessions = open_database(db_url)
    with sessions() as s:
        rows = {d.id: d for d in s.scalars(sa.select(Debtor))}
        texts = list(s.scalars(sa.select(Turn.text))) + list(s.scalars(sa.select(Attempt.note)))
    assert rows[ids[CPF_X]].cpf_prefix == CPF_X[:3]  # still verified by CPF
    assert rows[ids[CPF_Y]].cpf_prefix is None  # its only campaign does not verify by CPF
    assert {d.cpf_masked for d in rows.values()} == {f"***.{c[3:6]}.***-**" for c in (CPF_X, CPF_Y)}
    assert "Protocolo 20261120123456." in texts  # the bot's words keep their numbers
    texts.remove("Protocolo 20261120123456.")
    assert not any(CPF_X[6:9] in t or CPF_Y[6:9] in t for t in texts), texts
    assert "é *********" in texts
    assert "termina ******" in texts  # digits 6-11: with 1-6 stored, the whole CPF
    for cpf in (CPF_X, CPF_Y):
        assert rebuilt(debtor_columns(sessions, cpf), cpf) == []
    dispose_engines()


def test_prefix_kept_while_a_cpf3_campaign_has_the_debtor(sessions: sessionmaker[Session], tmp_path: Path) -> None:
    """Imported into the cpf3 campaign first, then elsewhere: the later import does not clear the digits."""
    with sessions.begin() as s:
        cred = Creditor(name="Banco Exemplo")
        s.add(cred)
        s.flush()
        s.add_all(
            [
                Campaign(name="verified", creditor_id=cred.id, policy={"verification": "cpf3"}),
                Campaign(name="birth", creditor_id=cred.id, policy={"verification": "birth_year"}),
            ]
        )
    header = "nome;cpf;telefone;valor;vencimento;contrato\n"
    for campaign, contract in (("verified", "V1"), ("birth", "B1")):
        path = tmp_path / f"{campaign}.csv"
        path.write_text(header + f"Maria Souza;{CPF_X};11987654321;10,00;10/11/2026;{contract}\n", encoding="utf-8")
        import_file(path, campaign, sessions, KEY)
        with sessions() as s:
            assert s.scalars(sa.select(Debtor.cpf_prefix)).one() == CPF_X[:3], campaign


def test_call_without_stored_digits_falls_back_to_birth_year() -> None:
    """A cpf3 campaign's debtor with no digits stored (e.g. cleared by migration 1502): no impossible question."""
    from ivr.callservice.service import context_for

    def info(prefix: str | None, birth_year: int | None) -> results.CallInfo:
        return results.CallInfo(
            attempt_id=1,
            debtor_id=1,
            debtor_name="Maria",
            creditor_name="Banco",
            amount=Decimal("10.00"),
            due_date=dt.date(2026, 11, 10),
            records_calls=False,
            policy={"verification": "cpf3"},
            cpf_prefix=prefix,
            birth_year=birth_year,
            timezone="America/Sao_Paulo",
        )

    now = dt.datetime(2026, 11, 20, 13, 0, tzinfo=dt.timezone.utc)
    ctx = context_for(info("529", 1980), now)
    assert (ctx.verification, ctx.verification_answer) == ("cpf3", "529")
    ctx = context_for(info(None, 1980), now)
    assert (ctx.verification, ctx.verification_answer) == ("birth_year", "1980")
    ctx = context_for(info(None, None), now)
    assert (ctx.verification, ctx.verification_answer) == (None, "")


@pytest.mark.parametrize(
    ("said", "stored"),
    [
        ("52998224725", "***.982.***-**"),
        ("meu cpf é 529.982.247-25", "meu cpf é ***.982.***-**"),
        ("529982247", "*********"),  # nine digits: never a phone mask that keeps 4 of them
        ("529 982 247", "*********"),
        ("11987654321", "***********"),  # a mobile that is not a valid CPF: hidden whole
        ("liga no 3456-7890", "liga no ********"),  # 8 digits may be a CPF with tones lost: hidden whole
        ("***.982.247-**", "***.982.***-**"),  # an old mask quoted back
        ("529", "529"),  # the verification answer itself
        ("dia 25, 150,50 reais", "dia 25, 150,50 reais"),
    ],
)
def test_what_callers_say_is_stored_masked(said: str, stored: str) -> None:
    from ivr.privacy import mask_utterance

    assert mask_utterance(said) == stored
