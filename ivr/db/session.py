"""Engines, sessions and schema migrations (Alembic) for the collections database."""

from __future__ import annotations

import logging
from pathlib import Path
from typing import Any

from alembic import command
from alembic.config import Config
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy import Engine, create_engine, event
from sqlalchemy.engine import make_url
from sqlalchemy.exc import ArgumentError, DatabaseError, NoSuchModuleError, OperationalError
from sqlalchemy.orm import Session, sessionmaker

from ivr.errors import ConfigError, IvrError
from ivr.privacy import create_private_file
from ivr.resources import migrations_dir

log = logging.getLogger(__name__)
MIGRATIONS = migrations_dir()


def _sqlite_pragmas(dbapi_conn: Any, _record: Any) -> None:
    cur = dbapi_conn.cursor()
    cur.execute("PRAGMA foreign_keys=ON")
    cur.execute("PRAGMA journal_mode=WAL")
    cur.execute("PRAGMA synchronous=NORMAL")
    cur.execute("PRAGMA busy_timeout=30000")
    cur.close()


_ENGINES: dict[tuple[str, bool], Engine] = {}


def get_engine(url: str, echo: bool = False) -> Engine:
    """One engine per URL per process."""
    key = (url, echo)
    if key not in _ENGINES:
        _ENGINES[key] = _create_engine(url, echo)
    return _ENGINES[key]


def dispose_engines() -> None:
    """Close every pooled connection (tests, and before a fork)."""
    while _ENGINES:
        _ENGINES.popitem()[1].dispose()


def _create_engine(url: str, echo: bool) -> Engine:
    try:
        parsed = make_url(url)
    except (ArgumentError, ValueError):
        from ivr.config import unparsed_url_shown

        raise ConfigError(f"setting database.url: {unparsed_url_shown(url)!r} is not a SQLAlchemy URL") from None
    # hide_parameters: SQL errors must not carry debtors' data into logs or error lines.
    kwargs: dict[str, Any] = {"echo": echo, "future": True, "hide_parameters": True}
    if parsed.get_backend_name() == "sqlite":
        if parsed.database and parsed.database != ":memory:" and not parsed.database.startswith("file:"):
            db_file = Path(parsed.database)
            db_file.parent.mkdir(mode=0o700, parents=True, exist_ok=True)
            if not db_file.exists():
                # Debtors' data: created owner-only before SQLite opens it (its WAL and shm files copy this mode).
                create_private_file(db_file)
        engine = create_engine(url, **kwargs)
        event.listen(engine, "connect", _sqlite_pragmas)
        return engine
    if parsed.get_backend_name() == "postgresql" and parsed.drivername == "postgresql":
        url = str(parsed.set(drivername="postgresql+psycopg").render_as_string(hide_password=False))
    try:
        return create_engine(url, pool_pre_ping=True, **kwargs)
    except (NoSuchModuleError, ImportError) as exc:
        raise ConfigError(
            f"setting database.url: the driver {parsed.drivername!r} is not installed ({exc}); "
            "use postgresql:// (psycopg, installed with the package)"
        ) from None


def alembic_config(engine: Engine) -> Config:
    cfg = Config()
    cfg.set_main_option("script_location", str(MIGRATIONS))
    cfg.attributes["engine"] = engine
    return cfg


class DatabaseUnreachable(IvrError):
    """The database server or file cannot be reached; ``detail`` is the driver's reason on one line."""

    def __init__(self, shown_url: str, detail: str) -> None:
        super().__init__(f"database {shown_url} is unreachable: {detail}")
        self.detail = detail


def current_revision(engine: Engine) -> str | None:
    """The schema revision stored in the database (None: empty). Raises DatabaseUnreachable, one line,
    when the database cannot be reached."""
    try:
        with engine.connect() as conn:
            return MigrationContext.configure(conn).get_current_revision()
    except OperationalError as exc:
        detail = " ".join(str(exc.orig).split())  # drivers add hint lines; the operator gets one line
        raise DatabaseUnreachable(engine.url.render_as_string(), detail) from None
    except DatabaseError as exc:  # SQLite: a file that is not a database (garbage, a CSV saved over it)
        detail = " ".join(str(exc.orig).split())
        if engine.url.get_backend_name() == "sqlite":
            raise IvrError(f"database {engine.url.database} is not a SQLite database ({detail})") from None
        raise IvrError(f"database {engine.url.render_as_string()} cannot be read: {detail}") from None


def database_failure(exc: BaseException) -> str | None:
    """The one line for a database error met while a command ran (a read-only file, a full disk, a lock held too
    long), or None when ``exc`` is not one. Transactions roll back: a read-only database changed nothing."""
    if not isinstance(exc, OperationalError):
        return None
    detail = " ".join(str(exc.orig).split())
    names = {
        e.url.database if e.url.get_backend_name() == "sqlite" else e.url.render_as_string() for e in _ENGINES.values()
    }
    where = f"database {names.pop()}" if len(names) == 1 else "database"
    return f"{where}: {detail}" + ("; nothing was changed" if "readonly database" in detail else "")


def known_revision(engine: Engine, revision: str) -> bool:
    """Whether ``revision`` is one of this version's migrations (not one a newer ``ivr`` wrote)."""
    return any(r.revision == revision for r in ScriptDirectory.from_config(alembic_config(engine)).walk_revisions())


def _newer(revision: str) -> IvrError:
    return IvrError(
        f"database schema is at revision {revision}, which this version does not know (written by a newer ivr?): "
        "run that version, or restore a backup"
    )


def head_revision(engine: Engine) -> str | None:
    return ScriptDirectory.from_config(alembic_config(engine)).get_current_head()


def upgrade(engine: Engine, revision: str = "head") -> None:
    """Bring the schema to ``revision`` through the migrations (new databases too)."""
    current = current_revision(engine)
    if current is not None and not known_revision(engine, current):
        raise _newer(current)
    try:
        command.upgrade(alembic_config(engine), revision)
    except OperationalError as exc:
        detail = " ".join(str(exc.orig).split())
        raise IvrError(f"database {engine.url.render_as_string()}: cannot migrate: {detail}") from None


def ensure_schema(engine: Engine) -> None:
    """Create an empty database through the migrations; refuse to run on an outdated one."""
    current = current_revision(engine)
    head = head_revision(engine)
    if current == head:
        return
    if current is None:
        log.info("new database: creating the schema through the migrations")
        upgrade(engine)
        return
    if not known_revision(engine, current):
        raise _newer(current)
    raise IvrError(f"database schema is at revision {current}, this version needs {head}: run `ivr db upgrade`")


def session_factory(engine: Engine) -> sessionmaker[Session]:
    """Sessions that also write the outbox events of what they store (ivr.outbox.events)."""
    from ivr.outbox.events import install

    return install(sessionmaker(engine, expire_on_commit=False))


def open_database(url: str, echo: bool = False, *, migrate_empty: bool = True) -> sessionmaker[Session]:
    """Engine + session factory for ``url``; an empty database is created through the migrations."""
    engine = get_engine(url, echo)
    if migrate_empty:
        ensure_schema(engine)
    return session_factory(engine)
