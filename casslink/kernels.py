"""Kernels that write values as text into byte buffers: C (``casslink/_kernels.c``) where
it was built, else numpy and pyarrow (``casslink/_kernels_py.py``), which give the same bytes.
``CASSLINK_KERNELS`` chooses, read at the first kernel call: ``off`` the numpy ones, ``on`` the
C ones (an ImportError where they were not built), unset or ``auto`` C where built.

Every kernel walks ``n`` items: item ``i`` takes its value from row ``rows[i]`` of a column
and writes it at byte ``base[i] + start`` of a flat ``uint8`` buffer ``buf``. The C kernels
run without the GIL (the numpy ones mostly), so two threads fill blocks at once; every index
is checked (a wrong one is an ``IndexError``). A validity of None means every row is valid.
A kernel that meets a value its field cannot hold returns that item's index (else -1), for the
caller to name the field in its error. ``format_rows`` renders rows of text from a program of
operations, ``zip_archive`` assembles a zip archive of deflated entries, ``first_index`` joins
integer keys, ``radix_order`` sorts them.
"""

from __future__ import annotations

import importlib
import os
from collections.abc import Sequence
from functools import cache
from types import ModuleType

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

SWITCH = "CASSLINK_KERNELS"


@cache
def _impl() -> ModuleType:
    """The kernels' module, chosen once (see the module's docstring)."""
    switch = os.environ.get(SWITCH, "auto").strip().lower() or "auto"
    if switch not in ("auto", "on", "off"):
        raise ValueError(f"{SWITCH} must be on, off or auto, not {switch!r}")
    if switch != "off":
        try:
            return importlib.import_module("casslink._kernels")
        except ImportError:
            if switch == "on":
                raise
    return importlib.import_module("casslink._kernels_py")


def backend() -> str:
    """Which kernels run in this process: ``c`` or ``numpy``."""
    return "numpy" if _impl().__name__.endswith("_py") else "c"


def _ints(a: np.ndarray) -> np.ndarray:
    return np.ascontiguousarray(a, np.int64)


def _flags(a: np.ndarray | None) -> np.ndarray:
    return NONE if a is None else np.ascontiguousarray(a, np.bool_)


NONE = np.zeros(0, np.int64)  # no validity (every row valid) / no entries (row r is entry r)


def _entries(a: np.ndarray | None) -> np.ndarray:
    """String entries as the kernels read them: int32, as Arrow's dictionary indices."""
    return NONE if a is None else np.ascontiguousarray(a, np.int32)


def _done(rc: int) -> int:
    if rc == -2:
        raise IndexError("kernel index out of range")
    return rc


def first_index(keys: np.ndarray, probes: np.ndarray) -> np.ndarray:
    """For each probe, the position of the first key equal to it, else -1 (a hash join of
    int64 keys, without the GIL)."""
    out = np.empty(len(probes), np.int64)
    _impl().first_index(_ints(keys), _ints(probes), out)
    return out


def radix_order(keys: np.ndarray) -> np.ndarray:
    """The stable ascending order of non-negative int64 keys (``np.argsort(keys,
    kind="stable")``), by a radix sort: linear time, without the GIL."""
    out = np.empty(len(keys), np.int64)
    _impl().radix_order(_ints(keys), out)
    return out


def digit_values(offsets: np.ndarray, data, out: np.ndarray) -> bool:
    """``out[i]``: the number string ``i`` writes (int32 ``offsets`` into ``data``, as
    Arrow's), if every string is 1-18 ASCII digits of one width; else False."""
    return _impl().digit_values(np.ascontiguousarray(offsets, np.int32), data, out)


DIGITS, MINUS, RATE, DATE = range(4)  # the kinds of put_values


def _put(kind: int, buf: np.ndarray, base: np.ndarray, start: int, rows: np.ndarray,
         values: np.ndarray, valid: np.ndarray | None, length: int = 0,
         absolute: bool = False, blank_null: bool = False) -> int:
    return _done(_impl().put_values(kind, buf, _ints(base), start, length, _ints(rows),
                                     _ints(values), _flags(valid), absolute, blank_null))


def put_bytes(buf: np.ndarray, base: np.ndarray, start: int, value: bytes) -> None:
    """``value`` at every item."""
    _done(_impl().put_bytes(buf, _ints(base), start, value))


def put_digits(buf: np.ndarray, base: np.ndarray, start: int, length: int, rows: np.ndarray,
               values: np.ndarray, valid: np.ndarray | None, absolute: bool = False,
               blank_null: bool = False) -> int:
    """Zero-filled ``length``-digit integers; null rows blank (``blank_null``) or zeros;
    ``absolute`` writes the magnitude. Returns the first item that does not fit, else -1."""
    return _put(DIGITS, buf, base, start, rows, values, valid, length, absolute, blank_null)


def put_minus(buf: np.ndarray, base: np.ndarray, start: int, rows: np.ndarray,
              values: np.ndarray, valid: np.ndarray | None) -> None:
    """``-`` where the value is negative."""
    _put(MINUS, buf, base, start, rows, values, valid)


def put_rate(buf: np.ndarray, base: np.ndarray, start: int, rows: np.ndarray,
             values: np.ndarray, valid: np.ndarray | None) -> int:
    """``nnnnn.nnnnn`` from values x 100000, null rows blank. Returns the first item out of
    range, else -1."""
    return _put(RATE, buf, base, start, rows, values, valid)


def put_dates(buf: np.ndarray, base: np.ndarray, start: int, rows: np.ndarray,
              days: np.ndarray, valid: np.ndarray | None) -> None:
    """YYMMDD from days since 1970-01-01; null rows blank."""
    _put(DATE, buf, base, start, rows, days, valid)


def put_texts(buf: np.ndarray, base: np.ndarray, start: int, length: int, rows: np.ndarray,
              entries: np.ndarray | None, offsets: np.ndarray, data: np.ndarray) -> int:
    """Strings cut to ``length`` (the rest of the field is left as it is): row ``r``'s string
    is ``data[offsets[e]:offsets[e + 1]]`` (int32 offsets, as Arrow's) with ``e = entries[r]``,
    null where ``e < 0`` (``entries`` None: ``e = r``). Returns the first item with a
    non-ASCII byte, else -1."""
    return _done(_impl().put_texts(buf, _ints(base), start, length, _ints(rows),
                                    _entries(entries),
                                    np.ascontiguousarray(offsets, np.int32),
                                    np.ascontiguousarray(data, np.uint8)))


def zip_archive(entries: list[tuple[bytes, int, int, Sequence]], dosdate: int) -> bytes:
    """A zip archive of deflated entries (name, crc32, size, the deflated stream in pieces),
    each dated ``dosdate`` (MS-DOS date) at midnight: headers, data and central directory
    written in one pass."""
    return _impl().zip_archive(entries, dosdate)


# --- rows of text from a program of operations -------------------------------------------------
# An operation is a tuple the C kernel reads; build them with the helpers below and join
# their lists: ``lit("<v>") + dec(amounts, 2) + lit("</v>")``.

Ops = list[tuple]
StringParts = tuple[np.ndarray | None, np.ndarray, np.ndarray]  # entries, offsets, data


def lit(text: str | bytes) -> Ops:
    """The same text in every row."""
    return [("lit", text.encode() if isinstance(text, str) else text)]


def ints(values: np.ndarray) -> Ops:
    """Each row's integer, in decimal."""
    return [("int", _ints(values))]


def dec(values: np.ndarray, digits: int) -> Ops:
    """Each row's fixed-point value (minor units): ``-1234.50`` for -123450 with 2 digits."""
    return [("dec", _ints(values), digits)]


def strs(column: pa.Array | pa.ChunkedArray | StringParts, escape: bool = True) -> Ops:
    """Each row's string (null: nothing), XML-escaped (``&<>"``) unless ``escape`` is off;
    ``column`` may be given as its :func:`string_parts`."""
    entries, offsets, data = column if isinstance(column, tuple) else string_parts(column)
    return [("str", _entries(entries), np.ascontiguousarray(offsets, np.int32),
             np.ascontiguousarray(data, np.uint8), escape)]


def when(flags: np.ndarray, then: Ops, otherwise: Ops = ()) -> Ops:
    """``then`` in the rows where ``flags`` is set, ``otherwise`` in the others."""
    flags = _flags(flags)
    out = [("if", flags, len(then), False), *then]
    if otherwise:
        out += [("if", flags, len(otherwise), True), *otherwise]
    return out


def format_rows(n: int, ops: Ops) -> tuple[bytearray, np.ndarray]:
    """``n`` rows of text: every row runs ``ops``. Returns the text of all rows and where each
    row starts (``n + 1`` offsets)."""
    offsets = np.empty(n + 1, np.int64)
    return _impl().format_rows(n, list(ops), offsets), offsets


def int_values(column: pa.Array) -> tuple[np.ndarray, np.ndarray | None]:
    """An integer (or date) array's values as int64, nulls 0 (a view of its buffer where it
    is int64 without nulls), and its validity (None when no row is null). Read from the
    buffers: Arrow's fill_null costs ~100 us a call on a batch, and allocates."""
    values, valid = int_buffer(column)
    if valid is None:
        return (values if values.dtype == np.int64 else values.astype(np.int64)), None
    return np.where(valid, values, 0).astype(np.int64, copy=False), valid


def int_buffer(column: pa.Array) -> tuple[np.ndarray, np.ndarray | None]:
    """An integer (or date) array's values buffer as it is (a view: a null row's value is
    whatever is there) and its validity (None when no row is null)."""
    n, at = len(column), column.offset
    kind = "u" if pa.types.is_unsigned_integer(column.type) else "i"
    raw = np.frombuffer(column.buffers()[1], np.dtype(f"<{kind}{column.type.bit_width // 8}"))
    return raw[at: at + n], _validity(column) if column.null_count else None


def _validity(column: pa.Array) -> np.ndarray:
    """Whether each row of ``column`` (which has a validity bitmap) is valid."""
    n, at = len(column), column.offset
    bits = np.frombuffer(column.buffers()[0], np.uint8)
    return np.unpackbits(bits, count=at + n, bitorder="little")[at:].view(np.bool_)


def equals(column: pa.ChunkedArray | pa.Array, value: str) -> np.ndarray:
    """Where a string column (dictionary-encoded or not) is ``value`` (a null is not): a
    dictionary chunk's indices compared with the value's, nothing decoded."""
    chunks = column.chunks if isinstance(column, pa.ChunkedArray) else [column]
    out = np.zeros(len(column), np.bool_)
    at = 0
    for chunk in chunks:
        if pa.types.is_dictionary(chunk.type):
            hit = chunk.dictionary.index(value).as_py()
            if hit >= 0:
                np.equal(dictionary_indices(chunk), hit, out=out[at: at + len(chunk)])
        else:
            out[at: at + len(chunk)] = np.asarray(pc.fill_null(pc.equal(chunk, value), False))
        at += len(chunk)
    return out


def dictionary_indices(column: pa.DictionaryArray) -> np.ndarray:
    """A dictionary array's indices as int32, -1 where null: a view of its buffer if they
    are int32 and none is null."""
    n, at = len(column), column.offset
    width = column.type.index_type.bit_width // 8
    raw = np.frombuffer(column.buffers()[1], np.dtype(f"<i{width}"))[at: at + n]
    if raw.dtype == np.int32 and not column.null_count:
        return raw
    return _nulls_out(raw.astype(np.int32), column)


def _nulls_out(entries: np.ndarray, column: pa.Array) -> np.ndarray:
    """``entries`` (one per row of ``column``) with -1 at the column's nulls."""
    if column.null_count:
        entries[~_validity(column)] = -1
    return entries


def string_parts(column: pa.Array | pa.ChunkedArray) -> StringParts:
    """A string column as the kernels read it: (int32 entry of each row, -1 for null, or
    None when row r is string r; int32 offsets; data)."""
    if isinstance(column, pa.ChunkedArray):
        column = column.combine_chunks()
    entries = None
    if pa.types.is_dictionary(column.type):
        entries = dictionary_indices(column)
        column = column.dictionary
    if not pa.types.is_string(column.type):
        column = column.cast(pa.string())
    if column.null_count and entries is None:  # a null writes nothing: entry -1
        entries = _nulls_out(np.arange(len(column), dtype=np.int32), column)
    n = len(column)
    offsets = np.frombuffer(column.buffers()[1], np.int32)[column.offset: column.offset + n + 1]
    data = column.buffers()[2]
    return entries, offsets, (np.frombuffer(data, np.uint8) if data is not None and data.size
                              else np.zeros(1, np.uint8))
