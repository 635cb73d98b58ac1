"""Kill -9 where tax moves money or files (``casslink.faults``): a rules load killed before
its commit leaves the rule set as it was, and the load then succeeds as the next version; a
tax-report delivery killed after writing the outboxes and before recording the deliveries
is delivered again with the same bytes and recorded once."""

from __future__ import annotations

import hashlib
import signal
from pathlib import Path

from sqlalchemy import select

from casslink import tax_rules
from casslink.db.engine import session_scope
from casslink.db.models import Delivery
from casslink.settlement.run import settle
from casslink.tax_rules import COLUMNS
from tests.crash_cli import casslink
from tests.test_settlement import hand_period, store


def test_rules_load_killed_before_commit_changes_nothing(system, tmp_path):
    s, engine = system
    before = tax_rules.active_rules(engine)
    rules = tmp_path / "rules.csv"
    rules.write_text(",".join(COLUMNS) + "\nDE,V,VAT,agent,commission,2000,all,2021-01-01,,"
                     "line,compute\n")
    died = casslink(s, "tax", "rules", "load", str(rules), fault="tax_rules:stored")
    assert died.returncode == -signal.SIGKILL
    assert tax_rules.active_rules(engine) == before  # fixture rules, version 1
    ok = casslink(s, "tax", "rules", "load", str(rules))
    assert ok.returncode == 0 and "DE: 1 rule loaded as version 2" in ok.stdout
    assert [(r.code, r.rate_bp, r.version) for r in tax_rules.active_rules(engine)["DE"]] == [
        ("V", 2000, 2)]


def test_tax_report_delivery_killed_is_delivered_again_identically(system):
    s, engine = system
    lh, af = hand_period()
    store(s, 1, lh)
    store(s, 2, af)
    run = settle(s, engine, "DE", "2026-11")
    args = ("deliver", "--operation", "DE", "--period", "2026-11", "--format", "xlsx")
    died = casslink(s, *args, fault="tax_report:written")
    assert died.returncode == -signal.SIGKILL
    written = {p: hashlib.sha256(p.read_bytes()).hexdigest()
               for p in s.home.glob("homes/*/outbox/*_tax-report.*")}
    assert len(written) == 2 * 5  # operators, 2 airlines, 2 agents: Excel and CSV
    with session_scope(engine) as ss:
        assert not ss.scalars(select(Delivery).where(Delivery.kind.like("tax-report%"))).all()
    assert casslink(s, *args).returncode == 0
    again = {p: hashlib.sha256(p.read_bytes()).hexdigest()
             for p in s.home.glob("homes/*/outbox/*_tax-report.*")}
    assert again == written
    with session_scope(engine) as ss:
        rows = ss.scalars(select(Delivery).where(Delivery.kind.like("tax-report%"))).all()
        assert sorted((Path(r.path), r.sha256) for r in rows) == sorted(written.items())
        assert {r.run_id for r in rows} == {run.run_id}
