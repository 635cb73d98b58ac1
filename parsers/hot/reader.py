"""Read any CASS fixed-width file into the canonical model, never raising on bad input.

The file's family (billing, hand-off/agent HOT, adjustment) is detected from its header and
record ids; each record type's rows are sliced field by field from one byte matrix.
"""

from __future__ import annotations

import hashlib
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from casslink.canonical import (
    CHARGES_SCHEMA,
    RECORDS_SCHEMA,
    BillingBatch,
    FileHeader,
    Problem,
)
from parsers.hot import fixedwidth as fw
from parsers.hot.layouts import FAMILIES, Family, RecordLayout

MAX_PROBLEMS_PER_FIELD = 200
DECODE_THREADS = 2

# Stable syntax codes (documented in docs/validation-rules.md with the rule catalogue).
S_EMPTY = "HOT-S001"
S_NOT_NUMERIC = "HOT-S002"
S_BAD_DATE = "HOT-S003"
S_BAD_RATE = "HOT-S004"
S_UNKNOWN_RECORD = "HOT-S005"
S_LINE_LENGTH = "HOT-S006"
S_NON_ASCII = "HOT-S007"
S_NO_HEADER = "HOT-S008"


def detect_family(ids3: np.ndarray) -> str:
    """Family from the record ids (first three bytes of each line)."""
    if len(ids3) == 0:
        return "billing"
    first = bytes(ids3[0])
    present = set(np.unique(ids3).tolist())
    if (first[:2] == b"AA" and first[2:3].isdigit()) or (
            first[:2] in (b"AW", b"CO", b"CR", b"DO", b"DR") and b"AWM" not in present
            and b"AWB" not in present and first not in (b"CCO", b"CCR", b"DCO", b"DCR")):
        return "adjustment"
    if first == b"ALS" or b"AWB" in present:
        return "billing"
    if b"AWM" in present:
        return "handoff"
    return "handoff" if first == b"AAA" else "billing"


def read_hot_file(path: str | Path, source_file: str | None = None,
                  default_currency: str | None = None) -> BillingBatch:
    data = Path(path).read_bytes()
    return read_hot(data, source_file or hashlib.sha256(data).hexdigest(), default_currency)


def read_hot(data: bytes, source_file: str = "", default_currency: str | None = None,
             family: str | None = None) -> BillingBatch:
    """Parse a HOT file's bytes. ``default_currency`` fills rows without one (adjustment files)."""
    problems: list[Problem] = []
    buf, starts, lengths = fw.split_lines(data)
    n = len(starts)
    if n == 0:
        problems.append(Problem(S_EMPTY, "the file is empty"))
        return BillingBatch(FileHeader(), RECORDS_SCHEMA.empty_table(),
                            CHARGES_SCHEMA.empty_table(), {}, problems, source_file, 0)
    ids3 = fw.to_matrix(buf, starts, np.minimum(lengths, 3), 3)
    ids3 = np.ascontiguousarray(ids3).view("S3").ravel()
    fam = FAMILIES[family or detect_family(ids3)]
    width = fam.width

    if fw.has_bad_bytes(data):
        mat = fw.to_matrix(buf, starts, lengths, width).copy()
        bad = (mat >= 128) | (mat < 32)
        rows = np.flatnonzero(bad.any(axis=1))
        for r in rows[:MAX_PROBLEMS_PER_FIELD]:
            problems.append(Problem(S_NON_ASCII, "non-ASCII or control byte replaced by '?'",
                                    int(r) + 1, raw=repr(bytes(mat[r][bad[r]][:8]))))
        mat[bad] = ord("?")
    else:
        mat = fw.to_matrix(buf, starts, lengths, width)

    w = fam.id_width
    codes = _id_codes(mat, w)  # one int per line: the record id (printable ASCII only here)
    layouts = fam.layouts
    code_of = {k: _id_code(k) for k in layouts}
    line_no = np.arange(1, n + 1, dtype=np.int32)
    counts = np.bincount(codes)
    record_counts = {bytes(mat[int(np.argmax(codes == c))][:w]).decode("ascii"): int(counts[c])
                     for c in np.flatnonzero(counts)}

    def rid(r: int) -> str:
        return bytes(mat[r][:w]).decode("ascii", "replace")

    # line length: too long is a problem, short lines are padded (right-trimmed files are normal)
    if fam.name == "adjustment":
        widths = {code_of[k]: v.width for k, v in layouts.items()}
        expected = np.array([widths.get(int(c), width) for c in codes])
    else:
        expected = np.full(n, 250)
    too_long = np.flatnonzero(lengths > expected)
    for r in too_long[:MAX_PROBLEMS_PER_FIELD]:
        problems.append(Problem(S_LINE_LENGTH, f"line is {int(lengths[r])} characters, "
                                f"longer than {int(expected[r])}", int(r) + 1))

    unknown = np.flatnonzero(~np.isin(codes, list(code_of.values())))
    for r in unknown[:MAX_PROBLEMS_PER_FIELD]:
        problems.append(Problem(S_UNKNOWN_RECORD, f"record type not allowed in a {fam.name} file",
                                int(r) + 1, rid(r), "record_id",
                                bytes(mat[r][:10]).decode("ascii", "replace")))

    header, trailer = FileHeader(family=fam.name), {}
    header_rows = np.flatnonzero(np.isin(codes, [code_of[k] for k, v in layouts.items()
                                                 if v.role == "header"]))
    if len(header_rows):
        r = int(header_rows[0])
        cols = _decode(fam.header, mat[r:r + 1], line_no[r:r + 1], problems)
        header = _header_from(fam, cols, rid(r), r + 1)
    else:
        problems.append(Problem(S_NO_HEADER, "no header record", 1))
    trailer_rows = np.flatnonzero(codes == code_of[fam.trailer.record_id])
    if len(trailer_rows):
        r = int(trailer_rows[-1])
        cols = _decode(fam.trailer, mat[r:r + 1], line_no[r:r + 1], problems)
        trailer = {k: _scalar(v) for k, v in cols.items() if k != "record_id"}
        trailer["source_line"] = r + 1
        if fam.name == "handoff" and trailer.get("office_code"):
            header.office_code = trailer["office_code"]

    def decode_block(layout: RecordLayout):
        """One record type's rows -> (role, table, problems); runs on a worker thread."""
        rows = np.flatnonzero(codes == code_of[layout.record_id])
        found: list[Problem] = []
        if not len(rows):
            return layout.role, None, found
        sub = mat[rows]
        if layout.role == "charges":
            return layout.role, _charges_table(layout, sub, line_no[rows], source_file,
                                               found), found
        cols = _decode(layout, sub, line_no[rows], found)
        return layout.role, _records_table(layout, cols, len(rows), line_no[rows],
                                           source_file), found

    # numpy and Arrow release the GIL: the big record types decode side by side
    with ThreadPoolExecutor(max_workers=DECODE_THREADS) as pool:
        blocks = list(pool.map(decode_block, fam.records))
    record_tables, charge_tables = [], []
    for role, table, found in blocks:  # layout order: deterministic output and problems
        problems.extend(found)
        if table is not None:
            (charge_tables if role == "charges" else record_tables).append(table)
    records = _concat_sorted(record_tables, RECORDS_SCHEMA)
    charges = _concat_sorted(charge_tables, CHARGES_SCHEMA)
    currency = default_currency  # only an explicit default (adjustment files carry none)
    if currency and records.num_rows and records.column("currency").null_count:
        records = records.set_column(
            records.schema.get_field_index("currency"), "currency",
            pc.fill_null(records.column("currency"), currency))
    return BillingBatch(header, records, charges, trailer, problems, source_file, n,
                        record_counts)


# --- decoding ------------------------------------------------------------------------------

def _decode(layout: RecordLayout, sub: np.ndarray, lines: np.ndarray,
            problems: list[Problem]) -> dict[str, pa.Array]:
    """Decode every field of ``layout`` from the rows ``sub``; returns name -> Arrow array."""
    out: dict[str, pa.Array] = {}
    signs: list[tuple[str, np.ndarray]] = []
    for f in layout.fields:
        if f.kind in ("filler", "id") or not f.name:
            continue
        part = sub[:, f.slice]
        if f.kind in ("A", "AN", "N"):
            out[f.name] = fw.texts(part)
        elif f.kind == "sign":
            signs.append((f.name, part[:, 0] == ord("-")))
        else:
            out[f.name] = _number(layout, f, part, lines, problems)
    for name, negative in signs:
        if name in out and negative.any():
            vals = out[name]
            out[name] = pc.if_else(pa.array(negative), pc.negate(vals), vals)
    return out


def _number(layout, f, part, lines, problems) -> pa.Array:
    if f.kind == "date":
        blank = fw.blank_rows(part)
        vals, ok = fw.dates(part)
        code, what = S_BAD_DATE, "not a valid YYMMDD date"
    elif f.kind == "rate":
        blank = fw.blank_rows(part)
        vals, ok = fw.rates(part)
        code, what = S_BAD_RATE, "not a rate nnnnn.nnnnn"
    else:
        vals, ok, blank = fw.digits_blank(part)
        code, what = S_NOT_NUMERIC, "not numeric"
    bad = ~ok & ~blank
    for i in np.flatnonzero(bad)[:MAX_PROBLEMS_PER_FIELD]:
        problems.append(Problem(code, f"{f.name} {what}", int(lines[i]), layout.record_id, f.name,
                                bytes(part[i]).decode("ascii", "replace")))
    null = bad if f.kind == "amount" else bad | blank  # blank amounts read as zero
    if f.kind == "date":
        return pa.array(vals, pa.date32(), mask=null)
    return pa.array(vals, pa.int64(), mask=null)


def _records_table(layout: RecordLayout, cols: dict[str, pa.Array], m: int, lines: np.ndarray,
                   source_file: str) -> pa.Table:
    cols = dict(cols)
    for f in layout.fields:  # correction form: amount -> <name>_pp / <name>_cc by its indicator
        if f.split and f.name in cols:
            is_collect = pc.fill_null(pc.equal(cols[f.split], "C"), False)
            value = cols.pop(f.name)
            zero = pa.scalar(0, pa.int64())
            cols[f"{f.name}_pp"] = pc.if_else(is_collect, zero, value)
            cols[f"{f.name}_cc"] = pc.if_else(is_collect, value, zero)
    cols["record_type"] = fw.repeat(layout.canonical, m)
    cols["source_file"] = fw.repeat(source_file, m)
    cols["source_line"] = pa.array(lines, pa.int32())
    arrays = [cols[name].cast(t) if name in cols else pa.nulls(m, t)
              for name, t in zip(RECORDS_SCHEMA.names, RECORDS_SCHEMA.types, strict=True)]
    return pa.Table.from_arrays(arrays, schema=RECORDS_SCHEMA)


def _charges_table(layout: RecordLayout, sub: np.ndarray, lines: np.ndarray, source_file: str,
                   problems: list[Problem]) -> pa.Table:
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
        "source_file": fw.repeat(source_file, len(idx)),
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
        CHARGES_SCHEMA.names, CHARGES_SCHEMA.types, strict=True)], schema=CHARGES_SCHEMA)


def _concat_sorted(tables: list[pa.Table], schema: pa.Schema) -> pa.Table:
    """Concatenate per-type tables back into file order (skipping the sort when already so)."""
    if not tables:
        return schema.empty_table()
    table = pa.concat_tables(tables).combine_chunks()
    keys = [np.asarray(table.column("source_line"))]
    if "slot" in schema.names:
        keys.insert(0, np.asarray(table.column("slot")))
    if len(keys) == 1:
        if len(keys[0]) < 2 or (np.diff(keys[0]) > 0).all():
            return table
        order = np.argsort(keys[0], kind="stable")
    else:
        order = np.lexsort(keys)
    return table.take(pa.array(order))


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
    value = arr[0].as_py()
    return value


def _header_from(fam: Family, cols: dict[str, pa.Array], record_id: str, line: int) -> FileHeader:
    v = {k: _scalar(a) for k, a in cols.items()}
    return FileHeader(
        family=fam.name, record_id=record_id, operation=v.get("operation") or "",
        airline_prefix=v.get("airline_prefix") or "", agent_code=v.get("agent_code") or "",
        branch_indicator=v.get("branch_indicator") or "", period_start=v.get("period_start"),
        period_end=v.get("period_end"), billing_date=v.get("billing_date"),
        file_number=v.get("file_number"), currency=v.get("currency") or "", source_line=line)
