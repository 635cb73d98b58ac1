"""Every rule of the catalogue: a case that triggers it (exact code asserted) and clean files
that trigger none; plus the bad-input corpus (garbage, truncation, encodings, huge lines)."""

from __future__ import annotations

import dataclasses
import datetime as dt
import os

import pyarrow as pa
import pyarrow.compute as pc
import pytest

from casslink.app.ingest import validate_bytes
from casslink.app.synthetic.generator import corrupt_bytes, generate_billing
from casslink.parsers.hot import read_hot, write_hot
from casslink.parsers.hot.layouts import BILLING_AWB, BILLING_HEADER, BILLING_TRAILER, CCO, DCR
from casslink.validators.catalogue import RULES
from casslink.validators.context import History, ValidationContext
from casslink.validators.engine import ACCEPTED, PARTIAL, REJECTED, validate

NL = b"\r\n"


@pytest.fixture(scope="module")
def world(ref):
    """The largest clean generated DE billing file (lines as a list), with CCA and DCM pairs."""
    period = ref.period("DE", "2026-11")
    files = generate_billing(ref, "DE", period, 1500, seed=11)
    f = max(files, key=lambda x: x.records.num_rows)
    types = set(f.records.column("record_type").to_pylist())
    assert {"AWB", "CCO", "CCR", "DCO", "DCR"} <= types
    data = write_hot(f.header, f.records, f.charges)
    return {"ref": ref, "period": period, "file": f, "lines": data.split(NL)[:-1],
            "prefix": f.airline_prefix}


def ctx_for(world, **kw) -> ValidationContext:
    base = {"reference": world["ref"], "sender_kind": "airline", "sender_code": world["prefix"],
            "received_on": dt.date(2026, 12, 1)}
    base.update(kw)
    return ValidationContext(**base)


def run(world, lines, **kw):
    data = NL.join(lines) + NL if lines else b""
    _, verdict = validate_bytes(data, "test", ctx_for(world, **kw))
    return verdict


def put(line: bytes, layout, name: str, value: str, kind: str | None = None) -> bytes:
    f = next(x for x in layout.fields if x.name == name and (kind is None or x.kind == kind))
    assert len(value) == f.length, (name, value)
    b = bytearray(line.ljust(layout.width))
    b[f.start - 1:f.end] = value.encode("latin-1")
    return bytes(b)


def first(lines, rid: bytes) -> int:
    return next(i for i, x in enumerate(lines) if x[:3] == rid)


def edit(world, rid: bytes, layout, name: str, value: str, kind=None) -> tuple[list, int]:
    lines = list(world["lines"])
    i = first(lines, rid)
    lines[i] = put(lines[i], layout, name, value, kind)
    return lines, i + 1


def codes(verdict) -> set[str]:
    return {f.code for f in verdict.findings}


# --- clean input triggers nothing ---------------------------------------------------------

@pytest.mark.parametrize("operation,period_id", [("DE", "2026-11"), ("IN", "2026-11-1"),
                                                 ("US", "2026-10-2")])
def test_clean_generated_files_trigger_no_rule(ref, operation, period_id):
    period = ref.period(operation, period_id)
    for f in generate_billing(ref, operation, period, 600, seed=5):
        data = write_hot(f.header, f.records, f.charges)
        ctx = ValidationContext(reference=ref, sender_kind="airline",
                                sender_code=f.airline_prefix, received_on=period.end_date)
        _, verdict = validate_bytes(data, "clean", ctx)
        assert verdict.findings == [], (f.airline_prefix, verdict.findings[:3])
        assert verdict.verdict == ACCEPTED
        assert verdict.accepted_records.num_rows == f.records.num_rows
        assert verdict.accepted_charges.num_rows == f.charges.num_rows


# --- one trigger per rule ------------------------------------------------------------------

def _awb_line(world):
    lines = list(world["lines"])
    return lines, first(lines, b"AWB")


def case_S001(world):
    return run(world, []), None


def case_S002(world):
    lines, line = edit(world, b"AWB", BILLING_AWB, "weight_pp", "00000012A4B5")
    return run(world, lines), line


def case_S003(world):
    lines, line = edit(world, b"AWB", BILLING_AWB, "execution_date", "991399")
    return run(world, lines), line


def case_S004(world):
    lines, line = edit(world, b"AWB", BILLING_AWB, "exchange_rate_e5", "ABCDE.00000")
    return run(world, lines), line


def case_S005(world):
    lines = list(world["lines"])
    lines.insert(3, b"XYZ" + b" " * 247)
    return run(world, lines), 4


def case_S006(world):
    lines, i = _awb_line(world)
    lines[i] = lines[i].ljust(250) + b"EXTRA"
    return run(world, lines), i + 1


def case_S007(world):  # a Windows-1252 e-acute in the agent reference
    lines, line = edit(world, b"AWB", BILLING_AWB, "agent_reference", "CAF\xe9          ")
    return run(world, lines), line


def case_S008(world):
    return run(world, world["lines"][1:]), None


def case_E101(world):
    lines = list(world["lines"])
    lines[0], lines[1] = lines[1], lines[0]
    return run(world, lines), 2


def case_E102(world):
    lines = list(world["lines"])
    lines.insert(1, lines[0])
    return run(world, lines), None


def case_E103(world):
    return run(world, world["lines"][:-1]), None


def case_E104(world):
    lines = list(world["lines"])
    lines[-1] = put(lines[-1], BILLING_TRAILER, "awb_count",
                    f"{int(lines[-1][16:23]) + 1:07d}")
    return run(world, lines), len(lines)


def case_E105(world):
    lines = list(world["lines"])
    lines[-1] = put(lines[-1], BILLING_TRAILER, "hash_total", "000000000001")
    return run(world, lines), len(lines)


def case_W106(world):
    lines = list(world["lines"])
    lines[-1] = put(lines[-1], BILLING_TRAILER, "hash_total", " " * 12)
    return run(world, lines), len(lines)


def case_E107(world):  # an agent cannot send an airline billing file
    return run(world, world["lines"], sender_kind="agent", sender_code="23156130152"), None


def case_E201(world):
    lines, i = _awb_line(world)
    serial = lines[i][19:27].decode()
    bad = serial[:7] + str((int(serial[7]) + 1) % 7)
    lines[i] = put(lines[i], BILLING_AWB, "awb_serial", bad)
    return run(world, lines), i + 1


def case_E202(world):
    lines, i = _awb_line(world)
    code = lines[i][5:16].decode()
    lines[i] = put(lines[i], BILLING_AWB, "agent_code", code[:10] + str((int(code[10]) + 1) % 7))
    return run(world, lines), i + 1


def case_E203(world):
    other = "020" if world["prefix"] != "020" else "057"
    lines, line = edit(world, b"AWB", BILLING_AWB, "airline_prefix", other)
    return run(world, lines), line


def case_E204(world):  # well-formed (0000001000 mod 7 = 6), not registered
    lines, line = edit(world, b"AWB", BILLING_AWB, "agent_code", "00000010006")
    return run(world, lines), line


def case_E205(world):
    lines, line = edit(world, b"AWB", BILLING_AWB, "currency", "XQZ")
    return run(world, lines), line


def case_E206(world):
    lines, line = edit(world, b"AWB", BILLING_AWB, "origin", "F1A")
    return run(world, lines), line


def case_E207(world):
    lines, line = edit(world, b"AWB", BILLING_AWB, "vat_indicator", "Q")
    return run(world, lines), line


def case_E208(world):  # header names another airline than the sender
    other = "020" if world["prefix"] != "020" else "057"
    lines, line = edit(world, b"ALS", BILLING_HEADER, "airline_prefix", other)
    return run(world, lines), line


def case_E209(world):
    lines, line = edit(world, b"ALS", BILLING_HEADER, "operation", "ZZ")
    return run(world, lines), line


def case_E210(world):  # Qantas (081) does not take part in CASS India
    lines, line = edit(world, b"ALS", BILLING_HEADER, "operation", "IN")
    lines[0] = put(lines[0], BILLING_HEADER, "airline_prefix", "081")
    return run(world, lines, sender_code="081"), line


def case_E301(world):
    lines, line = edit(world, b"ALS", BILLING_HEADER, "period_start", "261102")
    return run(world, lines), line


def case_E302(world):
    lines, line = edit(world, b"AWB", BILLING_AWB, "execution_date", "261215")
    return run(world, lines), line


def case_E303(world):
    lines, line = edit(world, b"AWB", BILLING_AWB, "acceptance_date", "260101")
    return run(world, lines), line


def case_W304(world):  # the DE 2026-11 billing date is 2026-12-10
    return run(world, world["lines"], received_on=dt.date(2026, 12, 11)), 1


def case_E305(world):
    lines, line = edit(world, b"AWB", BILLING_AWB, "execution_date", " " * 6)
    return run(world, lines), line


def case_E401(world):
    lines = list(world["lines"])
    i = first(lines, b"CCR")
    del lines[i]
    counts = lines[-1]
    lines[-1] = put(counts, BILLING_TRAILER, "cca_count", f"{int(counts[23:30]) - 1:07d}")
    lines[-1] = put(lines[-1], BILLING_TRAILER, "total_count",
                    f"{int(counts[37:44]) - 1:07d}")
    lines[-1] = put(lines[-1], BILLING_TRAILER, "hash_total", " " * 12)
    return run(world, lines), first(lines, b"CCO") + 1


def case_E402(world):  # the CCO no longer repeats the AWB as billed earlier in the file
    lines = list(world["lines"])
    i = first(lines, b"CCO")
    old = int(lines[i][59:71])
    lines[i] = put(lines[i], CCO, "weight", f"{old + 100:012d}")
    return run(world, lines), i + 1


def case_E403(world):
    lines = list(world["lines"])
    i = first(lines, b"DCR")
    lines[i] = put(lines[i], DCR, "reason", " " * 50)
    return run(world, lines), i + 1


def case_E501(world):  # HOT amounts are unsigned; other readers (XML) could carry a sign
    batch = read_hot(NL.join(world["lines"]) + NL, "t")
    r = batch.records
    idx = r.schema.get_field_index("weight_pp")
    weights = r.column("weight_pp").to_pylist()
    weights[0] = -5
    batch = dataclasses.replace(batch, records=r.set_column(idx, "weight_pp",
                                                            pa.array(weights, pa.int64())))
    return validate(batch, ctx_for(world)), int(r.column("source_line")[0].as_py())


def case_W502(world):
    lines = list(world["lines"])
    i = next(k for k, x in enumerate(lines) if x[:3] == b"AWB" and int(x[151:155]) > 0)
    lines[i] = put(lines[i], BILLING_AWB, "commission", f"{int(lines[i][155:167]) + 999:012d}")
    return run(world, lines), i + 1


def case_E503(world):  # the revised CCA record in another currency than its AWB
    lines = list(world["lines"])
    i = first(lines, b"CCR")
    lines[i] = put(lines[i], CCO, "currency", "USD")
    return run(world, lines), i + 1


def case_W504(world):
    lines = list(world["lines"])
    i = first(lines, b"AW1")
    old = int(lines[i][28:40])
    b = bytearray(lines[i])
    b[28:40] = f"{old + 1:012d}".encode()
    lines[i] = bytes(b)
    return run(world, lines), i  # reported on the AWB line just above its AW1


def case_E601(world):
    hist = History(sha256_seen={"abc": 7})
    return run(world, world["lines"], sha256="abc", history=hist), None


def case_E602(world):
    hist = History(accepted_logical={(world["prefix"], "DE", "2026-11", 1)})
    return run(world, world["lines"], history=hist), 1


def case_E603(world):
    lines = list(world["lines"])
    i = first(lines, b"AWB")
    lines.insert(len(lines) - 1, lines[i])
    counts = lines[-1]
    for name, lo in (("awb_count", 16), ("total_count", 37)):
        counts = put(counts, BILLING_TRAILER, name, f"{int(counts[lo:lo + 7]) + 1:07d}")
    lines[-1] = put(counts, BILLING_TRAILER, "hash_total", " " * 12)
    return run(world, lines), len(lines) - 1


def case_FMT_E001(world):
    zipped = b"PK\x03\x04\x14\x00\x00\x00\x08\x00" + bytes(200)  # a ZIP, not a HOT file
    _, verdict = validate_bytes(zipped, "x", ctx_for(world))
    return verdict, None


def _xml(world) -> bytes:
    from casslink.parsers.onerecord.writer import write_xml

    f = world["file"]
    return write_xml(f.header, f.records, f.charges)


def _run_xml(world, data: bytes, **kw):
    return validate_bytes(data, "x.xml", ctx_for(world, **kw))[1]


def case_XML_S001(world):
    return _run_xml(world, _xml(world).replace(b"</cargo:waybillNumber>", b"</x>", 1)), None


def case_XML_S002(world):
    return _run_xml(world, b'<?xml version="1.0"?><!DOCTYPE x [<!ENTITY a "b">]><x/>'), None


def case_XML_S003(world):
    data = _xml(world).replace(b"<cargo:waybillPrefix>", b"<cargo:bogus/><cargo:waybillPrefix>",
                               1)
    return _run_xml(world, data), None


def case_XML_S004(world):
    return _run_xml(world, _xml(world).replace(b"OtherChargeCode#", b"OtherChargeCode#Q", 1)), \
        None


def case_XML_S005(world):
    from casslink.parsers.onerecord.profile import RDF

    deep = b"<rdf:RDF xmlns:rdf='" + RDF.encode() + b"'>" + b"<a>" * 100 + b"</a>" * 100 + \
        b"</rdf:RDF>"
    return _run_xml(world, deep), None


def case_XML_S006(world):
    return _run_xml(world, b"<?xml version='1.0'?><Invoice xmlns='urn:x'/>"), None


def case_XML_S007(world):
    return _run_xml(world, _xml(world).replace(b"<cb:recordType>AWB<", b"<cb:recordType>XYZ<", 1)
                    ), None


CASES = {name.removeprefix("case_").replace("_", "-"): fn for name, fn in globals().items()
         if name.startswith("case_")}


def test_every_rule_has_a_trigger_case():
    names = {c if c.startswith(("FMT", "XML")) else f"HOT-{c}" for c in CASES}
    assert names == {r.code for r in RULES}


@pytest.mark.parametrize("case", sorted(CASES))
def test_rule_triggers(world, case):
    code = case if case.startswith(("FMT", "XML")) else f"HOT-{case}"
    verdict, line = CASES[case](world)
    hits = [f for f in verdict.findings if f.code == code]
    assert hits, f"{code} not raised; got {[(f.code, f.line) for f in verdict.findings][:8]}"
    rule = next(r for r in RULES if r.code == code)
    if line is not None:
        assert line in {f.line for f in hits}
    if rule.severity == "file" or any(f.severity == "file" for f in hits):
        assert verdict.verdict == REJECTED
        assert verdict.accepted_records.num_rows == 0
    elif rule.severity == "record":
        assert verdict.verdict in (PARTIAL, REJECTED)
        assert verdict.counts["rejected"] >= 1
        if line is not None:
            assert line in verdict.rejected_lines
            assert line not in set(verdict.accepted_records.column("source_line").to_pylist())
    else:
        assert verdict.verdict == ACCEPTED
    for f in hits:
        assert f.message and "{" not in f.message


def test_rejected_correction_takes_its_partner_and_charges(world):
    verdict, line = case_E403(world)  # DCR without reason: the DCO goes too
    kept = verdict.accepted_records
    lines = world["lines"]
    dcr = lines[line - 1]
    number = dcr[32:38].decode()
    both = kept.filter(pc.equal(kept.column("correction_number"), number))
    assert both.num_rows == 0
    ch = verdict.accepted_charges
    assert ch.filter(pc.equal(pc.fill_null(ch.column("correction_number"), ""),
                              number)).num_rows == 0
    assert verdict.verdict == PARTIAL
    total = world["file"].records.num_rows
    assert kept.num_rows == total - 2


# --- the bad-input corpus ------------------------------------------------------------------

def test_binary_garbage_is_rejected_without_crash(world):
    data = os.urandom(5000)
    _, verdict = validate_bytes(data, "junk", ctx_for(world))
    assert verdict.verdict == REJECTED


def test_only_a_header(world):
    verdict = run(world, world["lines"][:1])
    assert {"HOT-E103"} <= codes(verdict)
    assert verdict.verdict == REJECTED


def test_truncated_last_body_line(world):
    lines = list(world["lines"])
    i = max(k for k, x in enumerate(lines) if x[:3] == b"AWB")
    lines[i] = lines[i][:60]  # cut inside the prepaid weight charge (56-67)
    verdict = run(world, lines)
    assert ("HOT-S002", i + 1) in {(f.code, f.line) for f in verdict.findings}
    assert verdict.verdict == PARTIAL


def test_truncated_file_loses_its_trailer(world):
    data = NL.join(world["lines"]) + NL
    _, verdict = validate_bytes(data[: len(data) // 2], "cut", ctx_for(world))
    assert "HOT-E103" in codes(verdict)
    assert verdict.verdict == REJECTED


def test_windows_1252_bytes_name_line_and_raw(world):
    verdict, line = case_S007(world)
    hit = next(f for f in verdict.findings if f.code == "HOT-S007")
    assert hit.line == line and "xe9" in hit.raw


def test_ten_megabyte_single_line(world):
    data = b"AWB" + b"9" * (10 * 1024 * 1024)
    _, verdict = validate_bytes(data, "big", ctx_for(world))
    assert verdict.verdict == REJECTED
    assert {"HOT-S006", "HOT-S008"} <= codes(verdict)


def test_generator_faults_give_their_codes(world):
    f = dataclasses.replace(world["file"])
    faults = [{"kind": "wrong_trailer_count"}, {"kind": "bad_hash_total"}]
    data = corrupt_bytes(write_hot(f.header, f.records, f.charges), faults)
    _, verdict = validate_bytes(data, "faulty", ctx_for(world))
    assert {"HOT-E104", "HOT-E105"} <= codes(verdict)
    assert all(fault["line"] == len(world["lines"]) for fault in faults)


def test_rules_doc_is_current(repo):
    from casslink.validators.docs import DOC_PATH, render

    assert (repo / DOC_PATH).read_text() == render(), "run: python -m casslink.validators.docs"
    text = render()
    assert all(f"`{r.code}`" in text for r in RULES)
