"""Which kind of dispute may be raised on a day, until when, and where its adjustment is
billed - all from the operation's calendar (billing_periods) and its dispute rules.

- a **correction** up to and including the correction cut-off of the period the AWB is
  billed in (cass-business.md §3.2 item 1, source S8);
- a **pre-remittance dispute** after that, up to and including N days before the period's
  remittance date (N = ``pre_remittance_days``, default 3; §3.2 item 3, S10);
- anything later is refused, naming the deadline.
"""

from __future__ import annotations

import datetime as dt

from casslink.calendars import PeriodInfo
from casslink.dispute_rules import DisputeRule
from casslink.reference import ReferenceData

CORRECTION, PRE_REMITTANCE = "correction", "pre_remittance"


class TooLate(ValueError):
    """The deadline for disputing the period has passed; the message names it."""

    def __init__(self, period: PeriodInfo, deadline: dt.date, today: dt.date) -> None:
        super().__init__(
            f"too late: disputes of {period.operation} {period.period_id} could be raised "
            f"until {deadline.isoformat()} (the correction cut-off was "
            f"{period.correction_cutoff.isoformat()}, the remittance date is "
            f"{period.remittance_date.isoformat()}); today is {today.isoformat()}")
        self.deadline = deadline


def last_day(period: PeriodInfo, rule: DisputeRule) -> dt.date:
    """The last day a pre-remittance dispute of ``period`` may be raised."""
    return period.remittance_date - dt.timedelta(days=rule.pre_remittance_days)


def kind_on(period: PeriodInfo, rule: DisputeRule, today: dt.date) -> str:
    """``correction`` or ``pre_remittance`` for a dispute raised ``today``; TooLate after."""
    if today <= period.correction_cutoff:
        return CORRECTION
    deadline = last_day(period, rule)
    if today <= deadline:
        return PRE_REMITTANCE
    raise TooLate(period, max(deadline, period.correction_cutoff), today)


def response_due(today: dt.date, rule: DisputeRule) -> dt.date:
    """The airline answers by this day; the day after, the dispute is escalated."""
    return today + dt.timedelta(days=rule.response_days)


class NoPeriodToAdjust(LookupError):
    """The calendar has no open period to bill an adjustment in."""


def adjustment_period(ref: ReferenceData, operation: str, today: dt.date) -> PeriodInfo:
    """Where an accepted dispute's DCM is billed: the current period while it is open and
    before its correction cut-off, else the next open period."""
    current = ref.period_for_date(operation, today)
    if current is not None and current.status == "open" and today <= current.correction_cutoff:
        return current
    later = [p for p in ref.periods_of(operation) if p.status == "open"
             and p.start_date > (current.start_date if current else today)]
    if not later:
        raise NoPeriodToAdjust(f"{operation}: no open period after {today} to bill the "
                               "adjustment in")
    return later[0]
