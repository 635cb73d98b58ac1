"""Issue and deliver the legal invoices of a settled period (issue 26).

Triggered with conf ``{"operation": "DE", "period": "2026-11"}`` after the period is settled
(manually or by the settlement DAG's operators): issue the documents (numbers are allocated
in one transaction each; a re-bill cancels with credit notes) -> render and deliver them in
chunks, one mapped task per chunk, side by side -> the invoice register (fails on a gap).
"""

from __future__ import annotations

import pendulum
from airflow.sdk import Param, dag, task


@dag(
    dag_id="casslink_invoices",
    schedule=None,
    start_date=pendulum.datetime(2026, 1, 1, tz="UTC"),
    catchup=False,
    params={"operation": Param("", type="string", description="e.g. DE"),
            "period": Param("", type="string", description="e.g. 2026-11")},
    tags=["casslink", "invoices"],
    doc_md=__doc__,
)
def casslink_invoices():
    @task
    def issue(**context) -> list[list[str]]:
        from casslink.app.tasks import issue_invoices

        conf = dict(context["params"])
        conf.update(context["dag_run"].conf or {})
        return issue_invoices(conf)

    @task
    def render(numbers: list[str]) -> dict:
        from casslink.app.tasks import render_invoices

        return render_invoices(numbers)

    @task
    def register(**context) -> dict:
        from casslink.app.tasks import invoice_register

        conf = dict(context["params"])
        conf.update(context["dag_run"].conf or {})
        return invoice_register(conf)

    render.expand(numbers=issue()) >> register()


casslink_invoices()
