"""CASS calendars as rules: how each operation's billing periods and their dates are made.

A rule (one row of ``fixtures/reference/calendar_rules.csv``, table ``calendar_rules``) says,
for an operation from a date on: the period frequency, the correction cut-off, billing and
remittance dates as calendar days after the period's end, the weekend, and the country whose
public holidays (the ``holidays`` package) are not business days. Billing and remittance
dates falling on a weekend or holiday move to the next business day; the cut-off is never
after the billing date.

Generated periods are *published*: stored as rows of ``billing_periods`` (:func:`extend`),
rolling at least :data:`HORIZON_MONTHS` ahead, where operators can correct them
(:func:`correct`). Regeneration adds missing periods and follows rule changes in open
generated ones; it never touches a corrected, published (CSV) or billed period.
:func:`coverage_alerts` warns when fewer than :data:`ALERT_DAYS` of calendar remain.
See docs/calendars.md.
"""

from __future__ import annotations

import calendar as _cal
import csv
import datetime as dt
import functools
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import TYPE_CHECKING

import holidays as holidays_pkg
from sqlalchemy import Engine, select

from casslink.db.engine import session_scope
from casslink.db.models import BillingPeriod
from casslink.db.models import CalendarRule as CalendarRuleRow
from casslink.identifiers import period as period_id_mod

if TYPE_CHECKING:
    from casslink.reference import ReferenceData

HORIZON_MONTHS = 18
"""Periods are published at least this many months ahead of today."""
ALERT_DAYS = 60
"""Operators are alerted when fewer days than this remain of an operation's calendar."""

FREQUENCIES = ("monthly", "semi-monthly", "fortnightly", "weekly")
"""``semi-monthly`` and ``fortnightly`` both mean 1st-15th and 16th-end of month (as the CASS
calendars of the USA and of India/Pakistan do); ``weekly`` periods are 7 days from the rule's
first day, numbered by the month of their first day (``2027-03-2``: the 2nd week that starts
in March 2027)."""

WEEKDAYS = ("Mon", "Tue", "Wed", "Thu", "Fri", "Sat", "Sun")

SOURCES = ("published", "generated", "corrected")
"""Where a stored period comes from: a calendar CSV, the rules, or an operator's correction."""

RULE_COLUMNS = ("operation", "valid_from", "frequency", "cutoff_days", "billing_days",
                "remittance_days", "weekend", "holidays", "holiday_subdivision", "source")


class CalendarError(ValueError):
    """A calendar rule or correction that cannot be applied."""


def today() -> dt.date:
    """Today's date (UTC). The one clock of the calendar code: tests replace it."""
    return dt.datetime.now(dt.UTC).date()


def add_months(day: dt.date, months: int) -> dt.date:
    """``day`` moved by whole months (the 31st becomes the month's last day)."""
    index = day.year * 12 + day.month - 1 + months
    year, month = divmod(index, 12)
    return dt.date(year, month + 1, min(day.day, _cal.monthrange(year, month + 1)[1]))


def horizon(day: dt.date | None = None, months: int = HORIZON_MONTHS) -> dt.date:
    """The last day the published calendar must cover on ``day``."""
    return add_months(day or today(), months)


@dataclass(frozen=True)
class PeriodInfo:
    operation: str
    period_id: str
    start_date: dt.date
    end_date: dt.date
    correction_cutoff: dt.date
    billing_date: dt.date
    remittance_date: dt.date
    status: str = "open"
    source: str = "published"  # published | generated | corrected (see SOURCES)
    note: str = ""

    def contains(self, day: dt.date) -> bool:
        return self.start_date <= day <= self.end_date

    @property
    def dates(self) -> tuple[dt.date, ...]:
        return (self.start_date, self.end_date, self.correction_cutoff, self.billing_date,
                self.remittance_date)


@functools.cache
def _public_holidays(country: str, subdivision: str) -> holidays_pkg.HolidayBase:
    return holidays_pkg.country_holidays(country, subdiv=subdivision or None)


@dataclass(frozen=True)
class BusinessDays:
    """Weekdays that are not weekend days and not public holidays of ``country``."""

    weekend: frozenset[int] = frozenset({5, 6})
    country: str = ""
    subdivision: str = ""

    def holiday(self, day: dt.date) -> str | None:
        """The name of the public holiday on ``day``, if any."""
        if not self.country:
            return None
        return _public_holidays(self.country, self.subdivision).get(day)

    def is_business_day(self, day: dt.date) -> bool:
        return day.weekday() not in self.weekend and self.holiday(day) is None

    def on_or_after(self, day: dt.date) -> dt.date:
        """``day`` itself if a business day, else the next one."""
        while not self.is_business_day(day):
            day += dt.timedelta(days=1)
        return day


@dataclass(frozen=True)
class CalendarRule:
    """How an operation's periods are made from ``valid_from`` on (until its next rule)."""

    operation: str
    valid_from: dt.date
    frequency: str
    cutoff_days: int
    billing_days: int
    remittance_days: int
    weekend: frozenset[int] = field(default=frozenset({5, 6}))
    holidays: str = ""  # ISO 3166 country of the public holidays; "" = weekends only
    holiday_subdivision: str = ""
    source: str = ""  # where the rule's values come from (free text)

    @property
    def business_days(self) -> BusinessDays:
        return BusinessDays(self.weekend, self.holidays, self.holiday_subdivision)

    def problems(self) -> list[str]:
        """What is wrong with this rule (empty list = fine)."""
        out = []
        where = f"{self.operation} calendar rule from {self.valid_from}"
        if self.frequency not in FREQUENCIES:
            out.append(f"{where}: unknown frequency {self.frequency!r} "
                       f"(one of {', '.join(FREQUENCIES)})")
        elif self.frequency == "monthly" and self.valid_from.day != 1:
            out.append(f"{where}: a monthly rule starts on the 1st of a month")
        elif self.frequency in ("semi-monthly", "fortnightly") and self.valid_from.day not in (
                1, 16):
            out.append(f"{where}: a {self.frequency} rule starts on the 1st or the 16th")
        if not 1 <= self.cutoff_days <= 366 or not 1 <= self.billing_days <= 366:
            out.append(f"{where}: cut-off and billing are 1 to 366 days after the period end")
        if not self.billing_days <= self.remittance_days <= 366:
            out.append(f"{where}: the remittance date is not before the billing date")
        if len(self.weekend) >= 7:
            out.append(f"{where}: no business day left in the week")
        if self.holidays:
            supported = holidays_pkg.list_supported_countries()
            if self.holidays not in supported:
                out.append(f"{where}: no public holidays known for country {self.holidays!r}")
            elif self.holiday_subdivision and (
                    self.holiday_subdivision not in supported[self.holidays]):
                out.append(f"{where}: unknown subdivision {self.holiday_subdivision!r} "
                           f"of {self.holidays}")
        return out

    def spans(self) -> Iterator[tuple[str, dt.date, dt.date]]:
        """``(period id, start, end)`` of every period from ``valid_from`` on (endless)."""
        start = self.valid_from
        while True:
            if self.frequency == "weekly":
                end = start + dt.timedelta(days=6)
                n: int | None = (start.day - 1) // 7 + 1
            else:
                last = _cal.monthrange(start.year, start.month)[1]
                if self.frequency == "monthly":
                    end, n = dt.date(start.year, start.month, last), None
                elif start.day <= 15:
                    end, n = dt.date(start.year, start.month, 15), 1
                else:
                    end, n = dt.date(start.year, start.month, last), 2
            yield period_id_mod.make(start.year, start.month, n), start, end
            start = end + dt.timedelta(days=1)

    def period(self, period_id: str, start: dt.date, end: dt.date) -> PeriodInfo:
        """The period ``start``-``end`` with its cut-off, billing and remittance dates."""
        bd = self.business_days
        notes = []
        dates = {}
        for name, days in (("billing", self.billing_days), ("remittance", self.remittance_days)):
            nominal = end + dt.timedelta(days=days)
            dates[name] = bd.on_or_after(nominal)
            moved_over = [f"{d} {bd.holiday(d)}" for d in _days(nominal, dates[name])
                          if d.weekday() not in bd.weekend and bd.holiday(d)]
            if moved_over:
                notes.append(f"{name} date moved past {', '.join(moved_over)}")
        cutoff = min(end + dt.timedelta(days=self.cutoff_days), dates["billing"])
        return PeriodInfo(self.operation, period_id, start, end, cutoff, dates["billing"],
                          dates["remittance"], "open", "generated", "; ".join(notes))


def _days(first: dt.date, stop: dt.date) -> Iterator[dt.date]:
    while first < stop:
        yield first
        first += dt.timedelta(days=1)


def generate(rules: Sequence[CalendarRule], until: dt.date) -> list[PeriodInfo]:
    """One operation's periods from its first rule on, through the period holding ``until``.

    Each rule makes the periods that start before the next rule's ``valid_from``."""
    ordered = sorted(rules, key=lambda r: r.valid_from)
    out: list[PeriodInfo] = []
    for rule, nxt in zip(ordered, [*ordered[1:], None], strict=True):
        for pid, start, end in rule.spans():
            if start > until or (nxt is not None and start >= nxt.valid_from):
                break
            out.append(rule.period(pid, start, end))
    return out


# --- rules as CSV ------------------------------------------------------------------------

def parse_weekend(text: str) -> frozenset[int]:
    """``"Sat;Sun"`` -> ``{5, 6}``."""
    names = [t.strip().title()[:3] for t in text.replace(",", ";").split(";") if t.strip()]
    unknown = [n for n in names if n not in WEEKDAYS]
    if unknown:
        raise CalendarError(f"unknown weekday(s) {', '.join(unknown)} in weekend {text!r}")
    return frozenset(WEEKDAYS.index(n) for n in names)


def format_weekend(days: Iterable[int]) -> str:
    return ";".join(WEEKDAYS[d] for d in sorted(days))


def rule_from_row(r: dict[str, str]) -> CalendarRule:
    try:
        return CalendarRule(
            r["operation"].strip().upper(), dt.date.fromisoformat(r["valid_from"]),
            r["frequency"].strip().lower(), int(r["cutoff_days"]), int(r["billing_days"]),
            int(r["remittance_days"]), parse_weekend(r.get("weekend") or ""),
            (r.get("holidays") or "").strip().upper(),
            (r.get("holiday_subdivision") or "").strip().upper(), (r.get("source") or "").strip())
    except (KeyError, ValueError) as exc:
        raise CalendarError(f"calendar rule {r}: {exc}") from exc


def read_rules(path: Path) -> dict[str, tuple[CalendarRule, ...]]:
    """The rules of a ``calendar_rules.csv``, per operation."""
    with open(path, newline="", encoding="utf-8") as fh:
        rules = [rule_from_row(r) for r in csv.DictReader(fh)]
    return group_rules(rules)


def group_rules(rules: Iterable[CalendarRule]) -> dict[str, tuple[CalendarRule, ...]]:
    out: dict[str, list[CalendarRule]] = {}
    for r in rules:
        out.setdefault(r.operation, []).append(r)
    return {op: tuple(sorted(rs, key=lambda r: r.valid_from)) for op, rs in sorted(out.items())}


def rule_to_row(r: CalendarRule) -> dict[str, str]:
    return {"operation": r.operation, "valid_from": r.valid_from.isoformat(),
            "frequency": r.frequency, "cutoff_days": str(r.cutoff_days),
            "billing_days": str(r.billing_days), "remittance_days": str(r.remittance_days),
            "weekend": format_weekend(r.weekend), "holidays": r.holidays,
            "holiday_subdivision": r.holiday_subdivision, "source": r.source}


def merge_published(generated: Iterable[PeriodInfo],
                    published: Iterable[PeriodInfo]) -> dict[str, PeriodInfo]:
    """Generated periods overlaid by the published ones (same id: the published one wins)."""
    out = {p.period_id: p for p in generated}
    out.update({p.period_id: p for p in published})
    return out


# --- the published calendar in the project database --------------------------------------

def rules_from_db(engine: Engine) -> dict[str, tuple[CalendarRule, ...]]:
    with session_scope(engine) as s:
        return group_rules(_rule_from_db(r) for r in s.scalars(select(CalendarRuleRow)))


def _rule_from_db(r: CalendarRuleRow) -> CalendarRule:
    return CalendarRule(r.operation_code, r.valid_from, r.frequency, r.cutoff_days,
                        r.billing_days, r.remittance_days, parse_weekend(r.weekend),
                        r.holidays or "", r.holiday_subdivision or "", r.source or "")


def store_rules(session, rules: dict[str, tuple[CalendarRule, ...]]) -> None:
    """Upsert rules by (operation, valid_from) inside ``session``."""
    existing = {(r.operation_code, r.valid_from): r for r in session.scalars(
        select(CalendarRuleRow))}
    for op_rules in rules.values():
        for r in op_rules:
            row = existing.get((r.operation, r.valid_from)) or CalendarRuleRow(
                operation_code=r.operation, valid_from=r.valid_from)
            row.frequency, row.cutoff_days = r.frequency, r.cutoff_days
            row.billing_days, row.remittance_days = r.billing_days, r.remittance_days
            row.weekend, row.holidays = format_weekend(r.weekend), r.holidays
            row.holiday_subdivision, row.source = r.holiday_subdivision, r.source
            session.add(row)


def period_from_row(p: BillingPeriod) -> PeriodInfo:
    return PeriodInfo(p.operation_code, p.period_id, p.start_date, p.end_date,
                      p.correction_cutoff, p.billing_date, p.remittance_date, p.status,
                      p.source or "published", p.note or "")


def _set_dates(row: BillingPeriod, p: PeriodInfo) -> None:
    row.start_date, row.end_date = p.start_date, p.end_date
    row.correction_cutoff, row.billing_date = p.correction_cutoff, p.billing_date
    row.remittance_date = p.remittance_date


@dataclass
class Extension:
    """What :func:`extend` did to one operation's calendar."""

    operation: str
    added: int = 0
    updated: int = 0
    calendar_end: dt.date | None = None
    conflicts: list[str] = field(default_factory=list)  # generated periods not published


def extend(engine: Engine, day: dt.date | None = None, months: int = HORIZON_MONTHS,
           session=None) -> dict[str, Extension]:
    """Publish each operation's calendar from its rules through ``months`` after ``day``.

    Missing periods are added (source ``generated``) unless they overlap a stored period of
    another id (reported in ``conflicts``); an open generated period whose rules now give
    other dates is updated. Corrected, published (CSV) and closed or billed periods
    are never changed, and no period id or status is. Idempotent."""
    if session is None:
        with session_scope(engine) as s:
            return extend(engine, day, months, s)
    until = horizon(day, months)
    rules = group_rules(_rule_from_db(r) for r in session.scalars(select(CalendarRuleRow)))
    out = {}
    for op, op_rules in rules.items():
        ext = Extension(op)
        rows = {r.period_id: r for r in session.scalars(
            select(BillingPeriod).where(BillingPeriod.operation_code == op))}
        for p in generate(op_rules, until):
            row = rows.get(p.period_id)
            clash = None if row is not None else next(
                (r for r in rows.values()
                 if r.start_date <= p.end_date and p.start_date <= r.end_date), None)
            if row is None and clash is not None:
                ext.conflicts.append(
                    f"{op} {p.period_id} ({p.start_date}..{p.end_date}) not published: it "
                    f"overlaps the stored period {clash.period_id}")
            elif row is None:
                row = BillingPeriod(operation_code=op, period_id=p.period_id, status="open",
                                    source="generated", note=p.note)
                _set_dates(row, p)
                session.add(row)
                rows[p.period_id] = row
                ext.added += 1
            elif (row.source == "generated" and row.status == "open"
                  and (period_from_row(row).dates != p.dates or (row.note or "") != p.note)):
                _set_dates(row, p)
                row.note = p.note
                ext.updated += 1
        ext.calendar_end = max((r.end_date for r in rows.values()), default=None)
        out[op] = ext
    session.flush()
    return out


def correct(engine: Engine, operation: str, period_id: str, note: str, *,
            cutoff: dt.date | None = None, billing: dt.date | None = None,
            remittance: dt.date | None = None) -> PeriodInfo:
    """An operator's correction of a published period's dates; the period is marked
    ``corrected`` and is never overwritten by regeneration or a reference reload.

    A closed or billed period keeps its cut-off and billing date; its remittance date can
    still move (a remittance extension)."""
    if not note.strip():
        raise CalendarError("a correction needs a note saying why")
    with session_scope(engine) as s:
        row = s.scalars(select(BillingPeriod).where(
            BillingPeriod.operation_code == operation.upper(),
            BillingPeriod.period_id == period_id)).first()
        if row is None:
            raise CalendarError(f"no period {period_id!r} in the {operation.upper()} calendar")
        if row.status != "open" and (cutoff or billing):
            raise CalendarError(f"{row.operation_code} {period_id} is {row.status}: only its "
                                "remittance date can still be corrected")
        new = replace(period_from_row(row),
                      correction_cutoff=cutoff or row.correction_cutoff,
                      billing_date=billing or row.billing_date,
                      remittance_date=remittance or row.remittance_date)
        if not new.end_date < new.correction_cutoff <= new.billing_date <= new.remittance_date:
            raise CalendarError("the dates must keep the order period end < cut-off <= "
                                "billing date <= remittance date")
        _set_dates(row, new)
        row.source, row.note = "corrected", note.strip()
        row.corrected_at = dt.datetime.now(dt.UTC)
        s.flush()
        return period_from_row(row)


def non_business_dates(period: PeriodInfo, rules: Sequence[CalendarRule]) -> list[str]:
    """Billing or remittance dates of ``period`` that are not business days by its rules."""
    rule = next((r for r in sorted(rules, key=lambda r: r.valid_from, reverse=True)
                 if r.valid_from <= period.start_date), None)
    if rule is None:
        return []
    bd = rule.business_days
    out = []
    for name, d in (("billing date", period.billing_date),
                    ("remittance date", period.remittance_date)):
        if not bd.is_business_day(d):
            out.append(f"{name} {d} is {bd.holiday(d) or WEEKDAYS[d.weekday()]}")
    return out


# --- alerts ------------------------------------------------------------------------------

def calendar_end(ref: ReferenceData, operation: str) -> dt.date | None:
    """The last day of ``operation``'s published calendar."""
    return max((p.end_date for p in ref.periods_of(operation)), default=None)


def coverage_alerts(ref: ReferenceData, day: dt.date | None = None,
                    min_days: int = ALERT_DAYS) -> list[str]:
    """One message per operation with fewer than ``min_days`` of published calendar left."""
    day = day or today()
    out = []
    for op in sorted(ref.operations):
        end = calendar_end(ref, op)
        if end is None:
            out.append(f"{op}: no published calendar - every file of {op} is rejected; "
                       "run `casslink reference load` or `casslink calendar extend`")
            continue
        left = (end - day).days
        if left < min_days:
            when = (f"ended {-left} days ago" if left < 0 else f"{left} days from {day}")
            out.append(f"{op}: the published calendar ends {end} ({when}; fewer than "
                       f"{min_days}) - files for later periods are rejected; run "
                       "`casslink calendar extend` (or the casslink_reference_sync DAG)")
    return out


def calendar_check(settings, day: dt.date | None = None,
                   min_days: int = ALERT_DAYS) -> tuple[ReferenceData, list[str], list[str]]:
    """The installed reference world (project database, else the fixtures), its problems
    (:func:`casslink.reference.check`) and its calendar alerts (:func:`coverage_alerts`).
    What ``casslink reference check`` and the reference-sync DAG run."""
    from casslink.reference import check, load_reference

    ref = load_reference(settings)
    return ref, check(ref), coverage_alerts(ref, day, min_days)
