"""Vectorised fixed-width primitives: bytes -> (n, width) byte matrix -> typed numpy/Arrow columns.

No Python loop runs per field value; loops run per field, per digit position, or per chunk.
"""

from __future__ import annotations

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

SPACE, ZERO, DOT = 32, 48, 46
CHUNK = 65536
TERMINATORS = (10, 13, 26)  # LF, CR and the EOF byte (Ctrl-Z) some systems append
MAX_DIGITS = 18  # int64 holds every 18-digit number


def content_end(data, end: int | None = None) -> int:
    """Length of ``data`` without its trailing LF/CR/EOF bytes (a file's last terminators)."""
    end = len(data) if end is None else end
    while end and data[end - 1] in TERMINATORS:
        end -= 1
    return end


def split_lines(data: bytes, final: bool = True) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Byte buffer -> (buffer as uint8, line starts, line lengths without CR/LF).

    Accepts LF and CRLF, a missing final newline and (``final``) trailing terminators and EOF
    byte (0x1A, Ctrl-Z). A block cut from the middle of a file (``final=False``) ends with
    exactly one line terminator, which is the only one removed.
    """
    buf = np.frombuffer(data, dtype=np.uint8)
    if final:
        end = content_end(data)
    else:
        end = len(buf) - (len(buf) > 0 and buf[-1] == 10)
        end -= end > 0 and buf[end - 1] == 13
    buf = buf[:end]
    if end == 0:  # nothing, or (inside a file) one empty line
        n = int(not final and len(data) > 0)
        return buf, np.zeros(n, np.int64), np.zeros(n, np.int64)
    fixed = _fixed_stride(data, buf)
    if fixed is not None:
        return buf, *fixed
    nl = np.flatnonzero(buf == 10)
    starts = np.concatenate(([0], nl + 1)).astype(np.int64)
    ends = np.concatenate((nl, [end])).astype(np.int64)
    cr = (ends > starts) & (buf[np.maximum(ends - 1, 0)] == 13)
    cr[-1] = False  # the last line's terminator is already off (see above)
    ends = ends - cr
    return buf, starts, ends - starts


def _fixed_stride(data: bytes, buf: np.ndarray) -> tuple[np.ndarray, np.ndarray] | None:
    """Fast path for the common file: every line the same length with the same terminator.

    Verified, not assumed: the number of LF bytes must equal the number of lines and every
    line end must sit at its stride position (and carry CR if the first one does).
    """
    first = data.find(b"\n", 0, len(buf))
    if first <= 0:
        return None
    stride, cr = first + 1, int(buf[first - 1] == 13)
    n, rest = divmod(len(buf) + 1 + cr, stride)
    if rest or n < 2 or count_lf(buf) != n - 1:
        return None
    ends = np.arange(stride - 1, len(buf), stride)
    if not (buf[ends] == 10).all() or not ((buf[ends - 1] == 13) == bool(cr)).all():
        return None
    starts = np.arange(n, dtype=np.int64) * stride
    return starts, np.full(n, stride - 1 - cr, np.int64)


def to_matrix(buf: np.ndarray, starts: np.ndarray, lengths: np.ndarray, width: int) -> np.ndarray:
    """Lines right-padded with blanks (and cut) to ``width`` as an (n, width) uint8 matrix."""
    n = len(starts)
    if n == 0:
        return np.zeros((0, width), np.uint8)
    stride = int(starts[1] - starts[0]) if n > 1 else width
    if (lengths == width).all() and int(starts[0]) == 0 and (
            n == 1 or (np.diff(starts) == stride).all()):
        # fast path: every line is exactly `width` bytes at a fixed stride -> a strided view
        return np.lib.stride_tricks.as_strided(buf, shape=(n, width), strides=(stride, 1),
                                               writeable=False)
    out = np.full((n, width), SPACE, np.uint8)
    cols = np.arange(width)
    for lo in range(0, n, CHUNK // 4):
        hi = min(n, lo + CHUNK // 4)
        ln = np.minimum(lengths[lo:hi], width)
        mask = cols[None, :] < ln[:, None]
        idx = starts[lo:hi, None] + cols[None, :]
        out[lo:hi][mask] = buf[idx[mask]]
    return out


def count_lf(buf: np.ndarray) -> int:
    """Number of LF bytes (numpy, so other threads run meanwhile)."""
    return int(np.count_nonzero(buf == 10))


def blank_rows(sub: np.ndarray) -> np.ndarray:
    """Rows that are all blanks (compared as fixed-size byte strings, not byte by byte)."""
    m, length = sub.shape
    if not length:
        return np.ones(m, bool)
    rows = np.ascontiguousarray(sub).view(f"V{length}").ravel()
    return rows == np.frombuffer(b" " * length, f"V{length}")[0]


class DigitSpans:
    """Several digit fields of one layout, decoded together: one gather of their columns,
    transposed so that each digit position is a contiguous row; per field, validity from the
    min/max of its rows and the value by Horner's rule over them (integer numpy, no BLAS -
    the reader's threads already use the cores)."""

    def __init__(self, spans: list[tuple[int, int]]):
        """``spans``: (0-based start, length) per field."""
        if any(length > MAX_DIGITS for _, length in spans):
            raise ValueError(f"digit fields longer than {MAX_DIGITS} are not supported")
        self.count = len(spans)
        self.columns = np.concatenate([np.arange(s, s + n) for s, n in spans]) if spans \
            else np.zeros(0, np.intp)
        self.rows: list[slice] = []
        off = 0
        for _, n in spans:
            self.rows.append(slice(off, off + n))
            off += n

    def decode(self, sub: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """(values, ok, blank), each (fields, m): ok = all bytes 0-9, blank = all spaces."""
        m = len(sub)
        values = np.zeros((self.count, m), np.int64)
        if not self.count or not m:
            return values, values.astype(bool), values.astype(bool)
        d = sub.T[self.columns]  # (digits, m), contiguous
        np.subtract(d, np.uint8(ZERO), out=d)  # bytes below '0' wrap to >= 208
        hi = np.stack([d[r].max(axis=0) for r in self.rows])
        lo = np.stack([d[r].min(axis=0) for r in self.rows])
        for j, r in enumerate(self.rows):
            v = values[j]
            v += d[r.start]
            for k in range(r.start + 1, r.stop):
                v *= 10
                v += d[k]
        ok = hi <= 9
        space = np.uint8(SPACE - ZERO + 256)
        blank = (hi == space) & (lo == space)
        values[~ok] = 0
        return values, ok, blank


def _month_tables() -> tuple[np.ndarray, np.ndarray]:
    """Per two-digit year x month (index yy * 12 + month - 1): days from 1970-01-01 to the
    month's first day, and the month's length. YY 00-69 -> 20YY, 70-99 -> 19YY."""
    yy = np.repeat(np.arange(100), 12)
    year = np.where(yy < 70, 2000 + yy, 1900 + yy)
    months = ((year - 1970) * 12 + np.tile(np.arange(12), 100)).astype("datetime64[M]")
    first = months.astype("datetime64[D]")
    length = ((months + np.timedelta64(1, "M")).astype("datetime64[D]") - first).astype(np.int64)
    return first.astype(np.int64), length


MONTH_START, MONTH_LENGTH = _month_tables()


def dates_from(vals: np.ndarray, ok: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """YYMMDD integers -> (days since 1970-01-01 as int32, ok mask)."""
    yy, mm, dd = vals // 10000, (vals // 100) % 100, vals % 100
    ok = ok & (mm >= 1) & (mm <= 12) & (dd >= 1)
    idx = yy * 12 + np.clip(mm, 1, 12) - 1
    ok &= dd <= MONTH_LENGTH[idx]
    return np.where(ok, MONTH_START[idx] + dd - 1, 0).astype(np.int32), ok


def repeat(value: str, m: int) -> pa.Array:
    """A string array of ``m`` copies of ``value`` (built in C, not from a Python list)."""
    return pc.fill_null(pa.nulls(m, pa.string()), value)


def texts(sub: np.ndarray) -> pa.Array:
    """(m, L) ASCII bytes -> Arrow strings, right-trimmed, blank -> null."""
    m, length = sub.shape
    if m == 0:
        return pa.array([], pa.string())
    if length == 1:  # indicators: the Arrow buffers directly
        col = sub[:, 0]
        valid = col != SPACE
        offsets = np.zeros(m + 1, np.int32)
        np.cumsum(valid, out=offsets[1:])
        nulls = m - int(offsets[-1])
        bitmap = pa.py_buffer(np.packbits(valid, bitorder="little")) if nulls else None
        return pa.StringArray.from_buffers(m, pa.py_buffer(offsets),
                                           pa.py_buffer(np.ascontiguousarray(col[valid])),
                                           bitmap, nulls)
    contiguous = np.ascontiguousarray(sub)
    offsets = np.arange(0, (m + 1) * length, length, dtype=np.int32)
    arr = pa.StringArray.from_buffers(m, pa.py_buffer(offsets), pa.py_buffer(contiguous))
    trimmed = pc.utf8_rtrim(arr, characters=" ")
    return pc.if_else(pc.equal(trimmed, ""), pa.scalar(None, pa.string()), trimmed)
