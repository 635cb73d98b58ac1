"""``casslink payments ...`` and ``casslink agents status`` over the hand-made period
(SQLite): the commands a finance operator runs, their text and JSON."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from typer.testing import CliRunner

from casslink.payments.references import remittance_reference
from casslink.payments.terms import load_terms
from tests.camt_files import credit, statement
from tests.conftest import reference_root
from tests.test_payments_period import A1, A2, R, settle_period

REPO = Path(__file__).resolve().parents[1]


@pytest.fixture
def cli(tmp_path):
    from casslink.app.cli.main import app

    settings, engine = reference_root(tmp_path / "var")
    settle_period(settings, engine)
    engine.dispose()
    env = {"CASSLINK_HOME": str(settings.home), "CASSLINK_DB_URL": settings.db_url}

    def run(*args: str) -> str:
        result = CliRunner().invoke(app, list(args), env=env)
        assert result.exit_code == 0, result.output
        return result.stdout
    return run, settings


def test_collect_import_match_show(cli, tmp_path):
    run, settings = cli
    ref = run("payments", "reference", "--agent", A1, "--operation", "DE", "--period",
              "2026-11").strip()
    assert ref == remittance_reference("DE", "2026-11", A1) == "RF10DE20261123156130152"
    out = run("payments", "collect", "--operation", "DE", "--period", "2026-11-15",
              "--date", "2026-12-11", "--out", str(tmp_path / "f"))
    assert out.startswith("DE 2026-11: 5 direct debits, 3550.00 EUR")
    iban = load_terms(REPO / "fixtures" / "reference").hinge("DE").iban
    path = tmp_path / "s.xml"
    path.write_bytes(statement("C1", [credit(150000, R, e2e=ref), credit(5, R, info="?")],
                               iban=iban, version="053.001.02"))
    assert run("payments", "import", str(path)) == \
        "statement C1 (camt.053.001.02, DE): 1 PAID, 1 UNMATCHED\n"
    assert "imported before" in run("payments", "import", str(path))
    shown = json.loads(run("payments", "show", "--operation", "DE", "--period", "2026-11",
                           "--json"))
    assert shown["hinge"] == 150005
    agents = {a["agent_code"]: a for a in shown["agents"]}
    assert (agents[A1]["paid"], agents[A1]["status"]) == (150000, "PAID")
    text = run("payments", "show", "--operation", "DE", "--period", "2026-11")
    assert "hinge 1500.05 EUR" in text and f"{A1}  {ref}" in text
    from sqlalchemy import select

    from casslink.db.engine import engine_for, session_scope
    from casslink.db.models import PayEntry

    with engine_for(settings.db_url) as engine, session_scope(engine) as s:
        entry = s.scalars(select(PayEntry.id).where(PayEntry.classification == "UNMATCHED")
                          ).one()
    a2 = remittance_reference("DE", "2026-11", A2)
    assert run("payments", "match", "--entry", str(entry), "--reference", a2, "--by", "op-1",
               "--reason", "call").strip() == "SHORT"
    status = run("agents", "status", A2)
    assert f"{A2} DE: ACTIVE" in status and "manual_match" in status and "SHORT" in status
