"""CASS calendars as rules (casslink/calendars.py): the rules reproduce the published 2026
calendar, billing and remittance dates avoid weekends and public holidays, calendars are
published 18 months ahead and corrections survive regeneration, operators are alerted when
fewer than 60 days remain, and the demo's period exists on any later day."""

from __future__ import annotations

import csv
import dataclasses
import datetime as dt
import itertools
import json

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from sqlalchemy import select
from typer.testing import CliRunner

from casslink import calendars
from casslink.calendars import BusinessDays, CalendarError, CalendarRule, PeriodInfo
from casslink.db.engine import make_engine, session_scope, upgrade
from casslink.db.models import BillingPeriod
from casslink.db.models import CalendarRule as CalendarRuleRow
from casslink.identifiers import period as period_id_mod
from casslink.reference import ReferenceData, check, load_into_db

D = dt.date
TODAY = D(2026, 12, 6)


@pytest.fixture(scope="module")
def ref_dir(repo):
    return repo / "fixtures" / "reference"


@pytest.fixture(scope="module")
def rules(ref_dir):
    return calendars.read_rules(ref_dir / "calendar_rules.csv")


@pytest.fixture(scope="module")
def published_2026(ref_dir) -> dict[tuple[str, str], dict[str, str]]:
    """The published 2026 calendar, read as plain CSV rows (not through casslink)."""
    with open(ref_dir / "calendar_2026.csv", newline="") as fh:
        return {(r["operation"], r["period_id"]): r for r in csv.DictReader(fh)}


def _as_row(p: PeriodInfo) -> dict[str, str]:
    return {"operation": p.operation, "period_id": p.period_id,
            "start_date": p.start_date.isoformat(), "end_date": p.end_date.isoformat(),
            "correction_cutoff": p.correction_cutoff.isoformat(),
            "billing_date": p.billing_date.isoformat(),
            "remittance_date": p.remittance_date.isoformat()}


def _differences(generated: list[PeriodInfo], published: dict) -> dict:
    assert {(p.operation, p.period_id) for p in generated} == set(published)
    out = {}
    for p in generated:
        row = published[(p.operation, p.period_id)]
        for k, v in _as_row(p).items():
            if row[k] != v:
                out[(p.operation, p.period_id, k)] = (row[k], v)
    return out


PUBLISHED = {"DE", "IN", "US"}  # the operations with a published 2026 calendar; the others
# (PK, CN, JP, KR, FR: docs/tax.md) have rules only


def _generate_2026(rules, **change) -> list[PeriodInfo]:
    return [p for op, rs in rules.items() if op in PUBLISHED
            for p in calendars.generate([dataclasses.replace(r, **change) for r in rs],
                                        D(2026, 12, 31))]


# --- the rules ---------------------------------------------------------------------------

def test_rules_reproduce_the_published_2026_calendar(rules, published_2026):
    """The 2026 calendar was made with weekend-only rolling: the rules without holidays give
    every row of it, except the DE 2026-11 remittance date corrected off Christmas Day."""
    assert set(rules) == PUBLISHED | {"PK", "CN", "JP", "KR", "FR"}
    assert {op for op, _ in published_2026} == PUBLISHED and len(published_2026) == 12 + 24 + 24
    assert _differences(_generate_2026(rules, holidays=""), published_2026) == {
        ("DE", "2026-11", "remittance_date"): ("2026-12-28", "2026-12-25")}
    assert published_2026[("DE", "2026-11")]["note"].startswith("remittance date corrected")
    assert {k for k, r in published_2026.items() if r["note"]} == {("DE", "2026-11")}


def test_rules_with_holidays_move_only_the_dates_on_public_holidays(rules, published_2026):
    """With each operation's public holidays the rules differ from the published 2026 rows
    only where a published billing/remittance date is a holiday (hand-checked)."""
    diff = _differences(_generate_2026(rules), published_2026)
    assert diff == {
        # Mon 25 May 2026 Whit Monday -> Tue 26
        ("DE", "2026-04", "remittance_date"): ("2026-05-25", "2026-05-26"),
        # Fri 4 Sep Janmashtami, weekend -> Mon 7
        ("IN", "2026-08-2", "billing_date"): ("2026-09-04", "2026-09-07"),
        # 15 Jan + 30 = Sat 14 Feb -> Mon 16 Feb Washington's Birthday -> Tue 17
        ("US", "2026-01-1", "remittance_date"): ("2026-02-16", "2026-02-17"),
        # 31 Aug + 6 = Sun 6 Sep -> Mon 7 Sep Labor Day -> Tue 8
        ("US", "2026-08-2", "billing_date"): ("2026-09-07", "2026-09-08"),
    }
    import holidays

    for (op, _pid, _k), (was, _now) in diff.items():
        assert D.fromisoformat(was) in holidays.country_holidays(op)


def test_remittance_on_a_public_holiday_moves_to_the_next_business_day():
    de = BusinessDays(frozenset({5, 6}), "DE")
    assert de.holiday(D(2026, 12, 25)) == "Christmas Day"
    assert not de.is_business_day(D(2026, 12, 25)) and de.is_business_day(D(2026, 12, 24))
    assert de.on_or_after(D(2026, 12, 25)) == D(2026, 12, 28)  # Fri 25, Sat 26, Sun 27
    assert de.on_or_after(D(2026, 12, 28)) == D(2026, 12, 28)
    assert BusinessDays(frozenset({5, 6})).on_or_after(D(2026, 12, 25)) == D(2026, 12, 25)
    us = BusinessDays(frozenset({5, 6}), "US")
    assert us.on_or_after(D(2026, 11, 26)) == D(2026, 11, 27)  # Thanksgiving
    # a Friday-Saturday weekend
    assert BusinessDays(frozenset({4, 5})).on_or_after(D(2026, 12, 4)) == D(2026, 12, 6)
    rule = CalendarRule("DE", D(2026, 1, 1), "monthly", 5, 10, 25, holidays="DE")
    p = rule.period("2026-11", D(2026, 11, 1), D(2026, 11, 30))
    assert (p.correction_cutoff, p.billing_date, p.remittance_date) == (
        D(2026, 12, 5), D(2026, 12, 10), D(2026, 12, 28))
    assert "2026-12-25 Christmas Day" in p.note and p.source == "generated"


def test_weekly_periods_and_a_rule_change():
    monthly = CalendarRule("XX", D(2027, 1, 1), "monthly", 3, 5, 10)
    weekly = CalendarRule("XX", D(2027, 3, 1), "weekly", 1, 2, 4)  # Monday 1 March 2027
    periods = calendars.generate([weekly, monthly], D(2027, 4, 5))
    assert [p.period_id for p in periods] == [
        "2027-01", "2027-02", "2027-03-1", "2027-03-2", "2027-03-3", "2027-03-4", "2027-03-5",
        "2027-04-1"]
    assert periods[1].end_date == D(2027, 2, 28) and periods[2].start_date == D(2027, 3, 1)
    assert periods[6].start_date == D(2027, 3, 29) and periods[7].end_date == D(2027, 4, 11)
    for a, b in itertools.pairwise(periods):
        assert b.start_date == a.end_date + dt.timedelta(days=1)
    wk = periods[2]
    # end Sun 7 Mar: cut-off Mon 8, billing Tue 9, remittance Thu 11
    assert (wk.correction_cutoff, wk.billing_date, wk.remittance_date) == (
        D(2027, 3, 8), D(2027, 3, 9), D(2027, 3, 11))


def test_bad_rules_are_named():
    assert CalendarRule("DE", D(2026, 1, 2), "monthly", 5, 10, 25).problems()
    assert CalendarRule("DE", D(2026, 1, 1), "daily", 5, 10, 25).problems()
    assert CalendarRule("DE", D(2026, 1, 1), "monthly", 5, 10, 8).problems()
    assert CalendarRule("DE", D(2026, 1, 1), "monthly", 5, 10, 25, holidays="XQ").problems()
    assert CalendarRule("DE", D(2026, 1, 16), "fortnightly", 5, 10, 25, holidays="DE",
                        holiday_subdivision="BY").problems() == []
    with pytest.raises(CalendarError):
        calendars.parse_weekend("Sat;Sunday;Xyz")
    assert calendars.parse_weekend("fri; SAT") == frozenset({4, 5})


@settings(max_examples=60, deadline=None)
@given(freq=st.sampled_from(calendars.FREQUENCIES),
       start=st.dates(D(2020, 1, 1), D(2034, 6, 1)),  # the holidays of IN: 2001-2035
       cutoff=st.integers(1, 20), billing=st.integers(1, 20), extra=st.integers(0, 40),
       weekend=st.sampled_from([frozenset(), frozenset({5, 6}), frozenset({4, 5}),
                                frozenset({6})]),
       country=st.sampled_from(["", "DE", "IN", "US", "GB", "AE"]),
       days=st.integers(0, 400))
def test_generated_calendars_are_sane(freq, start, cutoff, billing, extra, weekend, country,
                                      days):
    """Any rule: contiguous periods with valid unique ids, dates in order, billing and
    remittance dates on business days with no business day skipped before them."""
    if freq == "monthly":
        start = start.replace(day=1)
    elif freq != "weekly":
        start = start.replace(day=1 if start.day < 16 else 16)
    rule = CalendarRule("XX", start, freq, cutoff, billing, billing + extra, weekend, country)
    assert rule.problems() == []
    until = start + dt.timedelta(days=days)
    periods = calendars.generate([rule], until)
    assert periods[0].start_date == start and periods[-1].contains(until)
    assert len({p.period_id for p in periods}) == len(periods)
    bd = rule.business_days
    for a, b in itertools.pairwise(periods):
        assert b.start_date == a.end_date + dt.timedelta(days=1)
    for p in periods:
        assert period_id_mod.is_valid(p.period_id)
        assert p.start_date <= p.end_date < p.correction_cutoff <= p.billing_date \
            <= p.remittance_date
        for d, days_after in ((p.billing_date, billing), (p.remittance_date, billing + extra)):
            nominal = p.end_date + dt.timedelta(days=days_after)
            assert bd.is_business_day(d) and d >= nominal
            assert not any(bd.is_business_day(nominal + dt.timedelta(days=i))
                           for i in range((d - nominal).days))


def test_add_months():
    assert calendars.add_months(D(2026, 12, 6), 18) == D(2028, 6, 6)
    assert calendars.add_months(D(2027, 8, 31), 18) == D(2029, 2, 28)
    assert calendars.add_months(D(2028, 2, 29), 12) == D(2029, 2, 28)


# --- published in the project database -----------------------------------------------------

@pytest.fixture
def engine(db_url):
    upgrade(db_url)
    e = make_engine(db_url)
    yield e
    e.dispose()


def _rows(engine, op=None) -> dict[tuple[str, str], BillingPeriod]:
    with session_scope(engine) as s:
        q = select(BillingPeriod)
        if op:
            q = q.where(BillingPeriod.operation_code == op)
        return {(r.operation_code, r.period_id): r for r in s.scalars(q)}


def test_load_publishes_18_months_and_never_overwrites_corrections(engine, ref_dir):
    load_into_db(engine, ref_dir, TODAY)
    ref = ReferenceData.from_db(engine)
    assert {op: ref.calendar_end(op) for op in ref.operations} == {
        "DE": D(2028, 6, 30), "IN": D(2028, 6, 15), "US": D(2028, 6, 15),  # hold 2028-06-06
        "PK": D(2028, 6, 15), **{op: D(2028, 6, 30) for op in ("CN", "JP", "KR", "FR")}}
    rows = _rows(engine)
    assert rows[("DE", "2026-11")].source == "published"
    assert rows[("DE", "2026-11")].remittance_date == D(2026, 12, 28)
    assert rows[("DE", "2027-01")].source == "generated"
    # an operator corrects a generated and a published period; another period was billed
    fixed = calendars.correct(engine, "DE", "2027-03", "bank strike",
                              remittance=D(2027, 4, 30))
    assert fixed.source == "corrected" and fixed.note == "bank strike"
    calendars.correct(engine, "DE", "2026-12", "moved by hand", billing=D(2027, 1, 12))
    with session_scope(engine) as s:
        billed = s.scalars(select(BillingPeriod).where(
            BillingPeriod.operation_code == "DE", BillingPeriod.period_id == "2026-10")).one()
        billed.status = "billed"
        # the rules change: the remittance is now 20 days after the period end
        rule = s.scalars(select(CalendarRuleRow).where(
            CalendarRuleRow.operation_code == "DE")).one()
        rule.remittance_days = 20
    before = _rows(engine)
    result = calendars.extend(engine, D(2027, 9, 14))  # regenerate, later
    after = _rows(engine, "DE")
    assert result["DE"].calendar_end == D(2029, 3, 31) and result["DE"].added == 9
    for pid, remittance in (("2027-03", D(2027, 4, 30)), ("2026-12", D(2027, 1, 25))):
        row = after[("DE", pid)]
        assert (row.source, row.remittance_date) == ("corrected", remittance)
    assert after[("DE", "2026-12")].billing_date == D(2027, 1, 12)
    assert after[("DE", "2027-03")].note == "bank strike"
    # open generated periods follow the rule: 30 Apr 2027 + 20 = Thu 20 May 2027
    assert after[("DE", "2027-04")].remittance_date == D(2027, 5, 20)
    assert after[("DE", "2026-10")].status == "billed"
    # ids and statuses stay
    for key, row in before.items():
        if key[0] == "DE":
            assert (after[key].id, after[key].status) == (row.id, row.status)
    # a reference reload keeps the corrections and the billed period's dates too
    load_into_db(engine, ref_dir, D(2027, 9, 14))
    again = _rows(engine, "DE")
    assert again[("DE", "2027-03")].remittance_date == D(2027, 4, 30)
    assert again[("DE", "2026-12")].source == "corrected"
    assert again[("DE", "2026-10")].status == "billed"
    assert check(ReferenceData.from_db(engine)) == []


def test_a_rule_change_never_publishes_overlapping_periods(engine, ref_dir):
    load_into_db(engine, ref_dir, TODAY)
    with session_scope(engine) as s:  # weekly periods from Monday 2028-05-01 on
        s.add(CalendarRuleRow(operation_code="DE", valid_from=D(2028, 5, 1), frequency="weekly",
                              cutoff_days=1, billing_days=2, remittance_days=4,
                              weekend="Sat;Sun", holidays="DE", holiday_subdivision="",
                              source="test"))
    result = calendars.extend(engine, TODAY)["DE"]
    assert result.added == 0 and len(result.conflicts) == 6  # weeks from 1 May to 11 June
    assert "DE 2028-05-1 (2028-05-01..2028-05-07) not published: it overlaps the stored " \
        "period 2028-05" in result.conflicts
    result = calendars.extend(engine, D(2027, 3, 1))["DE"]  # 18 months on: 2028-09-01
    assert len(result.conflicts) == 9 and result.calendar_end == D(2028, 9, 3)  # weeks from 3 Jul
    # nothing overlaps; the check names the gap (1-2 July) and the frequency change
    assert check(ReferenceData.from_db(engine)) == [
        "DE calendar rule from 2028-05-01: frequency weekly, the operation's is monthly",
        "DE 2028-07-1: not contiguous with 2028-06"]


def test_corrections_are_checked(engine, ref_dir):
    load_into_db(engine, ref_dir, TODAY)
    with pytest.raises(CalendarError, match="note"):
        calendars.correct(engine, "DE", "2027-03", " ", remittance=D(2027, 4, 30))
    with pytest.raises(CalendarError, match="no period"):
        calendars.correct(engine, "DE", "2031-03", "x", remittance=D(2031, 4, 30))
    with pytest.raises(CalendarError, match="order"):
        calendars.correct(engine, "DE", "2027-03", "x", billing=D(2027, 4, 30))
    with session_scope(engine) as s:
        s.scalars(select(BillingPeriod).where(BillingPeriod.period_id == "2026-10",
                                              BillingPeriod.operation_code == "DE")
                  ).one().status = "billed"
    with pytest.raises(CalendarError, match="billed"):
        calendars.correct(engine, "DE", "2026-10", "x", billing=D(2026, 11, 11))
    # a billed period's remittance can still be extended
    p = calendars.correct(engine, "DE", "2026-10", "extension", remittance=D(2026, 12, 9))
    assert (p.status, p.remittance_date) == ("billed", D(2026, 12, 9))


# --- alerts ------------------------------------------------------------------------------

def test_alert_when_fewer_than_60_days_remain(ref_dir):
    ref = ReferenceData.from_fixtures(ref_dir, TODAY)  # published through 2028-06-15/30
    assert calendars.coverage_alerts(ref, TODAY) == []
    assert calendars.coverage_alerts(ref, D(2028, 4, 16)) == []  # IN/US: exactly 60 days
    alerts = calendars.coverage_alerts(ref, D(2028, 4, 17))
    assert [a[:3] for a in alerts] == ["IN:", "PK:", "US:"]  # the fortnightly ones
    assert "ends 2028-06-15 (59 days from 2028-04-17; fewer than 60)" in alerts[0]
    assert "casslink calendar extend" in alerts[0]
    # the 2026 calendar alone, as before the rules, on today's date
    only_2026 = ReferenceData(operations={k: o for k, o in ref.operations.items()
                                          if k in PUBLISHED}, periods={
        k: p for k, p in ref.periods.items() if p.source == "published"})
    alerts = calendars.coverage_alerts(only_2026, TODAY)
    assert len(alerts) == 3 and "ends 2026-12-31 (25 days from 2026-12-06" in alerts[0]
    assert "ended 3 days ago" in calendars.coverage_alerts(only_2026, D(2027, 1, 3))[0]
    assert "no published calendar" in calendars.coverage_alerts(
        ReferenceData(operations=ref.operations), TODAY)[0]


def test_outside_the_calendar_there_is_no_period(ref_dir):
    ref = ReferenceData.from_fixtures(ref_dir, TODAY)
    last = ref.periods_of("DE")[-1]
    assert ref.period_for_date("DE", last.end_date + dt.timedelta(days=1)) is None
    assert ref.resolve_period("DE", (last.end_date + dt.timedelta(days=1)).isoformat()) is None
    assert ref.next_open_period("DE", last) is None
    assert ref.next_open_period("DE", ref.period("DE", "2026-11")).period_id == "2026-12"
    from casslink.app.synthetic.generator import today_period

    with pytest.raises(ValueError, match="published calendar ends 2028-06-30"):
        today_period(ref, "DE", D(2028, 7, 1))


# --- command line and DAG ------------------------------------------------------------------

@pytest.fixture
def cli_home(home, monkeypatch):
    from casslink.app.cli.main import app

    monkeypatch.setattr(calendars, "today", lambda: TODAY)
    runner = CliRunner()

    def run(*args):
        return runner.invoke(app, list(args))

    assert run("reference", "load").exit_code == 0
    return run


def test_cli_check_show_extend_correct(cli_home, monkeypatch):
    run = cli_home
    res = run("reference", "check")
    assert res.exit_code == 0, res.output
    shown = json.loads(run("calendar", "show", "--operation", "de", "--json").output)
    assert shown["calendar_end"] == "2028-06-30" and shown["days_left"] == 572
    assert shown["rules"][0]["frequency"] == "monthly" and shown["alerts"] == []
    nov = next(p for p in shown["periods"] if p["period"] == "2026-11")
    assert nov["remittance_date"] == "2026-12-28" and nov["source"] == "published"
    text = run("calendar", "show", "--operation", "DE").output
    assert "published through 2028-06-30" in text and "holidays DE" in text
    # time passes without an extension: the check fails and names the operations
    monkeypatch.setattr(calendars, "today", lambda: D(2028, 5, 5))
    res = run("reference", "check")
    assert res.exit_code == 1
    assert "DE: the published calendar ends 2028-06-30 (56 days from 2028-05-05" in res.output
    res = run("calendar", "extend", "--months", "18")
    assert res.exit_code == 0 and "DE: 17 periods added" in res.output
    assert "published through 2029-11-30" in res.output
    assert run("reference", "check").exit_code == 0
    res = run("calendar", "correct", "--operation", "DE", "--period", "2028-11",
              "--remittance-date", "2028-12-27", "--note", "bank holiday agreed")
    assert res.exit_code == 0, res.output
    shown = json.loads(run("calendar", "show", "--operation", "DE", "--json").output)
    nov = next(p for p in shown["periods"] if p["period"] == "2028-11")
    assert (nov["source"], nov["note"]) == ("corrected", "bank holiday agreed")
    res = run("calendar", "correct", "--operation", "DE", "--period", "2028-11",
              "--remittance-date", "2028-12-26", "--note", "x")
    assert res.exit_code == 0 and "Second Day of Christmas" in res.output  # warned
    assert run("calendar", "correct", "--operation", "DE", "--period", "2040-01",
               "--remittance-date", "2040-02-27", "--note", "x").exit_code == 1


def test_reference_sync_dag_fails_its_check_task_when_the_calendar_runs_short(
        home, monkeypatch, tmp_path_factory):
    from casslink.settings import get_settings
    from tests.conftest import airflow_environ

    s = get_settings().with_home(tmp_path_factory.mktemp("af"))
    with airflow_environ(s, 18081):  # before Airflow is imported: it reads its config once
        from airflow.dag_processing.dagbag import DagBag
        from airflow.sdk.exceptions import AirflowFailException

        bag = DagBag(dag_folder=str(s.dags_dir))
        assert bag.import_errors == {}
        dag = bag.dags["casslink_reference_sync"]
        monkeypatch.setattr(calendars, "today", lambda: TODAY)
        counts = dag.get_task("load_reference").python_callable()
        # 2026 published + to 2028-06-06; PK (fortnightly) 2026-01-1..2028-06-1, CN JP KR FR
        # (monthly) 2026-01..2028-06, generated
        assert counts["periods"] == 60 + (18 + 35 + 35) + 59 + 4 * 30
        ends = dag.get_task("check_calendars").python_callable()
        assert ends == {"DE": "2028-06-30", "IN": "2028-06-15", "US": "2028-06-15",
                        "PK": "2028-06-15", **{op: "2028-06-30" for op in ("CN", "JP", "KR",
                                                                          "FR")}}
        monkeypatch.setattr(calendars, "today", lambda: D(2028, 6, 1))
        with pytest.raises(AirflowFailException, match="DE: the published calendar ends "
                           "2028-06-30 \\(29 days from 2028-06-01"):
            dag.get_task("check_calendars").python_callable()
        # the daily load extends it again
        dag.get_task("load_reference").python_callable()
        assert dag.get_task("check_calendars").python_callable()["DE"] == "2029-12-31"


# --- the demo on a later day -------------------------------------------------------------

@pytest.mark.parametrize("day", [TODAY, D(2027, 9, 14)])
def test_demo_period_exists_and_settles_on_a_later_day(home, repo, monkeypatch, tmp_path, day):
    """What `casslink run`'s demo does with the date: load the reference world, take the DE
    period holding today, bill it from generated files, settle it."""
    from casslink.app.ingest import land_and_ingest
    from casslink.app.synthetic.generator import generate_billing, today_period
    from casslink.parsers.hot import write_hot
    from casslink.participants import resolve
    from casslink.settings import get_settings
    from casslink.settlement.run import settle

    monkeypatch.setattr(calendars, "today", lambda: day)
    settings = get_settings().ensure_dirs()
    upgrade(settings.db_url)
    engine = make_engine(settings.db_url)
    try:
        load_into_db(engine, repo / "fixtures" / "reference")
        ref = ReferenceData.from_db(engine)
        assert calendars.coverage_alerts(ref) == []
        period = today_period(ref, "DE", day)
        assert period.contains(day) and period.status == "open"
        assert period.period_id == f"{day.year}-{day.month:02d}"
        gen = generate_billing(ref, "DE", period, 60, seed=7, correction_share=0)[0]
        path = tmp_path / f"{gen.airline_prefix}_DE_{period.period_id}_01.hot"
        path.write_bytes(write_hot(gen.header, gen.records, gen.charges))
        res = land_and_ingest(settings, engine, path, resolve(engine, gen.airline_prefix))
        assert (res.verdict, res.period_id, res.billed_period_id, res.late) == (
            "accepted", period.period_id, period.period_id, False)
        result = settle(settings, engine, "DE", day.isoformat())
        assert (result.period_id, result.records) == (period.period_id, gen.records.num_rows)
    finally:
        engine.dispose()
