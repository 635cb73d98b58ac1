"""Settings, migrations (SQLite and PostgreSQL) and the reference world."""

from __future__ import annotations

import dataclasses
import datetime as dt
import itertools

import pytest
from sqlalchemy import func, inspect, select

from casslink.db.engine import current_revision, make_engine, session_scope, upgrade
from casslink.db.models import BillingPeriod, Operation, Participant, TaxRuleRow
from casslink.identifiers import agent_code
from casslink.reference import ReferenceData, ReferenceError, check, load_into_db
from casslink.settings import REPO_ROOT, get_settings


def test_settings_defaults(monkeypatch):
    for k in ("CASSLINK_HOME", "CASSLINK_DB_URL", "CASSLINK_GATEWAY_PORT", "CASSLINK_AIRFLOW_URL"):
        monkeypatch.delenv(k, raising=False)
    s = get_settings()
    assert s.home == REPO_ROOT / "var"
    assert s.db_url == f"sqlite:///{REPO_ROOT / 'var' / 'casslink.db'}"
    assert (s.gateway_host, s.gateway_port) == ("127.0.0.1", 2222)
    assert s.airflow_url == "http://127.0.0.1:8080"
    assert s.dags_dir == REPO_ROOT / "dags"


def test_settings_from_env(monkeypatch, tmp_path):
    monkeypatch.setenv("CASSLINK_HOME", str(tmp_path / "root"))
    monkeypatch.setenv("CASSLINK_GATEWAY_PORT", "2022")
    monkeypatch.setenv("CASSLINK_AIRFLOW_URL", "http://127.0.0.1:9999/")
    monkeypatch.setenv("CASSLINK_DB_URL", "postgresql+psycopg://u@h/db")
    s = get_settings().ensure_dirs()
    assert s.home == tmp_path / "root"
    assert s.gateway_port == 2022 and s.airflow_url == "http://127.0.0.1:9999"
    assert s.db_url == "postgresql+psycopg://u@h/db"
    for d in ("homes", "landing", "quarantine", "archive", "warehouse", "outputs", "logs",
              "secrets", "airflow"):
        assert (tmp_path / "root" / d).is_dir()
    assert (tmp_path / "root" / "secrets").stat().st_mode & 0o077 == 0
    with pytest.raises(dataclasses.FrozenInstanceError):
        s.home = tmp_path  # type: ignore[misc]


def test_migrations_create_schema(db_url):
    upgrade(db_url)
    upgrade(db_url)  # idempotent
    from alembic.script import ScriptDirectory

    from casslink.db.engine import alembic_config, engine_for

    heads = ScriptDirectory.from_config(alembic_config(db_url)).get_heads()
    assert len(heads) == 1, f"the migrations have {len(heads)} heads: {heads}"
    assert current_revision(db_url) == heads[0]
    with engine_for(db_url) as engine:
        tables = set(inspect(engine).get_table_names())
    assert {"operations", "billing_periods", "participants", "users", "files",
            "reference_versions", "calendar_rules", "login_lockouts", "alembic_version"} <= tables


def test_reference_load_into_db(db_url, repo):
    upgrade(db_url)
    engine = make_engine(db_url)
    today = dt.date(2026, 12, 6)
    try:
        counts = load_into_db(engine, repo / "fixtures" / "reference", today)
        load_into_db(engine, repo / "fixtures" / "reference", today)  # upsert: no duplicates
        with session_scope(engine) as s:
            assert s.scalar(select(func.count()).select_from(Operation)) == 8
            assert s.scalar(select(func.count()).select_from(BillingPeriod)) == counts["periods"]
            agents = s.scalar(select(func.count()).select_from(Participant).where(
                Participant.kind == "agent"))
            assert agents == counts["agents"] == 60 + 5 * 4  # DE IN US; PK CN JP KR FR
            assert s.scalar(select(func.count()).select_from(TaxRuleRow)) == 15  # loaded once
        from_db = ReferenceData.from_db(engine)
    finally:
        engine.dispose()
    from_files = ReferenceData.from_fixtures(repo / "fixtures" / "reference", today)
    assert from_db.periods == from_files.periods
    assert from_db.rules == from_files.rules and set(from_db.rules) == {
        "DE", "IN", "US", "PK", "CN", "JP", "KR", "FR"}
    assert from_db.tax_rules == from_files.tax_rules and len(from_db.tax_rules["DE"]) == 6
    assert set(from_db.agents) == set(from_files.agents)
    assert from_db.digest == from_files.digest


def test_fixture_world_shape(ref):
    freqs = {o.billing_frequency for o in ref.operations.values()}
    assert len(ref.operations) >= 3 and len(freqs) >= 3
    assert {o.settlement_currency for o in ref.operations.values()} == {
        "EUR", "INR", "USD", "PKR", "CNY", "JPY", "KRW"}
    assert 8 <= len(ref.airlines) <= 15 and 50 <= len(ref.agents) <= 80
    for op in ref.operations:  # every operation has agents and airlines to bill them
        assert any(g.operation == op for g in ref.agents.values()), op
        assert any(op in a.operations for a in ref.airlines.values()), op
    published = [p for p in ref.periods.values() if p.source == "published"]
    assert len([p for p in published if p.operation == "DE"]) == 12
    assert len([p for p in published if p.operation == "IN"]) == 24


def test_every_agent_has_a_valid_check_digit(ref):
    for code in ref.agents:
        first10 = int(code[:10])
        assert int(code[10]) == first10 % 7, code
        assert agent_code.is_valid(code)


def test_calendars_are_sane(repo):
    ref = ReferenceData.from_fixtures(repo / "fixtures" / "reference", dt.date(2026, 12, 6))
    assert check(ref) == []
    for op in ref.operations:
        periods = ref.periods_of(op)
        assert periods[0].start_date == dt.date(2026, 1, 1)
        assert periods[-1].contains(dt.date(2028, 6, 6))  # 18 months after 2026-12-06
        for a, b in itertools.pairwise(periods):
            assert b.start_date == a.end_date + dt.timedelta(days=1)
        for p in periods:
            assert p.correction_cutoff <= p.billing_date <= p.remittance_date
            assert p.billing_date.weekday() < 5 and p.remittance_date.weekday() < 5


def test_period_resolution(repo):
    ref = ReferenceData.from_fixtures(repo / "fixtures" / "reference", dt.date(2026, 12, 6))
    assert ref.resolve_period("DE", "2026-11").end_date == dt.date(2026, 11, 30)
    assert ref.resolve_period("IN", "2026-11-20").period_id == "2026-11-2"
    assert ref.resolve_period("US", "2026-02-15").period_id == "2026-02-1"
    assert ref.resolve_period("DE", "2027-01").end_date == dt.date(2027, 1, 31)
    # outside the published calendar (through 2028-06-30): no period, never a neighbour
    assert ref.resolve_period("DE", "2028-07") is None
    assert ref.resolve_period("DE", "2028-07-01") is None
    assert ref.period_for_date("IN", dt.date(2028, 7, 1)) is None
    assert ref.resolve_period("US", "2025-12-31") is None
    assert ref.period_for_date("US", dt.date(2025, 12, 31)) is None
    assert ref.airline("LH").prefix == "020" and ref.airline("020").designator == "LH"


def test_broken_reference_is_refused(tmp_path, repo):
    import shutil

    folder = tmp_path / "ref"
    shutil.copytree(repo / "fixtures" / "reference", folder)
    agents = (folder / "agents.csv").read_text().splitlines()
    code = agents[1].split(",")[0]
    agents[1] = agents[1].replace(code, code[:10] + str((int(code[10]) + 1) % 7), 1)
    (folder / "agents.csv").write_text("\n".join(agents) + "\n")
    problems = check(ReferenceData.from_fixtures(folder))
    assert any("bad check digit" in p for p in problems)
    engine = make_engine(f"sqlite:///{tmp_path / 'x.db'}")
    upgrade(f"sqlite:///{tmp_path / 'x.db'}")
    with pytest.raises(ReferenceError):
        load_into_db(engine, folder)
    engine.dispose()


def test_files_accepted_before_revision_0007_stay_billed(db_url):
    """Revision 0007 records each file's committed part; files archived before it get their
    first attempt's part name, so settlement still reads them (and a sandbox or rejected
    file still gets none)."""
    from sqlalchemy import text

    from casslink import registry
    from casslink.db.engine import engine_for

    upgrade(db_url, "0006")
    with engine_for(db_url) as engine, engine.begin() as conn:
        for fid, state, channel, billed in ((1, "archived", "sftp", "2026-11"),
                                            (2, "archived", "sandbox", None),
                                            (3, "quarantined", "sftp", None)):
            conn.execute(text(
                "INSERT INTO files (id, sha256, size, original_name, channel, landed_at, state,"
                " stored_path, operation_code, period_id, billed_period_id, family)"
                " VALUES (:id, :sha, 1, 'f.hot', :channel, CURRENT_TIMESTAMP, :state, '',"
                " 'DE', '2026-11', :billed, 'billing')"),
                {"id": fid, "sha": f"{fid:064d}", "channel": channel, "state": state,
                 "billed": billed})
    upgrade(db_url)
    with engine_for(db_url) as engine:
        parts = registry.accepted_parts(engine, "DE", "2026-11")
    assert [(p.file_id, p.part_name) for p in parts] == [(1, "file-000001.parquet")]
