"""Adversarial review of issue 15 section 2: CPF digits reaching the database through other columns.

Each test stores something a real operator or caller could send and then looks for CPF digits 7-9 anywhere
in the database and the rejects file (digits 1-3 may be kept for cpf3 and 4-6 are the display mask: with
any of 7-9 the check digits give the rest).
"""

from __future__ import annotations

import csv
import datetime as dt
import re
from pathlib import Path

import pytest
import sqlalchemy as sa
from sqlalchemy.orm import Session, sessionmaker

from ivr.br.cpf import cpf_with_check_digits
from ivr.db import results
from ivr.db.importer import import_file
from ivr.db.models import Attempt, Base, Campaign, Creditor, Debt, Phone, UTCDateTime
from ivr.privacy import mask_utterance

KEY = b"review-key"
CPF = "52998224725"
OTHER = cpf_with_check_digits("318407569")
HEADER = "nome;cpf;telefone;valor;vencimento;contrato;uf;cidade\n"


def fmt(cpf: str) -> str:
    return f"{cpf[:3]}.{cpf[3:6]}.{cpf[6:9]}-{cpf[9:]}"


def everything(sessions: sessionmaker[Session], workdir: Path) -> str:
    """Every stored value of every table plus every rejects file, as one text (instants and the keyed HMAC,
    which say nothing of the digits, left out)."""
    parts: list[str] = []
    with sessions() as s:
        for table in Base.metadata.sorted_tables:
            columns = [c for c in table.columns if not isinstance(c.type, UTCDateTime) and c.name != "cpf_hmac"]
            for row in s.execute(sa.select(*columns)):
                parts.extend("" if v is None else str(v) for v in row)
    # The rejects file gives the operator back their own refused rows, original cells included, so that they fix
    # them in the spreadsheet and import the file as it is (issue 16; the file is 0600, like the input it
    # copies). Only what the product adds, the reasons, must not quote CPF digits.
    for path in workdir.glob("*.rejects.csv"):
        with path.open(encoding="utf-8-sig", newline="") as fh:
            parts.extend(";".join(rec[:3]) for rec in csv.reader(fh, delimiter=";"))
    # Random tokens (the outbox's idempotency keys, hex) hold digit triples by chance: not CPF digits.
    return re.sub(r"(?<![0-9A-Za-z])[0-9a-f]{16,}(?![0-9A-Za-z])", "", "\n".join(parts))


def leaks(text: str, cpf: str) -> bool:
    """Digits 7-9 of ``cpf`` in ``text`` (bare, or as the punctuated middle group)."""
    digits = "".join(c for c in text if c.isdigit() or c == "\n")
    return cpf[6:9] in text or cpf[:9] in digits or cpf[3:9] in digits


def campaign(sessions: sessionmaker[Session], policy: dict[str, object] | None = None) -> None:
    with sessions.begin() as s:
        cred = Creditor(name="Banco Exemplo")
        s.add(cred)
        s.flush()
        s.add(Campaign(name="nov", creditor_id=cred.id, policy=policy or {"verification": "cpf3"}))


@pytest.mark.parametrize(
    "line",
    [
        pytest.param(f"MARIA SOUZA {fmt(CPF)};{CPF};11987654321;10,00;10/11/2026;C1;SP;São Paulo", id="name-cpf"),
        pytest.param(f"MARIA SOUZA CPF {CPF};{CPF};11987654321;10,00;10/11/2026;C1;SP;São Paulo", id="name-bare"),
        pytest.param(f"Maria Souza;{CPF};11987654321;10,00;10/11/2026;{CPF};SP;São Paulo", id="contract-is-cpf"),
        pytest.param(
            f"Maria Souza;{CPF};11987654321;10,00;10/11/2026;{fmt(CPF)};SP;São Paulo", id="contract-is-punctuated-cpf"
        ),
        pytest.param(
            f"Maria Souza;{CPF};11987654321;10,00;10/11/2026;CT-{CPF}-01;SP;São Paulo", id="contract-holds-cpf"
        ),
        pytest.param(f"Maria Souza;{CPF};11987654321;10,00;10/11/2026;C1;SP;São Paulo {fmt(CPF)}", id="city-cpf"),
        # The CPF pasted into the phone column as well: 11987654374 is both a valid CPF and a valid mobile.
        pytest.param("Maria Souza;11987654374;11987654374;10,00;10/11/2026;C1;SP;São Paulo", id="phone-is-cpf"),
        pytest.param(f"Maria Souza;{CPF};{CPF[:10]};10,00;10/11/2026;C1;SP;São Paulo", id="phone-cpf-typo"),
        pytest.param(f"Maria Souza;{CPF};11987654321;10,00;10/11/2026;C1;SP;{CPF[3:]}", id="city-digits"),
    ],
)
def test_a_cpf_in_another_import_column_is_never_stored(
    sessions: sessionmaker[Session], tmp_path: Path, line: str
) -> None:
    """Creditors' exports do this: the CPF as contract number, or typed into the name or city column."""
    campaign(sessions)
    path = tmp_path / "devedores.csv"
    path.write_text(HEADER + line + "\n" + f"João Lima;{OTHER};21912121212;10,00;10/11/2026;C2;RJ;\n", encoding="utf-8")
    report = import_file(path, "nov", sessions, KEY)
    assert report.taken == 1 and report.refused == 1  # refused, with a reason, not stored half-masked
    reason = report.rejects_sample[0].reason
    cpf = line.split(";")[1]
    assert "CPF" in reason and cpf[6:9] not in reason
    assert not leaks(everything(sessions, tmp_path), cpf)


def test_a_name_with_a_short_number_is_kept(sessions: sessionmaker[Session], tmp_path: Path) -> None:
    """Only runs of digits that could carry a CPF part are refused: 'Maria 2' or a contract 'C-2026-15' stay."""
    campaign(sessions)
    path = tmp_path / "devedores.csv"
    path.write_text(
        HEADER + f"Maria Souza 2;{CPF};11987654321;10,00;10/11/2026;C-2026-15;SP;São Paulo\n", encoding="utf-8"
    )
    report = import_file(path, "nov", sessions, KEY)
    assert (report.taken, report.refused) == (1, 0)


@pytest.mark.parametrize(
    "said",
    [
        CPF[:8],  # the whole CPF keyed, the last three tones lost
        CPF[1:9],  # the first one lost
        CPF[3:11],  # digits 4-11: 7, 8, 9 and the check digits
        f"{CPF[:4]} {CPF[4:8]}",  # said in groups
        CPF[2:9],  # seven digits
        CPF[6:11],  # digits 7-11 said alone
        f"termina {CPF[5:11]}",  # "my document ends in ..."
        "cinco dois nove nove oito dois dois quatro sete dois cinco",  # read out, as the recognizer writes it
        "meu cpf é cinco dois nove, nove oito dois, dois quatro sete, dois cinco",
        "quinhentos e vinte e nove novecentos e oitenta e dois duzentos e quarenta e sete vinte e cinco",
        "cinco dois nove nove oito dois dois 4 7",
    ],
)
def test_a_caller_keying_part_of_a_cpf_leaves_no_digit_7_to_9(said: str) -> None:
    """The phone mask keeps 4 digits; of a CPF fragment those may be digits 7-9 (with 1-6 stored: the CPF)."""
    stored = mask_utterance(said)
    assert not any(ch.isdigit() for ch in stored), stored
    assert not any(w in stored for w in ("sete", "quarenta", "quatro")), stored


@pytest.mark.parametrize(
    "said",
    [
        "posso pagar cento e cinquenta reais dia vinte e cinco",
        "em dois mil e vinte e seis",
        "dia 25/11/2026",
        "1500 reais",
        "cinco dois nove",
        "529",
        "liga depois das três",
    ],
)
def test_amounts_dates_and_the_verification_answer_stay(said: str) -> None:
    assert mask_utterance(said) == said


def test_callers_words_through_the_ledger(sessions: sessionmaker[Session], tmp_path: Path) -> None:
    campaign(sessions)
    path = tmp_path / "devedores.csv"
    path.write_text(HEADER + f"Maria Souza;{CPF};11987654321;10,00;10/11/2026;C1;SP;São Paulo\n", encoding="utf-8")
    import_file(path, "nov", sessions, KEY)
    with sessions.begin() as s:
        debt = s.scalars(sa.select(Debt)).one()
        phone_id = s.scalar(sa.select(Phone.id))
        attempt = Attempt(
            campaign_id=debt.campaign_id, debtor_id=debt.debtor_id, phone_id=phone_id, debt_id=debt.id, state="answered"
        )
        s.add(attempt)
        s.flush()
        attempt_id = attempt.id
    results.record_turn(sessions, attempt_id, 1, "debtor", CPF[:3])
    results.record_turn(sessions, attempt_id, 2, "debtor", CPF[3:11])
    results.record_turn(sessions, attempt_id, 3, "debtor", "dois quatro sete dois cinco nove oito dois")
    results.record_outcome(
        sessions,
        attempt_id,
        "callback_scheduled",
        callback_at=dt.date(2026, 11, 25),
        note=f"me liga; meu documento termina {CPF[5:11]}",
    )
    assert not leaks(everything(sessions, tmp_path), CPF)


def test_migration_1502_there_and_back_keeps_every_row(db_url: str, tmp_path: Path) -> None:
    """A database full of calls, downgraded to 0003 and upgraded again: the debtors table is rebuilt twice on
    SQLite, and ON DELETE CASCADE must not take debts, phones, attempts, turns or reviews with it."""
    from alembic import command

    from ivr.db.session import alembic_config, dispose_engines, get_engine, open_database, upgrade

    sessions = open_database(db_url)
    campaign(sessions)
    path = tmp_path / "devedores.csv"
    path.write_text(
        HEADER
        + f"Maria Souza;{CPF};11987654321;10,00;10/11/2026;C1;SP;São Paulo\n"
        + f"João Lima;{OTHER};21912121212;10,00;10/11/2026;C2;RJ;\n",
        encoding="utf-8",
    )
    import_file(path, "nov", sessions, KEY)
    with sessions.begin() as s:
        for debt in s.scalars(sa.select(Debt)):
            phone_id = s.scalar(sa.select(Phone.id).where(Phone.debtor_id == debt.debtor_id))
            attempt = Attempt(
                campaign_id=debt.campaign_id,
                debtor_id=debt.debtor_id,
                phone_id=phone_id,
                debt_id=debt.id,
                state="answered",
            )
            s.add(attempt)
            s.flush()
    with sessions() as s:
        attempt_ids = list(s.scalars(sa.select(Attempt.id)))
    for attempt_id in attempt_ids:
        results.record_turn(sessions, attempt_id, 1, "debtor", "alô")
        results.record_outcome(sessions, attempt_id, "dispute", note="debtor disputes the debt")
    engine = get_engine(db_url)

    def counts() -> dict[str, int]:
        with engine.connect() as conn:
            return {
                t.name: conn.execute(sa.select(sa.func.count()).select_from(t)).scalar_one()
                for t in Base.metadata.sorted_tables
            }

    before = counts()
    assert all(before[t] > 0 for t in ("debtors", "debts", "phones", "attempts", "turns", "reviews"))
    command.downgrade(alembic_config(engine), "0003")
    # Tables that later revisions create (the outbox, payments, recordings...) go with their downgrade; every
    # table that exists at 0003 must keep every row through the rebuilds.
    kept = set(sa.inspect(engine).get_table_names())
    upgrade(engine)
    assert {t: n for t, n in counts().items() if t in kept} == {t: n for t, n in before.items() if t in kept}
    assert {"debtors", "debts", "phones", "attempts", "turns", "reviews"} <= kept
    if engine.dialect.name == "sqlite":
        with engine.connect() as conn:
            assert conn.exec_driver_sql("PRAGMA foreign_keys").scalar_one() == 1
            assert conn.exec_driver_sql("PRAGMA foreign_key_check").all() == []
    dispose_engines()


@pytest.mark.parametrize("ref", [CPF, fmt(CPF)])
def test_status_of_an_unknown_cpf_does_not_print_it(
    sessions: sessionmaker[Session],
    db_url: str,
    ref: str,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    """`ivr campaign status C --debtor CPF` for a CPF not stored: the error line names it masked."""
    from ivr.cli import main

    monkeypatch.setenv("IVR_DATABASE_URL", db_url)
    monkeypatch.setenv("IVR_PRIVACY_HMAC_KEY", "review-key")
    campaign(sessions)
    try:
        main(["campaign", "status", "nov", "--debtor", ref])
        status = 0
    except SystemExit as exc:
        status = int(exc.code or 0)
    captured = capsys.readouterr()
    assert status != 0 and "no debtor" in captured.err
    assert CPF[6:9] not in captured.out + captured.err and f"***.{CPF[3:6]}.***-**" in captured.err


def test_migration_1502_masks_a_cpf_typed_into_old_names(db_url: str) -> None:
    """Rows imported before the import refused them: a CPF in the name or city column loses its digits."""
    from ivr.db.session import dispose_engines, get_engine, upgrade
    from ivr.privacy import cpf_hmac
    from tests.db.test_cpf_rebuild import _insert

    engine = get_engine(db_url)
    upgrade(engine, "0003")
    now = dt.datetime(2026, 11, 20, 12, 0)
    with engine.begin() as conn:
        _insert(
            conn,
            "debtors",
            name=f"Maria Souza {fmt(CPF)}",
            cpf_hmac=cpf_hmac(CPF, KEY),
            cpf_masked=f"***.{CPF[3:6]}.{CPF[6:9]}-**",
            cpf_prefix=CPF[:3],
            noronha=False,
            city=f"São Paulo {CPF[3:]}",
            created_at=now,
            updated_at=now,
        )
    upgrade(engine)
    with engine.connect() as conn:
        name, city = conn.execute(sa.text("SELECT name, city FROM debtors")).one()
    dispose_engines()
    assert (name, city) == ("Maria Souza ***.982.***-**", "São Paulo ********")
