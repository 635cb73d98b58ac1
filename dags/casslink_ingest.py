"""Ingest one landed file: parse -> validate -> store accepted records -> acknowledge to the
sender's outbox -> archive or quarantine (``casslink.app.tasks.ingest``), then show the
verdict. A rejected file is a business outcome, not a failure: the run succeeds, its note
says REJECTED with the codes, and the ``rejected`` task runs (it is skipped for accepted
files), so the Task Instances view filtered on ``rejected`` (state success) counts rejected
files. Red runs are technical failures only.

Triggered by the SFTP gateway (run id ``ingest_file_<id>``, conf ``{"file_id": <id>}``) and
by the sweep as a safety net. One run at a time, so duplicate checks see every earlier file.
Retries are safe: a file already processed is not processed again.
"""

from __future__ import annotations

import datetime as dt

import pendulum
from airflow.sdk import Param, dag, task


@dag(
    dag_id="casslink_ingest",
    schedule=None,
    start_date=pendulum.datetime(2026, 1, 1, tz="UTC"),
    catchup=False,
    max_active_runs=1,
    params={"file_id": Param(None, type=["null", "integer"], description="Registry file id")},
    tags=["casslink", "ingest"],
    doc_md=__doc__,
)
def casslink_ingest():
    @task(retries=2, retry_delay=dt.timedelta(seconds=10))
    def ingest(**context) -> dict:
        from casslink.app.tasks import ingest as run

        conf = context["dag_run"].conf or {}
        file_id = conf.get("file_id") or context["params"].get("file_id")
        if file_id is None:
            raise ValueError("trigger with conf {\"file_id\": <registry id>}")
        return run(int(file_id))

    @task.branch
    def verdict(summary: dict, **context) -> str | None:
        """Put the verdict in the run's note; go on to ``rejected`` for a rejected file (no
        further task for an accepted one: a skip costs no worker process)."""
        from casslink.app.tasks import record_verdict

        dag_run = context["dag_run"]
        return "rejected" if record_verdict(summary, dag_run.dag_id, dag_run.run_id) else None

    @task
    def rejected() -> None:
        """The file was rejected, quarantined and acknowledged: nothing of it is billed."""

    verdict(ingest()) >> rejected()


casslink_ingest()
