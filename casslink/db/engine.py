"""Engines, sessions and migrations for the project database."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from sqlalchemy import Engine, create_engine, event
from sqlalchemy.orm import Session, sessionmaker

MIGRATIONS = Path(__file__).resolve().parent / "migrations"


def make_engine(url: str, pool_size: int | None = None) -> Engine:
    """An engine; SQLite gets WAL, foreign keys and a busy timeout (several processes share it).
    ``pool_size``: connections kept open for reuse (SQLAlchemy's default, 5, unless given; a
    server with more requests at once than that would otherwise open and close a connection,
    with its PRAGMAs, for each request beyond it); up to 10 more are opened at a peak."""
    pool = {} if pool_size is None else {"pool_size": pool_size}
    if url.startswith("sqlite"):
        engine = create_engine(url, connect_args={"timeout": 30}, **pool)

        @event.listens_for(engine, "connect")
        def _pragmas(dbapi_conn, _record) -> None:  # pragma: no cover - trivial
            cur = dbapi_conn.cursor()
            cur.execute("PRAGMA journal_mode=WAL")
            cur.execute("PRAGMA foreign_keys=ON")
            cur.close()

        return engine
    return create_engine(url, pool_pre_ping=True, **pool)


@contextmanager
def engine_for(url: str) -> Iterator[Engine]:
    """An engine for one unit of work (a command, a task, a test), disposed of afterwards."""
    engine = make_engine(url)
    try:
        yield engine
    finally:
        engine.dispose()


_SESSION = sessionmaker(expire_on_commit=False)
"""One factory, bound per call: a sessionmaker builds a Session subclass (~0.1 ms a time)."""


@contextmanager
def session_scope(engine: Engine) -> Iterator[Session]:
    """A transaction: commit on success, roll back on error."""
    with _SESSION(bind=engine) as session, session.begin():
        yield session


def new_session(engine: Engine) -> Session:
    """:func:`session_scope`'s session, its transaction begun, for a caller that cannot use a
    ``with`` block (the portal's async dependency): end it with :func:`end_session`. No I/O:
    the connection is taken at the first query."""
    session = _SESSION(bind=engine)
    session.begin()
    return session


def end_session(session: Session, commit: bool) -> None:
    """Commit (``commit``) or roll back a :func:`new_session`'s transaction, then close it."""
    try:
        if commit:
            session.commit()
        else:
            session.rollback()
    finally:
        session.close()


def alembic_config(url: str):
    from alembic.config import Config

    cfg = Config()
    cfg.set_main_option("script_location", str(MIGRATIONS))
    cfg.set_main_option("sqlalchemy.url", url.replace("%", "%%"))
    return cfg


def upgrade(url: str, revision: str = "head") -> None:
    """Apply migrations up to ``revision`` (idempotent)."""
    from alembic import command

    if url.startswith("sqlite:///"):
        Path(url.removeprefix("sqlite:///")).parent.mkdir(parents=True, exist_ok=True)
    command.upgrade(alembic_config(url), revision)


def current_revision(url: str) -> str | None:
    from alembic.runtime.migration import MigrationContext

    with engine_for(url) as engine, engine.connect() as conn:
        return MigrationContext.configure(conn).get_current_revision()
