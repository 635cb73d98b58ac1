"""Write canonical tables back to exact fixed-width records; trailer counts are computed.

Order: header; each record in table order, each followed by the charge records that itemise it
(up to ``group.count`` charges per record, in table order); charges whose parent is not in the
file; trailer. The same tables always give the same bytes, so write -> read -> write is identical.
"""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor
from functools import partial

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from casslink.canonical import CORRECTION_TYPES, FileHeader
from casslink.ordering import pack, rank, runs
from parsers.hot import fixedwidth as fw
from parsers.hot.layouts import FAMILIES, Family, RecordLayout

HASH_MODULUS = 10 ** 12


class WriteError(ValueError):
    """The tables cannot be represented in the fixed-width layout (overflow, non-ASCII...)."""


def hash_total(serials: pa.Array | list) -> int:
    """Billing trailer hash (casslink-defined): sum of the 8-digit serials mod 10^12."""
    arr = pa.array(serials, pa.string()) if isinstance(serials, list) else serials
    if len(arr) == 0:
        return 0
    arr = pc.fill_null(arr, "0")
    digits_only = pc.and_(pc.utf8_is_digit(arr), pc.less_equal(pc.utf8_length(arr), 18))
    nums = pc.cast(pc.if_else(digits_only, arr, "0"), pa.int64())  # non-digits count as 0
    return int(pc.sum(nums).as_py() or 0) % HASH_MODULUS


def write_hot(header: FileHeader, records: pa.Table, charges: pa.Table | None = None,
              family: str | None = None, newline: bytes = b"\r\n") -> bytes:
    fam = FAMILIES[family or header.family]
    body, _, charge_lines = _body(fam, records, charges, newline)
    trailer = compute_trailer(fam, header, records, charge_lines)
    head_line = _render_single(fam.header, _header_values(header))
    tail_line = _render_single(fam.trailer, trailer)
    return b"".join((head_line, newline, memoryview(body.reshape(-1)), tail_line, newline))


Split = tuple[str, np.ndarray, dict[str, FileHeader]]  # key, record order, header per value


def write_hot_splits(splits: list[Split], records: pa.Table, charges: pa.Table | None,
                     family: str | None = None, newline: bytes = b"\r\n"
                     ) -> list[dict[str, bytes]]:
    """Files of the same records split several ways, all lines rendered once. Each split is
    (key, a row order of ``records`` that sorts them by the key, header per key value) and
    gives one file per key value: the same bytes as :func:`write_hot` on that value's records
    and their charges. Charges whose parent is not among ``records`` are left out."""
    n = records.num_rows
    if not n or not splits:
        return [{} for _ in splits]
    fam = FAMILIES[family or next(iter(splits[0][2].values())).family]
    lines, file_order, owner, _ = _blocks(fam, records, charges, newline)
    row_lo = np.searchsorted(owner, np.arange(n))  # each record's lines (orphans excluded)
    row_hi = np.searchsorted(owner, np.arange(1, n + 1))
    ids = np.ascontiguousarray(lines[:, :3]).view("S3").ravel()
    kinds = {r.record_id: i for i, r in enumerate(fam.records)}
    line_kind = np.zeros(len(lines), np.int8)
    for rid, i in kinds.items():
        line_kind[ids == rid.encode()] = i
    line_kind = line_kind[file_order]  # lines are gathered through file_order below
    types = np.asarray(pc.fill_null(pc.index_in(
        records.column("record_type"), pa.array(["AWB", *CORRECTION_TYPES])), -1))

    def render(split: Split) -> dict[str, bytes]:
        key, order, headers = split
        order = np.asarray(order, np.int64)
        sizes = row_hi[order] - row_lo[order]
        ends = np.cumsum(sizes)
        rows = np.repeat(row_lo[order] - (ends - sizes), sizes) + np.arange(int(ends[-1]))
        values = records.column(key).take(pa.array(order))
        bounds = runs(values)
        codes = values.take(pa.array(bounds[:-1])).to_pylist()
        if len(set(codes)) != len(codes):
            raise ValueError(f"records are not sorted by {key}")
        first_row = np.concatenate(([0], ends))[bounds]
        sorted_types = types[order]
        type_counts = {t: _per_group(sorted_types == i, bounds[:-1], bounds[1:])
                       for i, t in enumerate(("AWB", *CORRECTION_TYPES))}
        taken_kind = line_kind[rows]
        charge_counts = {r.record_id: _per_group(taken_kind == kinds[r.record_id],
                                                first_row[:-1], first_row[1:])
                         for r in fam.records if r.role == "charges"}
        serials = records.column("awb_serial").take(pa.array(order)) \
            if fam.name == "billing" else None
        trailers = []
        for g, code in enumerate(codes):
            counts = {t: int(c[g]) for t, c in type_counts.items()}
            lines_of = {k: int(c[g]) for k, c in charge_counts.items()}
            group_serials = serials.slice(int(bounds[g]), int(bounds[g + 1] - bounds[g])) \
                if serials is not None else None
            trailers.append(_trailer_values(fam, headers[code], counts, lines_of,
                                            group_serials))
        heads = _render_many(fam.header, [_header_values(headers[c]) for c in codes])
        tails = _render_many(fam.trailer, trailers)
        at = file_order[rows]  # each file's lines gathered alone, from the rendered blocks
        return {code: b"".join((heads[g], newline, lines[at[first_row[g]:first_row[g + 1]]],
                                tails[g], newline))
                for g, code in enumerate(codes)}

    with ThreadPoolExecutor(2) as pool:  # numpy's gathers release the GIL
        return list(pool.map(render, splits))


def _per_group(mask: np.ndarray, lo: np.ndarray, hi: np.ndarray) -> np.ndarray:
    """How many of ``mask`` are set in each group of rows ``lo[g]:hi[g]``."""
    total = np.concatenate(([0], np.cumsum(mask)))
    return total[hi] - total[lo]


def columns_written(family: str) -> set[str]:
    """The canonical record columns the body layouts of ``family`` write."""
    layouts = [r for r in FAMILIES[family].records if r.role != "charges"]
    return {n for layout in layouts for f in layout.fields
            for n in (f.name, f.split, f"{f.name}_pp", f"{f.name}_cc") if n} | \
        {"record_type", "airline_prefix", "awb_serial", "correction_number"}


def _body(fam: Family, records: pa.Table, charges: pa.Table | None, newline: bytes
          ) -> tuple[np.ndarray, np.ndarray, dict[str, int]]:
    """(body lines in file order, each ending in ``newline``; the record position each line
    belongs to - records.num_rows and above for orphan charges; the number of charge lines
    per charge record id)."""
    lines, order, owner, charge_lines = _blocks(fam, records, charges, newline)
    return lines[order], owner, charge_lines


def _blocks(fam: Family, records: pa.Table, charges: pa.Table | None, newline: bytes
            ) -> tuple[np.ndarray, np.ndarray, np.ndarray, dict[str, int]]:
    """The body lines as rendered, block after block, each ending in ``newline``; their file
    order (``lines[order]`` is the body); the record position each line of the body belongs
    to - records.num_rows and above for orphan charges; the number of charge lines per charge
    record id. Blocks of lines render on two threads (numpy and Arrow release the GIL)."""
    charges = charges if charges is not None else pa.table({})
    jobs: list = []  # each returns a block: (sort keys, rows)

    n_rec = records.num_rows
    types = ("AWB", *CORRECTION_TYPES)
    rec_types = np.asarray(pc.fill_null(pc.index_in(records.column("record_type"),
                                                    pa.array(types)), -1)) if n_rec else \
        np.zeros(0, np.int64)
    for code, canonical in enumerate(types):
        idx = np.flatnonzero(rec_types == code)
        if not len(idx):
            continue
        layout = fam.layout_for(canonical)
        table = records.select(_wanted(records, layout.fields))
        for part in np.array_split(idx, -(-len(idx) // BLOCK_ROWS)):
            jobs.append(partial(_record_block, layout, table, part, fam.width, newline))

    charge_lines: dict[str, int] = {"AW1": 0, "CC3": 0, "DC3": 0}
    if charges.num_rows:
        parent_pos = _parent_positions(records, charges)
        order = np.argsort(parent_pos, kind="stable")
        pos_sorted = parent_pos[order]
        parent_codes = {t: i for i, t in enumerate(("AWB", *CORRECTION_TYPES))}
        ptypes = np.asarray(pc.fill_null(pc.index_in(
            charges.column("parent_type"), pa.array(list(parent_codes))), -1))[order]
        new_group = np.ones(len(order), bool)
        new_group[1:] = pos_sorted[1:] != pos_sorted[:-1]
        group_id = np.cumsum(new_group) - 1
        rank_in_group = np.arange(len(order)) - np.flatnonzero(new_group)[group_id]
        for layout in (r for r in fam.records if r.role == "charges"):
            sel = np.flatnonzero(np.isin(ptypes, [parent_codes.get(t, -1) for t in
                                                  layout.parents.values()]))
            if not len(sel):
                continue
            cap = layout.group.count
            # sel follows the sorted order, so line keys are non-decreasing
            line_key = group_id[sel] * 1_000_000 + rank_in_group[sel] // cap
            new_line = np.diff(line_key, prepend=-1) != 0
            charge_lines[layout.record_id] = int(new_line.sum())
            table = charges.select(_wanted(charges, layout.fields, layout.group.fields,
                                           extra=("parent_type",)))
            line_starts = np.flatnonzero(new_line)
            cuts = line_starts[::max(1, -(-BLOCK_ROWS // cap))][1:]  # whole lines per block
            for part, starts in zip(np.split(sel, cuts), np.split(new_line, cuts), strict=True):
                jobs.append(partial(_charge_block, layout, table, order[part], pos_sorted[part],
                                    rank_in_group[part], starts, fam.width, newline))

    with ThreadPoolExecutor(2) as pool:
        blocks = list(pool.map(lambda job: job(), jobs))

    width = fam.width + len(newline)
    if not blocks:
        return np.zeros((0, width), np.uint8), np.zeros(0, np.int64), np.zeros(0, np.int64), \
            charge_lines
    keys = np.concatenate([k for k, _ in blocks])
    order = np.lexsort((keys[:, 1], keys[:, 0]))
    return np.concatenate([rows for _, rows in blocks]), order, keys[order, 0], charge_lines


BLOCK_ROWS = 250_000  # records (or charge lines) rendered per block


def _record_block(layout: RecordLayout, table: pa.Table, idx: np.ndarray, width: int,
                  newline: bytes) -> tuple[np.ndarray, np.ndarray]:
    rows = _render(layout, table.take(pa.array(idx)), width, newline)
    return np.stack([idx, np.zeros(len(idx), np.int64)], axis=1), rows


def _charge_block(layout: RecordLayout, table: pa.Table, rows_of: np.ndarray,
                  parents: np.ndarray, ranks: np.ndarray, new_line: np.ndarray, width: int,
                  newline: bytes) -> tuple[np.ndarray, np.ndarray]:
    """Charge lines (up to ``layout.group.count`` charges each) of charges ``rows_of`` of
    ``table``: their parents' positions, their ranks among their parent's charges, and
    whether each charge starts a line."""
    cap = layout.group.count
    starts = np.flatnonzero(new_line)
    rows = _render_charges(layout, table.take(pa.array(rows_of)), np.cumsum(new_line) - 1,
                           ranks % cap, starts, width, newline)
    return np.stack([parents[starts], 1 + ranks[starts] // cap], axis=1), rows


def _wanted(table: pa.Table, *fields, extra: tuple[str, ...] = ()) -> list[str]:
    """The columns of ``table`` that ``fields`` (lists of layout fields) write."""
    names = {n for group in fields for f in group
             for n in (f.name, f.split, f"{f.name}_pp", f"{f.name}_cc") if n}
    return [c for c in table.column_names if c in names or c in extra]


def compute_trailer(fam: Family, header: FileHeader, records: pa.Table,
                    charge_lines: dict[str, int]) -> dict:
    """Trailer values computed from the data (never typed in)."""
    found = pc.value_counts(records.column("record_type")).to_pylist() \
        if records.num_rows else []
    got = {v["values"]: v["counts"] for v in found}
    counts = {t: got.get(t, 0) for t in ("AWB", *CORRECTION_TYPES)}
    return _trailer_values(fam, header, counts, charge_lines,
                           records.column("awb_serial") if records.num_rows else None)


def _trailer_values(fam: Family, header: FileHeader, count: dict[str, int],
                    charge_lines: dict[str, int], serials) -> dict:
    awb, cca = count["AWB"], count["CCO"] + count["CCR"]
    dcm = count["DCO"] + count["DCR"]
    base = {"operation": header.operation, "airline_prefix": header.airline_prefix,
            "branch_indicator": header.branch_indicator}
    if fam.name == "adjustment":
        return {"record_count": awb + cca + dcm}
    out = {**base, "awb_count": awb, "cca_count": cca, "dcm_count": dcm,
           "total_count": awb + cca + dcm, "aw1_count": charge_lines.get("AW1", 0),
           "cc3_count": charge_lines.get("CC3", 0), "dc3_count": charge_lines.get("DC3", 0)}
    if fam.name == "billing":
        out["hash_total"] = f"{hash_total(serials):012d}" if serials is not None \
            and len(serials) else "0" * 12
    else:
        out.update(office_code=header.office_code, awm_count=awb, aw4_count=0, aw5_count=0,
                   ccr_count=count["CCR"], cco_count=count["CCO"], dcr_count=count["DCR"],
                   dco_count=count["DCO"])
    return out


def _header_values(header: FileHeader) -> dict:
    values = dict(header.as_dict())
    for k in ("period_start", "period_end", "billing_date"):
        values[k] = getattr(header, k)
    return values


def _parent_positions(records: pa.Table, charges: pa.Table) -> np.ndarray:
    """Row position of each charge's parent record (records.num_rows and above for orphans,
    one position per missing parent). Keys are ranked over records and charges together and
    packed into int64, then looked up in the records' sorted keys."""
    n, m = records.num_rows, charges.num_rows
    keys = []
    for rec_col, ch_col in (("record_type", "parent_type"), ("airline_prefix",) * 2,
                            ("awb_serial",) * 2, ("correction_number",) * 2):
        both = [pc.fill_null(t.column(c).cast(pa.string()), "")
                for t, c in ((records, rec_col), (charges, ch_col))]
        keys.append(rank(pa.chunked_array([*both[0].chunks, *both[1].chunks], pa.string())
                         .combine_chunks()))
    packed = pack(keys)
    if len(packed) > 1:  # does not fit one int64: one id per distinct key
        _, ids = np.unique(np.stack(packed, axis=1), axis=0, return_inverse=True)
        packed = [ids.ravel().astype(np.int64)]
    rec_keys, ch_keys = packed[0][:n], packed[0][n:]
    uniq, first = np.unique(rec_keys, return_index=True)  # first record of each key
    at = np.minimum(np.searchsorted(uniq, ch_keys), max(len(uniq) - 1, 0))
    found = uniq[at] == ch_keys if len(uniq) else np.zeros(m, bool)
    pos = np.where(found, first[at] if len(uniq) else 0, 0).astype(np.int64)
    if not found.all():  # each missing parent its own position after every record, in the
        _, seen, codes = np.unique(ch_keys[~found], return_index=True,  # order first seen
                                   return_inverse=True)
        pos[~found] = n + np.argsort(np.argsort(seen))[codes.ravel()]
    return pos


def _render_single(layout: RecordLayout, values: dict) -> bytes:
    return _render_many(layout, [values])[0]


def _render_many(layout: RecordLayout, rows: list[dict]) -> list[bytes]:
    """Header or trailer lines, one per dict (None and "" render as blanks)."""
    names = [k for k in rows[0] if any(r.get(k) not in (None, "") for r in rows)]
    table = pa.table({k: pa.array([r.get(k) if r.get(k) != "" else None for r in rows])
                      for k in names})
    out = _render(layout, table, layout.width)[:, :layout.width]
    return [bytes(line) for line in out]


def _column(t: pa.Table, name: str) -> pa.Array | None:
    if name not in t.column_names:
        return None
    col = t.column(name)
    return col.combine_chunks() if isinstance(col, pa.ChunkedArray) else col


def _render(layout: RecordLayout, t: pa.Table, width: int, tail: bytes = b"") -> np.ndarray:
    """Rows of ``layout`` (``width`` bytes), each followed by ``tail`` (a line's newline)."""
    m = t.num_rows
    out = np.full((m, width + len(tail)), fw.SPACE, np.uint8)
    if tail:
        out[:, width:] = np.frombuffer(tail, np.uint8)
    for f in layout.fields:
        if f.kind == "filler":
            continue
        sl = f.slice
        if f.kind == "id":
            out[:, sl] = np.frombuffer(layout.record_id.encode(), np.uint8)
            continue
        if f.kind == "sign":
            col = _column(t, f.name)
            if col is not None:
                neg = np.asarray(pc.fill_null(pc.less(col, 0), False), bool)
                out[neg, f.start - 1] = ord("-")
            continue
        if f.split:
            pcs = _column(t, f.split)
            collect = np.zeros(m, bool) if pcs is None else np.asarray(
                pc.fill_null(pc.equal(pcs, "C"), False), bool)
            pp, cc = _column(t, f"{f.name}_pp"), _column(t, f"{f.name}_cc")
            pp = np.zeros(m, np.int64) if pp is None else np.asarray(pc.fill_null(pp, 0))
            cc = np.zeros(m, np.int64) if cc is None else np.asarray(pc.fill_null(cc, 0))
            _put_digits(out, sl, np.where(collect, cc, pp), f, layout)
            continue
        col = _column(t, f.name)
        if col is None:
            if f.kind == "amount":
                _put_digits(out, sl, np.zeros(m, np.int64), f, layout)
            continue
        if f.kind in ("A", "AN", "N"):
            out[:, sl] = fw.render_texts(col, f.length)
        elif f.kind == "date":
            out[:, sl] = fw.render_dates(col)
        elif f.kind == "rate":
            valid = ~np.asarray(pc.is_null(col), bool)
            v = np.asarray(pc.fill_null(col, 0), np.int64)
            whole, _ = fw.render_digits(v // 100000, 5)
            frac, _ = fw.render_digits(v % 100000, 5)
            if (v >= 10 ** 10).any() or (v < 0).any():
                raise WriteError(f"{layout.record_id}.{f.name}: rate out of range")
            rows = np.concatenate([whole, np.full((m, 1), fw.DOT, np.uint8), frac], axis=1)
            rows[~valid] = fw.SPACE
            out[:, sl] = rows
        else:
            valid = ~np.asarray(pc.is_null(col), bool)
            v = np.abs(np.asarray(pc.fill_null(col, 0), np.int64)) if _has_sign(layout, f) \
                else np.asarray(pc.fill_null(col, 0), np.int64)
            _put_digits(out, sl, v, f, layout)
            if f.kind != "amount":
                out[~valid, sl] = fw.SPACE
    return out


def _has_sign(layout: RecordLayout, f) -> bool:
    return any(g.kind == "sign" and g.name == f.name for g in layout.fields)


def _put_digits(out, sl, values, f, layout) -> None:
    rows, bad = fw.render_digits(values, f.length)
    if bad.any():
        raise WriteError(f"{layout.record_id}.{f.name}: value {values[bad][0]} does not fit "
                         f"{f.length} unsigned digits")
    out[:, sl] = rows


def _render_charges(layout: RecordLayout, sub: pa.Table, line_of: np.ndarray,
                    slot_of: np.ndarray, starts: np.ndarray, width: int, tail: bytes = b""
                    ) -> np.ndarray:
    """Charge records: common fields from each line's first charge, then the slots."""
    firsts = sub.take(pa.array(starts))
    ptype = firsts.column("parent_type")
    side = pc.if_else(pc.is_in(ptype, pa.array(["CCR", "DCR"])), "R",
                      pc.if_else(pc.is_in(ptype, pa.array(["CCO", "DCO"])), "O", ""))
    common = firsts.append_column("side", side)
    out = _render(RecordLayout(layout.record_id, "record", layout.width, layout.fields), common,
                  width, tail)
    group = layout.group
    slot_layout = RecordLayout(layout.record_id, "record", group.slot_width, group.fields)
    slot_rows = _render(slot_layout, sub, group.slot_width)
    for s in range(group.count):
        mask = slot_of == s
        if not mask.any():
            continue
        start = group.start - 1 + s * group.slot_width
        out[line_of[mask], start:start + group.slot_width] = slot_rows[mask]
    return out
