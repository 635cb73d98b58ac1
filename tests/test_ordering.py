"""Row orders by several columns (ranks packed into int64) against Python's own sort."""

from __future__ import annotations

import numpy as np
import pyarrow as pa
from hypothesis import given, settings
from hypothesis import strategies as st

from casslink.ordering import order_by

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


def test_digit_strings_of_one_length_sort_as_strings():
    table = pa.table({"s": ["00000010", "00000002", "99999999", "00000002"]})
    assert order_by(table, ["s"]).tolist() == [1, 3, 0, 2]
    mixed = pa.table({"s": ["10", "9", "100"]})  # not one length: ranked as strings
    assert order_by(mixed, ["s"]).tolist() == [0, 2, 1]
    assert np.array_equal(order_by(pa.table({"s": pa.array([], pa.string())}), ["s"]), [])
