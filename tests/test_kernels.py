"""The C text kernels against Python's own formatting, their bounds checks, and the HOT
writer's errors for values a field cannot hold."""

from __future__ import annotations

import datetime as dt
import io
import zipfile
import zlib

import numpy as np
import pyarrow as pa
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from casslink import kernels
from casslink.app.synthetic.generator import generate_billing
from casslink.parsers.hot import write_hot
from casslink.parsers.hot.writer import WriteError

EPOCH = dt.date(1970, 1, 1)


def _blank(n: int, width: int) -> np.ndarray:
    return np.full(n * width, 32, np.uint8)


@settings(deadline=None)
@given(st.integers(1, 19).flatmap(lambda length: st.tuples(
    st.just(length), st.lists(st.one_of(st.none(), st.integers(0, 10 ** min(length, 18) - 1),
                                        st.integers(0, 10 ** min(length, 3) - 1)),
                              min_size=1, max_size=40))), st.booleans())
def test_digits_match_python_zero_fill(case, blank_null):
    length, values = case  # every field length, values up to its largest
    n, width = len(values), length + 1
    buf = _blank(n, width)
    vals = np.array([v or 0 for v in values], np.int64)
    valid = np.array([v is not None for v in values])
    rows = np.arange(n)[::-1].copy()  # items read their rows in any order
    assert kernels.put_digits(buf, np.arange(n) * width, 1, length, rows, vals, valid,
                              blank_null=blank_null) == -1
    got = bytes(buf).decode()
    for i, r in enumerate(rows):
        v = values[r]
        want = " " * length if v is None and blank_null else f"{v or 0:0{length}d}"
        assert got[i * width: (i + 1) * width] == " " + want


def test_digits_report_the_first_value_that_does_not_fit():
    buf = _blank(3, 3)
    vals = np.array([5, -7, 1000], np.int64)
    assert kernels.put_digits(buf, np.arange(3) * 3, 0, 3, np.arange(3), vals, None) == 1
    assert kernels.put_digits(buf, np.arange(3) * 3, 0, 3, np.array([0, 2, 1]), vals, None,
                              absolute=True) == 1  # |-7| fits, 1000 (item 1) does not


@settings(deadline=None)
@given(st.dates(dt.date(1900, 1, 1), dt.date(2099, 12, 31)))
def test_dates_match_the_calendar(day):
    buf = _blank(1, 6)
    days = np.array([(day - EPOCH).days], np.int64)
    kernels.put_dates(buf, np.zeros(1, np.int64), 0, np.zeros(1, np.int64), days, None)
    assert bytes(buf).decode() == day.strftime("%y%m%d")


@settings(deadline=None)
@given(st.integers(0, 10**10 - 1))
def test_rate_has_five_decimals(value):
    buf = _blank(1, 11)
    one = np.zeros(1, np.int64)
    assert kernels.put_rate(buf, one, 0, one, np.array([value], np.int64), None) == -1
    assert bytes(buf).decode() == f"{value // 100000:05d}.{value % 100000:05d}"


@settings(deadline=None)
@given(st.lists(st.one_of(st.none(), st.text("ABC XYZ-09", max_size=9)), min_size=1,
                max_size=30))
def test_texts_are_cut_and_blank_padded(values):
    arr = pa.array(values, pa.string())
    entries = np.array([i if v is not None else -1 for i, v in enumerate(values)], np.int64)
    offsets = np.frombuffer(arr.buffers()[1], np.int32)[: len(values) + 1]
    data = np.frombuffer(arr.buffers()[2], np.uint8) if arr.buffers()[2] else np.zeros(1, np.uint8)
    n, width = len(values), 5
    buf = _blank(n, width)
    assert kernels.put_texts(buf, np.arange(n) * width, 0, width, np.arange(n), entries,
                             offsets, data) == -1
    want = "".join(f"{(v or '')[:width]:<{width}}" for v in values)
    assert bytes(buf).decode() == want


def test_non_ascii_text_is_reported():
    arr = pa.array(["OK", "Zürich"])
    buf = _blank(2, 8)
    offsets = np.frombuffer(arr.buffers()[1], np.int32)[:3]
    data = np.frombuffer(arr.buffers()[2], np.uint8)
    assert kernels.put_texts(buf, np.arange(2) * 8, 0, 8, np.arange(2), None, offsets,
                             data) == 1


def test_indices_are_checked_not_trusted():
    buf = _blank(2, 4)
    vals = np.zeros(2, np.int64)
    with pytest.raises(IndexError):  # row 5 of a 2-row column
        kernels.put_digits(buf, np.zeros(1, np.int64), 0, 4, np.array([5]), vals, None)
    with pytest.raises(IndexError):  # writes past the buffer's end
        kernels.put_digits(buf, np.array([6]), 0, 4, np.zeros(1, np.int64), vals, None)
    with pytest.raises(IndexError):
        kernels.put_bytes(buf, np.array([-1]), 0, b"x")
    assert bytes(buf) == b" " * 8  # nothing written


@pytest.fixture(scope="module")
def one_file(ref):
    return generate_billing(ref, "DE", ref.period("DE", "2026-11"), 20, seed=5)[0]


def test_writer_names_the_field_that_overflows(one_file):
    records = one_file.records
    big = pa.array([10**13] * records.num_rows, pa.int64())
    records = records.set_column(records.schema.get_field_index("commission"), "commission", big)
    with pytest.raises(WriteError, match=r"AWB\.commission: value 10000000000000 does not fit 12"):
        write_hot(one_file.header, records, one_file.charges)


def test_writer_refuses_non_ascii_text(one_file):
    records = one_file.records
    origin = pa.array(["FRÄ"] * records.num_rows)
    records = records.set_column(records.schema.get_field_index("origin"), "origin", origin)
    with pytest.raises(WriteError, match="origin: fixed-width text must be ASCII"):
        write_hot(one_file.header, records, one_file.charges)


@settings(deadline=None)
@given(st.lists(st.tuples(st.integers(-(2**63), 2**63 - 1), st.integers(0, 18),
                          st.one_of(st.none(), st.text(max_size=6)), st.booleans()),
                min_size=1, max_size=30))
def test_format_rows_matches_python_formatting(rows):
    values = np.array([r[0] for r in rows], np.int64)
    texts = pa.array([r[2] for r in rows], pa.string())
    flags = np.array([r[3] for r in rows])
    digits = rows[0][1]
    ops = (kernels.lit("<r n=\"") + kernels.ints(values) + kernels.lit("\">")
           + kernels.dec(values, digits)
           + kernels.when(flags, kernels.lit("[") + kernels.strs(texts) + kernels.lit("]"),
                          kernels.lit("-"))
           + kernels.strs(texts, escape=False) + kernels.lit("</r>"))
    data, offsets = kernels.format_rows(len(rows), ops)
    entity = {"&": "&amp;", "<": "&lt;", ">": "&gt;", '"': "&quot;"}
    for (v, _, text, flag), a, b in zip(rows, offsets[:-1], offsets[1:], strict=True):
        sign, mag = ("-" if v < 0 else ""), abs(v)
        number = f"{sign}{mag // 10**digits}" + (f".{mag % 10**digits:0{digits}d}"
                                                  if digits else "")
        escaped = "".join(entity.get(c, c) for c in text or "")
        middle = f"[{escaped}]" if flag else "-"
        want = f'<r n="{v}">{number}{middle}{text or ""}</r>'
        assert bytes(data[a:b]).decode() == want


def test_format_rows_reads_dictionary_strings_through_their_indices():
    col = pa.array(["b", None, "a", "b"]).dictionary_encode()
    data, offsets = kernels.format_rows(4, kernels.strs(col) + kernels.lit(";"))
    assert bytes(data) == b"b;;a;b;" and list(offsets) == [0, 2, 3, 5, 7]


def test_format_rows_grows_its_buffer_for_long_and_escaped_rows():
    """Rows far longer than the literals and numbers suggest (long strings, every byte an
    entity) make the buffer grow while rows are written; the text is still exact."""
    rng = np.random.default_rng(7)
    texts = ["".join(rng.choice(list('ab&<>"'), int(rng.integers(0, 3000)))) for _ in range(300)]
    texts[5] = '"' * 40_000  # one row alone outgrows the first buffer
    values = rng.integers(-10**15, 10**15, len(texts))
    data, offsets = kernels.format_rows(len(texts), kernels.lit("<r>") + kernels.strs(
        pa.array(texts)) + kernels.dec(values, 2) + kernels.lit("</r>"))
    entity = {"&": "&amp;", "<": "&lt;", ">": "&gt;", '"': "&quot;"}
    want = [f"<r>{''.join(entity.get(c, c) for c in t)}{'-' if v < 0 else ''}"
            f"{abs(v) // 100}.{abs(v) % 100:02d}</r>" for t, v in zip(texts, values, strict=True)]
    assert bytes(data).decode() == "".join(want)
    assert np.array_equal(np.diff(offsets), [len(w) for w in want])


def test_format_rows_checks_its_arrays():
    with pytest.raises(IndexError):  # 2 values for 3 rows
        kernels.format_rows(3, kernels.ints(np.zeros(2, np.int64)))
    with pytest.raises(IndexError):
        kernels.format_rows(3, kernels.when(np.ones(1, bool), kernels.lit("x")))
    with pytest.raises(IndexError):  # row 2's entry points past the strings
        kernels.format_rows(3, kernels.strs((np.array([0, 1, 5]), np.array([0, 1, 2], np.int32),
                                             np.frombuffer(b"ab", np.uint8))))


@settings(max_examples=60, deadline=None)
@given(st.lists(st.tuples(st.text("abcxyz/._", min_size=1, max_size=20), st.binary(max_size=3000),
                          st.integers(0, 3)), max_size=8, unique_by=lambda e: e[0]))
def test_zip_archive_reads_back_with_zipfile(entries):
    """Each entry deflated in up to four pieces: zipfile finds the names, dates, bytes and
    CRCs that went in."""
    parts = []
    for name, data, cuts in entries:
        z = zlib.compressobj(6, zlib.DEFLATED, -15)
        packed = z.compress(data) + z.flush()
        step = max(1, len(packed) // (cuts + 1))
        pieces = [packed[i:i + step] for i in range(0, len(packed), step)]
        parts.append((name.encode(), zlib.crc32(data), len(data), pieces))
    when = dt.date(2026, 11, 30)
    archive = kernels.zip_archive(parts, ((when.year - 1980) << 9) | (when.month << 5) | when.day)
    with zipfile.ZipFile(io.BytesIO(archive)) as zf:
        assert zf.testzip() is None
        assert zf.namelist() == [name for name, _, _ in entries]
        for (name, data, _), info in zip(entries, zf.infolist(), strict=True):
            assert zf.read(name) == data and info.date_time == (2026, 11, 30, 0, 0, 0)


def test_zip_archive_refuses_malformed_entries():
    with pytest.raises(TypeError):
        kernels.zip_archive([[b"a", 0, 0, []]], 0)
    with pytest.raises(TypeError):
        kernels.zip_archive([("a", 0, 0, [])], 0)  # a name must be bytes
    with pytest.raises(TypeError):
        kernels.zip_archive([(b"a", 0, 0, [1])], 0)  # data must be bytes-like


@settings(max_examples=200, deadline=None)
@given(st.lists(st.integers(-2**63, 2**63 - 1) | st.integers(0, 20), max_size=300),
       st.lists(st.integers(-2**63, 2**63 - 1) | st.integers(0, 25), max_size=300))
def test_first_index_finds_the_first_equal_key(keys, probes):
    first: dict[int, int] = {}
    for i, k in enumerate(keys):
        first.setdefault(k, i)
    got = kernels.first_index(np.array(keys, np.int64), np.array(probes, np.int64))
    assert got.tolist() == [first.get(p, -1) for p in probes]


@settings(max_examples=300, deadline=None)
@given(st.sampled_from([5, 2**22, 2**40 + 3, 2**63 - 1]).flatmap(
    lambda top: st.lists(st.integers(0, top) | st.integers(0, 5), max_size=400)))
def test_radix_order_is_a_stable_sort(keys):
    """Keys of every width (one to six 11-bit digits, shared digits skipped; 32-bit scratch
    or 64-bit) sort as Python's stable sort orders their positions."""
    got = kernels.radix_order(np.array(keys, np.int64))
    assert got.tolist() == sorted(range(len(keys)), key=keys.__getitem__)


def test_radix_order_refuses_negative_keys():
    with pytest.raises(ValueError, match="0 and above"):
        kernels.radix_order(np.array([3, -1], np.int64))


@settings(max_examples=100, deadline=None)
@given(st.lists(st.none() | st.text(alphabet="ab&", max_size=3), min_size=1, max_size=40),
       st.integers(0, 5), st.sampled_from([pa.int8(), pa.int16(), pa.int32(), pa.int64()]))
def test_strings_with_nulls_plain_or_dictionary_sliced_write_nothing_for_nulls(values, cut,
                                                                              index_type):
    plain = pa.array(values, pa.string())
    coded = pa.DictionaryArray.from_arrays(
        pa.array([None if v is None else sorted(set(filter(None.__ne__, values))).index(v)
                  for v in values], index_type),
        pa.array(sorted(set(filter(None.__ne__, values))), pa.string()))
    for column in (plain, coded):
        part = column.slice(min(cut, len(values) - 1))
        data, _ = kernels.format_rows(len(part), kernels.strs(part) + kernels.lit("|"))
        want = "".join((v or "").replace("&", "&amp;") + "|" for v in part.to_pylist())
        assert bytes(data).decode() == want


@settings(max_examples=100, deadline=None)
@given(st.lists(st.none() | st.integers(-100, 100), min_size=1, max_size=40), st.integers(0, 5),
       st.sampled_from([pa.int8(), pa.int32(), pa.int64(), pa.uint16(), pa.date32()]))
def test_int_values_read_integers_and_dates_with_nulls_as_zero(values, cut, kind):
    if kind in (pa.uint16(), pa.date32()):
        values = [None if v is None else abs(v) for v in values]
    column = pa.array(values, pa.int32() if kind == pa.date32() else pa.int64()).cast(kind)
    column = column.slice(min(cut, len(values) - 1))
    got, valid = kernels.int_values(column)
    want = values[min(cut, len(values) - 1):]
    assert got.dtype == np.int64 and got.tolist() == [v or 0 for v in want]
    assert (valid is None) == (None not in want)
    assert valid is None or valid.tolist() == [v is not None for v in want]
