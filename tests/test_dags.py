"""DAG-folder integrity: every DAG file imports without errors and without DB or network work."""

from __future__ import annotations

import socket

import pytest


@pytest.fixture(scope="module")
def airflow_env(tmp_path_factory):
    """Point Airflow at the project's config with a throwaway home, before airflow is imported."""
    from casslink.settings import get_settings
    from tests.conftest import airflow_environ

    s = get_settings().with_home(tmp_path_factory.mktemp("af"))
    with airflow_environ(s, 18080):
        yield s


def test_dag_folder_imports_cleanly_without_io(airflow_env, monkeypatch):
    from airflow.dag_processing.dagbag import DagBag

    def no_network(*args, **kwargs):
        raise AssertionError("DAG file opened a network connection at import")

    import sqlalchemy

    def no_db(*args, **kwargs):
        raise AssertionError("DAG file created a database engine at import")

    bag_holder = {}
    # build the bag first (Airflow itself may touch its DB), then re-import each file guarded
    bag_holder["bag"] = DagBag(dag_folder=str(airflow_env.dags_dir))
    bag = bag_holder["bag"]
    assert bag.import_errors == {}
    assert "casslink_reference_sync" in bag.dag_ids
    monkeypatch.setattr(socket.socket, "connect", no_network)
    monkeypatch.setattr(sqlalchemy, "create_engine", no_db)
    import importlib.util

    for path in sorted(airflow_env.dags_dir.glob("*.py")):
        spec = importlib.util.spec_from_file_location(f"_guard_{path.stem}", path)
        module = importlib.util.module_from_spec(spec)
        spec.loader.exec_module(module)


def test_reference_dag_task_is_the_loader(airflow_env, monkeypatch, tmp_path):
    """The DAG's task callable, run without Airflow, loads the reference world."""
    from airflow.dag_processing.dagbag import DagBag

    monkeypatch.setenv("CASSLINK_HOME", str(tmp_path / "var"))
    monkeypatch.delenv("CASSLINK_DB_URL", raising=False)
    bag = DagBag(dag_folder=str(airflow_env.dags_dir))
    dag = bag.dags["casslink_reference_sync"]
    counts = dag.get_task("load_reference").python_callable()
    periods = counts.pop("periods")  # the 2026 calendars and 18 months ahead of today
    assert counts == {"operations": 3, "airlines": 10, "agents": 60} and periods > 60
