"""``casslink settle --preview`` writes nothing and says so; ``settlement show`` names each
run's kind; counts in the CLI's text are pluralised correctly."""

from __future__ import annotations

import hashlib
import json
from pathlib import Path

from sqlalchemy import MetaData, select
from typer.testing import CliRunner

from casslink.app.cli.main import app
from casslink.app.cli.text import counts_text, plural, table
from casslink.settlement.run import settle
from tests.test_settlement import EXPECTED_AGENTS, hand_period, rec, store

runner = CliRunner()


def database_rows(engine) -> dict[str, list[tuple]]:
    """Every row of every table of the project database, sorted."""
    meta = MetaData()
    meta.reflect(engine)
    with engine.connect() as conn:
        return {name: sorted(map(tuple, conn.execute(select(t)).all()), key=repr)
                for name, t in sorted(meta.tables.items())}


def file_tree(root: Path) -> dict[str, str]:
    """Every folder and file under the data root: path -> sha256 of the bytes ("dir")."""
    return {str(p.relative_to(root)): "dir" if p.is_dir() else
            hashlib.sha256(p.read_bytes()).hexdigest() for p in sorted(root.rglob("*"))}


def cli(*args: str):
    result = runner.invoke(app, list(args))
    assert result.exception is None or isinstance(result.exception, SystemExit), \
        result.exception
    return result


def test_preview_rebill_writes_nothing_and_says_preview(system):
    s, engine = system
    lh, af = hand_period()
    store(s, 1, lh)
    store(s, 2, af)
    billed = settle(s, engine, "DE", "2026-11")
    extra = 100  # one new AWB of 1.00 EUR makes the billed period's inputs change
    store(s, 3, [rec("AWB", "020", "44444443", "23156130152", source="file-c", line=2,
                     weight_pp=extra)])
    before = (database_rows(engine), file_tree(s.home))

    text = cli("settle", "--operation", "DE", "--period", "2026-11", "--preview", "--rebill")
    as_json = cli("settle", "--operation", "DE", "--period", "2026-11", "--preview",
                  "--rebill", "--json")
    refused = cli("settle", "--operation", "DE", "--period", "2026-11", "--preview")

    assert (database_rows(engine), file_tree(s.home)) == before  # nothing written at all
    assert text.exit_code == 0 and as_json.exit_code == 0
    lines = text.stdout.strip().splitlines()
    assert lines and all("preview" in line.lower() for line in lines)
    assert "77620" not in text.stdout and "776.20" in text.stdout  # 775.20 + 1.00 EUR
    data = json.loads(as_json.stdout)
    assert data["preview"] is True and data["kind"] == "preview"
    assert data["would_be"] == "rebill" and data["run_id"] == 0 and data["ledger_dir"] == ""
    assert data["total"] == sum(EXPECTED_AGENTS.values()) + extra == billed.total + extra
    # without --rebill the preview of a changed billed period is refused like the real run
    assert refused.exit_code == 1 and "settlement preview failed" in refused.stderr

    real = cli("settle", "--operation", "DE", "--period", "2026-11", "--rebill")
    first_line = real.stdout.splitlines()[0]
    assert real.exit_code == 0 and "(rebill)" in first_line and "preview" not in first_line.lower()
    assert database_rows(engine) != before[0]


def test_preview_leaves_an_open_period_open(system):
    from casslink.db.models import BillingPeriod, SettlementRun

    s, engine = system
    lh, _ = hand_period()
    store(s, 1, lh)
    before = (database_rows(engine), file_tree(s.home))
    result = settle(s, engine, "DE", "2026-11", preview=True)
    assert (database_rows(engine), file_tree(s.home)) == before
    assert result.kind == "preview" and result.would_be == "regular"
    assert result.total == 110050 - 1500 - 100000  # DE computes VAT: see hand_period
    with engine.connect() as conn:
        assert conn.execute(select(SettlementRun.id)).all() == []
        status = conn.execute(select(BillingPeriod.status).where(
            BillingPeriod.operation_code == "DE", BillingPeriod.period_id == "2026-11")).scalar()
    assert status == "open"


def test_settlement_show_names_every_runs_kind(system):
    s, engine = system
    lh, af = hand_period()
    store(s, 1, lh)
    store(s, 2, af)
    first = settle(s, engine, "DE", "2026-11")
    settle(s, engine, "DE", "2026-11")  # same inputs: a repeat
    store(s, 3, [rec("AWB", "020", "44444443", "23156130152", source="file-c", line=2,
                     weight_pp=100)])
    rebill = settle(s, engine, "DE", "2026-11", rebill=True)
    settle(s, engine, "DE", "2026-11", preview=True)  # not a run: not listed

    data = json.loads(cli("settlement", "show", "--operation", "DE", "--period", "2026-11",
                          "--json").stdout)
    assert [(r["run_id"], r["kind"]) for r in data["runs"]] == [
        (first.run_id, "regular"), (first.run_id + 1, "repeat"), (rebill.run_id, "rebill")]
    assert data["run_id"] == rebill.run_id and data["kind"] == "rebill"
    out = cli("settlement", "show", "--operation", "DE", "--period", "2026-11").stdout
    assert f"run {rebill.run_id} (rebill)" in out
    rows = out.split("runs:\n", 1)[1].splitlines()
    assert rows[0].split() == ["run", "kind", "status", "started", "records", "total"]
    assert [r.split()[:3] for r in rows[1:4]] == [
        [str(first.run_id), "regular", "succeeded"],
        [str(first.run_id + 1), "repeat", "succeeded"],
        [str(rebill.run_id), "rebill", "succeeded"]]
    # A1 is billed by two airlines, A2 too: "2 airlines"; never "1 airlines"
    assert "1 airlines" not in out and "1 agents" not in out and "1 AWBs" not in out


def test_counted_nouns():
    assert plural(1, "airline") == "1 airline"
    assert plural(0, "airline") == "0 airlines"
    assert plural(2, "file") == "2 files"
    assert plural(1, "entry", many="entries") == "1 entry"
    assert plural(1, "agent", 4) == "   1 agent " and plural(12, "agent", 4) == "  12 agents"
    assert counts_text({"operations": 3, "airlines": 1, "agents": 0}) == \
        "3 operations, 1 airline, 0 agents"


def test_table_has_a_header_and_aligned_columns():
    lines = table(("ID", "NAME"), [(7, "a"), (123, "bb")], right=(0,))
    assert lines == [" ID  NAME", "  7  a", "123  bb"]  # headers aligned as their column
