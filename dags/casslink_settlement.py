"""Settle CASS periods on their billing dates and deliver every participant's outputs.

Scheduled by the CASS calendar stored in the project database (``CassCalendarTimetable``,
plugin ``cass_calendar``): a run falls on each billing date and settles every operation whose
period is billed that day - mapped over the operations: close period -> settle ->
conservation check (inside settle; a failure fails the task naming the agents/airlines off)
-> render outputs and deliver them to the outboxes, one task per format (HOT, Excel, XML) so
they run side by side. Each settled period is an event of the asset ``PERIOD_SETTLED``
(``dags/plugins/casslink_assets.py``), on which the invoices DAG is scheduled.

Manual runs (backfill or re-bill): trigger with conf
``{"operation": "DE", "period": "2026-11", "rebill": false}``; ``period`` may be any date
inside the period. A billed period whose inputs changed is settled again only with
``"rebill": true`` and is recorded as a re-bill.
"""

from __future__ import annotations

import pendulum
from airflow.sdk import Param, dag, task
from cass_calendar import CassCalendarTimetable
from casslink_assets import PERIOD_SETTLED

from casslink.outputs.formats import FORMATS  # plain constants: cheap at parse time


@dag(
    dag_id="casslink_settlement",
    schedule=CassCalendarTimetable(),
    start_date=pendulum.datetime(2026, 1, 1, tz="UTC"),
    catchup=False,
    max_active_runs=1,
    params={"operation": Param("", type="string", description="e.g. DE (manual runs)"),
            "period": Param("", type="string", description="e.g. 2026-11 or a date in it"),
            "rebill": Param(False, type="boolean", description="re-bill a billed period")},
    tags=["casslink", "settlement"],
    doc_md=__doc__,
)
def casslink_settlement():
    @task
    def periods_due(**context) -> list[dict]:
        from casslink.app.tasks import periods_due as due

        conf = dict(context["params"])
        conf.update(context["dag_run"].conf or {})
        start = context.get("data_interval_start") or context["dag_run"].run_after
        return due(start.date(), conf)

    @task(outlets=[PERIOD_SETTLED])
    def settle(item: dict, *, outlet_events=None) -> dict:
        from casslink.app.tasks import settle as run
        from casslink.app.tasks import settled_event

        settled = run(item)
        outlet_events[PERIOD_SETTLED].extra = settled_event(settled)  # -> casslink_invoices
        return settled

    @task(map_index_template="{{ output_label }}")
    def deliver(settled: dict, fmt: str) -> dict:
        from airflow.sdk import get_current_context

        from casslink.app.tasks import deliver_outputs as run

        get_current_context()["output_label"] = f"{settled['operation']} {settled['period']} {fmt}"
        return run(settled, fmt)

    # one delivery task per settled period and output format, run side by side
    deliver.expand(settled=settle.expand(item=periods_due()), fmt=list(FORMATS))


casslink_settlement()
