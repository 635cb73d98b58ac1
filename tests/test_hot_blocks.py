"""The HOT reader decodes a file in blocks of lines: the block size must never change the
result, and reading from disk must equal reading the same bytes from memory."""

from __future__ import annotations

import hashlib

import pyarrow as pa
import pytest
from hypothesis import example, given, settings
from hypothesis import strategies as st

from casslink.app.synthetic.generator import generate_billing
from casslink.parsers.hot import read_hot, read_hot_file, write_hot
from casslink.parsers.hot import reader as hot_reader
from casslink.parsers.hot.layouts import BILLING


@pytest.fixture(scope="module")
def billing_bytes(ref):
    files = generate_billing(ref, "DE", ref.period("DE", "2026-11"), 400, seed=5)
    records = pa.concat_tables([f.records for f in files])
    charges = pa.concat_tables([f.charges for f in files])
    return write_hot(files[0].header, records, charges)


def _messy(data: bytes) -> bytes:
    """CRLF, right-trimmed lines, a blank line, a non-ASCII byte, a bad amount, EOF byte."""
    lines = [ln.rstrip(b" ") for ln in data.replace(b"\r\n", b"\n").split(b"\n")[:-1]]
    lines.insert(7, b"")
    lines[12] = lines[12][:40] + b"\xe9" + lines[12][41:]
    awb = next(i for i in range(15, len(lines)) if lines[i].startswith(b"AWB"))
    at = next(f.start for f in BILLING.layouts["AWB"].fields if f.name == "weight_pp")
    lines[awb] = lines[awb][:at] + b"x" + lines[awb][at + 1:]
    return b"\r\n".join(lines) + b"\r\n\x1a"


def _same(a, b) -> None:
    assert a.records.equals(b.records)
    assert a.charges.equals(b.charges)
    assert a.problems == b.problems
    assert a.header == b.header and a.trailer == b.trailer
    assert a.record_counts == b.record_counts and a.line_count == b.line_count


def _read_in_blocks(monkeypatch, data: bytes, block: int):
    monkeypatch.setattr(hot_reader, "BLOCK_BYTES", block)
    return read_hot(data, "f")


@pytest.mark.parametrize("block", [251, 1000, 4099, 70_000])
@pytest.mark.parametrize("mess", [False, True])
def test_block_size_does_not_change_the_result(monkeypatch, billing_bytes, block, mess):
    data = _messy(billing_bytes) if mess else billing_bytes
    whole = read_hot(data, "f")
    assert whole.records.num_rows > 400 and whole.charges.num_rows > 0
    assert bool(whole.problems) == mess
    _same(_read_in_blocks(monkeypatch, data, block), whole)


def test_messy_file_problems_name_the_right_lines(billing_bytes):
    data = _messy(billing_bytes)
    batch = read_hot(data, "f")
    found = {(p.code, p.line) for p in batch.problems}
    lines = data.split(b"\r\n")
    awb = 1 + next(i for i in range(15, len(lines)) if b"x" in lines[i][:250])
    assert found == {("HOT-S005", 8), ("HOT-S007", 13), ("HOT-S002", awb)}


@pytest.mark.parametrize("block", [300, 1 << 20])
def test_reading_a_file_equals_reading_its_bytes(monkeypatch, tmp_path, billing_bytes, block):
    data = _messy(billing_bytes)
    path = tmp_path / "billing.hot"
    path.write_bytes(data)
    monkeypatch.setattr(hot_reader, "BLOCK_BYTES", block)
    from_file = read_hot_file(path)
    sha = hashlib.sha256(data).hexdigest()
    assert from_file.source_file == sha
    assert set(from_file.records.column("source_file").to_pylist()) == {sha}
    _same(from_file, read_hot(data, sha))


_lines = st.lists(st.one_of(
    st.binary(max_size=60),
    st.sampled_from([b"AAADE   03120103123104011501EUR", b"AWB" + b"1" * 30, b"TTT", b""]),
), max_size=30)


@settings(max_examples=150, deadline=None)
@given(_lines, st.sampled_from([b"\n", b"\r\n"]), st.integers(1, 200))
@example([b"\x00\x00\x00", b"\x00\x00\x7f"], b"\n", 1)  # DEL alone in its block: once
# kept as an id byte, once replaced
def test_property_any_block_size_same_result(lines, newline, block):
    data = newline.join(ln.replace(b"\n", b" ") for ln in lines)
    whole = read_hot(data, "f")
    saved = hot_reader.BLOCK_BYTES
    hot_reader.BLOCK_BYTES = block
    try:
        _same(read_hot(data, "f"), whole)
    finally:
        hot_reader.BLOCK_BYTES = saved
