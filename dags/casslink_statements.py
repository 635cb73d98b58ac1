"""Import the clearing banks' statements (camt.053, camt.054) that land in the CASS
operator's inbox, match them to the open remittances and move them to the archive.

Every 15 minutes, and on demand: conf ``{"paths": ["/path/to/statement.xml"]}`` imports those
files instead. A statement id is imported once: a retry changes nothing.
"""

from __future__ import annotations

import datetime as dt

import pendulum
from airflow.sdk import dag, task


@dag(
    dag_id="casslink_statements",
    schedule=dt.timedelta(minutes=15),
    start_date=pendulum.datetime(2026, 1, 1, tz="UTC"),
    catchup=False,
    max_active_runs=1,
    tags=["casslink", "payments"],
    doc_md=__doc__,
)
def casslink_statements():
    @task(retries=2, retry_delay=dt.timedelta(seconds=30))
    def import_statements(**context) -> list[dict]:
        from casslink.app.payment_tasks import import_statements as run

        conf = context["dag_run"].conf or {}
        return run(conf.get("paths"))

    import_statements()


casslink_statements()
