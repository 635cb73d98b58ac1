"""Fuzzing the readers and the ingest path with structural mutations of valid files.

Seeds: the example XML fixtures, a synthetic billing file written as HOT and as profile XML,
the synthetic XML padded past 64 KiB, and a small Cargo-XML XFWB e-AWB. Mutations: delete,
duplicate or swap lines and XML elements, truncate, insert a DOCTYPE or entity declaration
or reference at any offset (also past 64 KiB), flip bytes, insert NULs, re-encode, put huge
or non-finite numbers into number fields.

Properties:

* ``validate_bytes`` never raises; it returns a verdict whose findings all have catalogue
  codes of the file's own format, and whose counts add up;
* ``ingest_file`` of a registered file always ends with the registry row archived or
  quarantined and the acknowledgements in the sender's outbox.
"""

from __future__ import annotations

import copy
import datetime as dt
import re
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from lxml import etree

from casslink import registry
from casslink.app.ingest import validate_bytes
from casslink.app.synthetic.generator import generate_billing
from casslink.parsers.hot import write_hot
from casslink.parsers.onerecord.writer import write_xml
from casslink.validators.catalogue import BY_CODE, PREFIX_OF_FORMAT
from casslink.validators.context import ValidationContext
from casslink.validators.engine import ACCEPTED, PARTIAL, REJECTED

REPO = Path(__file__).resolve().parents[1]
SHARED_XFWB = REPO.parent / "shared" / "data" / "xfwb"

XFWB = b"""<?xml version="1.0" encoding="UTF-8"?>
<rsm:Waybill xmlns:rsm="iata:waybill:1" xmlns="iata:datamodel:3">
  <rsm:BusinessHeaderDocument>
    <ID>020-68548340</ID>
    <SignatoryCarrierAuthentication><ActualDateTime>2026-11-03T10:00:00</ActualDateTime>
    </SignatoryCarrierAuthentication>
  </rsm:BusinessHeaderDocument>
  <rsm:MasterConsignment>
    <IncludedTareGrossWeightMeasure unitCode="KGM">120.5</IncludedTareGrossWeightMeasure>
    <OriginLocation><ID>FRA</ID></OriginLocation>
    <FinalDestinationLocation><ID>HKG</ID></FinalDestinationLocation>
    <FreightForwarderParty><CargoAgentID>2347006</CargoAgentID>
      <SpecifiedCargoAgentLocation><ID>8510</ID></SpecifiedCargoAgentLocation>
    </FreightForwarderParty>
    <ApplicableOriginCurrencyExchange><SourceCurrencyCode>EUR</SourceCurrencyCode>
    </ApplicableOriginCurrencyExchange>
    <ApplicableLogisticsAllowanceCharge><ID>FS</ID><PrepaidIndicator>true</PrepaidIndicator>
      <PartyTypeCode>C</PartyTypeCode><ActualAmount currencyID="EUR">12.50</ActualAmount>
    </ApplicableLogisticsAllowanceCharge>
    <ApplicablePrepaidCollectMonetarySummation><PrepaidIndicator>true</PrepaidIndicator>
      <WeightChargeTotalAmount currencyID="EUR">345.60</WeightChargeTotalAmount>
      <CarrierTotalDuePayableAmount currencyID="EUR">12.50</CarrierTotalDuePayableAmount>
    </ApplicablePrepaidCollectMonetarySummation>
  </rsm:MasterConsignment>
</rsm:Waybill>
"""

HOSTILE = (b'<!DOCTYPE r [<!ENTITY a "aaaaaaaaaa">]>', b'<!ENTITY b SYSTEM "file:///etc/passwd">',
           b'<!DOCTYPE rdf:RDF SYSTEM "http://127.0.0.1:9/x.dtd">', b"&a;", b"&#0;", b"]]>",
           b"<![CDATA[", b"<?xml version='1.0'?>", b"\x00", b"\xff\xfe", b"\xef\xbb\xbf")
HUGE = ("9" * 40, "1E+999999", "-1E+400", "INF", "NaN", "Infinity", "0." + "0" * 500 + "1",
        "-0", "1e-7", "99999999999999999999.99")


@pytest.fixture(scope="module")
def seeds(ref) -> dict[str, bytes]:
    period = ref.period("DE", "2026-11")
    f = max(generate_billing(ref, "DE", period, 120, seed=7), key=lambda x: x.records.num_rows)
    xml = write_xml(f.header, f.records, f.charges)
    root = xml.index(b"<rdf:RDF")
    out = {"hot": write_hot(f.header, f.records, f.charges), "xml": xml,
           "xml_padded": xml[:root] + b"<!--" + b"p" * 70_000 + b"-->\n" + xml[root:],
           "xfwb": XFWB}
    for p in sorted((REPO / "fixtures" / "xml").glob("*.xml")):
        out[p.name] = p.read_bytes()
    for p in sorted(SHARED_XFWB.glob("*.xml")) if SHARED_XFWB.is_dir() else []:
        out[p.name] = p.read_bytes()
    out["_prefix"] = f.airline_prefix.encode()
    return out


# --- mutations -----------------------------------------------------------------------------

def _lines(data: bytes) -> list[bytes]:
    return data.split(b"\n")


def _line_op(data: bytes, draw, op: str) -> bytes:
    lines = _lines(data)
    i = draw(st.integers(0, len(lines) - 1))
    j = draw(st.integers(0, len(lines) - 1))
    if op == "delete":
        del lines[i]
    elif op == "duplicate":
        lines.insert(j, lines[i])
    else:
        lines[i], lines[j] = lines[j], lines[i]
    return b"\n".join(lines)


def _element_op(data: bytes, draw, op: str) -> bytes:
    parser = etree.XMLParser(resolve_entities=False, no_network=True, load_dtd=False)
    try:
        root = etree.fromstring(data, parser)
    except etree.XMLSyntaxError:
        return _line_op(data, draw, op)
    elems = list(root.iter())
    el = elems[draw(st.integers(0, len(elems) - 1))]
    parent = el.getparent()
    if parent is None:
        return data
    if op == "delete":
        parent.remove(el)
    elif op == "duplicate":
        el.addnext(copy.deepcopy(el))
    else:
        other = elems[draw(st.integers(0, len(elems) - 1))]
        if other is not el and other.getparent() is not None and el not in other.iterancestors() \
                and other not in el.iterancestors():
            a, b = copy.deepcopy(el), copy.deepcopy(other)
            el.getparent().replace(el, b)
            other.getparent().replace(other, a)
    return etree.tostring(root, xml_declaration=True, encoding="UTF-8")


def _huge_number(data: bytes, draw) -> bytes:
    runs = [m.span() for m in re.finditer(rb"\d+(\.\d+)?", data)]
    if not runs:
        return data
    lo, hi = runs[draw(st.integers(0, len(runs) - 1))]
    value = draw(st.sampled_from(HUGE)).encode()
    if not data.lstrip().startswith(b"<"):  # fixed width: keep the line length
        value = (value * 20)[: hi - lo] if b"." not in value else value
    return data[:lo] + value + data[hi:]


def _reencode(data: bytes, draw) -> bytes:
    codec = draw(st.sampled_from(["utf-16", "utf-16-be", "utf-32", "cp500", "latin-1"]))
    text = data.decode("utf-8", "replace")
    return text.encode(codec, "replace")


@st.composite
def mutated(draw, seeds: dict[str, bytes]) -> tuple[str, bytes]:
    name = draw(st.sampled_from(sorted(k for k in seeds if not k.startswith("_"))))
    data = seeds[name]
    for _ in range(draw(st.integers(1, 3))):
        kind = draw(st.sampled_from(["line", "element", "truncate", "insert", "flip", "nul",
                                     "encoding", "number", "splice"]))
        if not data:
            break
        at = draw(st.integers(0, len(data)))
        if kind == "line":
            data = _line_op(data, draw, draw(st.sampled_from(["delete", "duplicate", "swap"])))
        elif kind == "element":
            data = _element_op(data, draw, draw(st.sampled_from(["delete", "duplicate",
                                                                 "swap"])))
        elif kind == "truncate":
            data = data[:at]
        elif kind == "insert":
            if draw(st.booleans()) and len(data) > 1 << 16:
                at = draw(st.integers(1 << 16, len(data)))
            data = data[:at] + draw(st.sampled_from(HOSTILE)) + data[at:]
        elif kind == "flip" and at < len(data):
            data = data[:at] + bytes([data[at] ^ (1 << draw(st.integers(0, 7)))]) + \
                data[at + 1:]
        elif kind == "nul":
            data = data[:at] + b"\x00" * draw(st.integers(1, 4)) + data[at:]
        elif kind == "encoding":
            data = _reencode(data, draw)
        elif kind == "number":
            data = _huge_number(data, draw)
        elif kind == "splice":  # a piece of another seed
            other = seeds[draw(st.sampled_from(sorted(k for k in seeds if k[0] != "_")))]
            lo = draw(st.integers(0, len(other)))
            data = data[:at] + other[lo:lo + draw(st.integers(1, 400))] + data[at:]
    return name, data


# --- properties ----------------------------------------------------------------------------

def _check_verdict(batch, verdict) -> None:
    assert verdict.verdict in (ACCEPTED, PARTIAL, REJECTED)
    prefix = PREFIX_OF_FORMAT.get(batch.format)
    for f in verdict.findings:
        assert f.code in BY_CODE, f
        assert f.code.split("-")[0] in (prefix, "FMT"), (batch.format, f)
        assert f.severity in ("file", "record", "warning")
    c = verdict.counts
    assert c["accepted"] + c["rejected"] == c["records"]
    if verdict.verdict == REJECTED:
        assert verdict.accepted_records.num_rows == 0


FUZZ = settings(max_examples=300, deadline=None, derandomize=True,
                suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large,
                                       HealthCheck.function_scoped_fixture])


def test_validate_bytes_never_raises_on_mutated_files(ref, seeds):
    ctx = ValidationContext(reference=ref, sender_kind="airline",
                            sender_code=seeds["_prefix"].decode(),
                            received_on=dt.date(2026, 12, 1))

    @FUZZ
    @given(mutated(seeds))
    def prop(case):
        name, data = case
        batch, verdict = validate_bytes(data, name, ctx)
        _check_verdict(batch, verdict)

    prop()


def test_ingest_of_mutated_files_always_ends_archived_or_quarantined(system, seeds, tmp_path):
    """Every mutated file, landed and registered like an upload, ends in a final state with
    its acknowledgements in the sender's outbox (never a traceback or a ``landed`` row)."""
    from casslink.app.ingest import ingest_file
    from casslink.participants import resolve

    settings_, engine = system
    airline = resolve(engine, seeds["_prefix"].decode())
    outbox = settings_.homes_dir / airline.code / "outbox"
    count = iter(range(10 ** 6))

    @settings(max_examples=60, deadline=None, derandomize=True,
              suppress_health_check=list(HealthCheck))
    @given(mutated(seeds))
    def prop(case):
        name, data = case
        src = tmp_path / f"{next(count)}-{name}"
        src.write_bytes(data)
        file_id = registry.land_copy(settings_, engine, src, airline.id, src.name, "sftp")
        src.unlink()
        result = ingest_file(settings_, engine, file_id)
        row = registry.get(engine, file_id)
        assert row.state in registry.FINAL_STATES and result.state == row.state
        assert row.ack_name and (outbox / row.ack_name).is_file()
        assert all(Path(a).is_file() for a in result.acks) and len(result.acks) == 2

    prop()
