"""Read any CASS fixed-width file into the canonical model, never raising on bad input.

The file's family (billing, hand-off/agent HOT, adjustment) is detected from its header and
record ids. The file is then read in blocks of whole lines (a few MB each, decoded on worker
threads), so memory holds the result plus a few blocks, never the file itself. Within a block,
each record type's rows are sliced from one byte matrix: all digit fields of a type in one
pass (:class:`~parsers.hot.fixedwidth.DigitSpans`), each text field into Arrow buffers directly.
"""

from __future__ import annotations

import hashlib
import os
from collections import Counter, deque
from collections.abc import Callable, Iterator
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from casslink.canonical import (
    CHARGES_SCHEMA,
    RECORDS_SCHEMA,
    BillingBatch,
    FileHeader,
    Finding,
)
from casslink.parsers.hot import fixedwidth as fw
from casslink.parsers.hot.layouts import FAMILIES, Family, RecordLayout

MAX_UNKNOWN_RECORDS = 200  # file-level findings: the file is rejected, the rest adds nothing
DECODE_THREADS = 2
BLOCK_BYTES = 4 << 20  # lines per block: about 16,000 250-column records
IN_FLIGHT = DECODE_THREADS + 1  # blocks read ahead of the oldest undecoded one

# Stable syntax codes (documented in docs/validation-rules.md with the rule catalogue).
S_EMPTY = "HOT-S001"
S_NOT_NUMERIC = "HOT-S002"
S_BAD_DATE = "HOT-S003"
S_BAD_RATE = "HOT-S004"
S_UNKNOWN_RECORD = "HOT-S005"
S_LINE_LENGTH = "HOT-S006"
S_NON_ASCII = "HOT-S007"
S_NO_HEADER = "HOT-S008"
S_TRUNCATED = "HOT-S009"

NUMERIC_KINDS = ("int", "amount", "amount?", "weight", "pct")
RECORDS_BODY = RECORDS_SCHEMA.remove(RECORDS_SCHEMA.get_field_index("source_file"))
CHARGES_BODY = CHARGES_SCHEMA.remove(CHARGES_SCHEMA.get_field_index("source_file"))


def detect_family(first: bytes, present: Callable[[bytes], bool]) -> str:
    """Family from the first line's first three bytes and which record ids start some line
    (``present``)."""
    if not first:
        return "billing"
    if (first[:2] == b"AA" and first[2:3].isdigit()) or (
            first[:2] in (b"AW", b"CO", b"CR", b"DO", b"DR") and not present(b"AWM")
            and not present(b"AWB") and first not in (b"CCO", b"CCR", b"DCO", b"DCR")):
        return "adjustment"
    if first == b"ALS" or present(b"AWB"):
        return "billing"
    if present(b"AWM"):
        return "handoff"
    return "handoff" if first == b"AAA" else "billing"


def _starts_some_line(data) -> Callable[[bytes], bool]:
    return lambda rid: data[:len(rid)] == rid or data.find(b"\n" + rid) >= 0


def read_hot_file(path: str | Path, source_file: str | None = None,
                  default_currency: str | None = None) -> BillingBatch:
    """Parse a HOT file streaming from disk; ``source_file`` defaults to its sha256."""
    import mmap

    with open(path, "rb") as fh:
        size = os.fstat(fh.fileno()).st_size
        if size == 0:
            return read_hot(b"", source_file or hashlib.sha256(b"").hexdigest(),
                            default_currency)
        with mmap.mmap(fh.fileno(), 0, access=mmap.ACCESS_READ) as mm:
            end = fw.content_end(mm)
            family = detect_family(mm[:3], _starts_some_line(mm))
        digest = hashlib.sha256() if source_file is None else None
        fh.seek(0)
        batch = _read_blocks(_file_blocks(fh, end, digest), source_file or "",
                             default_currency, family)
        if digest is not None:
            fh.seek(end)
            digest.update(fh.read())
            batch = _with_source_file(batch, digest.hexdigest())
        return batch


def read_hot(data: bytes, source_file: str = "", default_currency: str | None = None,
             family: str | None = None) -> BillingBatch:
    """Parse a HOT file's bytes. ``default_currency`` fills rows without one (adjustment files)."""
    end = fw.content_end(data)
    family = family or detect_family(data[:3], _starts_some_line(data))
    return _read_blocks(_byte_blocks(data, end), source_file, default_currency, family)


def _byte_blocks(data: bytes, end: int, size: int | None = None) -> Iterator[bytes]:
    """Blocks of whole lines of ``data[:end]``; every block but the last ends with LF."""
    size = size or BLOCK_BYTES
    lo = 0
    while lo < end:
        hi = lo + size
        if hi < end:
            cut = data.rfind(b"\n", lo, hi)
            if cut < 0:
                cut = data.find(b"\n", hi, end)
            hi = end if cut < 0 else cut + 1
        else:
            hi = end
        yield data[lo:hi]
        lo = hi


def _file_blocks(fh, end: int, digest, size: int | None = None) -> Iterator[bytes]:
    """Like :func:`_byte_blocks`, reading the open file ``fh`` (hashing what it reads)."""
    size = size or BLOCK_BYTES
    parts: list[bytes] = []  # the start of a line that is not complete yet
    pos = 0
    while pos < end:
        chunk = fh.read(min(size, end - pos))
        if not chunk:
            break
        pos += len(chunk)
        if digest is not None:
            digest.update(chunk)
        cut = chunk.rfind(b"\n") if pos < end else len(chunk) - 1
        if cut < 0:
            parts.append(chunk)
            continue
        yield b"".join((*parts, chunk[:cut + 1]))
        parts = [chunk[cut + 1:]]
    if any(parts):
        yield b"".join(parts)


# --- one block ----------------------------------------------------------------------------------

@dataclass
class _Block:
    """What one block of lines decodes to (problems grouped so merging keeps their order)."""

    lines: int
    records: pa.Table | None = None
    charges: pa.Table | None = None
    counts: Counter = field(default_factory=Counter)
    problems: dict[str, list[Finding]] = field(default_factory=dict)
    header: tuple | None = None  # (FileHeader, problems) of the block's first header
    trailer: tuple | None = None  # (dict, problems) of the block's last trailer


PROBLEM_GROUPS = ("bytes", "length", "unknown", "body")


def _decode_block(fam: Family, data: bytes, final: bool, first_line: int) -> _Block:
    buf, starts, lengths = fw.split_lines(data, final)
    n = len(starts)
    out = _Block(n, problems={g: [] for g in PROBLEM_GROUPS})
    if n == 0:
        return out
    width, w = fam.width, fam.id_width
    line_no = np.arange(first_line, first_line + n, dtype=np.int32)
    mat = fw.to_matrix(buf, starts, lengths, width)
    if mat.min() < fw.SPACE or mat.max() > 126:  # a control or non-ASCII byte in some line
        mat = mat.copy()
        bad = (mat > 126) | (mat < 32)  # DEL (127) is a control byte too
        rows = np.flatnonzero(bad.any(axis=1))
        for r in rows:  # every line: each one is rejected (the engine caps the listing)
            out.problems["bytes"].append(Finding(
                S_NON_ASCII, message="non-ASCII or control byte replaced by '?'",
                line=int(line_no[r]), raw=repr(bytes(mat[r][bad[r]][:8]))))
        mat[bad] = ord("?")

    codes = _id_codes(mat, w)  # one int per line: the record id (printable ASCII only here)
    layouts = fam.layouts
    code_of = {k: _id_code(k) for k in layouts}
    counts = np.bincount(codes)
    for c in np.flatnonzero(counts):
        out.counts[bytes(mat[int(np.argmax(codes == c))][:w]).decode("ascii")] = int(counts[c])

    def rid(r: int) -> str:
        return bytes(mat[r][:w]).decode("ascii", "replace")

    # line length: too long is a problem, short lines are padded (right-trimmed files are normal)
    expected = np.full(n, 250)
    if fam.name == "adjustment":
        expected[:] = width
        for k, v in layouts.items():
            expected[codes == code_of[k]] = v.width
    for r in np.flatnonzero(lengths > expected):
        out.problems["length"].append(_length_finding(S_LINE_LENGTH, int(line_no[r]),
                                                      int(lengths[r]), int(expected[r])))
    for r in np.flatnonzero(~np.isin(codes, list(code_of.values())))[:MAX_UNKNOWN_RECORDS]:
        out.problems["unknown"].append(Finding(
            S_UNKNOWN_RECORD, message=f"record type not allowed in a {fam.name} file",
            line=int(line_no[r]), record_type=rid(r), field="record_id",
            raw=bytes(mat[r][:10]).decode("ascii", "replace")))

    header_rows = np.flatnonzero(np.isin(codes, [code_of[k] for k, v in layouts.items()
                                                 if v.role == "header"]))
    if len(header_rows):
        r = int(header_rows[0])
        found: list[Finding] = []
        cols = _decode(fam.header, mat[r:r + 1], line_no[r:r + 1], found)
        out.header = (_header_from(fam, cols, rid(r), int(line_no[r])), found)
    trailer_rows = np.flatnonzero(codes == code_of[fam.trailer.record_id])
    if len(trailer_rows):
        r = int(trailer_rows[-1])
        found = []
        cols = _decode(fam.trailer, mat[r:r + 1], line_no[r:r + 1], found)
        trailer = {k: _scalar(v) for k, v in cols.items() if k != "record_id"}
        trailer["source_line"] = int(line_no[r])
        out.trailer = (trailer, found)

    record_tables, charge_tables = [], []
    for layout in fam.records:  # layout order: deterministic problems
        rows = np.flatnonzero(codes == code_of[layout.record_id])
        if not len(rows):
            continue
        sub = mat[rows]
        if layout.role == "charges":
            charge_tables.append(_charges_table(layout, sub, line_no[rows],
                                                out.problems["body"]))
        else:
            cols = _decode(layout, sub, line_no[rows], out.problems["body"])
            record_tables.append(_records_table(layout, cols, len(rows), line_no[rows]))
    out.records = _in_file_order(record_tables, RECORDS_BODY)
    out.charges = _in_file_order(charge_tables, CHARGES_BODY)
    wrong = lengths != expected
    if wrong.any():
        _length_first(fam, out, first_line, lengths, expected)
    return out


def _length_finding(code: str, line: int, length: int, expected: int) -> Finding:
    return Finding(code, message=f"line is {length} bytes, expected {expected}", line=line,
                   raw=str(length), expected=str(expected))


def _length_first(fam: Family, out: _Block, first_line: int, lengths: np.ndarray,
                  expected: np.ndarray) -> None:
    """A line of the wrong length gets one length finding instead of the field findings that
    follow from it. A too-long line already has ``HOT-S006`` (its fields are shifted). A short
    line reads as if padded with blanks (right-trimmed lines are normal); when it ends inside
    a field that then fails to decode, it was cut off: ``HOT-S009``."""
    def row(p: Finding) -> int:
        return (p.line or 0) - first_line

    def too_long(p: Finding) -> bool:
        return 0 <= row(p) < len(lengths) and lengths[row(p)] > expected[row(p)]

    def cut_inside(p: Finding) -> bool:
        r = row(p)
        if not (0 <= r < len(lengths) and lengths[r] < expected[r]):
            return False
        raw = p.raw or ""
        if raw.rstrip(" ") == raw or not raw.strip():  # the field is not cut off by the end
            return False
        layout = fam.layouts.get(p.record_type)
        f = next((f for f in layout.fields if f.name == p.field), None) if layout else None
        return f is None or f.start - 1 < lengths[r] < f.end

    def lengths_first(problems: list[Finding]) -> tuple[list[Finding], list[Finding]]:
        cut = {p.line for p in problems if cut_inside(p)}
        kept = [p for p in problems if p.line not in cut and not too_long(p)]
        return kept, [_length_finding(S_TRUNCATED, line, int(lengths[line - first_line]),
                                      int(expected[line - first_line])) for line in sorted(cut)]

    out.problems["body"], truncated = lengths_first(out.problems["body"])
    out.problems["length"] = sorted(out.problems["length"] + truncated, key=lambda p: p.line)
    for name in ("header", "trailer"):  # their findings travel with them (merge picks one)
        part = getattr(out, name)
        if part is not None:
            kept, truncated = lengths_first(part[1])
            setattr(out, name, (part[0], truncated + kept))


def _read_blocks(blocks: Iterator[bytes], source_file: str, default_currency: str | None,
                 family: str) -> BillingBatch:
    """Decode blocks on worker threads (numpy and Arrow release the GIL), merge in order."""
    fam = FAMILIES[family]
    done: list[_Block] = []
    pending: deque[Future] = deque()
    first_line = 1
    with ThreadPoolExecutor(max_workers=DECODE_THREADS) as pool:
        it = iter(blocks)
        data = next(it, None)
        while data is not None:
            nxt = next(it, None)
            pending.append(pool.submit(_decode_block, fam, data, nxt is None, first_line))
            first_line += fw.count_lf(np.frombuffer(data, np.uint8))
            data = nxt
            while len(pending) >= IN_FLIGHT or (data is None and pending):
                done.append(pending.popleft().result())
    return _merge(fam, done, source_file, default_currency)


def _merge(fam: Family, blocks: list[_Block], source_file: str,
           default_currency: str | None) -> BillingBatch:
    n = sum(b.lines for b in blocks)
    if n == 0:
        return BillingBatch(FileHeader(), RECORDS_SCHEMA.empty_table(),
                            CHARGES_SCHEMA.empty_table(), {},
                            [Finding(S_EMPTY, message="the file is empty")], source_file, 0)
    problems: list[Finding] = []
    for group in PROBLEM_GROUPS[:-1]:
        found = [p for b in blocks for p in b.problems[group]]
        problems.extend(found[:MAX_UNKNOWN_RECORDS] if group == "unknown" else found)
    header, trailer = FileHeader(family=fam.name), {}
    first_header = next((b.header for b in blocks if b.header), None)
    last_trailer = next((b.trailer for b in reversed(blocks) if b.trailer), None)
    if first_header:
        header = first_header[0]
        problems.extend(first_header[1])
    else:
        problems.append(Finding(S_NO_HEADER, message="no header record", line=1))
    if last_trailer:
        trailer = last_trailer[0]
        problems.extend(last_trailer[1])
        if fam.name == "handoff" and trailer.get("office_code"):
            header.office_code = trailer["office_code"]
    problems.extend(p for b in blocks for p in b.problems["body"])
    counts: Counter = Counter()
    for b in blocks:
        counts.update(b.counts)
    records = _concat([b.records for b in blocks], RECORDS_BODY)
    charges = _concat([b.charges for b in blocks], CHARGES_BODY)
    if default_currency and records.num_rows and records.column("currency").null_count:
        records = records.set_column(
            records.schema.get_field_index("currency"), "currency",
            pc.fill_null(records.column("currency"), default_currency))
    batch = BillingBatch(header, records, charges, trailer, problems, source_file, n,
                         dict(counts))
    return _with_source_file(batch, source_file)


def _with_source_file(batch: BillingBatch, source_file: str) -> BillingBatch:
    """Put ``source_file`` (first column of both tables) in place, one value for all rows."""
    for name in ("records", "charges"):
        table = getattr(batch, name)
        if "source_file" in table.column_names:
            table = table.drop_columns(["source_file"])
        column = pa.chunked_array([fw.repeat(source_file, len(c)) for c in
                                   table.column(0).chunks] or [pa.array([], pa.string())],
                                  pa.string())
        setattr(batch, name, table.add_column(0, pa.field("source_file", pa.string()), column))
    batch.source_file = source_file
    return batch


def _concat(tables: list[pa.Table | None], schema: pa.Schema) -> pa.Table:
    tables = [t for t in tables if t is not None and t.num_rows]
    return pa.concat_tables(tables) if tables else schema.empty_table()


def _in_file_order(tables: list[pa.Table], schema: pa.Schema) -> pa.Table | None:
    """One block's per-type tables back into file order (line, then slot)."""
    if not tables:
        return None
    table = pa.concat_tables(tables).combine_chunks() if len(tables) > 1 else tables[0]
    line = np.asarray(table.column("source_line"))
    if "slot" in schema.names:
        order = np.lexsort((np.asarray(table.column("slot")), line))
    elif len(tables) > 1:
        order = np.argsort(line, kind="stable")
    else:
        return table
    return table.take(pa.array(order))


# --- decoding ------------------------------------------------------------------------------

@dataclass
class _Plan:
    """How one layout's fields are decoded: texts one by one, every digit field at once."""

    texts: list
    numbers: list  # (field, column index in spans or (whole, fraction) for rates)
    signs: list
    spans: fw.DigitSpans


_PLANS: dict[tuple, _Plan] = {}


def _plan(layout: RecordLayout) -> _Plan:
    key = (layout.record_id, layout.fields)
    plan = _PLANS.get(key)
    if plan is None:
        texts, numbers, signs, spans = [], [], [], []
        for f in layout.fields:
            if f.kind in ("filler", "id") or not f.name:
                continue
            if f.kind in ("A", "AN", "N"):
                texts.append(f)
            elif f.kind == "sign":
                signs.append(f)
            elif f.kind == "rate":
                numbers.append((f, (len(spans), len(spans) + 1)))
                spans += [(f.start - 1, 5), (f.start + 5, 5)]
            else:
                numbers.append((f, len(spans)))
                spans.append((f.start - 1, f.length))
        plan = _PLANS.setdefault(key, _Plan(texts, numbers, signs, fw.DigitSpans(spans)))
    return plan


def _decode(layout: RecordLayout, sub: np.ndarray, lines: np.ndarray,
            problems: list[Finding]) -> dict[str, pa.Array]:
    """Decode every field of ``layout`` from the rows ``sub``; returns name -> Arrow array."""
    plan = _plan(layout)
    out: dict[str, pa.Array] = {f.name: fw.texts(sub[:, f.slice]) for f in plan.texts}
    values, ok, blank = plan.spans.decode(sub)
    for f, col in plan.numbers:
        if f.kind == "rate":
            w, x = col
            good = ok[w] & ok[x] & (sub[:, f.start + 4] == fw.DOT)
            vals = np.where(good, values[w] * 100000 + values[x], 0)
            empty = blank[w] & blank[x] & (sub[:, f.start + 4] == fw.SPACE)
            code, what = S_BAD_RATE, "not a rate nnnnn.nnnnn"
        elif f.kind == "date":
            vals, good = fw.dates_from(values[col], ok[col])
            empty = blank[col]
            code, what = S_BAD_DATE, "not a valid YYMMDD date"
        else:
            vals, good, empty = values[col], ok[col], blank[col]
            code, what = S_NOT_NUMERIC, "not numeric"
        bad = ~good & ~empty
        if bad.any():
            for i in np.flatnonzero(bad):  # every bad line is reported, so rejected
                problems.append(Finding(code, message=f"{f.name} {what}", line=int(lines[i]),
                                        record_type=layout.record_id, field=f.name,
                                        raw=bytes(sub[i, f.slice]).decode("ascii", "replace")))
        null = bad if f.kind == "amount" else bad | empty  # blank amounts read as zero
        out[f.name] = (np.ascontiguousarray(vals), null if null.any() else None)
    for f in plan.signs:
        negative = sub[:, f.start - 1] == ord("-")
        if f.name in out and negative.any():
            vals, null = out[f.name]
            out[f.name] = (np.where(negative, -vals, vals), null)
    dates = {f.name for f, _ in plan.numbers if f.kind == "date"}
    return {k: v if isinstance(v, pa.Array) else
            pa.array(v[0], pa.date32() if k in dates else pa.int64(), mask=v[1])
            for k, v in out.items()}


def _records_table(layout: RecordLayout, cols: dict[str, pa.Array], m: int,
                   lines: np.ndarray) -> pa.Table:
    cols = dict(cols)
    for f in layout.fields:  # correction form: amount -> <name>_pp / <name>_cc by its indicator
        if f.split and f.name in cols:
            is_collect = pc.fill_null(pc.equal(cols[f.split], "C"), False)
            value = cols.pop(f.name)
            zero = pa.scalar(0, pa.int64())
            cols[f"{f.name}_pp"] = pc.if_else(is_collect, zero, value)
            cols[f"{f.name}_cc"] = pc.if_else(is_collect, value, zero)
    cols["record_type"] = fw.repeat(layout.canonical, m)
    cols["source_line"] = pa.array(lines, pa.int32())
    arrays = [cols[name].cast(t) if name in cols else pa.nulls(m, t)
              for name, t in zip(RECORDS_BODY.names, RECORDS_BODY.types, strict=True)]
    return pa.Table.from_arrays(arrays, schema=RECORDS_BODY)


def _charges_table(layout: RecordLayout, sub: np.ndarray, lines: np.ndarray,
                   problems: list[Finding]) -> pa.Table:
    """Decode every slot of every charge record at once: the slots of an (m, width) block are
    an (m * count, slot_width) grid whose row-major order is already (line, slot) order."""
    m = len(lines)
    common = _decode(RecordLayout(layout.record_id, "record", layout.width, layout.fields),
                     sub, lines, problems)
    group = layout.group
    lo = group.start - 1
    grid = np.ascontiguousarray(sub[:, lo: lo + group.count * group.slot_width]).reshape(
        m * group.count, group.slot_width)
    present = ~fw.blank_rows(grid)
    idx = np.flatnonzero(present)
    owner = idx // group.count
    slot_lines = lines[owner]
    slot_layout = RecordLayout(layout.record_id, "record", group.slot_width, group.fields)
    vals = _decode(slot_layout, grid[idx], slot_lines, problems)
    side = pc.fill_null(common.get("side", pa.nulls(m, pa.string())), "")
    parent_by_side = pa.array([layout.parents.get(k) for k in ("", "O", "R")], pa.string())
    side_code = pc.index_in(side, pa.array(["", "O", "R"]))
    if "" not in layout.parents:  # CC3/DC3: a blank side is not a valid parent
        parent = parent_by_side.take(side_code)
    else:
        parent = fw.repeat(layout.parents[""], m)
    take = pa.array(owner)
    cols = {
        "source_line": pa.array(slot_lines, pa.int32()),
        "slot": pa.array((idx % group.count + 1).astype(np.int8)),
        "parent_type": parent.take(take),
        "airline_prefix": common["airline_prefix"].take(take),
        "awb_serial": common["awb_serial"].take(take),
        "correction_number": common["correction_number"].take(take),
        "currency": common["currency"].take(take),
        **vals,
    }
    return pa.Table.from_arrays([cols[n].cast(t) for n, t in zip(
        CHARGES_BODY.names, CHARGES_BODY.types, strict=True)], schema=CHARGES_BODY)


def _id_code(record_id: str) -> int:
    code = 0
    for ch in record_id.encode("ascii"):
        code = code * 95 + (ch - 32)
    return code


def _id_codes(mat: np.ndarray, width: int) -> np.ndarray:
    """Record ids (printable ASCII, base 95) as ints: cheap to count and to compare."""
    codes = np.zeros(len(mat), np.int32)
    for k in range(width):
        col = mat[:, k].astype(np.int32)
        col[(col < 32) | (col > 126)] = ord("?")  # a stray CR inside an id
        codes = codes * 95 + (col - 32)
    return codes


def _scalar(arr: pa.Array):
    return arr[0].as_py()


def _header_from(fam: Family, cols: dict[str, pa.Array], record_id: str, line: int) -> FileHeader:
    v = {k: _scalar(a) for k, a in cols.items()}
    return FileHeader(
        family=fam.name, record_id=record_id, operation=v.get("operation") or "",
        airline_prefix=v.get("airline_prefix") or "", agent_code=v.get("agent_code") or "",
        branch_indicator=v.get("branch_indicator") or "", period_start=v.get("period_start"),
        period_end=v.get("period_end"), billing_date=v.get("billing_date"),
        file_number=v.get("file_number"), currency=v.get("currency") or "", source_line=line)
