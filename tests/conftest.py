"""Shared fixtures: a throwaway data root and Airflow home per session, reference data, and the
machine's PostgreSQL (mandatory when CI=true: unreachable is a failure there, not a skip)."""

from __future__ import annotations

import contextlib
import os
import shutil
import tempfile
import uuid
from pathlib import Path

import pytest

from tests.data_root import reference_root  # noqa: F401 (the tests import it from here)

REPO = Path(__file__).resolve().parents[1]


def _session_home() -> Path:
    """One throwaway data root per test process, whichever name this module is imported
    under (pytest's ``conftest`` and the tests' ``tests.conftest`` are two imports)."""
    pid, _, path = os.environ.get("CASSLINK_TEST_SESSION_HOME", "").partition(":")
    if pid == str(os.getpid()) and path:
        return Path(path)
    home = Path(tempfile.mkdtemp(prefix="casslink-test-"))
    os.environ["CASSLINK_TEST_SESSION_HOME"] = f"{os.getpid()}:{home}"
    return home


_SESSION_HOME = _session_home()
os.environ["CASSLINK_HOME"] = str(_SESSION_HOME)
os.environ.pop("CASSLINK_DB_URL", None)
os.environ.setdefault("AIRFLOW__CORE__LOAD_EXAMPLES", "False")

PG_URL = os.environ.get("CASSLINK_TEST_PG_URL",
                        "postgresql+psycopg://postgres@127.0.0.1:5432/test")


def pytest_unconfigure(config) -> None:
    """The session's data root goes with the session (each xdist worker removes its own)."""
    shutil.rmtree(_SESSION_HOME, ignore_errors=True)


@pytest.fixture(scope="session")
def repo() -> Path:
    return REPO


@pytest.fixture(scope="session")
def ref():
    from casslink.reference import ReferenceData

    return ReferenceData.from_fixtures(REPO / "fixtures" / "reference")


@pytest.fixture
def home(tmp_path, monkeypatch) -> Path:
    """A fresh data root for one test (CASSLINK_HOME points at it)."""
    monkeypatch.setenv("CASSLINK_HOME", str(tmp_path / "var"))
    monkeypatch.delenv("CASSLINK_DB_URL", raising=False)
    return tmp_path / "var"


@pytest.fixture
def sqlite_url(tmp_path) -> str:
    return f"sqlite:///{tmp_path / 'casslink.db'}"


@pytest.fixture(scope="session")
def pg_server_url() -> str:
    """URL of the machine's PostgreSQL; CI=true makes an unreachable server a failure."""
    from sqlalchemy import create_engine, text

    try:
        engine = create_engine(PG_URL, connect_args={"connect_timeout": 5})
        with engine.connect() as conn:
            conn.execute(text("select 1"))
        engine.dispose()
    except Exception as exc:
        if os.environ.get("CI", "").lower() == "true":
            pytest.fail(f"PostgreSQL at {PG_URL} unreachable under CI=true: {exc}")
        pytest.skip(f"PostgreSQL unreachable (not CI): {exc}")
    return PG_URL


@pytest.fixture
def pg_url(pg_server_url) -> str:
    """A fresh, empty database on the machine's PostgreSQL, dropped afterwards."""
    from sqlalchemy import create_engine, text
    from sqlalchemy.engine import make_url

    name = f"casslink_t_{uuid.uuid4().hex[:10]}"
    admin = create_engine(pg_server_url, isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(text(f'CREATE DATABASE "{name}"'))
    url = make_url(pg_server_url).set(database=name).render_as_string(hide_password=False)
    try:
        yield url
    finally:
        with admin.connect() as conn:
            conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        admin.dispose()


@pytest.fixture(params=["sqlite", "postgres"])
def db_url(request, tmp_path):
    """Both database backends: every test using it runs on SQLite and on PostgreSQL."""
    if request.param == "sqlite":
        return f"sqlite:///{tmp_path / 'casslink.db'}"
    return request.getfixturevalue("pg_url")


@pytest.fixture
def system(home, db_url, monkeypatch, repo):
    """(settings, engine) of a fresh data root with the reference world, on each database."""
    from casslink.db.engine import make_engine, upgrade
    from casslink.reference import load_into_db
    from casslink.settings import get_settings

    monkeypatch.setenv("CASSLINK_DB_URL", db_url)
    settings = get_settings().ensure_dirs()
    upgrade(settings.db_url)
    engine = make_engine(settings.db_url)
    load_into_db(engine, repo / "fixtures" / "reference")
    yield settings, engine
    engine.dispose()


@contextlib.contextmanager
def airflow_environ(settings, port: int):
    """Point Airflow (imported in this process) at casslink's config for ``settings``;
    restores the environment afterwards."""
    from casslink.app.runtime.airflow import airflow_env

    env = airflow_env(settings, port, base={})
    old = {k: os.environ.get(k) for k in env if k != "PATH"}
    os.environ.update({k: v for k, v in env.items() if k != "PATH"})
    try:
        yield
    finally:
        for k, v in old.items():
            if v is None:
                os.environ.pop(k, None)
            else:
                os.environ[k] = v
