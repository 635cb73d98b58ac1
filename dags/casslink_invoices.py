"""Issue and deliver the legal invoices of settled periods (issue 26).

Scheduled on the asset ``PERIOD_SETTLED``: every period the settlement DAG settles is an
asset event (extra: operation, period, run id), and the events queued since the last run
start one run here. Manual runs (a re-issue, a backfill): trigger with conf
``{"operation": "DE", "period": "2026-11"}``. Then, one mapped task per period, so a period
that fails stops no other: issue the documents (numbers and documents committed together,
100 per transaction; a re-bill cancels with credit notes; issuing again keeps every number)
-> the chunks of every period issued (a failed period's are not there) are rendered and
delivered, one mapped task per chunk, side by side -> each period's invoice register (fails
on a gap). One run at a time: the runs of two settlements never issue side by side. XCom
carries periods and document numbers only.
"""

from __future__ import annotations

from collections.abc import Sequence

import pendulum
from airflow.sdk import Param, dag, task
from casslink_assets import PERIOD_SETTLED


@dag(
    dag_id="casslink_invoices",
    schedule=[PERIOD_SETTLED],
    start_date=pendulum.datetime(2026, 1, 1, tz="UTC"),
    catchup=False,
    max_active_runs=1,
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
    def issue(period: dict) -> list[list[str]]:
        from casslink.app.tasks import issue_invoices

        return issue_invoices(period)

    @task(trigger_rule="all_done")  # the chunks of the periods issued, when one failed too
    def chunks(issued: Sequence[list[list[str]] | None]) -> list[list[str]]:
        return [chunk for period in issued if period for chunk in period]

    @task
    def render(numbers: list[str]) -> dict:
        from casslink.app.tasks import render_invoices

        return render_invoices(numbers)

    @task(trigger_rule="none_failed")  # also when there was no chunk to render
    def register(period: dict) -> dict:
        from casslink.app.tasks import invoice_register

        return invoice_register(period)

    found = periods()
    render.expand(numbers=chunks(issue.expand(period=found))) >> register.expand(period=found)


casslink_invoices()
