"""Two uploads of the same bytes processed at once are billed once (exactly-once across
files, not only across attempts of one file): the second outcome to commit finds its twin
billed, is rolled back, and the file's next attempt rejects it as a duplicate (E601)."""

from __future__ import annotations

from pathlib import Path

import pyarrow.compute as pc

from casslink import registry
from casslink.app import ingest
from casslink.app.synthetic.generator import generate_billing
from casslink.parsers import read_any
from casslink.parsers.hot import write_hot
from casslink.participants import resolve
from casslink.settlement.ledger import ledger_lines
from casslink.settlement.run import read_ledger, settle
from tests.ledger_sums import untaxed_net


def test_the_same_bytes_landed_twice_at_once_are_billed_once(system, ref, tmp_path,
                                                             monkeypatch):
    settings, engine = system
    gen = generate_billing(ref, "DE", ref.period("DE", "2026-11"), 40, seed=11)[0]
    path = tmp_path / f"{gen.airline_prefix}_DE_2026-11_01.hot"
    path.write_bytes(write_hot(gen.header, gen.records, gen.charges))
    airline = resolve(engine, gen.airline_prefix)
    first = registry.land_copy(settings, engine, path, airline.id, path.name, "inbox")
    twin = registry.land_copy(settings, engine, path, airline.id, path.name, "cli")
    assert first != twin

    # the twin is processed completely while the first file's attempt is between its
    # validation (no earlier file with these bytes) and its commit
    real_move = ingest.move_original
    interleaved = []

    def move_then_let_the_twin_finish(a):
        if a.file_id == first and not interleaved:
            interleaved.append(ingest.ingest_file(settings, engine, twin))
        return real_move(a)

    monkeypatch.setattr(ingest, "move_original", move_then_let_the_twin_finish)
    result = ingest.ingest_file(settings, engine, first)

    (twin_result,) = interleaved
    assert twin_result.verdict == "accepted" and twin_result.state == "archived"
    assert result.verdict == "rejected" and result.state == "quarantined"
    assert "HOT-E601" in result.codes and result.stored == []
    rows = {r.id: r for r in registry.rows(engine)}
    assert rows[first].part_name is None and rows[twin].part_name is not None
    assert [p.file_id for p in registry.accepted_parts(engine, "DE", "2026-11")] == [twin]

    settled = settle(settings, engine, "DE", "2026-11")
    assert settled.records == gen.records.num_rows  # each record once
    assert settled.input_files == 1
    own = ledger_lines(read_any(path.read_bytes(), rows[twin].sha256)[1].records, "DE",
                       "2026-11", "EUR")
    lines = read_ledger(Path(settled.ledger_dir))["lines"]
    assert settled.total == pc.sum(lines.column("net")).as_py()  # VAT per bill, its rules'
    assert untaxed_net(lines) == untaxed_net(own) != 0
