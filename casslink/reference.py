"""Reference data: operations, CASS calendars, airlines and agents.

The demo world lives in ``fixtures/reference/*.csv``. :func:`load_into_db` upserts it into the
project database and publishes the calendars from their rules (``casslink reference load``);
:class:`ReferenceData` is the read-only snapshot every stage uses, built from the database or
straight from the CSV files (offline tools). Calendars: the published calendar files
(``calendar_<year>.csv``) overlaid on what the rules (``calendar_rules.csv``,
:mod:`casslink.calendars`) generate. A date outside the published calendar has no period:
the lookups return None, never a neighbouring period.
"""

from __future__ import annotations

import csv
import datetime as dt
import hashlib
import itertools
from dataclasses import dataclass, field
from pathlib import Path

from sqlalchemy import Engine, select

from casslink import calendars, tax_rules
from casslink.calendars import CalendarRule, PeriodInfo
from casslink.db.engine import session_scope
from casslink.db.models import BillingPeriod, Operation, Participant, ReferenceVersion
from casslink.identifiers import agent_code as agent_code_id
from casslink.identifiers import airline as airline_id
from casslink.identifiers import period as period_id_mod
from casslink.money import minor_unit

FILES = ("operations.csv", "calendar_rules.csv", "airlines.csv", "agents.csv")
"""The fixed reference files; the published calendars are every ``calendar_<year>.csv``."""
CALENDAR_GLOB = "calendar_[0-9]*.csv"


@dataclass(frozen=True)
class OperationInfo:
    code: str
    name: str
    settlement_currency: str
    billing_frequency: str
    office_code: str
    vat_rate_bp: int


@dataclass(frozen=True)
class AirlineInfo:
    prefix: str
    designator: str
    name: str
    operations: tuple[str, ...]


@dataclass(frozen=True)
class AgentInfo:
    code: str
    name: str
    operation: str


@dataclass
class ReferenceData:
    """Lookups over the reference world. Cheap to build; pass it explicitly to who needs it."""

    operations: dict[str, OperationInfo] = field(default_factory=dict)
    periods: dict[tuple[str, str], PeriodInfo] = field(default_factory=dict)
    airlines: dict[str, AirlineInfo] = field(default_factory=dict)  # by prefix
    agents: dict[str, AgentInfo] = field(default_factory=dict)  # by 11-digit code
    digest: str = ""
    rules: dict[str, tuple[CalendarRule, ...]] = field(default_factory=dict)  # calendar rules
    tax_rules: dict[str, tuple[tax_rules.TaxRule, ...]] = field(default_factory=dict)  # in force

    # --- lookups ------------------------------------------------------------------------------
    def airline(self, code: str) -> AirlineInfo | None:
        """By 3-digit prefix or 2-character designator."""
        code = code.strip().upper()
        if code in self.airlines:
            return self.airlines[code]
        return next((a for a in self.airlines.values() if a.designator == code), None)

    def periods_of(self, operation: str) -> list[PeriodInfo]:
        return sorted((p for (op, _), p in self.periods.items() if op == operation),
                      key=lambda p: p.start_date)

    def period(self, operation: str, period_id: str) -> PeriodInfo | None:
        return self.periods.get((operation, period_id))

    def period_for_date(self, operation: str, day: dt.date) -> PeriodInfo | None:
        """The published period holding ``day``; None outside the published calendar."""
        return next((p for p in self.periods_of(operation) if p.contains(day)), None)

    def next_open_period(self, operation: str, after: PeriodInfo) -> PeriodInfo | None:
        """The first open period starting after ``after``; None when the calendar has none."""
        return next((p for p in self.periods_of(operation)
                     if p.start_date > after.start_date and p.status == "open"), None)

    def calendar_end(self, operation: str) -> dt.date | None:
        """The last day of ``operation``'s published calendar."""
        return calendars.calendar_end(self, operation)

    def period_by_dates(self, operation: str, start: dt.date, end: dt.date) -> PeriodInfo | None:
        return next((p for p in self.periods_of(operation)
                     if p.start_date == start and p.end_date == end), None)

    def resolve_period(self, operation: str, text: str) -> PeriodInfo | None:
        """A period id (``2026-11``) or any ISO date inside the period."""
        if period_id_mod.is_valid(text):
            return self.period(operation, text)
        try:
            return self.period_for_date(operation, dt.date.fromisoformat(text))
        except ValueError:
            return None

    # --- constructors -------------------------------------------------------------------------
    @classmethod
    def from_fixtures(cls, directory: Path, today: dt.date | None = None,
                      months: int = calendars.HORIZON_MONTHS) -> ReferenceData:
        """The reference files; each calendar is what ``casslink reference load`` would
        publish on ``today``: the rules' periods through ``months`` ahead, overlaid by the
        published calendar files."""
        rows = read_fixture_rows(directory)
        ref = cls(digest=fixture_digest(directory))
        for r in rows["operations.csv"]:
            ref.operations[r["code"]] = OperationInfo(
                r["code"], r["name"], r["settlement_currency"], r["billing_frequency"],
                r["office_code"], int(r["vat_rate_bp"]))
        ref.rules = calendars.group_rules(
            calendars.rule_from_row(r) for r in rows["calendar_rules.csv"])
        published: dict[str, list[PeriodInfo]] = {}
        for r in rows["calendars"]:
            p = PeriodInfo(r["operation"], r["period_id"],
                           *(dt.date.fromisoformat(r[k]) for k in (
                               "start_date", "end_date", "correction_cutoff", "billing_date",
                               "remittance_date")), note=(r.get("note") or "").strip())
            published.setdefault(p.operation, []).append(p)
        until = calendars.horizon(today, months)
        for op in sorted(set(ref.rules) | set(published)):
            merged = calendars.merge_published(calendars.generate(ref.rules.get(op, ()), until),
                                               published.get(op, ()))
            ref.periods.update({(op, pid): p for pid, p in merged.items()})
        for r in rows["airlines.csv"]:
            ref.airlines[r["prefix"]] = AirlineInfo(
                r["prefix"], r["designator"], r["name"], tuple(r["operations"].split(";")))
        for r in rows["agents.csv"]:
            ref.agents[r["agent_code"]] = AgentInfo(r["agent_code"], r["name"], r["operation"])
        ref.tax_rules = tax_rules.rules_from_fixtures(directory)
        ref.digest = with_tax_rules(ref.digest, ref.tax_rules)
        return ref

    @classmethod
    def from_db(cls, engine: Engine) -> ReferenceData:
        ref = cls()
        with session_scope(engine) as s:
            for o in s.scalars(select(Operation)):
                ref.operations[o.code] = OperationInfo(o.code, o.name, o.settlement_currency,
                                                       o.billing_frequency, o.office_code,
                                                       o.vat_rate_bp)
            for p in s.scalars(select(BillingPeriod)):
                ref.periods[(p.operation_code, p.period_id)] = calendars.period_from_row(p)
            airline_ops: dict[str, set[str]] = {}
            for part in s.scalars(select(Participant).where(Participant.kind == "airline")):
                airline_ops.setdefault(part.code, set())
                ref.airlines[part.code] = AirlineInfo(part.code, part.airline_designator or "",
                                                      part.name, ())
            for part in s.scalars(select(Participant).where(Participant.kind == "agent")):
                ref.agents[part.code] = AgentInfo(part.code, part.name, part.operation_code or "")
            version = s.scalars(select(ReferenceVersion).order_by(ReferenceVersion.id.desc())
                                ).first()
            ref.digest = version.digest if version else ""
        ref.rules = calendars.rules_from_db(engine)
        ref.tax_rules = tax_rules.active_rules(engine)
        ref.digest = with_tax_rules(ref.digest, ref.tax_rules)  # new rules: a new digest
        # airline participation is not a table yet: an airline takes part where agents exist
        ops = tuple(sorted(ref.operations))
        ref.airlines = {k: AirlineInfo(a.prefix, a.designator, a.name, ops)
                        for k, a in ref.airlines.items()}
        return ref


def load_reference(settings) -> ReferenceData:
    """This install's reference world: the project database once loaded, else the fixtures.

    Offline tools (``casslink validate`` on an airline's own machine) work without a database.
    """
    from sqlalchemy.exc import SQLAlchemyError

    from casslink.db.engine import engine_for

    url = settings.db_url
    if not (url.startswith("sqlite:///") and not Path(url.removeprefix("sqlite:///")).exists()):
        with engine_for(url) as engine:
            try:
                ref = ReferenceData.from_db(engine)
                if ref.operations:
                    return ref
            except SQLAlchemyError:
                pass
    return ReferenceData.from_fixtures(settings.fixtures_dir / "reference")


def calendar_files(directory: Path) -> list[Path]:
    """The published calendar files of a reference folder (``calendar_<year>.csv``)."""
    return sorted(directory.glob(CALENDAR_GLOB))


def read_fixture_rows(directory: Path) -> dict[str, list[dict[str, str]]]:
    """The rows of each reference file; ``"calendars"``: of every published calendar file."""
    out = {}
    for name in FILES:
        with open(directory / name, newline="", encoding="utf-8") as fh:
            out[name] = list(csv.DictReader(fh))
    out["calendars"] = []
    for path in calendar_files(directory):
        with open(path, newline="", encoding="utf-8") as fh:
            out["calendars"].extend(csv.DictReader(fh))
    return out


def with_tax_rules(digest: str, rules: dict) -> str:
    """A reference digest covering the tax rules in force too (unchanged without rules)."""
    if not rules:
        return digest
    return hashlib.sha256(f"{digest} {tax_rules.digest(rules)}".encode()).hexdigest()


def fixture_digest(directory: Path) -> str:
    """The reference files' digest (not the date: generated periods follow from the rules;
    tax rules: :func:`with_tax_rules`, as the database's rules can change on their own)."""
    h = hashlib.sha256()
    for path in [*(directory / name for name in FILES), *calendar_files(directory)]:
        h.update(path.name.encode())
        h.update(path.read_bytes())
    return h.hexdigest()


class ReferenceError(ValueError):
    """The reference files contradict themselves (bad check digit, overlapping periods...)."""


def check(ref: ReferenceData) -> list[str]:
    """Sanity problems of a reference world (empty list = fine)."""
    problems = []
    for op in ref.operations.values():
        try:
            minor_unit(op.settlement_currency)
        except ValueError:
            problems.append(f"operation {op.code}: unknown currency {op.settlement_currency}")
        rules = ref.rules.get(op.code, ())
        if not rules:
            problems.append(f"operation {op.code}: no calendar rules (its calendar cannot be "
                            "extended)")
        for rule in rules:
            problems.extend(rule.problems())
            if rule.frequency != op.billing_frequency:
                problems.append(f"{op.code} calendar rule from {rule.valid_from}: frequency "
                                f"{rule.frequency}, the operation's is {op.billing_frequency}")
        periods = ref.periods_of(op.code)
        if not periods:
            problems.append(f"operation {op.code}: no calendar")
        for prev, cur in itertools.pairwise(periods):
            if cur.start_date != prev.end_date + dt.timedelta(days=1):
                problems.append(f"{op.code} {cur.period_id}: not contiguous with {prev.period_id}")
        for p in periods:
            if not (p.start_date <= p.end_date < p.correction_cutoff <= p.billing_date
                    <= p.remittance_date):
                problems.append(f"{op.code} {p.period_id}: dates out of order")
            if not period_id_mod.is_valid(p.period_id):
                problems.append(f"{op.code} {p.period_id}: bad period id")
    for op in sorted(set(ref.rules) - set(ref.operations)):
        problems.append(f"calendar rules for unknown operation {op}")
    for a in ref.airlines.values():
        if not (airline_id.is_valid_prefix(a.prefix) and airline_id.is_valid_designator(
                a.designator)):
            problems.append(f"airline {a.prefix}/{a.designator}: malformed")
    for g in ref.agents.values():
        if not agent_code_id.is_valid(g.code):
            problems.append(f"agent {g.code}: bad check digit")
        if g.operation not in ref.operations:
            problems.append(f"agent {g.code}: unknown operation {g.operation}")
    return problems


def load_into_db(engine: Engine, directory: Path, today: dt.date | None = None,
                 months: int = calendars.HORIZON_MONTHS) -> dict[str, int]:
    """Upsert the fixture world into the project database and publish each calendar through
    ``months`` after ``today`` (:func:`casslink.calendars.extend`); returns counts per kind.

    A published calendar row replaces the stored period only while that period is open and
    not corrected by an operator; period ids and statuses never change."""
    ref = ReferenceData.from_fixtures(directory, today, months)
    problems = check(ref)
    if problems:
        raise ReferenceError("; ".join(problems))
    published = [p for p in ref.periods.values() if p.source == "published"]
    with session_scope(engine) as s:
        for o in ref.operations.values():
            s.merge(Operation(code=o.code, name=o.name, settlement_currency=o.settlement_currency,
                              billing_frequency=o.billing_frequency, office_code=o.office_code,
                              vat_rate_bp=o.vat_rate_bp))
        s.flush()
        calendars.store_rules(s, ref.rules)
        existing = {(p.operation_code, p.period_id): p for p in s.scalars(select(BillingPeriod))}
        for p in published:
            row = existing.get((p.operation, p.period_id))
            if row is None:
                row = BillingPeriod(operation_code=p.operation, period_id=p.period_id,
                                    status="open")
            elif row.source == "corrected" or row.status != "open":
                continue
            row.start_date, row.end_date = p.start_date, p.end_date
            row.correction_cutoff, row.billing_date = p.correction_cutoff, p.billing_date
            row.remittance_date = p.remittance_date
            row.source, row.note = "published", p.note or None
            s.add(row)
        s.flush()
        calendars.extend(engine, today, months, session=s)
        n_periods = len(s.scalars(select(BillingPeriod.id)).all())
        parts = {(p.kind, p.code): p for p in s.scalars(select(Participant))}
        for a in ref.airlines.values():
            row = parts.get(("airline", a.prefix)) or Participant(kind="airline", code=a.prefix)
            row.name, row.airline_prefix, row.airline_designator = a.name, a.prefix, a.designator
            s.add(row)
        for g in ref.agents.values():
            row = parts.get(("agent", g.code)) or Participant(kind="agent", code=g.code)
            row.name, row.agent_code, row.operation_code = g.name, g.code, g.operation
            s.add(row)
        if ("operator", "cass") not in parts:
            s.add(Participant(kind="operator", code="cass", name="CASS operations"))
        s.add(ReferenceVersion(digest=fixture_digest(directory), source=str(directory)))
    stored = tax_rules.active_rules(engine)  # the fixtures' rules only where none are loaded
    fresh = [r for op, rs in ref.tax_rules.items() if op not in stored for r in rs]
    if fresh:
        tax_rules.store_rules(engine, fresh, str(directory / tax_rules.FIXTURE_FILE))
    return {"operations": len(ref.operations), "periods": n_periods,
            "airlines": len(ref.airlines), "agents": len(ref.agents),
            "tax rules": sum(len(rs) for rs in ref.tax_rules.values())}
