"""Reference sync: (re)load operations, calendars, airlines and agents into the project database.

Thin DAG file: the work is ``casslink.reference.load_into_db`` (also ``casslink reference load``).
"""

from __future__ import annotations

import pendulum
from airflow.sdk import dag, task


@dag(
    dag_id="casslink_reference_sync",
    schedule=None,
    start_date=pendulum.datetime(2026, 1, 1, tz="UTC"),
    catchup=False,
    tags=["casslink", "reference"],
    doc_md=__doc__,
)
def casslink_reference_sync():
    @task
    def load_reference() -> dict:
        from casslink.db.engine import make_engine, upgrade
        from casslink.reference import load_into_db
        from casslink.settings import get_settings

        s = get_settings()
        upgrade(s.db_url)
        engine = make_engine(s.db_url)
        try:
            counts = load_into_db(engine, s.fixtures_dir / "reference")
        finally:
            engine.dispose()
        print("reference loaded: " + ", ".join(f"{v} {k}" for k, v in counts.items()))
        return counts

    load_reference()


casslink_reference_sync()
