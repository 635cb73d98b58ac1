"""DAG-folder integrity: every DAG file imports without errors and without DB or network work."""

from __future__ import annotations

import socket

import pytest


@pytest.fixture(scope="module")
def airflow_env(tmp_path_factory):
    """Point Airflow at the project's config with a throwaway home, before airflow is imported."""
    from casslink.settings import get_settings
    from tests.conftest import airflow_environ

    s = get_settings().with_home(tmp_path_factory.mktemp("af"))
    with airflow_environ(s, 18080):
        yield s


def test_dag_folder_imports_cleanly_without_io(airflow_env, monkeypatch):
    from airflow.dag_processing.dagbag import DagBag

    def no_network(*args, **kwargs):
        raise AssertionError("DAG file opened a network connection at import")

    import sqlalchemy

    def no_db(*args, **kwargs):
        raise AssertionError("DAG file created a database engine at import")

    bag_holder = {}
    # build the bag first (Airflow itself may touch its DB), then re-import each file guarded
    bag_holder["bag"] = DagBag(dag_folder=str(airflow_env.dags_dir))
    bag = bag_holder["bag"]
    assert bag.import_errors == {}
    assert "casslink_reference_sync" in bag.dag_ids
    monkeypatch.setattr(socket.socket, "connect", no_network)
    monkeypatch.setattr(sqlalchemy, "create_engine", no_db)
    import importlib.util

    for path in sorted(airflow_env.dags_dir.glob("*.py")):
        spec = importlib.util.spec_from_file_location(f"_guard_{path.stem}", path)
        module = importlib.util.module_from_spec(spec)
        spec.loader.exec_module(module)


def test_reference_dag_task_is_the_loader(airflow_env, monkeypatch, tmp_path):
    """The DAG's task callable, run without Airflow, loads the reference world."""
    from airflow.dag_processing.dagbag import DagBag

    monkeypatch.setenv("CASSLINK_HOME", str(tmp_path / "var"))
    monkeypatch.delenv("CASSLINK_DB_URL", raising=False)
    bag = DagBag(dag_folder=str(airflow_env.dags_dir))
    dag = bag.dags["casslink_reference_sync"]
    counts = dag.get_task("load_reference").python_callable()
    periods = counts.pop("periods")  # the 2026 calendars and 18 months ahead of today
    assert counts == {"operations": 8, "airlines": 14, "agents": 80, "tax rules": 15}
    assert periods > 60


def test_a_rejected_file_is_a_successful_run_with_the_verdict_in_its_note(
        airflow_env, home, monkeypatch, repo, ref, tmp_path):
    """A business rejection is an outcome, not a failure: the ingest run succeeds, its note
    says REJECTED with the codes, and the ``rejected`` task runs (skipped for an accepted
    file). Red is left for technical failures."""
    from airflow.dag_processing.dagbag import DagBag
    from airflow.utils import db

    import casslink.sftp_gateway.notify as notify
    from casslink import registry
    from casslink.app.synthetic.generator import generate_billing
    from casslink.db.engine import make_engine, upgrade
    from casslink.parsers.hot import write_hot
    from casslink.participants import resolve
    from casslink.reference import load_into_db
    from casslink.settings import get_settings

    settings = get_settings().ensure_dirs()
    upgrade(settings.db_url)
    engine = make_engine(settings.db_url)
    load_into_db(engine, repo / "fixtures" / "reference")
    lh = next(f for f in generate_billing(ref, "DE", ref.period("DE", "2026-11"), 40, seed=5)
              if f.airline_prefix == "020")
    good, junk = tmp_path / "LH_DE_2026-11_01.hot", tmp_path / "LH_junk.hot"
    good.write_bytes(write_hot(lh.header, lh.records, lh.charges))
    junk.write_bytes(b"THIS IS NOT A CASS FILE\r\n")
    who = resolve(engine, "020")
    ids = {p.name: registry.land_copy(settings, engine, p, who.id, p.name, "sftp", "lh-ops")
           for p in (good, junk)}
    engine.dispose()
    notes = []
    monkeypatch.setattr(notify, "annotate_run",
                        lambda dag_id, run_id, note: notes.append((run_id, note)))

    db.resetdb()
    dag = DagBag(dag_folder=str(airflow_env.dags_dir)).dags["casslink_ingest"]
    runs = {name: dag.test(run_conf={"file_id": file_id}) for name, file_id in ids.items()}

    for run in runs.values():
        assert str(run.state) == "success"
    tasks = {name: {ti.task_id: str(ti.state) for ti in run.get_task_instances()}
             for name, run in runs.items()}
    assert tasks[junk.name] == {"ingest": "success", "verdict": "success",
                                "rejected": "success"}
    assert tasks[good.name] == {"ingest": "success", "verdict": "success",
                                "rejected": "skipped"}
    by_run = dict(notes)
    assert by_run[runs[junk.name].run_id].startswith(f"REJECTED: file {ids[junk.name]} ")
    assert "HOT-" in by_run[runs[junk.name].run_id]
    assert by_run[runs[good.name].run_id].startswith("ACCEPTED")


def test_verdict_note_says_what_happened_to_the_file():
    from casslink.app.tasks import verdict_check

    base = {"file_id": 9, "name": "QF_DE_2026-11_01.hot", "participant": "081", "codes": [],
            "operation": "DE", "billed_period": "2026-11", "channel": "inbox"}
    assert verdict_check({**base, "verdict": "accepted"}) == {
        "rejected": False,
        "note": "ACCEPTED: file 9 QF_DE_2026-11_01.hot from 081 - billed in DE 2026-11"}
    sandbox = verdict_check({**base, "verdict": "accepted", "channel": "sandbox"})
    assert sandbox["note"].endswith("sandbox: validated only, never billed")
    partly = verdict_check({**base, "verdict": "accepted_with_rejections",
                            "codes": ["HOT-E201"]})
    assert partly["note"].startswith("ACCEPTED WITH REJECTIONS: file 9 ") and \
        "(HOT-E201)" in partly["note"] and not partly["rejected"]
    rejected = verdict_check({**base, "verdict": "rejected", "codes": ["HOT-E104"]})
    assert rejected["rejected"] and rejected["note"].startswith("REJECTED: file 9 ")
    assert "nothing billed" in rejected["note"] and len(rejected["note"]) <= 1000


def test_invoicing_follows_settlement_through_an_asset(airflow_env):
    """The settlement's settle task emits PERIOD_SETTLED; the invoices DAG is scheduled on
    it, issues before it renders (mapped over chunks) and writes the register last."""
    from airflow.dag_processing.dagbag import DagBag

    bag = DagBag(dag_folder=str(airflow_env.dags_dir))
    settle = bag.dags["casslink_settlement"].get_task("settle")
    assert [a.name for a in settle.outlets] == ["casslink_period_settled"]
    invoices = bag.dags["casslink_invoices"]
    assert type(invoices.timetable).__name__ == "AssetTriggeredTimetable"
    assert [a.name for a in invoices.timetable.asset_condition.objects] == [
        "casslink_period_settled"]
    assert invoices.max_active_runs == 1
    # one issue and one register per period (a failing period stops no other); the chunks
    # of every period issued are rendered side by side
    assert invoices.get_task("issue").upstream_task_ids == {"periods"}
    assert invoices.get_task("chunks").upstream_task_ids == {"issue"}
    assert invoices.get_task("chunks").trigger_rule == "all_done"
    assert invoices.get_task("render").upstream_task_ids == {"chunks"}
    assert invoices.get_task("register").upstream_task_ids == {"periods", "render"}
    mapped = {t.task_id for t in invoices.tasks if type(t).__name__.endswith("MappedOperator")}
    assert mapped == {"issue", "render", "register"}
    # the chunks task flattens the periods' chunks, leaving out a period that failed (no XCom)
    assert invoices.get_task("chunks").python_callable([[["A1", "A2"], ["A3"]], None,
                                                        [["B1"]]]) == [["A1", "A2"], ["A3"],
                                                                       ["B1"]]


def test_the_periods_task_reads_the_triggering_settlement_events(airflow_env):
    """The asset-triggered path: the ``periods`` task's callable gets the settlement's asset
    events (objects with ``.extra``) and issues each period once, in the order settled; a
    manual run's conf wins."""
    from types import SimpleNamespace

    from airflow.dag_processing.dagbag import DagBag

    bag = DagBag(dag_folder=str(airflow_env.dags_dir))
    periods = bag.dags["casslink_invoices"].get_task("periods").python_callable
    event = lambda op, period, run: SimpleNamespace(
        extra={"operation": op, "period": period, "run_id": run})
    events = {"casslink_period_settled": [event("DE", "2026-11", 4), event("fr", "2026-11", 5),
                                          event("DE", "2026-11", 6), event("XX", "2026-11", 7)]}
    blank = {"operation": "", "period": ""}
    assert periods(params=blank, dag_run=SimpleNamespace(conf={}),
                   triggering_asset_events=events) == [
        {"operation": "DE", "period": "2026-11"}, {"operation": "FR", "period": "2026-11"}]
    manual = SimpleNamespace(conf={"operation": "de", "period": "2026-10"})
    assert periods(params=blank, dag_run=manual, triggering_asset_events={}) == [
        {"operation": "DE", "period": "2026-10"}]
    assert periods(params=blank, dag_run=None, triggering_asset_events=None) == []


def test_invoice_periods_come_from_the_conf_or_the_settlement_events(home):
    from casslink.app.tasks import invoice_periods, settled_event
    from casslink.settings import get_settings

    s = get_settings()
    event = settled_event({"operation": "DE", "period": "2026-11", "run_id": 4,
                           "ledger": "/x", "kind": "billing", "total": 1, "currency": "EUR"})
    assert event == {"operation": "DE", "period": "2026-11", "run_id": 4}  # ids only
    fr = {"operation": "FR", "period": "2026-11", "run_id": 5}
    # a run triggered by several settlements issues each period once, in the order settled
    assert invoice_periods({"operation": "", "period": ""}, [event, fr, event], s) == [
        {"operation": "DE", "period": "2026-11"}, {"operation": "FR", "period": "2026-11"}]
    # a manual run issues what its conf says; an operation without rules issues nothing
    assert invoice_periods({"operation": "jp", "period": "2026-11"}, [event], s) == [
        {"operation": "JP", "period": "2026-11"}]
    assert invoice_periods({}, [{"operation": "XX", "period": "2026-11"}], s) == []
