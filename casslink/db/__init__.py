"""The project database (SQLAlchemy 2 + alembic): SQLite by default, PostgreSQL in production."""

from casslink.db.engine import make_engine, session_scope, upgrade

__all__ = ["make_engine", "session_scope", "upgrade"]
