"""Reference sync, daily: publish every CASS calendar from its rules at least 18 months
ahead, then check the calendars: the ``check_calendars`` task fails, naming the operation,
when fewer than 60 days of published calendar remain (or the reference data is inconsistent).
A project database with no reference world yet is first loaded from ``fixtures/reference``;
one that has it is never overwritten from the fixtures (``casslink reference load`` does
that, by hand).

Thin DAG file: the work is ``casslink.app.tasks.load_reference_world`` and
``casslink.calendars.calendar_check`` (also ``casslink reference check``); the
``escalate_disputes`` task escalates disputes whose response deadline passed
(``casslink disputes escalate``). Corrected,
published and billed periods are never overwritten (docs/calendars.md).
"""

from __future__ import annotations

import pendulum
from airflow.sdk import dag, task


@dag(
    dag_id="casslink_reference_sync",
    schedule="@daily",
    start_date=pendulum.datetime(2026, 1, 1, tz="UTC"),
    catchup=False,
    max_active_runs=1,
    tags=["casslink", "reference"],
    doc_md=__doc__,
)
def casslink_reference_sync():
    @task
    def load_reference() -> dict:
        from casslink.app.tasks import load_reference_world

        return load_reference_world()

    @task
    def check_calendars() -> dict:
        import logging

        from airflow.sdk.exceptions import AirflowFailException

        from casslink.calendars import calendar_check
        from casslink.settings import get_settings

        log = logging.getLogger("casslink.calendars")
        ref, problems, alerts = calendar_check(get_settings())
        for text in problems + alerts:
            log.warning("%s", text)
        if problems or alerts:
            raise AirflowFailException("calendar check failed: " + "; ".join(problems + alerts))
        ends = {op: str(ref.calendar_end(op)) for op in sorted(ref.operations)}
        log.info("calendars published through %s",
                 ", ".join(f"{op} {end}" for op, end in ends.items()))
        return ends

    @task
    def escalate_disputes() -> dict:
        from casslink.app.tasks import escalate_disputes

        return escalate_disputes()

    load_reference() >> [check_calendars(), escalate_disputes()]


casslink_reference_sync()
