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
from casslink.validators.catalogue import BY_CODE, RULES
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


def case_S009(world):  # the last AWB cut inside its prepaid weight charge (56-67)
    lines = list(world["lines"])
    i = max(k for k, x in enumerate(lines) if x[:3] == b"AWB")
    lines[i] = lines[i][:60]
    return run(world, lines), i + 1


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


def case_W404(world):  # other charges due carrier prepaid, due agent collect
    lines = list(world["lines"])
    i = next(k for k, x in enumerate(lines) if x[:3] == b"AWB" and int(x[79:91]) > 0
             and int(x[139:151]) == 0)
    lines[i] = put(lines[i], BILLING_AWB, "oc_agent_cc", f"{100:012d}")
    return run(world, lines), i + 1


def case_E403(world):
    lines = list(world["lines"])
    i = first(lines, b"DCR")
    lines[i] = put(lines[i], DCR, "reason", " " * 50)
    return run(world, lines), i + 1


def case_E405(world):  # an XML correction could hold both sides; the HOT layout cannot
    batch = read_hot(NL.join(world["lines"]) + NL, "t")
    r = batch.records
    i = r.column("record_type").to_pylist().index("CCR")
    pp, cc = r.column("weight_pp").to_pylist(), r.column("weight_cc").to_pylist()
    pp[i], cc[i] = 1_000, 2_000
    for name, values in (("weight_pp", pp), ("weight_cc", cc)):
        r = r.set_column(r.schema.get_field_index(name), name, pa.array(values, pa.int64()))
    batch = dataclasses.replace(batch, records=r)
    return validate(batch, ctx_for(world)), int(r.column("source_line")[i].as_py())


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


def case_XML_S008(world):
    data = _xml(world)
    start = data.index(b"<cb:BatchHeader")
    end = data.index(b"</cb:BatchHeader>") + len(b"</cb:BatchHeader>")
    return _run_xml(world, data[:start] + data[end:]), None


def case_XML_E602(world):  # the same rule as HOT-E602, named for the format it was found in
    hist = History(accepted_logical={(world["prefix"], "DE", "2026-11", 1)})
    return _run_xml(world, _xml(world), history=hist), None


def case_XML_S007(world):
    return _run_xml(world, _xml(world).replace(b"<cb:recordType>AWB<", b"<cb:recordType>XYZ<", 1)
                    ), None


def case_ING_E310(world):
    import dataclasses

    from casslink.app.ingest import apply_billing_period

    ref = world["ref"]  # every period billed: none open to bill the file in
    billed = dataclasses.replace(ref, periods={k: dataclasses.replace(p, status="billed")
                                               for k, p in ref.periods.items()})
    batch, verdict = validate_bytes(NL.join(world["lines"]) + NL, "test",
                                    ctx_for(world, reference=billed))
    return apply_billing_period(billed, batch, verdict)[1], None


def case_ING_E900(world):
    from casslink.app.ingest import guarded

    return guarded(lambda: 1 / 0, "test")[1], None


def case_ING_E901(world):
    import tempfile
    from pathlib import Path

    from casslink.app import ingest
    from casslink.settings import get_settings

    limit = ingest.MAX_FILE_BYTES
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "big.hot"
        path.write_bytes(NL.join(world["lines"]) + NL)
        try:
            ingest.MAX_FILE_BYTES = path.stat().st_size - 1
            return ingest.validate_file(get_settings(), path, ctx_for(world)).verdict, None
        finally:
            ingest.MAX_FILE_BYTES = limit


def case_W701(world):  # DE's rules in verify mode; one AWB's VAT on commission 0.50 too high
    rules = {"DE": tuple(dataclasses.replace(r, mode="verify")
                         for r in world["ref"].tax_rules["DE"])}
    lines = list(world["lines"])
    i = next(k for k, x in enumerate(lines) if x[:3] == b"AWB" and int(x[223:235]) > 0)
    lines[i] = put(lines[i], BILLING_AWB, "tax_agent", f"{int(lines[i][223:235]) + 50:012d}")
    return run(world, lines, reference=dataclasses.replace(world["ref"], tax_rules=rules)), i + 1


def case_W702(world):  # an airport the data set does not know
    lines, line = edit(world, b"AWB", BILLING_AWB, "destination", "XQX")
    return run(world, lines), line


CASES = {name.removeprefix("case_").replace("_", "-"): fn for name, fn in globals().items()
         if name.startswith("case_")}


def _code(case: str) -> str:
    return case if case.startswith(("FMT", "XML", "ING")) else f"HOT-{case}"


def test_every_rule_has_a_trigger_case():
    """Every code has a case, except a business rule's XML- code (the same check as its HOT-
    code; XML cases below cover the prefix)."""
    names = {_code(c) for c in CASES}
    required = {code for r in RULES for code in r.codes
                if not (code.startswith("XML-") and r.number[0] in "EW")}
    assert required <= names <= {code for r in RULES for code in r.codes}


@pytest.mark.parametrize("case", sorted(CASES))
def test_rule_triggers(world, case):
    code = _code(case)
    verdict, line = CASES[case](world)
    hits = [f for f in verdict.findings if f.code == code]
    assert hits, f"{code} not raised; got {[(f.code, f.line) for f in verdict.findings][:8]}"
    rule = BY_CODE[code]
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


def test_truncated_line_gets_a_length_finding_not_field_findings(world):
    verdict, line = case_S009(world)
    on_line = [f for f in verdict.findings if f.line == line]
    assert [(f.code, f.message) for f in on_line] == [
        ("HOT-S009", "line is 60 bytes, expected 250")]
    assert verdict.verdict == PARTIAL and line in verdict.rejected_lines


def test_right_trimmed_lines_are_not_truncated(world):
    """A line without its trailing blanks reads as before; a bad field on it stays a field
    finding (the line does not end inside that field)."""
    lines = [x.rstrip(b" ") for x in world["lines"]]
    assert run(world, lines).findings == []
    i = first(lines, b"AWB")
    lines[i] = put(lines[i], BILLING_AWB, "weight_pp", "00000012A4B5").rstrip(b" ")
    assert len(lines[i]) < 250
    assert [f.code for f in run(world, lines).findings] == ["HOT-S002"]


def test_too_long_line_gets_only_its_length_finding(world):
    lines, i = _awb_line(world)
    lines[i] = lines[i][:40] + b"X" + lines[i][40:]  # every later field shifted by one
    verdict = run(world, lines)
    assert [(f.code, f.message) for f in verdict.findings if f.line == i + 1] == [
        ("HOT-S006", "line is 251 bytes, expected 250")]


def test_junk_file_leads_with_its_root_cause(world):
    """A text file that is no CASS file: one finding, the missing header, which counts the
    findings that follow from it (unknown record types, missing trailer, unknown operation)."""
    junk = b"".join(b"Dear CASS, please find our invoice %d attached.\r\n" % i
                    for i in range(40))
    _, verdict = validate_bytes(junk, "letter.txt", ctx_for(world))
    assert verdict.verdict == REJECTED
    assert [f.code for f in verdict.findings] == ["HOT-S008"]
    assert verdict.findings[0].message.startswith("the file has no header record (")
    left_out = verdict.counts["not_listed"]
    assert left_out >= 40 + 2  # 40 unknown record types, no trailer, no operation
    assert f"({left_out} findings that follow from it not listed)" in \
        verdict.findings[0].message


def test_unreadable_header_leads(world):
    lines = list(world["lines"])
    lines[0] = put(lines[0], BILLING_HEADER, "period_start", "26AB01")
    verdict = run(world, lines)
    assert verdict.verdict == REJECTED
    assert [(f.code, f.line) for f in verdict.findings] == [("HOT-S003", 1)]
    assert verdict.counts["not_listed"] >= 1  # the period is unknown (E301)


def test_xml_files_get_xml_codes_only(world):
    """No HOT- code ever names a finding in an XML file (the same rules, their XML- codes)."""
    cases = [case_XML_S008(world)[0], case_XML_E602(world)[0],
             _run_xml(world, _xml(world).replace(b"<cargo:waybillNumber>",
                                                 b"<cargo:waybillNumber>9", 1))]
    found = [f.code for v in cases for f in v.findings]
    assert found and all(c.startswith("XML-") for c in found), found


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
    assert codes(verdict) == {"HOT-S008"} and verdict.counts["not_listed"] >= 1


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
    assert all(f"`{c}`" in text for r in RULES for c in r.codes)
    for old, new in (("HOT-S008", "XML-S008"), ("HOT-E602", "XML-E602")):
        assert f"| `{old}` | `{new}` |" in text  # the old -> new table names the renames


# --- HOT-E402 compares what a correction can express; the CHGS rule (HOT-W404) -------------

def _correction_file(world, awb: dict[str, int], oc_agent: tuple[str, int]) -> list[bytes]:
    """Header, one AWB (amounts ``awb``), and a CCA pair whose CCO repeats weight and other
    charges due carrier and carries ``oc_agent`` (P/C, amount): lines typed from the spec's
    positions (cass-file-formats.md 2.3 and 3.1), only the header taken from the world."""
    from tests.hotlines import line

    src = world["lines"][first(world["lines"], b"AWB")].decode("ascii")
    agent, prefix, serial = src[5:16], src[16:19], src[19:27]
    origin, dest, executed, cur = src[29:32], src[35:38], src[38:44], src[52:55]
    amounts = {"weight_pp": 0, "valuation_pp": 0, "oc_carrier_pp": 0, "oc_agent_pp": 0,
               "weight_cc": 0, "valuation_cc": 0, "oc_carrier_cc": 0, "oc_agent_cc": 0, **awb}
    at = dict(zip(amounts, range(56, 152, 12), strict=True))
    awb_line = line("AWB", (6, agent), (17, prefix), (20, serial), (30, origin), (33, "R"),
                    (36, dest), (39, executed), (45, "0001000"), (52, "K"), (53, cur),
                    *((at[k], f"{v:012d}") for k, v in amounts.items()),
                    (152, "0000"), (156, "0" * 12), (169, "0" * 12), (181, executed),
                    (201, "00000.00000"), (212, "0" * 12), (224, "0" * 12))

    def correction(rid: str, weight: int) -> str:
        return line(rid, (6, prefix), (9, serial), (19, origin), (22, agent), (33, "CA0001"),
                    (39, cur), (42, "00000.00000"), (53, executed),
                    (59, "P"), (60, f"{weight:012d}"), (72, "P"), (73, "0" * 12),
                    (85, "P"), (86, "0" * 12), (98, oc_agent[0]), (99, f"{oc_agent[1]:012d}"),
                    (111, "P"), (112, f"{amounts['oc_carrier_pp']:012d}"),
                    *((p, "0" * 12) for p in (124, 136, 148, 160)), (173, "K"),
                    (174, "0001000"), (181, dest), (201, "corrected weight"))

    trailer = line("TTT", (4, "DE"), (6, prefix), (17, "0000001"), (24, "0000002"),
                   (31, "0000000"), (38, "0000003"), (57, "0" * 7), (64, "0" * 7),
                   (71, "0" * 7))
    return [world["lines"][0], awb_line.encode(), correction("CCO", amounts["weight_pp"]).encode(),
            correction("CCR", amounts["weight_pp"] - 1000).encode(), trailer.encode()]


def _e402_w404(world, awb, oc_agent):
    verdict = run(world, _correction_file(world, awb, oc_agent))
    return ([(f.line, f.field) for f in verdict.findings if f.code == "HOT-E402"],
            [(f.line, f.field) for f in verdict.findings if f.code == "HOT-W404"], verdict)


def test_correction_of_an_awb_with_mixed_agent_charges_is_not_rejected(world):
    """The AWB has 3.00 prepaid + 2.00 collect due agent; the CCO can carry one amount, 5.00
    with one indicator: its original is right. The AWB breaks the CHGS rule: a warning."""
    base = {"weight_pp": 100_000, "oc_carrier_pp": 5_000}
    e402, w404, verdict = _e402_w404(world, {**base, "oc_agent_pp": 300, "oc_agent_cc": 200},
                                     ("C", 500))
    assert e402 == [] and w404 == [(2, "other charges")]
    assert verdict.verdict == ACCEPTED and verdict.accepted_records.num_rows == 3


def test_correction_original_amount_or_side_that_differs_is_rejected(world):
    base = {"weight_pp": 100_000, "oc_carrier_pp": 5_000}
    mixed = {**base, "oc_agent_pp": 300, "oc_agent_cc": 200}
    assert _e402_w404(world, mixed, ("C", 400))[0] == [(3, "oc_agent")]  # 4.00 != 5.00
    collect = {"weight_pp": 100_000, "oc_agent_cc": 500}
    e402, w404, verdict = _e402_w404(world, collect, ("P", 500))  # billed collect, O says P
    assert e402 == [(3, "oc_agent_pc")] and w404 == []
    assert "P != billed C" in next(f.message for f in verdict.findings if f.code == "HOT-E402")
    assert verdict.verdict == PARTIAL and verdict.rejected_lines == [3, 4]  # the pair goes
    e402, w404, verdict = _e402_w404(world, collect, ("C", 500))
    assert e402 == w404 == [] and verdict.verdict == ACCEPTED


def test_unreadable_xml_header_leads(world):
    """An XML header that fails the profile XSD (it spans lines): its finding comes alone, the
    unknown operation that follows from it is counted, not listed."""
    data = _xml(world).replace(b"<cb:cassOperation>", b"<cb:bogus/><cb:cassOperation>", 1)
    verdict = _run_xml(world, data)
    assert verdict.verdict == REJECTED
    assert [(f.code, f.record_type) for f in verdict.findings] == [
        ("XML-S003", "cb:BatchHeader")]
    assert verdict.counts["not_listed"] >= 1  # XML-E209: the operation is unknown


def test_every_unreadable_line_is_rejected_however_many(world):
    """The listing is capped, the judgement is not: 500+ AWB lines with a letter in the
    prepaid weight charge are all rejected (past the 200th they were accepted with no
    weight charge), and the ack lists 200 of them plus one "... and N more like this"."""
    lines = list(world["lines"])
    bad = [i for i, x in enumerate(lines) if x[:3] == b"AWB"]
    assert len(bad) > 400
    for i in bad:
        lines[i] = put(lines[i], BILLING_AWB, "weight_pp", "00000000X000")
    verdict = run(world, lines)
    kept = verdict.accepted_records
    assert kept.filter(pc.equal(kept.column("record_type"), "AWB")).num_rows == 0
    assert {i + 1 for i in bad} <= set(verdict.rejected_lines)
    s002 = [f for f in verdict.findings if f.code == "HOT-S002"]
    assert len(s002) == 201 and s002[0].message == f"... and {len(bad) - 200} more like this"


def test_a_trailer_finding_past_the_listing_limit_still_rejects_the_file(world):
    lines = list(world["lines"])
    awbs = [i for i, x in enumerate(lines) if x[:3] == b"AWB"][:210]
    for i in awbs:
        lines[i] = put(lines[i], BILLING_AWB, "agent_reference", "CAF\xe9          ")
    lines[-1] = lines[-1][:200] + b"\xe9" + lines[-1][201:]  # the trailer's reserved filler
    verdict = run(world, lines)
    assert verdict.verdict == REJECTED
    assert ("HOT-S007", "file") in {(f.code, f.severity) for f in verdict.findings
                                    if f.line == len(lines)}
