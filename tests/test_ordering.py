"""Row orders by several columns (ranks packed into int64) against Python's own sort."""

from __future__ import annotations

import numpy as np
import pyarrow as pa
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from casslink import ordering
from casslink.ordering import digits_as_integers, key_values, order_by, refine
from casslink.outputs.source import in_order

codes = st.one_of(st.none(), st.sampled_from(["", "020", "176", "A1", "ZZ", "0201"]))
serials = st.from_regex(r"[0-9]{8}", fullmatch=True)
rows = st.lists(st.tuples(codes, serials, st.one_of(st.none(), st.integers(-5, 10 ** 12))),
                max_size=60)


@settings(deadline=None)
@given(rows)
def test_order_by_is_a_stable_sort_with_nulls_first(data):
    table = pa.table({"code": pa.array([r[0] for r in data], pa.string()),
                      "serial": pa.array([r[1] for r in data], pa.string()),
                      "line": pa.array([r[2] for r in data], pa.int64())})

    def key(i: int) -> tuple:
        c, s, n = data[i]
        return (c is not None, c or "", s, n is not None, n or 0)

    expected = sorted(range(len(data)), key=key)  # Python's sort is stable
    assert order_by(table, ["code", "serial", "line"]).tolist() == expected


@settings(deadline=None)
@given(rows)
def test_order_by_of_rows_already_in_order(data):
    """A table already in the order of its key (ties and nulls included) keeps its rows in
    place; one row out of place sorts as Python sorts."""
    data = sorted(data, key=lambda r: (r[2] is not None, r[2] or 0))
    table = pa.table({"line": pa.array([r[2] for r in data], pa.int64())})
    assert order_by(table, ["line"]).tolist() == list(range(len(data)))
    if len(data) > 1:
        moved = data[1:] + data[:1]
        table = pa.table({"line": pa.array([r[2] for r in moved], pa.int64())})
        expected = sorted(range(len(moved)), key=lambda i: (moved[i][2] is not None,
                                                              moved[i][2] or 0))
        assert order_by(table, ["line"]).tolist() == expected


@settings(deadline=None)
@given(st.lists(st.tuples(st.sampled_from(["020", "176", "2", "A"]),
                          st.sampled_from(["x", "y", "ab"]), st.integers(0, 3)), max_size=30),
       st.sampled_from(["none", "all", "last"]))
def test_in_order_keeps_ordered_tables_and_sorts_others(data, presort):
    """in_order gives the stable sort by its keys whether the table comes in order (kept as
    it is), in order by the last key only (sorted by the first alone) or not at all."""
    if presort != "none":
        data = sorted(data, key=lambda r: (r[0], r[1]) if presort == "all" else r[1])
    table = pa.table({"a": pa.array([r[0] for r in data], pa.string()),
                      "b": pa.array([r[1] for r in data], pa.string()),
                      "n": pa.array([r[2] for r in data], pa.int64())})
    got = in_order(table, ["a", "b"])
    expected = sorted(range(len(data)), key=lambda i: (data[i][0], data[i][1]))
    assert got.to_pylist() == table.take(pa.array(expected, pa.int64())).to_pylist()
    assert (got is table) == (expected == list(range(len(data))))


def test_digit_strings_of_one_length_sort_as_strings():
    table = pa.table({"s": ["00000010", "00000002", "99999999", "00000002"]})
    assert order_by(table, ["s"]).tolist() == [1, 3, 0, 2]
    mixed = pa.table({"s": ["10", "9", "100"]})  # not one length: ranked as strings
    assert order_by(mixed, ["s"]).tolist() == [0, 2, 1]
    assert np.array_equal(order_by(pa.table({"s": pa.array([], pa.string())}), ["s"]), [])


@settings(max_examples=200, deadline=None)
@given(st.integers(1, 18).flatmap(lambda w: st.lists(
    st.text("0123456789", min_size=w, max_size=w), min_size=1, max_size=30)))
def test_digit_values_are_the_numbers_of_same_width_digit_strings(values):
    got, bound = digits_as_integers(pa.array(["x", *values], pa.string()).slice(1))  # an offset
    assert got.tolist() == [int(v) for v in values]
    assert bound == 10 ** len(values[0])


@pytest.mark.parametrize("values", [["12", "123"], ["1a"], ["12", None], ["/0"], [""]])
def test_digit_values_refuse_anything_else(values):
    assert digits_as_integers(pa.array(values, pa.string())) is None


@settings(max_examples=300, deadline=None)
@given(st.text("0123456789", min_size=8, max_size=8), st.integers(0, 7),
       st.sampled_from(["/", ":", " ", "A", "\x00", "\x7f", "é"]))
def test_eight_digit_strings_are_read_at_once_and_any_other_byte_refused(serial, at, other):
    """AWB serials (eight digits) are read eight bytes at once: every value comes out, and a
    byte just below '0', just above '9' or far off, at any place, refuses the column."""
    assert digits_as_integers(pa.array([serial, "00000001"]))[0].tolist() == [int(serial), 1]
    bad = serial[:at] + other + serial[at + 1:]
    if len(bad.encode()) == 8:
        assert digits_as_integers(pa.array(["12345678", bad])) is None


@settings(deadline=None)
@given(st.lists(st.tuples(st.integers(0, 3), st.integers(0, 300), st.integers(0, 70_000),
                          st.integers(0, 5)), max_size=80), st.permutations(range(4)))
def test_refine_sorts_an_order_stably_by_more_keys(data, columns):
    """Refining the order by the last keys by the first ones is the order by all keys; the
    keys span each pass's kind (8-bit, 16-bit radix, wider)."""
    names = [f"k{c}" for c in columns]
    table = pa.table({f"k{c}": pa.array([r[c] for r in data], pa.int64()) for c in range(4)})
    known: dict = {}
    rest = order_by(table, names[2:], known)
    got = refine(rest, [key_values(table.column(k)) for k in names[:2]])
    assert got.tolist() == order_by(table, names, known).tolist()


@settings(max_examples=100, deadline=None)
@given(st.lists(st.none() | st.sampled_from(["", "C1", "C01", "D9", "0001"]), max_size=40),
       st.lists(st.none() | st.sampled_from(["", "C1", "X", "0001", "0002"]), max_size=40),
       st.integers(0, 40), st.booleans())
def test_codes_are_equal_exactly_where_values_are(a, b, cut, digits_only):
    """Across both columns equal codes mean equal values (null and "" alike: code 0), the
    first column in two chunks (one may be empty); digit strings of one width take their own
    value."""
    if digits_only:
        a, b = [v if v in ("0001", "0002") else "0003" for v in a], \
            [v if v in ("0001", "0002") else "0004" for v in b]
    first = pa.array(a, pa.string()).dictionary_encode()
    (ca, cb), bound = ordering.codes(pa.chunked_array([first[:cut], first[cut:]]),
                                     pa.array(b, pa.string()))
    if digits_only and a and b:
        assert np.concatenate([ca, cb]).tolist() == [int(v) for v in a + b]
    values = [v or "" for v in a + b]
    got = np.concatenate([ca, cb]).tolist()
    assert all(0 <= c < bound for c in got)
    assert all((got[i] == got[j]) == (values[i] == values[j])
               for i in range(len(got)) for j in range(len(got)))
    assert all(c == 0 for c, v in zip(got, values, strict=True) if not v)


def test_codes_of_digit_strings_are_their_numbers_dictionary_encoded_or_not():
    prefixes = pa.chunked_array([pa.array(["020", "176"]).dictionary_encode(),
                                 pa.array(["020"]).dictionary_encode()])
    (a, b), bound = ordering.codes(prefixes, pa.array(["176", "999"]))
    assert a.tolist() == [20, 176, 20] and b.tolist() == [176, 999] and bound == 1000


@settings(max_examples=100, deadline=None)
@given(st.lists(st.tuples(st.integers(0, 10**12), st.integers(0, 10**12), st.integers(0, 3)),
                max_size=50), st.booleans())
def test_order_by_keys_packed_into_two_ints_ties_or_not(rows, spread):
    """Keys too wide for one int64: ordered by the first packed key alone when it has no
    ties, by every key when it has."""
    if spread:  # the first key unique: it decides every place
        rows = [(i * 10**9 + a % 10**9, b, c) for i, (a, b, c) in enumerate(rows)]
    table = pa.table({"a": [r[0] for r in rows], "b": [r[1] for r in rows],
                      "c": [r[2] for r in rows]}, schema=pa.schema(
        [("a", pa.int64()), ("b", pa.int64()), ("c", pa.int64())]))
    got = order_by(table, ["a", "b", "c"]).tolist()
    assert got == sorted(range(len(rows)), key=lambda i: (rows[i], i))
