"""Kernels that write values as text into byte buffers (C, ``casslink/_kernels.c``).

Every kernel walks ``n`` items: item ``i`` takes its value from row ``rows[i]`` of a column
and writes it at byte ``base[i] + start`` of a flat ``uint8`` buffer ``buf``. The kernels run
without the GIL, so two threads fill blocks at once; every index is checked (a wrong one is
an ``IndexError``). A validity of None means every row is valid. A kernel that meets a value
its field cannot hold returns that item's index (else -1), for the caller to name the field in
its error.
"""

from __future__ import annotations

import numpy as np

from casslink import _kernels


def _ints(a: np.ndarray) -> np.ndarray:
    return np.ascontiguousarray(a, np.int64)


def _flags(a: np.ndarray | None) -> np.ndarray:
    return NONE if a is None else np.ascontiguousarray(a, np.bool_)


NONE = np.zeros(0, np.int64)  # no validity (every row valid) / no entries (row r is entry r)


def _done(rc: int) -> int:
    if rc == -2:
        raise IndexError("kernel index out of range")
    return rc


def put_bytes(buf: np.ndarray, base: np.ndarray, start: int, value: bytes) -> None:
    """``value`` at every item."""
    _done(_kernels.put_bytes(buf, _ints(base), start, value))


def put_digits(buf: np.ndarray, base: np.ndarray, start: int, length: int, rows: np.ndarray,
               values: np.ndarray, valid: np.ndarray | None, absolute: bool = False,
               blank_null: bool = False) -> int:
    """Zero-filled ``length``-digit integers; null rows blank (``blank_null``) or zeros;
    ``absolute`` writes the magnitude. Returns the first item that does not fit, else -1."""
    return _done(_kernels.put_digits(buf, _ints(base), start, length, _ints(rows),
                                     _ints(values), _flags(valid), absolute, blank_null))


def put_minus(buf: np.ndarray, base: np.ndarray, start: int, rows: np.ndarray,
              values: np.ndarray, valid: np.ndarray | None) -> None:
    """``-`` where the value is negative."""
    _done(_kernels.put_minus(buf, _ints(base), start, _ints(rows), _ints(values),
                             _flags(valid)))


def put_rate(buf: np.ndarray, base: np.ndarray, start: int, rows: np.ndarray,
             values: np.ndarray, valid: np.ndarray | None) -> int:
    """``nnnnn.nnnnn`` from values x 100000, null rows blank. Returns the first item out of
    range, else -1."""
    return _done(_kernels.put_rate(buf, _ints(base), start, _ints(rows), _ints(values),
                                   _flags(valid)))


def put_dates(buf: np.ndarray, base: np.ndarray, start: int, rows: np.ndarray,
              days: np.ndarray, valid: np.ndarray | None) -> None:
    """YYMMDD from days since 1970-01-01; null rows blank."""
    _done(_kernels.put_dates(buf, _ints(base), start, _ints(rows), _ints(days),
                             _flags(valid)))


def put_texts(buf: np.ndarray, base: np.ndarray, start: int, length: int, rows: np.ndarray,
              entries: np.ndarray | None, offsets: np.ndarray, data: np.ndarray) -> int:
    """Strings cut to ``length`` (the rest of the field is left as it is): row ``r``'s string
    is ``data[offsets[e]:offsets[e + 1]]`` (int32 offsets, as Arrow's) with ``e = entries[r]``,
    null where ``e < 0`` (``entries`` None: ``e = r``). Returns the first item with a
    non-ASCII byte, else -1."""
    return _done(_kernels.put_texts(buf, _ints(base), start, length, _ints(rows),
                                    NONE if entries is None else _ints(entries),
                                    np.ascontiguousarray(offsets, np.int32),
                                    np.ascontiguousarray(data, np.uint8)))
