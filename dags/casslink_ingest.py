"""Ingest one landed file: parse -> validate -> store accepted records -> acknowledge to the
sender's outbox -> archive or quarantine (``casslink.app.tasks.ingest``), then show the
verdict: a rejected file fails the ``verdict`` task with the reason (the ack was sent).

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

    @task
    def verdict(summary: dict, **context) -> str:
        from airflow.sdk.exceptions import AirflowFailException

        from casslink.app.tasks import FileRejected, verdict_check
        from casslink.sftp_gateway.notify import annotate_run

        dag_run = context["dag_run"]
        try:
            text = verdict_check(summary)
        except FileRejected as exc:
            annotate_run(dag_run.dag_id, dag_run.run_id, str(exc))
            raise AirflowFailException(str(exc)) from None
        annotate_run(dag_run.dag_id, dag_run.run_id, text)
        return text

    verdict(ingest())


casslink_ingest()
