"""The ingest path on a real data root and database (SQLite and PostgreSQL): verdicts, acks in
the sender's outbox, warehouse parts, archive/quarantine, duplicates, sandbox, retries, CLI."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pyarrow.compute as pc
import pytest

from casslink import registry, warehouse
from casslink.app.ingest import ingest_file, land_and_ingest
from casslink.app.synthetic.generator import corrupt_bytes, generate_billing
from casslink.canonical import agent_net
from casslink.db.engine import session_scope
from casslink.db.models import LandedFile
from casslink.parsers.hot import write_hot
from casslink.participants import resolve
from casslink.validators.ack import parse_fixed


@pytest.fixture(scope="module")
def files(ref, tmp_path_factory):
    """Clean DE 2026-11 billing files of two airlines, and a faulty copy of the first."""
    out = tmp_path_factory.mktemp("billing")
    gen = generate_billing(ref, "DE", ref.period("DE", "2026-11"), 300, seed=21)
    gen = sorted(gen, key=lambda f: -f.records.num_rows)[:2]
    paths = {}
    for f in gen:
        p = out / f"{f.airline_prefix}_DE_2026-11_01.hot"
        p.write_bytes(write_hot(f.header, f.records, f.charges))
        paths[f.airline_prefix] = (p, f)
    first = gen[0]
    bad = out / f"{first.airline_prefix}_DE_2026-11_02_bad.hot"
    bad.write_bytes(corrupt_bytes(write_hot(first.header, first.records, first.charges),
                                  [{"kind": "wrong_trailer_count"}]))
    return paths, bad


def _sum_net(records) -> int:
    return sum(agent_net(r) for r in records.to_pylist())


def _final_places(settings, engine):
    rows = registry.rows(engine)
    return {r.id: Path(r.stored_path).parent.name for r in rows}, rows


def test_accepted_file_is_stored_acked_archived(system, files):
    settings, engine = system
    (path, gen) = next(iter(files[0].values()))
    airline = resolve(engine, gen.airline_prefix)
    res = land_and_ingest(settings, engine, path, airline)
    assert res.verdict == "accepted" and res.state == "archived"
    stored = warehouse.read(settings, "DE", "2026-11")
    assert stored.num_rows == gen.records.num_rows
    assert _sum_net(stored) == _sum_net(gen.records)
    assert pc.all(pc.equal(stored.column("source_file"), registry.get(
        engine, res.file_id).sha256)).as_py()
    outbox = settings.homes_dir / gen.airline_prefix / "outbox"
    ack = parse_fixed((outbox / f"{path.name}.f{res.file_id:06d}.ack").read_bytes())
    assert ack["header"]["verdict"] == "accepted"
    assert ack["header"]["accepted"] == gen.records.num_rows
    assert ack["findings"] == []
    currencies = set(gen.records.column("currency").to_pylist())
    assert {t["currency"] for t in ack["totals"]} == currencies
    for t in ack["totals"]:
        signed = -t["agent_net"] if t["sign"] == "-" else t["agent_net"]
        assert signed == _sum_net(gen.records.filter(pc.equal(gen.records.column("currency"),
                                                              t["currency"])))
        assert t["count"] == gen.records.filter(pc.equal(gen.records.column("currency"),
                                                         t["currency"])).num_rows
    text = (outbox / f"{path.name}.f{res.file_id:06d}.ack.txt").read_text()
    assert "VERDICT       ACCEPTED" in text and path.name in text
    places, _ = _final_places(settings, engine)
    assert places[res.file_id] == "archive"
    assert not list(settings.landing_dir.iterdir())


def test_duplicate_file_and_logical_duplicate(system, files):
    settings, engine = system
    (path, gen) = next(iter(files[0].values()))
    airline = resolve(engine, gen.airline_prefix)
    first = land_and_ingest(settings, engine, path, airline)
    again = land_and_ingest(settings, engine, path, airline)
    assert again.verdict == "rejected" and "HOT-E601" in again.codes
    assert "HOT-E603" not in again.codes  # a resent file gets no record-by-record report
    # same logical file (airline, DE, 2026-11, no. 01) with other bytes: one AWB fewer
    data = path.read_bytes().split(b"\r\n")
    variant = path.with_name("variant.hot")
    variant.write_bytes(b"\r\n".join(data[:1] + data[3:]))
    third = land_and_ingest(settings, engine, variant, airline)
    assert "HOT-E602" in third.codes and third.verdict == "rejected"
    stored = warehouse.read(settings, "DE", "2026-11")
    assert stored.num_rows == gen.records.num_rows  # billed once
    places, rows = _final_places(settings, engine)
    assert places == {first.file_id: "archive", again.file_id: "quarantine",
                      third.file_id: "quarantine"}
    verdict_json = settings.quarantine_dir / f"{rows[1].sha256}.f{again.file_id:06d}.verdict.json"
    assert json.loads(verdict_json.read_text())["verdict"] == "rejected"


def test_rejected_file_quarantined_with_readable_ack(system, files):
    settings, engine = system
    _, bad = files
    prefix = bad.name[:3]
    res = land_and_ingest(settings, engine, bad, resolve(engine, prefix))
    assert res.verdict == "rejected" and res.state == "quarantined"
    assert "HOT-E104" in res.codes
    assert warehouse.read(settings, "DE", "2026-11").num_rows == 0
    ack = parse_fixed(Path(res.acks[0]).read_bytes())
    assert any(f["code"] == "HOT-E104" and f["severity"] == "file" for f in ack["findings"])
    assert ack["trailer"]["errors"] == len(ack["findings"])


def test_sandbox_never_reaches_the_warehouse(system, files):
    settings, engine = system
    (path, gen) = next(iter(files[0].values()))
    airline = resolve(engine, gen.airline_prefix)
    sand = land_and_ingest(settings, engine, path, airline, sandbox=True)
    assert sand.verdict == "accepted" and sand.stored == []
    assert warehouse.parts(settings, "DE") == []
    assert Path(sand.acks[1]).read_text().count("validation only") == 1
    # the same bytes sent for real afterwards are not a duplicate of the sandbox copy
    real = land_and_ingest(settings, engine, path, airline)
    assert real.verdict == "accepted" and real.stored
    places, _ = _final_places(settings, engine)
    assert set(places.values()) == {"archive"}


def test_retry_after_a_crash_stores_once(system, files):
    settings, engine = system
    (path, gen) = list(files[0].values())[1]
    airline = resolve(engine, gen.airline_prefix)
    res = land_and_ingest(settings, engine, path, airline)
    # a crash after storing but before the registry moved on: the task runs again
    with session_scope(engine) as s:
        s.get(LandedFile, res.file_id).state = "landed"
    again = ingest_file(settings, engine, res.file_id)
    assert again.verdict == "accepted" and again.codes == []
    assert warehouse.read(settings, "DE", "2026-11").num_rows == gen.records.num_rows
    done = ingest_file(settings, engine, res.file_id)
    assert done.already_done and done.verdict == "accepted"


@pytest.mark.parametrize("code_form", ["prefix", "designator"])
def test_cli_ingest_and_validate(home, files, repo, code_form, ref):
    exe = Path(sys.executable).parent / "casslink"
    (path, gen) = next(iter(files[0].values()))
    code = gen.airline_prefix if code_form == "prefix" else ref.airlines[
        gen.airline_prefix].designator
    ok = subprocess.run([str(exe), "validate", str(path), "--participant", code, "--json"],
                        capture_output=True, text=True)
    assert ok.returncode == 0, ok.stderr
    assert json.loads(ok.stdout)["verdict"] == "accepted"
    bad = subprocess.run([str(exe), "validate", str(files[1])], capture_output=True, text=True)
    assert bad.returncode == 1 and "HOT-E104" in bad.stdout
    subprocess.run([str(exe), "reference", "load"], check=True, capture_output=True)
    ing = subprocess.run([str(exe), "ingest", str(path), "--participant", code, "--json"],
                         capture_output=True, text=True)
    assert ing.returncode == 0, ing.stderr
    assert json.loads(ing.stdout)["state"] == "archived"
    listing = subprocess.run([str(exe), "files", "list", "--participant", code, "--json"],
                             capture_output=True, text=True, check=True)
    rows = json.loads(listing.stdout)
    assert [r["state"] for r in rows] == ["archived"]
    assert rows[0]["participant"] == gen.airline_prefix


def test_xml_file_is_ingested_like_hot_and_acked_in_xml(system, files, tmp_path):
    from lxml import etree

    from casslink.parsers.onerecord.writer import write_xml
    from casslink.parsers.onerecord.xsd import schema

    settings, engine = system
    (path, gen) = next(iter(files[0].values()))
    xml_path = tmp_path / path.name.replace(".hot", ".xml")
    xml_path.write_bytes(write_xml(gen.header, gen.records, gen.charges))
    res = land_and_ingest(settings, engine, xml_path, resolve(engine, gen.airline_prefix))
    assert res.verdict == "accepted" and res.codes == []
    stored = warehouse.read(settings, "DE", "2026-11")
    assert stored.num_rows == gen.records.num_rows
    assert _sum_net(stored) == _sum_net(gen.records)
    ack_xml, ack_txt = (Path(a) for a in res.acks)
    assert ack_xml.name.endswith(".ack.xml") and ack_txt.name.endswith(".ack.txt")
    doc = etree.parse(str(ack_xml))
    assert schema().validate(doc), schema().error_log
    ns = {"cb": "https://w3id.org/casslink/ns/billing#"}
    assert doc.findtext(".//cb:verdict", namespaces=ns) == "accepted"
    assert int(doc.findtext(".//cb:recordsAccepted", namespaces=ns)) == gen.records.num_rows
    # the same AWBs again as HOT: billed twice -> every record rejected
    again = land_and_ingest(settings, engine, path, resolve(engine, gen.airline_prefix))
    assert again.verdict == "rejected" and "HOT-E602" in again.codes
