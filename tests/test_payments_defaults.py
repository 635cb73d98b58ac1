"""Irregularity → default → reinstatement (DE: threshold 3 in a rolling 12 months, grace 3
days), on SQLite and PostgreSQL; ``casslink agents status --json`` shows the transitions."""

from __future__ import annotations

import datetime as dt
import json
from pathlib import Path

import pytest
from sqlalchemy import select
from typer.testing import CliRunner

from casslink.db.engine import session_scope
from casslink.db.models import PayRemittance
from casslink.payments import defaults, statements
from casslink.payments.dues import SettledPeriod, post_dues
from casslink.payments.references import remittance_reference
from casslink.payments.terms import load_terms
from tests.camt_files import credit, statement

REPO = Path(__file__).resolve().parents[1]
AGENT = "23156130152"
PERIODS = {"2026-09": dt.date(2026, 10, 26), "2026-10": dt.date(2026, 11, 25),
           "2026-11": dt.date(2026, 12, 28), "2026-12": dt.date(2027, 1, 26)}


def dues(engine, terms, period_id: str, amount: int = 10000) -> None:
    settled = SettledPeriod("DE", period_id, "EUR", agents={AGENT: amount},
                            payable={"020": amount}, withheld={"020": 0},
                            bills={(AGENT, "020"): amount})
    with session_scope(engine) as s:
        post_dues(s, settled, terms.rule("DE"), PERIODS[period_id])


def pay(settings, engine, terms, sid: str, period_id: str, amount: int, day: dt.date) -> dict:
    ref = remittance_reference("DE", period_id, AGENT)
    data = statement(sid, [credit(amount, day, ref=ref)], iban=terms.hinge("DE").iban)
    return statements.import_statement(settings, engine, data, terms)


def status(engine) -> str:
    with session_scope(engine) as s:
        return defaults.status_of(s, "DE", AGENT)


def test_threshold_defaults_then_reinstated(system, monkeypatch):
    settings, engine = system
    terms = load_terms(REPO / "fixtures" / "reference")
    # the notices' airlines come from the settled ledger: here, LH for every period
    monkeypatch.setattr(statements, "owed_airlines_reader", lambda engine: lambda r: ["020"])
    for n, period_id in enumerate(("2026-09", "2026-10", "2026-11"), 1):
        dues(engine, terms, period_id)
        r = pay(settings, engine, terms, f"S{n}", period_id, 6000, PERIODS[period_id])
        assert r["classifications"] == {"SHORT": 1}
        assert status(engine) == ("DEFAULTED" if n == 3 else "ACTIVE")
    notices = sorted(p.name for p in (settings.homes_dir / "020" / "outbox").glob("*.csv"))
    assert notices == ["default-DE-23156130152-2026-12-28.csv",
                       *(f"irregularity-DE-{p}-23156130152-SHORT.csv"
                         for p in ("2026-09", "2026-10", "2026-11"))]
    with session_scope(engine) as s, pytest.raises(defaults.TransitionError, match="owes"):
        defaults.reinstate(s, "DE", AGENT, "op-anna", "paid")
    day = dt.date(2027, 1, 4)
    for n, period_id in enumerate(("2026-09", "2026-10", "2026-11"), 4):
        pay(settings, engine, terms, f"S{n}", period_id, 4000, day)
    with session_scope(engine) as s:
        defaults.reinstate(s, "DE", AGENT, "op-anna", "paid in full, new bank guarantee")
    assert status(engine) == "REINSTATED"
    # one more irregularity after reinstatement: counted afresh, below the threshold
    dues(engine, terms, "2026-12")
    pay(settings, engine, terms, "S7", "2026-12", 1000, PERIODS["2026-12"])
    assert status(engine) == "REINSTATED"
    out = CliRunner().invoke(_cli(), ["agents", "status", AGENT, "--json"],
                             env={"CASSLINK_HOME": str(settings.home),
                                  "CASSLINK_DB_URL": settings.db_url})
    assert out.exit_code == 0, out.output
    shown = json.loads(out.stdout)
    assert shown["status"] == {"DE": "REINSTATED"}
    assert [(e["from_status"], e["to_status"], e["actor"]) for e in shown["events"]] == [
        ("ACTIVE", "DEFAULTED", "system"), ("DEFAULTED", "REINSTATED", "op-anna")]
    assert "3 irregularities within 12 months" in shown["events"][0]["reason"]
    assert [i["kind"] for i in shown["irregularities"]] == ["SHORT"] * 4


def test_uncured_notice_defaults(system):
    _settings, engine = system
    terms = load_terms(REPO / "fixtures" / "reference")
    rule = terms.rule("DE")
    dues(engine, terms, "2026-11")
    notifier = defaults.Notifier(None, lambda r: [])
    with session_scope(engine) as s:
        r = s.scalars(select(PayRemittance)).one()
        # nothing paid by the remittance date + grace: UNPAID, then not cured by its date
        assert defaults.review(s, "DE", rule, PERIODS["2026-11"] + dt.timedelta(days=3),
                               notifier) == {"raised": 0, "defaulted": 0}
        assert defaults.review(s, "DE", rule, PERIODS["2026-11"] + dt.timedelta(days=4),
                               notifier) == {"raised": 1, "defaulted": 0}
        assert defaults.status_of(s, "DE", AGENT) == "ACTIVE"
        assert defaults.review(s, "DE", rule, PERIODS["2026-11"] + dt.timedelta(days=8),
                               notifier) == {"raised": 0, "defaulted": 1}
        assert defaults.status_of(s, "DE", AGENT) == "DEFAULTED"
        assert r.status == "OPEN"


def test_rolling_window():
    assert defaults.months_before(dt.date(2027, 3, 31), 12) == dt.date(2026, 3, 31)
    assert defaults.months_before(dt.date(2026, 3, 31), 1) == dt.date(2026, 2, 28)


def _cli():
    from casslink.app.cli.main import app

    return app
