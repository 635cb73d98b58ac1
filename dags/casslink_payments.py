"""Collect the remittances of billed periods and pay the airlines from cleared funds.

Daily: for each billed period between its billing date and its remittance date plus the
operation's grace (``casslink.app.payment_tasks.periods_to_collect``), post its dues and
write the direct debits (each remittance is debited once), then pay out what the imported
statements show has cleared (nothing moves before the funds are there); then the irregularity
sweep of every operation. Manual runs: conf ``{"operation": "DE", "period": "2026-11"}``.
"""

from __future__ import annotations

import pendulum
from airflow.sdk import Param, dag, task


@dag(
    dag_id="casslink_payments",
    schedule="@daily",
    start_date=pendulum.datetime(2026, 1, 1, tz="UTC"),
    catchup=False,
    max_active_runs=1,
    params={"operation": Param("", type="string", description="e.g. DE (manual runs)"),
            "period": Param("", type="string", description="e.g. 2026-11 or a date in it")},
    tags=["casslink", "payments"],
    doc_md=__doc__,
)
def casslink_payments():
    def _day(context):
        start = context.get("data_interval_end") or context["dag_run"].run_after
        return start.date()

    @task
    def periods(**context) -> list[dict]:
        from casslink.app.payment_tasks import periods_to_collect

        conf = dict(context["params"])
        conf.update(context["dag_run"].conf or {})
        return periods_to_collect(_day(context), conf)

    @task
    def collect(item: dict, **context) -> dict:
        from casslink.app.payment_tasks import collect as run

        return run(item, _day(context))

    @task
    def payout(item: dict, **context) -> dict:
        from casslink.app.payment_tasks import payout as run

        return run(item, _day(context))

    @task
    def review(_done, **context) -> dict:
        from casslink.app.payment_tasks import review_defaults

        return review_defaults(_day(context))

    review(payout.expand(item=collect.expand(item=periods())))


casslink_payments()
