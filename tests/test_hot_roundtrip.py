"""Round trips on generated files of every family, and properties (hypothesis)."""

from __future__ import annotations

import dataclasses
import datetime as dt

import numpy as np
import pyarrow as pa
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from casslink.app.synthetic.generator import generate_billing
from casslink.canonical import CHARGES_SCHEMA, RECORDS_SCHEMA, FileHeader
from casslink.parsers.hot import FAMILIES, read_hot, write_hot
from casslink.parsers.hot.layouts import Field
from casslink.parsers.hot.writer import hash_total, write_hot_splits


def _carried(family: str, record_type: str) -> set[str]:
    """Canonical columns a family's layout carries for a record type."""
    layout = FAMILIES[family].layout_for(record_type)
    cols = set()
    for f in layout.fields:
        if f.kind in ("filler", "id") or not f.name:
            continue
        if f.split:
            cols |= {f"{f.name}_pp", f"{f.name}_cc"}
        else:
            cols.add(f.name)
    return cols


@pytest.fixture(scope="module")
def generated(ref):
    period = ref.period("DE", "2026-11")
    return generate_billing(ref, "DE", period, 3000, seed=11)


def as_family(f, family: str):
    header = FileHeader(family=family, operation=f.header.operation,
                        airline_prefix=f.header.airline_prefix,
                        agent_code="23470068510" if family == "adjustment" else "",
                        period_start=f.header.period_start, period_end=f.header.period_end,
                        billing_date=f.header.billing_date, file_number=1, currency="EUR",
                        office_code="234")
    return header


@pytest.mark.parametrize("family", ["billing", "handoff", "adjustment"])
def test_write_read_write_is_byte_identical(generated, family):
    for f in generated:
        charges = None if family == "adjustment" else f.charges
        first = write_hot(as_family(f, family), f.records, charges, family=family)
        batch = read_hot(first, "x", default_currency="EUR")
        assert batch.problems == []
        assert batch.header.family == family
        second = write_hot(batch.header, batch.records, None if family == "adjustment"
                           else batch.charges, family=family)
        assert second == first


@pytest.mark.parametrize("family", ["billing", "handoff"])
def test_read_returns_what_was_written(generated, family):
    f = max(generated, key=lambda g: g.records.num_rows)
    data = write_hot(as_family(f, family), f.records, f.charges, family=family)
    batch = read_hot(data, "file-1")
    assert batch.records.num_rows == f.records.num_rows
    for rt in ("AWB", "CCO", "CCR", "DCO", "DCR"):
        cols = sorted(_carried(family, rt) - {"net_amount"})
        mask = np.asarray(f.records.column("record_type").to_numpy(zero_copy_only=False) == rt)
        want = f.records.filter(pa.array(mask)).select(cols)
        got_mask = np.asarray(batch.records.column("record_type").to_numpy(
            zero_copy_only=False) == rt)
        got = batch.records.filter(pa.array(got_mask)).select(cols)
        assert got.to_pylist() == want.to_pylist(), rt
    key = ["parent_type", "airline_prefix", "awb_serial", "charge_code", "entitlement", "pc",
           "amount"]
    assert sorted(tuple(r.values()) for r in batch.charges.select(key).to_pylist()) == sorted(
        tuple(r.values()) for r in f.charges.select(key).to_pylist())
    lines = data.split(b"\r\n")
    for r in batch.records.to_pylist()[:50]:  # lineage: source_line points at the record
        assert lines[r["source_line"] - 1][3:].find(r["awb_serial"].encode()) >= 0


def test_charges_of_missing_records_are_still_written(generated):
    """write_hot keeps charges whose parent record is not in the batch (orphans): their lines
    come after the records, the same lines as in the file with the parents."""
    f = max(generated, key=lambda g: g.charges.num_rows)
    keep = np.ones(f.records.num_rows, bool)
    keep[::5] = False
    charge_ids = (b"AW1", b"CC3", b"DC3")

    def charge_lines(data: bytes) -> list[bytes]:
        return sorted(line for line in data.split(b"\r\n") if line[:3] in charge_ids)

    full = write_hot(f.header, f.records, f.charges)
    part = write_hot(f.header, f.records.filter(pa.array(keep)), f.charges)
    assert charge_lines(part) == charge_lines(full) != []
    lines = part.split(b"\r\n")
    assert len(lines) == len(full.split(b"\r\n")) - int((~keep).sum())


def test_trailer_counts_and_hash_are_computed(generated):
    f = generated[0]
    batch = read_hot(write_hot(f.header, f.records, f.charges))
    types = f.records.column("record_type").to_pylist()
    t = batch.trailer
    assert t["awb_count"] == types.count("AWB")
    assert t["cca_count"] == types.count("CCO") + types.count("CCR")
    assert t["total_count"] == len(types)
    expected_hash = sum(int(s) for s in f.records.column("awb_serial").to_pylist()) % 10**12
    assert t["hash_total"] == f"{expected_hash:012d}"
    assert hash_total(f.records.column("awb_serial").combine_chunks()) == expected_hash
    assert t["aw1_count"] == batch.record_counts.get("AW1", 0)


def test_more_than_ten_charges_take_several_records():
    recs = pa.Table.from_pylist([{"record_type": "AWB", "airline_prefix": "020",
                                  "awb_serial": "12345675", "agent_code": "23470068510",
                                  "currency": "EUR"}], schema=RECORDS_SCHEMA)
    chs = pa.Table.from_pylist([{"parent_type": "AWB", "airline_prefix": "020",
                                 "awb_serial": "12345675", "currency": "EUR",
                                 "charge_code": "MY", "entitlement": "C", "pc": "P",
                                 "amount": i + 1} for i in range(23)], schema=CHARGES_SCHEMA)
    data = write_hot(FileHeader(family="billing", operation="DE", airline_prefix="020"), recs,
                     chs)
    batch = read_hot(data)
    assert batch.record_counts["AW1"] == 3 and batch.trailer["aw1_count"] == 3
    assert batch.charges.column("amount").to_pylist() == list(range(1, 24))
    assert batch.charges.column("slot").to_pylist()[:11] == [*range(1, 11), 1]


# --- properties ---------------------------------------------------------------------------------

_text = st.text(alphabet="ABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789", min_size=1)
_date = st.dates(dt.date(1971, 1, 1), dt.date(2068, 12, 31))


def _value(f: Field):
    if f.kind == "N":
        return st.one_of(st.none(), st.text("0123456789", min_size=f.length, max_size=f.length))
    if f.kind in ("A", "AN"):
        return st.one_of(st.none(), _text.map(lambda s, n=f.length: s[:n]))
    if f.kind == "date":
        return st.one_of(st.none(), _date)
    if f.kind == "rate":
        return st.integers(0, 10**10 - 1)
    if f.kind in ("amount", "amount?"):
        return st.integers(0, 10 ** min(f.length, 12) - 1)
    return st.integers(0, 10**f.length - 1)


@st.composite
def canonical_rows(draw, family: str):
    fam = FAMILIES[family]
    rows = []
    for _ in range(draw(st.integers(0, 6))):
        layout = draw(st.sampled_from([r for r in fam.records if r.role == "record"]))
        row = {"record_type": layout.canonical}
        signed = {f.name for f in layout.fields if f.kind == "sign"}
        for f in layout.fields:
            if f.kind in ("filler", "id", "sign") or not f.name:
                continue
            v = draw(_value(f))
            if f.split:
                pcv = draw(st.sampled_from("PC"))
                row[f.split] = pcv
                row[f"{f.name}_pp"], row[f"{f.name}_cc"] = (v, 0) if pcv == "P" else (0, v)
            elif f.name not in row:
                row[f.name] = v
        for name in signed:
            if row.get(name) and draw(st.booleans()):
                row[name] = -row[name]
        rows.append(row)
    return pa.Table.from_pylist(rows, schema=RECORDS_SCHEMA)


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.sampled_from(["billing", "handoff", "adjustment"]), st.data())
def test_property_write_read_write_identical(family, data):
    records = data.draw(canonical_rows(family))
    header = FileHeader(family=family, operation="DE", airline_prefix="020",
                        agent_code="23470068510", period_start=dt.date(2026, 11, 1),
                        period_end=dt.date(2026, 11, 30), billing_date=dt.date(2026, 12, 10),
                        file_number=1, currency="EUR")
    first = write_hot(header, records, None, family=family)
    batch = read_hot(first, "p", family=family)
    assert [p for p in batch.problems] == []
    assert write_hot(batch.header, batch.records, None, family=family) == first


@settings(max_examples=300, deadline=None)
@given(st.binary(max_size=3000))
def test_property_random_bytes_never_crash(blob):
    batch = read_hot(blob, "fuzz")
    assert batch.records.schema == RECORDS_SCHEMA
    assert batch.charges.schema == CHARGES_SCHEMA


@settings(max_examples=150, deadline=None)
@given(st.integers(0, 10**6), st.binary(min_size=1, max_size=8))
def test_property_mutated_valid_file_never_crashes(pos, patch):
    from tests.hotlines import hot
    from tests.test_hot_golden import AWM_160, HEADER_DE, trailer_de

    data = bytearray(hot(HEADER_DE, AWM_160, AWM_160, trailer_de(awb=2)))
    p = pos % len(data)
    data[p:p + len(patch)] = patch
    batch = read_hot(bytes(data), "mut")
    assert batch.records.schema == RECORDS_SCHEMA


def _parent_key(row: dict, type_column: str) -> tuple:
    return (row[type_column], row["airline_prefix"], row["awb_serial"],
            row["correction_number"] or "")


@pytest.mark.parametrize("family", ["billing", "handoff", "adjustment"])
def test_split_files_equal_a_file_per_group(generated, family):
    """write_hot_splits gives, per key value, what write_hot gives for that value's records
    and the charges whose parent is among them (charges of records left out are dropped);
    the adjustment family (header narrower than its records) takes the gather path."""
    f = max(generated, key=lambda g: g.records.num_rows)
    keep = np.ones(f.records.num_rows, bool)
    keep[::7] = False  # the charges of these records have no parent in the split
    records = f.records.filter(pa.array(keep))
    charges = None if family == "adjustment" else f.charges
    header = as_family(f, family)
    splits = [(key, np.argsort(np.array(records.column(key).to_pylist()), kind="stable"),
               header) for key in ("agent_code", "origin")]  # headers have no origin field
    files = write_hot_splits(splits, records, charges, family=family)
    rows = records.to_pylist()
    for (key, _, _), got in zip(splits, files, strict=True):
        assert sorted(got) == sorted({r[key] for r in rows})
        for code, data in got.items():
            own_header = dataclasses.replace(header, agent_code=code) \
                if key == "agent_code" else header
            mine = [r for r in rows if r[key] == code]
            parents = {_parent_key(r, "record_type") for r in mine}
            own = None if charges is None else pa.Table.from_pylist(
                [c for c in charges.to_pylist() if _parent_key(c, "parent_type") in parents],
                schema=charges.schema)
            expected = write_hot(own_header, pa.Table.from_pylist(mine, records.schema),
                                 own, family=family)
            assert bytes(data) == expected, (key, code)
    assert (charges is None or family == "adjustment"
            or any(_parent_key(c, "parent_type") not in {_parent_key(r, "record_type")
                                                         for r in rows}
                   for c in charges.to_pylist()))  # some charges were orphans


def test_a_correction_amount_its_line_cannot_carry_is_refused(generated):
    """A CCO/DCO/CCR/DCR line carries one amount per component, on its P/C indicator's side.
    A collect amount under no C indicator (or amounts on both sides) used to be written as the
    prepaid side - zero, the amount lost; the writer refuses such a row. Under C it
    round-trips."""
    from casslink.parsers.hot.writer import WriteError

    f = next(g for g in generated if "CCR" in g.records.column("record_type").to_pylist())
    one = f.records.slice(f.records.column("record_type").to_pylist().index("CCR"), 1)

    def with_weight(pc: str | None, pp: int, cc: int) -> pa.Table:
        t = one
        for name, value in (("weight_pc", pc), ("weight_pp", pp), ("weight_cc", cc)):
            i = t.schema.get_field_index(name)
            t = t.set_column(i, name, pa.array([value], t.schema.field(i).type))
        return t

    header, none = as_family(f, "billing"), f.charges.slice(0, 0)
    for pc, pp, cc in ((None, 0, 12_345), ("P", 100, 12_345), ("C", 100, 12_345)):
        with pytest.raises(WriteError, match="weight"):
            write_hot(header, with_weight(pc, pp, cc), none, family="billing")
    back = read_hot(write_hot(header, with_weight("C", 0, 12_345), none, family="billing"),
                    "x", default_currency="EUR").records
    assert back.column("weight_pc")[0].as_py() == "C"
    assert (back.column("weight_cc")[0].as_py(), back.column("weight_pp")[0].as_py() or 0) == \
        (12_345, 0)
