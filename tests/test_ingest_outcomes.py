"""What ingest records and what settlement reads (issue 21 items 2, 3, 6, 7, 9): only parts
committed by an archived outcome are billed; any exception ends in a rejection; a file with
no open period to bill it is rejected; a late file's acks say LATE and where it is billed."""

from __future__ import annotations

import logging
from pathlib import Path

import pytest
from sqlalchemy import select, update

from casslink import registry, warehouse
from casslink.app import ingest as ingest_mod
from casslink.app.ingest import billing_period, land_and_ingest
from casslink.app.synthetic.generator import generate_billing
from casslink.db.engine import session_scope
from casslink.db.models import BillingPeriod, LandedFile
from casslink.parsers.hot import write_hot
from casslink.participants import resolve
from casslink.reference import load_reference
from casslink.settlement.run import read_ledger, settle
from casslink.validators.ack import parse_fixed


@pytest.fixture(scope="module")
def two_files(ref, tmp_path_factory):
    """Two small clean DE 2026-11 billing files of two airlines."""
    out = tmp_path_factory.mktemp("outcomes")
    gen = generate_billing(ref, "DE", ref.period("DE", "2026-11"), 60, seed=3)[:2]
    paths = []
    for f in gen:
        p = out / f"{f.airline_prefix}_DE_2026-11_01.hot"
        p.write_bytes(write_hot(f.header, f.records, f.charges))
        paths.append((p, f))
    return paths


def _set_status(engine, **status_by_period) -> None:
    with session_scope(engine) as s:
        for period, status in status_by_period.items():
            s.execute(update(BillingPeriod).where(BillingPeriod.operation_code == "DE",
                                                  BillingPeriod.period_id == period)
                      .values(status=status))


def test_settlement_reads_only_parts_committed_by_an_archived_outcome(system, two_files):
    """Parts of a crashed attempt (row still landed) or of a quarantined file lie in the
    period folder; settlement bills neither - only the archived file's part."""
    settings, engine = system
    (good, g1), (other, g2) = two_files
    ok = land_and_ingest(settings, engine, good, resolve(engine, g1.airline_prefix))
    assert ok.verdict == "accepted"
    # a crash right after storing: the second file's part is on disk, its row still landed
    stuck = registry.land_copy(settings, engine, other, resolve(engine, g2.airline_prefix).id,
                               other.name, "cli")
    warehouse.store(settings, "DE", "2026-11", stuck, g2.records, g2.charges)
    # a quarantined file whose part was written by an attempt that then rejected it
    with session_scope(engine) as s:
        s.add(LandedFile(sha256="0" * 64, size=1, original_name="q.hot", channel="cli",
                         state="quarantined", verdict="rejected", family="billing",
                         operation_code="DE", period_id="2026-11", billed_period_id="2026-11",
                         part_name=warehouse.part_name(99)))
    warehouse.store(settings, "DE", "2026-11", 99, g2.records, g2.charges)
    result = settle(settings, engine, "DE", "2026-11")
    lines = read_ledger(Path(result.ledger_dir))["lines"]
    assert result.input_files == 1
    assert lines.num_rows == g1.records.num_rows
    assert set(lines.column("airline_prefix").to_pylist()) == {g1.airline_prefix}


@pytest.mark.parametrize("where", ["read_any_file", "validate"])
def test_any_exception_inside_ingest_ends_in_a_rejection_ack(system, two_files, monkeypatch,
                                                             caplog, where):
    settings, engine = system
    path, gen = two_files[0]

    def boom(*args, **kwargs):
        raise RuntimeError("secret internals at 0xdeadbeef")

    monkeypatch.setattr(ingest_mod, where, boom)
    with caplog.at_level(logging.ERROR, logger="casslink.ingest"):
        res = land_and_ingest(settings, engine, path, resolve(engine, gen.airline_prefix))
    assert res.verdict == "rejected" and res.state == "quarantined"
    assert res.codes == ["ING-E900"] and res.stored == []
    assert registry.pending(engine) == []  # never a stuck landed row
    fixed, text = (Path(a).read_bytes() for a in res.acks)
    assert [f["code"] for f in parse_fixed(fixed)["findings"]] == ["ING-E900"]
    for ack in (fixed, text):
        assert b"secret" not in ack and b"Traceback" not in ack
    assert b"internal error while reading the file" in text
    assert "secret internals" in caplog.text and "Traceback" in caplog.text
    assert registry.accepted_parts(engine, "DE") == []


def _close_from(engine, period_id: str, status: str) -> None:
    """Every DE period from ``period_id`` on (the calendar runs 18 months ahead) gets
    ``status``: no open period is left to bill a file in."""
    with session_scope(engine) as s:
        start = s.scalars(select(BillingPeriod.start_date).where(
            BillingPeriod.operation_code == "DE", BillingPeriod.period_id == period_id)).one()
        s.execute(update(BillingPeriod).where(BillingPeriod.operation_code == "DE",
                                              BillingPeriod.start_date >= start)
                  .values(status=status))


def test_billing_period_never_falls_back_into_a_closed_period(system):
    settings, engine = system
    _close_from(engine, "2026-11", "billed")
    ref = load_reference(settings)
    assert billing_period(ref, "DE", ref.period("DE", "2026-11")) is None
    _set_status(engine, **{"2026-12": "open"})
    ref = load_reference(settings)
    assert billing_period(ref, "DE", ref.period("DE", "2026-11")) == ("2026-12", True)
    assert billing_period(ref, "DE", ref.period("DE", "2026-12")) == ("2026-12", False)


def test_a_file_with_no_open_period_to_bill_it_is_rejected(system, two_files):
    settings, engine = system
    path, gen = two_files[0]
    _close_from(engine, "2026-12", "closed")
    _set_status(engine, **{"2026-11": "billed"})
    res = land_and_ingest(settings, engine, path, resolve(engine, gen.airline_prefix))
    assert res.verdict == "rejected" and "ING-E310" in res.codes
    assert res.stored == [] and res.billed_period_id == ""
    assert registry.accepted_parts(engine, "DE") == []
    assert warehouse.parts(settings, "DE") == []
    text = Path(res.acks[1]).read_text()
    assert "ING-E310" in text and "2026-11" in text


def test_a_late_file_is_acknowledged_late_with_its_billing_period(system, two_files, tmp_path):
    from lxml import etree

    from casslink.parsers.onerecord.writer import write_xml
    from casslink.parsers.onerecord.xsd import schema

    settings, engine = system
    (path, g1), (_, g2) = two_files
    _set_status(engine, **{"2026-11": "billed"})
    res = land_and_ingest(settings, engine, path, resolve(engine, g1.airline_prefix))
    assert res.verdict == "accepted" and res.late and res.billed_period_id == "2026-12"
    assert [a.period_id for a in registry.accepted_parts(engine, "DE")] == ["2026-12"]
    head = parse_fixed(Path(res.acks[0]).read_bytes())["header"]
    assert (head["late"], head["billed_period"], head["period"]) == ("L", "2026-12", "2026-11")
    text = Path(res.acks[1]).read_text()
    assert "LATE" in text and "billed in period 2026-12" in text
    # the XML form, for an XML sender
    xml_path = tmp_path / f"{g2.airline_prefix}_late.xml"
    xml_path.write_bytes(write_xml(g2.header, g2.records, g2.charges))
    res = land_and_ingest(settings, engine, xml_path, resolve(engine, g2.airline_prefix))
    assert res.verdict == "accepted" and res.late
    doc = etree.parse(res.acks[0])
    assert schema().validate(doc), schema().error_log
    ns = {"cb": "https://w3id.org/casslink/ns/billing#"}
    assert doc.findtext(".//cb:late", namespaces=ns) == "true"
    assert doc.findtext(".//cb:billedPeriod", namespaces=ns) == "2026-12"


def test_an_on_time_ack_says_nothing_of_lateness(system, two_files):
    settings, engine = system
    path, gen = two_files[0]
    res = land_and_ingest(settings, engine, path, resolve(engine, gen.airline_prefix))
    head = parse_fixed(Path(res.acks[0]).read_bytes())["header"]
    assert (head["late"], head["billed_period"]) == ("", "2026-11")
    assert "LATE" not in Path(res.acks[1]).read_text()


def test_a_file_over_the_size_limit_is_rejected_before_it_is_read(system, two_files,
                                                                  monkeypatch):
    settings, engine = system
    path, gen = two_files[0]
    monkeypatch.setattr(ingest_mod, "MAX_FILE_BYTES", path.stat().st_size - 1)

    def never(*args, **kwargs):
        raise AssertionError("the file was read")

    monkeypatch.setattr(ingest_mod, "read_any_file", never)
    res = land_and_ingest(settings, engine, path, resolve(engine, gen.airline_prefix))
    assert res.verdict == "rejected" and res.codes == ["ING-E901"]


def test_ingest_never_reads_a_big_file_of_an_unknown_format_into_memory(system, tmp_path):
    """A 32 MiB file of zero bytes (what a sparse write leaves): rejected from its first
    bytes, with a few MiB of memory at most."""
    import tracemalloc

    settings, engine = system
    big = tmp_path / "zeros.bin"
    with open(big, "wb") as fh:
        fh.truncate(32 << 20)
    who = resolve(engine, "020")
    file_id = registry.land_copy(settings, engine, big, who.id, big.name, "cli")
    tracemalloc.start()
    try:
        res = ingest_mod.ingest_file(settings, engine, file_id)
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    assert res.verdict == "rejected" and res.codes == ["FMT-E001"]
    assert peak < 4 << 20, f"peak {peak} bytes"


def test_landing_the_same_bytes_again_resumes_only_an_unfinished_file(system, two_files):
    """The same bytes from the same sender by the same channel, still landed (a crashed
    ingest): the same file id. Another channel, or after the file was processed: a new one."""
    settings, engine = system
    path, gen = two_files[0]
    who = resolve(engine, gen.airline_prefix).id
    first = registry.land_copy(settings, engine, path, who, path.name, "cli")
    assert registry.land_copy(settings, engine, path, who, "renamed.hot", "cli") == first
    sandbox = registry.land_copy(settings, engine, path, who, path.name, "sandbox")
    assert sandbox != first
    ingest_mod.ingest_file(settings, engine, first)
    again = registry.land_copy(settings, engine, path, who, path.name, "cli")
    assert again not in (first, sandbox)
    assert registry.pending(engine) == [sandbox, again]


def _next_period(ref, period_id: str) -> str:
    start = ref.period("DE", period_id).start_date
    return min((p for p in ref.periods_of("DE") if p.start_date > start),
               key=lambda p: p.start_date).period_id


def test_a_pin_after_the_period_closed_bills_the_file_in_the_next_period(system, two_files):
    """The ingest read its reference while 2026-11 was open; a settlement closed the period
    before the file was pinned. The pin reads the period under its row lock and bills the file
    in the next open period, late - never in the closed one."""
    settings, engine = system
    path, gen = two_files[0]
    stale = load_reference(settings)  # 2026-11 open here
    assert stale.period("DE", "2026-11").status == "open"
    _set_status(engine, **{"2026-11": "closed"})
    file_id = registry.land_copy(settings, engine, path, resolve(engine, gen.airline_prefix).id,
                                 path.name, "cli")
    result = ingest_mod.ingest_file(settings, engine, file_id, reference=stale)
    assert result.verdict == "accepted"
    assert (result.billed_period_id, result.late) == (_next_period(stale, "2026-11"), True)
    head = parse_fixed(Path(result.acks[0]).read_bytes())["header"]
    assert (head["late"], head["billed_period"]) == ("L", result.billed_period_id)


def test_settlement_waits_for_files_pinned_to_its_period(system, two_files):
    """A file pinned to the period but not recorded yet (its ingest still running, or killed)
    would miss the bill: the settlement closes the period, then refuses while such a file
    exists; once the file's ingest finishes, the settlement bills it."""
    from casslink.settlement.run import SettlementError

    settings, engine = system
    path, gen = two_files[0]
    file_id = registry.land_copy(settings, engine, path, resolve(engine, gen.airline_prefix).id,
                                 path.name, "cli")
    registry.pin(engine, file_id, "DE", "2026-11", "2026-11", False)
    with pytest.raises(SettlementError, match=f"files {file_id} are billed in this period"):
        settle(settings, engine, "DE", "2026-11")
    assert load_reference(settings).period("DE", "2026-11").status == "closed"
    assert ingest_mod.ingest_file(settings, engine, file_id).billed_period_id == "2026-11"
    lines = read_ledger(Path(settle(settings, engine, "DE", "2026-11").ledger_dir))["lines"]
    assert lines.num_rows == gen.records.num_rows
