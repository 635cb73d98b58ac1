"""Safety net for ingestion: every two minutes, trigger ``casslink_ingest`` for each file that
landed but was not ingested (e.g. Airflow was down when the gateway tried to notify). Run ids
are per file, so a file already triggered is not triggered twice."""

from __future__ import annotations

import pendulum
from airflow.sdk import dag, task


@dag(
    dag_id="casslink_ingest_sweep",
    schedule="*/2 * * * *",
    start_date=pendulum.datetime(2026, 1, 1, tz="UTC"),
    catchup=False,
    max_active_runs=1,
    tags=["casslink", "ingest"],
    doc_md=__doc__,
)
def casslink_ingest_sweep():
    @task
    def sweep() -> list[int]:
        from casslink.app.tasks import sweep as run

        return run()

    sweep()


casslink_ingest_sweep()
