"""The text kernels (C, or numpy where ``CASSLINK_KERNELS=off``) against Python's own
formatting, their bounds checks, and the HOT writer's errors for values a field cannot hold;
the numpy kernels against the C ones on random inputs; a process without the C extension."""

from __future__ import annotations

import datetime as dt
import io
import json
import os
import subprocess
import sys
import zipfile
import zlib
from pathlib import Path
from unittest.mock import patch

import numpy as np
import pyarrow as pa
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from casslink import _kernels_py as PY_KERNELS
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


# --- the numpy kernels give what the C kernels give ------------------------------------------

try:
    from casslink import _kernels as C_KERNELS
except ImportError:  # not built: the numpy kernels are checked against Python above
    C_KERNELS = None

needs_c = pytest.mark.skipif(C_KERNELS is None, reason="the C kernels are not built here")


def _both(call) -> list:
    """``call()`` with the C kernels and with the numpy ones: its result, or the type of the
    exception it raised."""
    out = []
    for impl in (C_KERNELS, PY_KERNELS):
        try:
            with patch.object(kernels, "_impl", lambda impl=impl: impl):
                out.append(call())
        except (IndexError, ValueError, TypeError) as e:
            out.append(type(e))
    return out


def test_the_switch_chooses_the_kernels(monkeypatch):
    for setting, want in (("off", "numpy"), ("OFF", "numpy"), ("auto", C_KERNELS and "c"),
                          ("", C_KERNELS and "c")):
        monkeypatch.setenv("CASSLINK_KERNELS", setting)
        kernels._impl.cache_clear()
        assert kernels.backend() == (want or "numpy")
    monkeypatch.setenv("CASSLINK_KERNELS", "fast")
    kernels._impl.cache_clear()
    with pytest.raises(ValueError, match="on, off or auto"):
        kernels.backend()
    monkeypatch.setitem(sys.modules, "casslink._kernels", None)  # not built
    for setting, want in (("auto", "numpy"), ("on", ImportError)):
        monkeypatch.setenv("CASSLINK_KERNELS", setting)
        kernels._impl.cache_clear()
        if want is ImportError:
            with pytest.raises(ImportError):
                kernels.backend()
        else:
            assert kernels.backend() == want
    monkeypatch.undo()
    kernels._impl.cache_clear()


VALUES = st.integers(-(2**63), 2**63 - 1) | st.integers(-(10**6), 10**6) | \
    st.integers(0, 10**11)


@needs_c
@settings(max_examples=300, deadline=None)
@given(st.sampled_from([kernels.DIGITS, kernels.MINUS, kernels.RATE, kernels.DATE]),
       st.integers(1, 19), st.booleans(), st.booleans(), st.data())
def test_put_values_same_both_ways(kind, length, absolute, blank_null, data):
    """Every kind of value field, rows read in any order, nulls, values that do not fit and
    indices out of range: the same return value and the same bytes."""
    m = data.draw(st.integers(0, 25))
    days = st.integers(-(10**7), 10**7)
    values = np.array(data.draw(st.lists(days if kind == kernels.DATE else VALUES,
                                         min_size=m, max_size=m)), np.int64)
    valid = data.draw(st.none() | st.lists(st.booleans(), min_size=m, max_size=m))
    rows = np.array(data.draw(st.lists(st.integers(-1, m) if data.draw(st.booleans())
                                       else st.integers(0, max(m - 1, 0)), max_size=25)),
                    np.int64)
    width = length + 2
    base = np.arange(len(rows), dtype=np.int64) * width
    if rows.size and data.draw(st.booleans()):
        base[data.draw(st.integers(0, len(rows) - 1))] = data.draw(st.integers(-3, 10**4))
    valid = None if valid is None else np.array(valid, bool)

    def call():
        buf = _blank(len(rows) + 1, width)
        rc = kernels._put(kind, buf, base, 1, rows, values, valid, length, absolute,
                          blank_null)
        return rc, bytes(buf)

    c, py = _both(call)
    assert c == py


@needs_c
@settings(max_examples=300, deadline=None)
@given(st.lists(st.none() | st.text("AB Zü&1", max_size=9), max_size=25), st.integers(0, 12),
       st.booleans(), st.data())
def test_put_texts_and_put_bytes_same_both_ways(values, length, dictionary, data):
    """Strings plain or through entries (nulls, non-ASCII bytes, entries and rows out of
    range), and literal bytes: the same return value and the same bytes."""
    column = pa.array(values, pa.string())
    if dictionary:
        column = column.dictionary_encode()
    entries, offsets, text = kernels.string_parts(column)
    if entries is not None and data.draw(st.booleans()) and len(entries):
        entries = entries.copy()
        entries[data.draw(st.integers(0, len(entries) - 1))] = data.draw(st.integers(-2, 40))
    m = len(values)
    rows = np.array(data.draw(st.lists(st.integers(-1, m) if data.draw(st.booleans())
                                       else st.integers(0, max(m - 1, 0)), max_size=25)),
                    np.int64)
    width = length + 1
    base = np.arange(len(rows), dtype=np.int64) * width
    literal = data.draw(st.binary(max_size=width + 1))

    def texts():
        buf = _blank(len(rows), width)
        return kernels.put_texts(buf, base, 0, length, rows, entries, offsets, text), bytes(buf)

    def literals():
        buf = _blank(len(rows), width)
        kernels.put_bytes(buf, base, 0, literal)
        return bytes(buf)

    for call in (texts, literals):
        c, py = _both(call)
        assert c == py


def _program(n: int, data, depth: int = 0) -> kernels.Ops:
    """A random row program over ``n`` rows: literals, numbers, strings, nested conditions."""
    ops: kernels.Ops = []
    for _ in range(data.draw(st.integers(0, 4))):
        kind = data.draw(st.sampled_from(["lit", "int", "dec", "str", "when"]))
        if kind == "lit":
            ops += kernels.lit(data.draw(st.binary(max_size=6)))
        elif kind in ("int", "dec"):
            values = np.array(data.draw(st.lists(VALUES, min_size=n, max_size=n)), np.int64)
            ops += kernels.ints(values) if kind == "int" else \
                kernels.dec(values, data.draw(st.integers(0, 18)))
        elif kind == "str":
            texts = pa.array(data.draw(st.lists(st.none() | st.text('a&<>"ü', max_size=5),
                                                min_size=n, max_size=n)), pa.string())
            if data.draw(st.booleans()):
                texts = texts.dictionary_encode()
            ops += kernels.strs(texts, escape=data.draw(st.booleans()))
        elif depth < 2:
            flags = np.array(data.draw(st.lists(st.booleans(), min_size=n, max_size=n)), bool)
            ops += kernels.when(flags, _program(n, data, depth + 1),
                                _program(n, data, depth + 1))
    return ops


@needs_c
@settings(max_examples=300, deadline=None)
@given(st.integers(0, 12), st.data())
def test_format_rows_same_both_ways(n, data):
    ops = _program(n, data)

    def call():
        text, offsets = kernels.format_rows(n, ops)
        return bytes(text), offsets.tolist()

    c, py = _both(call)
    assert c == py
    bad = ops + kernels.ints(np.zeros(max(n - 1, 0), np.int64)) if n else \
        [("nope", b"")]  # too few values / an unknown operation: the same error
    c, py = _both(lambda: kernels.format_rows(n, bad))
    assert c == py and c in (IndexError, ValueError)


@needs_c
@settings(max_examples=100, deadline=None)
@given(st.lists(st.tuples(st.binary(min_size=1, max_size=12), st.integers(0, 2**32 - 1),
                          st.integers(0, 2**31), st.lists(st.binary(max_size=50), max_size=3)),
                max_size=6), st.integers(0, 2**16 - 1))
def test_zip_archive_same_both_ways(entries, dosdate):
    c, py = _both(lambda: kernels.zip_archive(entries, dosdate))
    assert c == py and isinstance(c, bytes)
    c, py = _both(lambda: kernels.zip_archive([*entries, ("name", 0, 0, [])], dosdate))
    assert c is py is TypeError


@needs_c
@settings(max_examples=300, deadline=None)
@given(st.lists(st.integers(-(2**63), 2**63 - 1) | st.integers(0, 20), max_size=200),
       st.lists(st.integers(-(2**63), 2**63 - 1) | st.integers(0, 25), max_size=200),
       st.lists(st.sampled_from(["12345678", "00000001", "1234", "12a45678", "", "9" * 19]),
                max_size=30))
def test_key_kernels_same_both_ways(keys, probes, digit_strings):
    """first_index, radix_order (negative keys refused alike) and digit_values."""
    keys_a, probes_a = np.array(keys, np.int64), np.array(probes, np.int64)
    c, py = _both(lambda: kernels.first_index(keys_a, probes_a).tolist())
    assert c == py
    c, py = _both(lambda: kernels.radix_order(keys_a).tolist())
    assert c == py
    column = pa.array(digit_strings, pa.string())
    _, offsets, text = kernels.string_parts(column)

    def digits():
        out = np.zeros(len(digit_strings), np.int64)
        ok = kernels.digit_values(offsets, text, out)
        return ok, (out.tolist() if ok else None)

    c, py = _both(digits)
    assert c == py


HIDDEN = """
import json, sys
sys.modules["casslink._kernels"] = None  # as on a machine without a C compiler
from pathlib import Path
from casslink import kernels
from casslink.db.engine import make_engine
from casslink.settings import get_settings
from casslink.outputs.deliver import deliver_run
s = get_settings()
engine = make_engine(s.db_url)
files = deliver_run(s, engine, int(sys.argv[1]), Path(sys.argv[2]))
engine.dispose()
print(json.dumps({"backend": kernels.backend(),
                  "files": sorted((f["participant"], f["kind"], f["sha256"]) for f in files)}))
"""


def test_without_the_c_extension_everything_imports_and_writes_the_same_files(
        tmp_path, repo, ref):
    """A process where ``casslink._kernels`` cannot be imported (no compiler at install)
    renders every output of a settled period byte for byte as this process does."""
    from casslink import registry, warehouse
    from casslink.outputs.deliver import deliver_run
    from casslink.settlement.run import settle
    from tests.conftest import reference_root

    s, engine = reference_root(tmp_path / "var")
    try:
        for i, f in enumerate(generate_billing(ref, "DE", ref.period("DE", "2026-11"), 120,
                                               seed=9), start=1):
            file_id = registry.record_stored(engine, f"gen-{i}", f"gen-{i}.hot", "DE",
                                             "2026-11")
            warehouse.store(s, "DE", "2026-11", file_id, f.records, f.charges)
        result = settle(s, engine, "DE", "2026-11")
        here = deliver_run(s, engine, result.run_id, Path(result.ledger_dir))
    finally:
        engine.dispose()
    env = {**os.environ, "CASSLINK_HOME": str(s.home), "CASSLINK_DB_URL": s.db_url}
    env.pop("CASSLINK_KERNELS", None)
    proc = subprocess.run([sys.executable, "-c", HIDDEN, str(result.run_id),
                           str(result.ledger_dir)], env=env, capture_output=True, text=True,
                          cwd=repo)
    assert proc.returncode == 0, proc.stderr[-3000:]
    there = json.loads(proc.stdout.strip().splitlines()[-1])
    assert there["backend"] == "numpy"
    assert len(here) > 50
    assert there["files"] == sorted([f["participant"], f["kind"], f["sha256"]] for f in here)
