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


def test_dag_task_functions(cli, tmp_path):
    """What the payments DAGs run, without Airflow: the periods collected on a day, collect,
    the statements of the operator's inbox (archived once imported), a payout round."""
    import datetime as dt

    from casslink.app import payment_tasks as tasks

    _, settings = cli
    assert tasks.periods_to_collect(dt.date(2026, 12, 9), settings=settings) == []
    item = {"operation": "DE", "period": "2026-11"}
    assert tasks.periods_to_collect(dt.date(2026, 12, 11), settings=settings) == [item]
    assert tasks.periods_to_collect(R + dt.timedelta(days=4), settings=settings) == []
    done = tasks.collect(item, dt.date(2026, 12, 11), settings)
    assert [Path(f).name for f in done["debit_files"]] == [
        "pain.008-DE-EUR-2026-12-28-2026-11.xml"]
    iban = load_terms(REPO / "fixtures" / "reference").hinge("DE").iban
    inbox = tasks.statement_inbox(settings)
    ref = remittance_reference("DE", "2026-11", A1)
    (inbox / "camt053.xml").write_bytes(statement("D1", [credit(150000, R, e2e=ref)],
                                                  iban=iban))
    assert tasks.import_statements(settings=settings) == [
        {"statement_id": "D1", "file": "camt053.xml", "imported": True}]
    assert not (inbox / "camt053.xml").exists()
    assert (settings.home / "payments" / "statements" / "camt053.xml").exists()
    paid = tasks.payout(item, R, settings)
    # nothing had cleared at collect: this is round 1; A1's bills and A6's credit are paid
    assert Path(paid["file"]).name == "pain.001-DE-EUR-2026-11-r1.xml"
    assert tasks.review_defaults(R + dt.timedelta(days=4), settings)["DE"] == {
        "raised": 4, "defaulted": 0}


def test_payments_dags_wire_the_task_functions(tmp_path):
    from airflow.dag_processing.dagbag import DagBag

    from casslink.settings import get_settings
    from tests.conftest import airflow_environ

    s = get_settings().with_home(tmp_path / "af")
    with airflow_environ(s, 18081):
        bags = [DagBag(dag_folder=str(s.dags_dir / f"{name}.py"))
                for name in ("casslink_payments", "casslink_statements")]
    assert [b.import_errors for b in bags] == [{}, {}]
    payments, stmts = bags[0].dags["casslink_payments"], bags[1].dags["casslink_statements"]
    assert {t.task_id for t in payments.tasks} == {"periods", "collect", "payout", "review"}
    assert payments.get_task("payout").upstream_task_ids == {"collect"}
    assert [t.task_id for t in stmts.tasks] == ["import_statements"]


def test_a_manual_run_names_its_period(tmp_path):
    """The payments and settlement DAGs' manual runs: ``conf`` names the operation and the
    period, by id or by a date inside it (else the run's day decides); an unknown one fails."""
    import datetime as dt

    from casslink.app import payment_tasks, tasks

    settings, engine = reference_root(tmp_path / "var")
    engine.dispose()
    day = dt.date(2026, 12, 9)  # before DE 2026-11 is collected: only the conf names it
    item = {"operation": "DE", "period": "2026-11"}
    for conf, on in (({"operation": "de", "period": "2026-11"}, day),
                     ({"operation": "DE", "period": "2026-11-30"}, day),
                     ({"operation": "DE"}, dt.date(2026, 11, 1))):
        assert payment_tasks.periods_to_collect(on, conf, settings) == [item]
    assert tasks.periods_due(day, {"operation": "DE", "period": "2026-11", "rebill": 1},
                             settings) == [{**item, "rebill": True}]
    with pytest.raises(ValueError, match="no period '2026-13' in the DE calendar"):
        tasks.periods_due(day, {"operation": "DE", "period": "2026-13"}, settings)
