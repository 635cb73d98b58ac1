"""Row orders of tables by several columns: string keys become integer ranks (same-length
digit strings, like AWB serials, their own value), packed into as few int64 keys as fit, for
one radix sort (or, where they tie, one numpy ``lexsort``) - much faster than comparing
strings key by key."""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from casslink import kernels


def order_by(table: pa.Table, keys: Sequence[str],
             known: dict[str, tuple[np.ndarray, int]] | None = None) -> np.ndarray:
    """Stable row order of ``table`` by ``keys`` ascending, nulls first. ``known`` keeps each
    column's sort keys for further orders of the same table."""
    known = {} if known is None else known
    for k in keys:
        if k not in known:
            known[k] = key_values(table.column(k))
    packed = pack([known[k] for k in keys])
    if not packed:
        return np.arange(table.num_rows)
    first = packed[0]
    if len(packed) == 1 and (first[1:] >= first[:-1]).all():
        return np.arange(table.num_rows)  # already in order: no sort
    order = kernels.radix_order(first)  # stable
    if len(packed) > 1:
        first = first[order]
        if (first[1:] == first[:-1]).any():  # the first key ties somewhere: all keys decide
            order = np.lexsort(packed[::-1])
    return order


def key_values(column: pa.ChunkedArray | pa.Array) -> tuple[np.ndarray, int]:
    """(each row's sort key in [0, bound), bound): integers as they are (nulls first),
    strings as :func:`rank`."""
    if isinstance(column, pa.ChunkedArray):
        column = column.combine_chunks()
    if pa.types.is_integer(column.type):
        values = np.asarray(pc.fill_null(column, 0), np.int64)
        low = int(values.min(initial=0))
        if low < 0 or column.null_count:
            values = np.where(np.asarray(column.is_null()), 0,
                              values - low + (1 if column.null_count else 0))
        return values, int(values.max(initial=0)) + 1
    return rank(column)


def rank(column: pa.Array) -> tuple[np.ndarray, int]:
    """(each row's sort key, bound): same-length digit strings (AWB serials) by their value,
    other strings by their rank among the distinct values (nulls first, key 0)."""
    digits = digits_as_integers(column)
    if digits is not None:
        return digits
    return dense_rank(column)


def dense_rank(column: pa.ChunkedArray | pa.Array) -> tuple[np.ndarray, int]:
    """(each row's rank among the column's distinct values, nulls first at 0; bound): small
    keys for columns with few distinct values, whatever their text."""
    if isinstance(column, pa.ChunkedArray):
        column = column.combine_chunks()
    enc = column if pa.types.is_dictionary(column.type) else pc.dictionary_encode(column)
    order = np.asarray(pc.sort_indices(enc.dictionary))
    ranks = np.empty(len(order) + 1, np.int64)
    ranks[order] = np.arange(1, len(order) + 1)
    ranks[-1] = 0
    return ranks[np.asarray(pc.fill_null(enc.indices.cast(pa.int64()), -1))], len(order) + 1


def codes(*columns: pa.ChunkedArray | pa.Array) -> tuple[list[np.ndarray], int]:
    """Equal values get equal integer codes across ``columns`` (in ``[0, bound)``; null and
    "" are one value, code 0): digit strings of one width are their own value, other strings
    1 + an index into the distinct non-empty values of all the columns (only those are
    hashed: cheap for a mostly null column such as correction numbers)."""
    digits = [_chunked_digits(c) for c in columns]
    if all(d is not None for d in digits) and len({d[1] for d in digits}) == 1:
        return [d[0] for d in digits], digits[0][1]
    cols = [c.combine_chunks() if isinstance(c, pa.ChunkedArray) else c for c in columns]
    cols = [c.cast(pa.string()) for c in cols]
    present = [np.asarray(pc.fill_null(pc.not_equal(c, ""), False), np.bool_) for c in cols]
    kept = [c.filter(pa.array(p)) for c, p in zip(cols, present, strict=True)]
    values = pc.unique(pa.chunked_array(kept, pa.string()))
    out = []
    for p, k in zip(present, kept, strict=True):
        code = np.zeros(len(p), np.int64)
        code[p] = np.asarray(pc.index_in(k, value_set=values), np.int64) + 1
        out.append(code)
    return out, len(values) + 1


def _chunked_digits(column: pa.ChunkedArray | pa.Array) -> tuple[np.ndarray, int] | None:
    """:func:`_digits` of every chunk, where all are digit strings of one width (the chunks'
    values side by side: no copy of the strings into one array)."""
    if not isinstance(column, pa.ChunkedArray):
        return _digits(column)
    found = [_digits(c) for c in column.chunks if len(c)]
    if not found:
        return None
    if any(f is None for f in found) or len({f[1] for f in found}) != 1:
        return None
    return (found[0][0] if len(found) == 1 else np.concatenate([f[0] for f in found]),
            found[0][1])


def _digits(column: pa.Array) -> tuple[np.ndarray, int] | None:
    """:func:`digits_as_integers`, of a dictionary-encoded column through its dictionary."""
    if not pa.types.is_dictionary(column.type):
        return digits_as_integers(column)
    found = digits_as_integers(column.dictionary) if not column.null_count else None
    return None if found is None else (found[0][kernels.dictionary_indices(column)], found[1])


def digits_as_integers(column: pa.Array) -> tuple[np.ndarray, int] | None:
    """Values of a string column whose rows are all digit strings of one length (else None):
    ordering them as numbers is ordering them as strings."""
    n = len(column)
    if not n or column.null_count or not pa.types.is_string(column.type):
        return None
    off = np.frombuffer(column.buffers()[1], np.int32)[column.offset: column.offset + n + 1]
    data = column.buffers()[2]
    values = np.empty(n, np.int64)
    if data is None or not kernels.digit_values(off, data, values):
        return None
    return values, 10 ** int(off[1] - off[0])


def refine(order: np.ndarray, keys: list[tuple[np.ndarray, int]]) -> np.ndarray:
    """``order`` (a row order) sorted stably by ``keys`` (sort keys in [0, bound), as
    :func:`key_values` gives; the first key first): rows that tie on every key keep their
    place in ``order``. One stable pass per key, last key first: a radix sort where a key
    fits 16 bits (few distinct values, such as participants), so sorting a table already in
    one order by a few small keys takes linear time."""
    for values, bound in reversed(keys):
        small = np.uint8 if bound <= 1 << 8 else np.uint16 if bound <= 1 << 16 else None
        in_turn = values[order]
        order = order[kernels.radix_order(in_turn) if small is None else
                      np.argsort(in_turn.astype(small, copy=False), kind="stable")]
    return order


def pack(keys: list[tuple[np.ndarray, int]]) -> list[np.ndarray]:
    """Consecutive sort keys (values in [0, bound)) packed into as few int64 keys as fit."""
    packed, current, span = [], None, 1
    for values, bound in keys:
        if current is not None and span * bound < 2**62:  # in place: no temporaries
            np.add(np.multiply(current, bound, out=current), values, out=current)
            span *= bound
        else:
            if current is not None:
                packed.append(current)
            current, span = values.astype(np.int64), bound  # a copy: the keys stay as given
    return [*packed, current] if current is not None else packed


def runs(*columns: pa.ChunkedArray) -> np.ndarray:
    """Start of each run of equal adjacent values (of all ``columns`` together), plus the
    length: ``[0, ..., n]``."""
    n = len(columns[0])
    if n == 0:
        return np.zeros(1, np.int64)
    change = np.zeros(n - 1, bool)
    for c in columns:
        change |= np.asarray(pc.fill_null(pc.not_equal(c.slice(1), c.slice(0, n - 1)), True))
    return np.concatenate(([0], np.flatnonzero(change) + 1, [n])).astype(np.int64)
