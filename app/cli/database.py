"""The project database for one command: the settings and a migrated database's engine."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

from sqlalchemy import Engine

from casslink.db.engine import engine_for, upgrade
from casslink.settings import Settings, get_settings


def migrated() -> Settings:
    """The settings, with the data root's folders made and its database migrated."""
    settings = get_settings().ensure_dirs()
    upgrade(settings.db_url)
    return settings


@contextmanager
def opened() -> Iterator[tuple[Settings, Engine]]:
    """(settings, engine) of the migrated database; the engine is disposed of afterwards."""
    settings = migrated()
    with engine_for(settings.db_url) as engine:
        yield settings, engine
