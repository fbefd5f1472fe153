"""Alembic environment: the engine is handed in by ivr.db.session (no alembic.ini needed)."""

from __future__ import annotations

from alembic import context

from ivr.db.models import Base

config = context.config
target_metadata = Base.metadata


def run_migrations_online() -> None:
    engine = config.attributes["engine"]
    sqlite = engine.dialect.name == "sqlite"
    with engine.connect() as connection:
        if sqlite:
            # A batch migration copies a table and DROPs the old one; with foreign keys on, that DROP deletes every
            # child row (ON DELETE CASCADE): debts and phones would vanish with a recreated debtors table. The
            # pragma only takes effect outside a transaction (Alembic batch docs, SQLite "ALTER TABLE").
            connection.exec_driver_sql("PRAGMA foreign_keys=OFF")
            connection.commit()
        try:
            with connection.begin():
                context.configure(
                    connection=connection,
                    target_metadata=target_metadata,
                    render_as_batch=sqlite,
                    compare_type=True,
                )
                context.run_migrations()
        finally:
            if sqlite:
                connection.rollback()
                connection.exec_driver_sql("PRAGMA foreign_keys=ON")  # pooled connections keep the product's setting
                connection.commit()


run_migrations_online()
