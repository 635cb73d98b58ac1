"""A throwaway data root holding the reference world, for the tests and the benchmarks
(importing it has no side effects, unlike ``conftest``)."""

from __future__ import annotations

from pathlib import Path

REPO = Path(__file__).resolve().parents[1]


def reference_root(home: Path):
    """(settings, engine) of a new SQLite data root at ``home`` holding the reference world;
    the caller disposes of the engine."""
    from casslink.db.engine import make_engine, upgrade
    from casslink.reference import load_into_db
    from casslink.settings import get_settings

    s = get_settings().with_home(home).ensure_dirs()
    s = type(s)(home=home, db_url=f"sqlite:///{home / 'casslink.db'}")
    upgrade(s.db_url)
    engine = make_engine(s.db_url)
    load_into_db(engine, REPO / "fixtures" / "reference")
    return s, engine
