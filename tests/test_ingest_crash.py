"""kill -9 at every step of ``casslink ingest``, then a retry: every file is billed exactly once,
and a rejected file never (issue 21 item 2).

Each step's file is a different airline's clean billing file. ``casslink ingest`` runs in a
subprocess with ``CASSLINK_FAULT=<area>:<step>`` (it dies by SIGKILL at that step); the same
command is then run again without the fault. The period is then settled and its ledger
compared with the ledger of the input files' own records (each once), computed straight
from the generated tables - no warehouse, no registry.
"""

from __future__ import annotations

import signal
import subprocess
from pathlib import Path

import pyarrow as pa
import pyarrow.compute as pc
import pytest
from sqlalchemy import select, update

from casslink import registry, warehouse
from casslink.app.ingest import land_and_ingest
from casslink.app.synthetic.generator import corrupt_bytes, generate_billing
from casslink.db.engine import session_scope
from casslink.db.models import BillingPeriod, LandedFile
from casslink.parsers import read_any
from casslink.parsers.hot import write_hot
from casslink.participants import resolve
from casslink.settlement.ledger import ledger_lines
from casslink.settlement.run import read_ledger, settle
from tests.crash_cli import casslink
from tests.ledger_sums import untaxed_net

STEPS = ("land:copied", "ingest:parsed", "ingest:validated", "ingest:pinned", "ingest:stored",
         "ingest:acked", "ingest:moved", "ingest:recorded")


@pytest.fixture(scope="module")
def billing_files(ref, tmp_path_factory):
    """Ten small clean DE 2026-11 files, one per airline: one per crash step, and one more
    whose copy with a wrong trailer count is the rejected file."""
    out = tmp_path_factory.mktemp("crash")
    gen = generate_billing(ref, "DE", ref.period("DE", "2026-11"), 120, seed=5)
    assert len(gen) >= len(STEPS) + 1
    files = []
    for f in gen:
        path = out / f"{f.airline_prefix}_DE_2026-11_01.hot"
        path.write_bytes(write_hot(f.header, f.records, f.charges))
        files.append((path, f))
    path, f = files[len(STEPS)]
    bad = out / f"{f.airline_prefix}_DE_2026-11_01_bad.hot"
    bad.write_bytes(corrupt_bytes(path.read_bytes(), [{"kind": "wrong_trailer_count"}]))
    return files[:len(STEPS)], (bad, f)


def _cli(settings, path: Path, who: str, fault: str | None) -> subprocess.CompletedProcess:
    return casslink(settings, "ingest", str(path), "--participant", who, "--json", fault=fault)


def _rows_of(engine, sha: str) -> list[LandedFile]:
    with session_scope(engine) as s:
        rows = list(s.scalars(select(LandedFile).where(LandedFile.sha256 == sha)
                                 .order_by(LandedFile.id)))
        for r in rows:
            s.expunge(r)
        return rows


def _expected_lines(paths: list[Path], shas: list[str]) -> pa.Table:
    """The ledger lines of the accepted files' own records, each record once: the files
    parsed afresh, straight into the ledger (no warehouse, no registry)."""
    tables = [read_any(p.read_bytes(), sha)[1].records for p, sha in zip(paths, shas,
                                                                          strict=True)]
    return ledger_lines(pa.concat_tables(tables), "DE", "2026-11", "EUR")


def test_kill_9_at_every_step_then_retry_bills_each_file_once(system, billing_files):
    settings, engine = system
    files, (bad, bad_gen) = billing_files
    shas = []
    for (path, gen), fault in zip(files, STEPS, strict=True):
        crashed = _cli(settings, path, gen.airline_prefix, fault)
        assert crashed.returncode == -signal.SIGKILL, (fault, crashed.stdout, crashed.stderr)
        before = {r.id for r in registry.rows(engine)}
        # the retry: the same command, no fault
        retry = land_and_ingest(settings, engine, path, resolve(engine, gen.airline_prefix))
        if fault == "ingest:recorded":  # it had finished: the same bytes again are a duplicate
            assert retry.verdict == "rejected" and "HOT-E601" in retry.codes
            assert retry.file_id not in before and retry.stored == []
            first, again = _rows_of(engine, registry.get(engine, retry.file_id).sha256)
            assert (first.state, again.state) == ("archived", "quarantined")
            shas.append(first.sha256)
            continue
        assert retry.verdict == "accepted", (fault, retry.codes)
        row = registry.get(engine, retry.file_id)
        shas.append(row.sha256)
        mine = _rows_of(engine, row.sha256)
        assert [r.id for r in mine] == [retry.file_id], f"{fault}: one row per file"
        if fault != "land:copied":  # the crashed run had registered it: same id resumed
            assert retry.file_id in before, fault
        assert row.state == "archived" and row.billed_period_id == "2026-11"

    # a rejected file, killed after its ack, then retried: quarantined, never billed
    crashed = _cli(settings, bad, bad_gen.airline_prefix, "ingest:acked")
    assert crashed.returncode == -signal.SIGKILL
    rejected = land_and_ingest(settings, engine, bad, resolve(engine, bad_gen.airline_prefix))
    assert rejected.verdict == "rejected" and rejected.state == "quarantined"
    assert "HOT-E104" in rejected.codes
    bad_sha = registry.get(engine, rejected.file_id).sha256

    result = settle(settings, engine, "DE", "2026-11")
    lines = read_ledger(Path(result.ledger_dir))["lines"]
    expected = _expected_lines([p for p, _ in files], shas)
    assert lines.num_rows == expected.num_rows == sum(g.records.num_rows for _, g in files)
    assert result.total == pc.sum(lines.column("net")).as_py()  # the VAT per bill (own rules)
    assert untaxed_net(lines) == untaxed_net(expected) != 0
    got_keys = sorted(zip(lines.column("source_file").to_pylist(),
                          lines.column("source_line").to_pylist(), strict=True))
    assert got_keys == sorted(zip(expected.column("source_file").to_pylist(),
                                  expected.column("source_line").to_pylist(), strict=True))
    assert len(set(got_keys)) == len(got_keys)  # no record twice
    assert bad_sha not in set(lines.column("source_file").to_pylist())
    # the parts crashed attempts left were never read, and are gone once a retry committed
    assert len(warehouse.parts(settings, "DE", "2026-11")) == len(files)
    assert result.input_files == len(files)


def test_a_retry_after_the_period_closed_keeps_the_pinned_period(system, billing_files):
    settings, engine = system
    path, gen = billing_files[0][0]
    crashed = _cli(settings, path, gen.airline_prefix, "ingest:stored")
    assert crashed.returncode == -signal.SIGKILL
    (row,) = registry.rows(engine)
    assert row.state == "landed" and row.billed_period_id == "2026-11" and row.pinned_at
    with session_scope(engine) as s:  # the period closes (its settlement starts)
        s.execute(update(BillingPeriod).where(BillingPeriod.operation_code == "DE",
                                              BillingPeriod.period_id == "2026-11")
                  .values(status="closed"))
    retry = land_and_ingest(settings, engine, path, resolve(engine, gen.airline_prefix))
    assert retry.file_id == row.id and retry.verdict == "accepted"
    assert retry.billed_period_id == "2026-11" and not retry.late
    assert registry.accepted_parts(engine, "DE", "2026-12") == []
    (part,) = registry.accepted_parts(engine, "DE", "2026-11")
    assert (part.file_id, part.part_name) == (row.id, warehouse.part_name(row.id, 2))
    assert [p.name for p in warehouse.parts(settings, "DE", "2026-11")] == [part.part_name]
    # the settlement that closed the period bills it (it refused while the file was in flight)
    lines = read_ledger(Path(settle(settings, engine, "DE", "2026-11").ledger_dir))["lines"]
    assert lines.num_rows == gen.records.num_rows
