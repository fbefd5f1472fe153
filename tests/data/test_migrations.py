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
