"""The schema is created and versioned by Alembic migrations, never by create_all."""

from __future__ import annotations

from sqlalchemy import inspect

from ivr.db.models import Base
from ivr.db.session import current_revision, dispose_engines, get_engine, head_revision, upgrade


def test_migrations_from_empty_match_the_models(db_url: str) -> None:
    engine = get_engine(db_url)
    assert current_revision(engine) is None
    upgrade(engine)
    assert current_revision(engine) == head_revision(engine)
    tables = set(inspect(engine).get_table_names())
    assert set(Base.metadata.tables) <= tables
    for name, table in Base.metadata.tables.items():
        columns = {c["name"] for c in inspect(engine).get_columns(name)}
        assert {c.name for c in table.columns} == columns, name
    upgrade(engine)  # idempotent
    dispose_engines()


def test_autogenerate_finds_no_drift(db_url: str) -> None:
    """A model change without a migration fails here."""
    from alembic.autogenerate import compare_metadata
    from alembic.runtime.migration import MigrationContext

    engine = get_engine(db_url)
    upgrade(engine)
    with engine.connect() as conn:
        diff = compare_metadata(MigrationContext.configure(conn, opts={"compare_type": False}), Base.metadata)
    assert diff == []
    dispose_engines()


def test_1601_makes_existing_contract_ids_canonical(db_url: str) -> None:
    """A database imported before 1601 holds '000123'; after it, a re-import of '000123' finds that debt."""
    from sqlalchemy import text

    engine = get_engine(db_url)
    upgrade(engine, "0003")
    with engine.begin() as conn:
        conn.execute(text("INSERT INTO creditors (id, name, created_at) VALUES (1, 'B', '2026-12-01 00:00:00')"))
        conn.execute(
            text(
                "INSERT INTO campaigns (id, name, creditor_id, status, records_calls, policy, created_at, "
                "updated_at) VALUES (1, 'c', 1, 'draft', false, '{}', '2026-12-01 00:00:00', "
                "'2026-12-01 00:00:00')"
            )
        )
        conn.execute(
            text(
                "INSERT INTO debtors (id, name, cpf_hmac, cpf_masked, cpf_prefix, noronha, created_at, "
                "updated_at) VALUES (1, 'A', 'h', '***', '123', false, '2026-12-01 00:00:00', "
                "'2026-12-01 00:00:00')"
            )
        )
        for i, contract in enumerate(["000123", "ab-12", "77", "0077", "K9"], start=1):
            conn.execute(
                text(
                    "INSERT INTO debts (id, campaign_id, debtor_id, contract_id, principal, interest, "
                    "fines, fees, total, due_date, created_at, updated_at) VALUES (:i, 1, 1, :c, 1, 0, 0, "
                    "0, 1, '2026-12-01', '2026-12-01 00:00:00', '2026-12-01 00:00:00')"
                ),
                {"i": i, "c": contract},
            )
    upgrade(engine)
    with engine.connect() as conn:
        got = dict(conn.execute(text("SELECT id, contract_id FROM debts")).all())
    assert got == {1: "123", 2: "AB-12", 3: "77", 4: "0077", 5: "K9"}  # 0077 would collide with 77: kept
    dispose_engines()
