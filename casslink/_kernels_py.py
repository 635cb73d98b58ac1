"""The kernels of ``casslink/_kernels.c`` in numpy and pyarrow, for installs without a C
compiler: the same functions, arguments, results, errors and bytes (``casslink.kernels``
chooses one of the two; ``tests/test_kernels.py`` holds them to each other).

Items are handled in blocks of :data:`BLOCK`, so the temporaries (an index per byte written)
stay small. Where the C kernel stops at an item (a value its field cannot hold, an index out
of range), the items before it are written, as the C kernel writes them.
"""

from __future__ import annotations

import struct
from collections.abc import Iterator, Sequence

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

OUT_OF_RANGE = -2
BLOCK = 1 << 15  # items per block
DIGITS, MINUS, RATE, DATE = range(4)
WIDTHS = {MINUS: 1, RATE: 11, DATE: 6}  # DIGITS: the field's length
INT64_MIN = np.iinfo(np.int64).min
BINARY, TEXT = pa.large_binary(), pa.large_string()
NOTHING = pa.scalar(b"", BINARY)


def _view(obj, dtype) -> np.ndarray:
    """A bytes-like object as a flat array of ``dtype`` (whole items only, as the C kernels
    count them); writable where the object is."""
    raw = memoryview(obj).cast("B")
    size = np.dtype(dtype).itemsize
    return np.frombuffer(raw[: len(raw) // size * size], dtype)


def _blocks(n: int) -> Iterator[slice]:
    for a in range(0, n, BLOCK):
        yield slice(a, min(n, a + BLOCK))


def _first(flags: np.ndarray) -> int:
    """The first set flag's position, else len(flags)."""
    hit = np.flatnonzero(flags)
    return int(hit[0]) if len(hit) else len(flags)


def _fixed(values: np.ndarray, length: int) -> np.ndarray:
    """Each (non-negative) value as ``length`` ASCII digits, zero-filled: (n, length) bytes."""
    powers = np.uint64(10) ** np.arange(length - 1, -1, -1, dtype=np.uint64)
    return ((values.astype(np.uint64)[:, None] // powers) % np.uint64(10) + np.uint64(48)
            ).astype(np.uint8)


def _scatter(out: np.ndarray, at: np.ndarray, text: np.ndarray) -> None:
    """``text`` (a row of bytes per item, or one row for all) at ``out[at[i]:]``."""
    if len(at) and text.shape[-1]:
        out[at[:, None] + np.arange(text.shape[-1])] = text


def put_bytes(buf, base, start: int, value) -> int:
    out, at, v = _view(buf, np.uint8), _view(base, np.int64), _view(value, np.uint8)
    for b in _blocks(len(at)):
        p = at[b] + start
        stop = _first((p < 0) | (p + len(v) > len(out)))
        _scatter(out, p[:stop], v[None, :])
        if stop < len(p):
            return OUT_OF_RANGE
    return -1


def _civil_yymmdd(days: np.ndarray) -> np.ndarray:
    """YYMMDD (as a number) of days since 1970-01-01: H. Hinnant's civil_from_days, as C."""
    z = days + 719468
    era = z // 146097
    doe = z - era * 146097
    yoe = (doe - doe // 1460 + doe // 36524 - doe // 146096) // 365
    doy = doe - (365 * yoe + yoe // 4 - yoe // 100)
    mp = (5 * doy + 2) // 153
    d = doy - (153 * mp + 2) // 5 + 1
    m = np.where(mp < 10, mp + 3, mp - 9)
    y = yoe + era * 400 + (m <= 2)
    return y % 100 * 10000 + m * 100 + d


def put_values(kind: int, buf, base, start: int, length: int, rows, values, valid,
               absolute: bool, blank_null: bool) -> int:
    out, at, row = _view(buf, np.uint8), _view(base, np.int64), _view(rows, np.int64)
    val, ok = _view(values, np.int64), _view(valid, np.uint8)
    n, m, all_valid = len(at), len(val), len(ok) == 0
    if len(row) < n or (not all_valid and len(ok) < m) or kind not in (DIGITS, MINUS, RATE,
                                                                         DATE):
        return OUT_OF_RANGE
    width = length if kind == DIGITS else WIDTHS[kind]
    limit = 10 ** min(max(length, 0), 18)
    for b in _blocks(n):
        r, p = row[b], at[b] + start
        bad_index = (r < 0) | (r >= m) | (p < 0) | (p + width > len(out))
        rr = np.where(bad_index, 0, r)
        v = val[rr] if m else np.zeros(len(r), np.int64)
        present = np.ones(len(r), bool) if all_valid else (ok[rr] != 0 if m else
                                                            np.zeros(len(r), bool))
        bad_value = np.zeros(len(r), bool)
        if kind == DIGITS:
            v = np.where(present, v, 0)
            if absolute:
                with np.errstate(over="ignore"):
                    v = np.where((v < 0) & (v != INT64_MIN), -v, v)
            write = present | (not blank_null)
            bad_value = write & ((v < 0) | (v >= limit))
        elif kind == MINUS:
            write = present & (v < 0)
        elif kind == RATE:
            write = present
            bad_value = write & ((v < 0) | (v >= 10_000_000_000))
        else:
            write = present
        stop = _first(bad_index | bad_value)
        keep = write[:stop] & ~bad_index[:stop]
        pk, vk = p[:stop][keep], v[:stop][keep]
        if kind == DIGITS:
            _scatter(out, pk, _fixed(vk, length))
        elif kind == MINUS:
            out[pk] = ord("-")
        elif kind == RATE:
            text = np.empty((len(vk), 11), np.uint8)
            text[:, :5] = _fixed(vk // 100000, 5)
            text[:, 5] = ord(".")
            text[:, 6:] = _fixed(vk % 100000, 5)
            _scatter(out, pk, text)
        else:
            _scatter(out, pk, _fixed(_civil_yymmdd(vk), 6))
        if stop < len(r):
            return OUT_OF_RANGE if bad_index[stop] else b.start + stop
    return -1


def _spans(n_offsets: int, off: np.ndarray, size: int, e: np.ndarray
           ) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """For string entries ``e`` (null where < 0): (first byte, end, out of range)."""
    null = e < 0
    bad = ~null & (e + 1 >= n_offsets)
    ee = np.where(bad | null, 0, e)
    lo = off[ee].astype(np.int64) if n_offsets > 1 else np.zeros(len(e), np.int64)
    hi = off[ee + 1].astype(np.int64) if n_offsets > 1 else np.zeros(len(e), np.int64)
    bad |= ~null & ((lo < 0) | (hi < lo) | (hi > size))
    skip = bad | null
    return np.where(skip, 0, lo), np.where(skip, 0, hi), bad


def _gather(lo: np.ndarray, lengths: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """(positions of every byte of the spans ``lo[i]:lo[i] + lengths[i]`` in turn, the byte
    offsets within their span)."""
    total = int(lengths.sum())
    within = np.arange(total) - np.repeat(np.cumsum(lengths) - lengths, lengths)
    return np.repeat(lo, lengths) + within, within


def put_texts(buf, base, start: int, length: int, rows, entries, offsets, data) -> int:
    out, at, row = _view(buf, np.uint8), _view(base, np.int64), _view(rows, np.int64)
    ent, off, src = _view(entries, np.int32), _view(offsets, np.int32), _view(data, np.uint8)
    identity = len(ent) == 0
    n = len(at)
    m = len(off) - 1 if identity else len(ent)
    if len(row) < n:
        return OUT_OF_RANGE
    for b in _blocks(n):
        r, p = row[b], at[b] + start
        bad = (r < 0) | (r >= m) | (p < 0) | (p + length > len(out))
        rr = np.where(bad, 0, r)
        e = rr if identity else (ent[rr].astype(np.int64) if m else np.full(len(r), -1))
        e = np.where(bad, -1, e)
        lo, hi, bad_span = _spans(len(off), off, len(src), e)
        bad |= bad_span
        stop = _first(bad)
        lengths = np.maximum(np.minimum(hi - lo, length), 0)[:stop]
        where, within = _gather(lo[:stop], lengths)
        text = src[where]
        to = np.repeat(p[:stop], lengths) + within
        wide = _first(text >= 128)
        out[to[:wide]] = text[:wide]
        if wide < len(text):
            return b.start + int(np.searchsorted(np.cumsum(lengths), wide, side="right"))
        if stop < len(r):
            return OUT_OF_RANGE
    return -1


# --- format_rows ------------------------------------------------------------------------------

def _numbers(values: np.ndarray, digits: int) -> pa.Array:
    """Each value's text as a fixed-point number with ``digits`` decimals."""
    negative = values < 0
    magnitude = values.view(np.uint64).copy()
    magnitude[negative] = ~magnitude[negative] + np.uint64(1)  # |INT64_MIN| too
    scale = np.uint64(10 ** digits)
    text = [pc.if_else(pa.array(negative), _text("-"), _text("")),
            pc.cast(pa.array(magnitude // scale), TEXT)]
    if digits:
        text += [_text("."), pc.utf8_lpad(pc.cast(pa.array(magnitude % scale), TEXT),
                                          width=digits, padding="0")]
    return pc.binary_join_element_wise(*text, _text("")).cast(BINARY)


def _text(s: str) -> pa.Scalar:
    return pa.scalar(s, TEXT)


ESCAPES = ((b"&", b"&amp;"), (b"<", b"&lt;"), (b">", b"&gt;"), (b'"', b"&quot;"))


def _strings(n: int, entries: np.ndarray, offsets: np.ndarray, data: np.ndarray,
             escape: bool) -> pa.Array:
    """Each row's string (null: nothing), escaped if asked."""
    e = np.arange(n, dtype=np.int64) if not len(entries) else entries[:n].astype(np.int64)
    lo, hi, bad = _spans(len(offsets), offsets, len(data), e)
    if bad.any():
        raise IndexError("string entry out of range")
    lengths = hi - lo
    where, _ = _gather(lo, lengths)
    starts = np.zeros(n + 1, np.int64)
    np.cumsum(lengths, out=starts[1:])
    text = pa.Array.from_buffers(BINARY, n, [None, pa.py_buffer(starts),
                                            pa.py_buffer(data[where])])
    if escape:
        for plain, entity in ESCAPES:
            text = pc.replace_substring(text, plain, entity)
    return text


def _ops(n: int, ops: list) -> list[tuple]:
    """The operations checked as the C kernel checks them: (kind, arrays and numbers)."""
    if not isinstance(ops, list):
        raise TypeError("ops must be a list")
    out = []
    for j, t in enumerate(ops):
        if not isinstance(t, tuple) or len(t) < 2:
            raise TypeError("an operation is a tuple")
        kind = t[0]
        if not isinstance(kind, str):
            raise TypeError("an operation's kind is a str")
        if kind == "lit":
            out.append(("lit", bytes(memoryview(t[1]))))
        elif kind in ("int", "dec"):
            values = _view(t[1], np.int64)
            digits = 0 if kind == "int" else int(t[2])
            if len(values) < n or not 0 <= digits <= 18:
                raise IndexError("values must hold n rows, digits 0-18")
            out.append(("dec", values[:n], digits))
        elif kind == "str":
            entries, offsets = _view(t[1], np.int32), _view(t[2], np.int32)
            if (len(entries) and len(entries) < n) or (not len(entries) and len(offsets) < n + 1):
                raise IndexError("strings must hold n rows")
            out.append(("str", entries, offsets, _view(t[3], np.uint8), bool(t[4])))
        elif kind == "if":
            flags, skip = _view(t[1], np.uint8), int(t[2])
            if len(flags) < n or skip < 0 or skip > len(ops) - j - 1:
                raise IndexError("flags must hold n rows, skip stay inside")
            out.append(("if", flags[:n] != 0, skip, bool(t[3])))
        else:
            raise ValueError(f"unknown operation {kind}")
    return out


def format_rows(n: int, ops: list, offsets) -> bytearray:
    row_offsets = _view(offsets, np.int64)
    if len(row_offsets) < n + 1:
        raise IndexError("offsets must hold n + 1 values")
    checked = _ops(n, ops)
    pieces: list = []
    skip_until = np.full(n, -1, np.int64)  # each row skips the operations up to this one
    for j, op in enumerate(checked):
        active = skip_until < j
        everywhere = bool(active.all())
        if op[0] == "if":
            _, flags, skip, negate = op
            skip_until[active & (flags == negate)] = j + skip
            continue
        if op[0] == "lit":
            piece = pa.scalar(op[1], BINARY)
        elif op[0] == "dec":
            piece = _numbers(op[1], op[2])
        else:
            piece = _strings(n, *op[1:])
        if not everywhere:
            piece = pc.if_else(pa.array(active), piece, NOTHING)
        pieces.append(piece)
    if not any(isinstance(p, pa.Array) for p in pieces):
        pieces.append(pa.nulls(n, BINARY))
    rows = pc.binary_join_element_wise(*pieces, NOTHING, null_handling="replace",
                                       null_replacement="")
    at = np.frombuffer(rows.buffers()[1], np.int64)[rows.offset: rows.offset + n + 1]
    row_offsets[: n + 1] = at - at[0]
    data = rows.buffers()[2]
    return bytearray(memoryview(data)[at[0]: at[-1]] if data is not None else b"")


# --- zip_archive ----------------------------------------------------------------------------

LOCAL = struct.Struct("<IHHHHHIIIHH")
CENTRAL = struct.Struct("<IHHHHHHIIIHHHHHII")
END = struct.Struct("<IHHHHIIH")
FOUR_GB = 0xFFFFFFFF


def zip_archive(entries: Sequence, dosdate: int) -> bytes:
    entries = list(entries)
    if len(entries) > 0xFFFF:
        raise ValueError("over 65535 entries needs zip64")
    parsed = []
    for entry in entries:
        if not isinstance(entry, tuple) or len(entry) != 4:
            raise TypeError("an entry is (name, crc32, size, data)")
        name, crc, size, chunks = entry
        if not isinstance(name, bytes):
            raise TypeError("a name must be bytes")
        pieces = [memoryview(c).cast("B") for c in chunks]
        parsed.append((name, int(crc) & FOUR_GB, int(size), pieces,
                       sum(len(p) for p in pieces)))
    out, directory, at = [], [], 0
    date = dosdate & 0xFFFF
    for name, crc, size, pieces, packed in parsed:
        if size >= FOUR_GB or packed >= FOUR_GB or at >= FOUR_GB:
            raise ValueError("a part over 4 GB needs zip64")
        out += [LOCAL.pack(0x04034B50, 20, 0, 8, 0, date, crc, packed, size, len(name), 0),
                name, *pieces]
        directory += [CENTRAL.pack(0x02014B50, 20, 20, 0, 8, 0, date, crc, packed, size,
                                   len(name), 0, 0, 0, 0, 0, at), name]
        at += LOCAL.size + len(name) + packed
    dir_len = sum(map(len, directory))
    if at >= FOUR_GB or at + dir_len + END.size >= FOUR_GB:
        raise ValueError("an archive over 4 GB needs zip64")
    end = END.pack(0x06054B50, 0, 0, len(parsed), len(parsed), dir_len, at, 0)
    return b"".join([*out, *directory, end])


# --- integer keys ------------------------------------------------------------------------------

def first_index(keys, probes, out) -> None:
    k, p, o = _view(keys, np.int64), _view(probes, np.int64), _view(out, np.int64)
    if len(o) != len(p):
        raise ValueError("out must hold one int64 per probe")
    if not len(k):
        o[:] = -1
        return
    distinct, first = np.unique(k, return_index=True)  # the first position of each key
    at = np.minimum(np.searchsorted(distinct, p), len(distinct) - 1)
    o[:] = np.where(distinct[at] == p, first[at], -1)


def digit_values(offsets, data, out) -> bool:
    off, src, o = _view(offsets, np.int32), _view(data, np.uint8), _view(out, np.int64)
    n = len(off) - 1
    if n < 1 or len(o) != n:
        return False
    width = int(off[1]) - int(off[0])
    if not 1 <= width <= 18 or off[0] < 0 or (np.diff(off) != width).any() \
            or int(off[-1]) > len(src):
        return False
    digits = src[off[0]: off[-1]].reshape(n, width) - np.uint8(48)
    if (digits > 9).any():
        return False
    o[:] = 0
    for k in range(width):
        o *= 10
        o += digits[:, k]
    return True


def radix_order(keys, out) -> None:
    k, o = _view(keys, np.int64), _view(out, np.int64)
    if len(o) != len(k):
        raise ValueError("out must hold one int64 per key")
    if len(k) and k.min() < 0:
        raise ValueError("radix_order sorts keys of 0 and above")
    o[:] = np.argsort(k, kind="stable")
