"""Airflow plugin: the CASS calendar timetable. Settlement runs fall on billing dates.

The billing dates are data: the ``billing_periods`` table of the project database
(``CASSLINK_DB_URL``), published from the calendar rules at least 18 months ahead
(docs/calendars.md). A run's data interval is the billing day (00:00-24:00 UTC); the run
settles every operation whose period is billed that day.
"""

from __future__ import annotations

import datetime as dt

from airflow.plugins_manager import AirflowPlugin
from airflow.timetables.base import DagRunInfo, DataInterval, Timetable
from pendulum import UTC, DateTime


def billing_dates() -> list[dt.date]:
    """Distinct billing dates of every operation's calendar (read when the scheduler asks)."""
    from casslink.reference import load_reference
    from casslink.settings import get_settings

    ref = load_reference(get_settings())
    return sorted({p.billing_date for p in ref.periods.values()})


def _day(d: dt.date) -> DateTime:
    return DateTime(d.year, d.month, d.day, tzinfo=UTC)


class CassCalendarTimetable(Timetable):
    """Runs on each billing date of the CASS calendars stored in the project database."""

    description = "On the billing dates of the CASS calendars (project database)"

    @property
    def summary(self) -> str:
        return "CASS billing dates"

    def infer_manual_data_interval(self, run_after: DateTime) -> DataInterval:
        start = _day(run_after.date())
        return DataInterval(start=start, end=start.add(days=1))

    def next_dagrun_info(self, *, last_automated_data_interval: DataInterval | None,
                         restriction) -> DagRunInfo | None:
        if last_automated_data_interval is not None:
            after = last_automated_data_interval.start.date()
        elif restriction.earliest is None:
            return None
        else:
            after = restriction.earliest.date() - dt.timedelta(days=1)
            if not restriction.catchup:
                after = max(after, dt.date.today() - dt.timedelta(days=1))
        upcoming = [d for d in billing_dates() if d > after]
        if not upcoming:
            return None
        start = _day(upcoming[0])
        if restriction.latest is not None and start > restriction.latest:
            return None
        return DagRunInfo.interval(start=start, end=start.add(days=1))


class CassCalendarPlugin(AirflowPlugin):
    name = "cass_calendar"
    timetables = [CassCalendarTimetable]  # noqa: RUF012 - Airflow reads a class attribute
