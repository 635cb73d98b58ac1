"""Issue and deliver the legal invoices of settled periods (issue 26).

Scheduled on the asset ``PERIOD_SETTLED``: every period the settlement DAG settles is an
asset event (extra: operation, period, run id), and the events queued since the last run
start one run here. Manual runs (a re-issue, a backfill): trigger with conf
``{"operation": "DE", "period": "2026-11"}``. Then: issue the documents (numbers and
documents committed together, 100 per transaction; a re-bill cancels with credit notes;
issuing again keeps every number) -> render and deliver them in chunks, one mapped task per
chunk, side by side -> each period's invoice register (fails on a gap). XCom carries periods
and document numbers only.
"""

from __future__ import annotations

import pendulum
from airflow.sdk import Param, dag, task
from casslink_assets import PERIOD_SETTLED


@dag(
    dag_id="casslink_invoices",
    schedule=[PERIOD_SETTLED],
    start_date=pendulum.datetime(2026, 1, 1, tz="UTC"),
    catchup=False,
    params={"operation": Param("", type="string", description="e.g. DE (manual runs)"),
            "period": Param("", type="string", description="e.g. 2026-11 (manual runs)")},
    tags=["casslink", "invoices"],
    doc_md=__doc__,
)
def casslink_invoices():
    @task
    def periods(*, params=None, dag_run=None, triggering_asset_events=None) -> list[dict]:
        from casslink.app.tasks import invoice_periods

        conf = {**(params or {}), **((dag_run.conf if dag_run else None) or {})}
        events = [dict(e.extra) for found in (triggering_asset_events or {}).values()
                  for e in found]
        return invoice_periods(conf, events)

    @task
    def issue(found: list[dict]) -> list[list[str]]:
        from casslink.app.tasks import issue_invoices

        return [chunk for period in found for chunk in issue_invoices(period)]

    @task
    def render(numbers: list[str]) -> dict:
        from casslink.app.tasks import render_invoices

        return render_invoices(numbers)

    @task(trigger_rule="none_failed")  # also when there was no chunk to render
    def register(found: list[dict]) -> list[dict]:
        from casslink.app.tasks import invoice_register

        return [invoice_register(period) for period in found]

    found = periods()
    render.expand(numbers=issue(found)) >> register(found)


casslink_invoices()
