"""Write canonical tables back to exact fixed-width records; trailer counts are computed.

Order: header; each record in table order, each followed by the charge records that itemise it
(up to ``group.count`` charges per record, in table order); charges whose parent is not in the
file; trailer. The same tables always give the same bytes, so write -> read -> write is identical.
"""

from __future__ import annotations

from collections.abc import Iterator
from concurrent.futures import Future, ThreadPoolExecutor
from functools import partial
from itertools import pairwise

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from casslink import kernels
from casslink.canonical import CORRECTION_TYPES, FileHeader
from casslink.ordering import codes, dense_rank, pack
from casslink.parsers.hot import fixedwidth as fw
from casslink.parsers.hot.layouts import FAMILIES, Family, RecordLayout
from casslink.storage import Pieces

HASH_MODULUS = 10 ** 12
TYPES = ("AWB", *CORRECTION_TYPES)  # record types, as coded in LinePlan.record_types


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
    plan = LinePlan(fam, records, charges)
    first = np.concatenate(([0], np.cumsum(plan.per_position)))  # records, then orphans
    body = _draw(plan, first[:-1], int(first[-1]), newline)
    head_line = _render_single(fam.header, _header_values(header))
    tail_line = _render_columns(fam.trailer,
                                compute_trailer(fam, header, records, plan.charge_lines))[0]
    return b"".join((head_line, newline, memoryview(body), tail_line, newline))


Split = tuple[str, np.ndarray, FileHeader]  # key, record order, header (see write_hot_splits)


def write_hot_splits(splits: list[Split], records: pa.Table, charges: pa.Table | None,
                     family: str | None = None, newline: bytes = b"\r\n",
                     plan: LinePlan | Future[LinePlan] | None = None,
                     ranks: dict[str, tuple[np.ndarray, int]] | None = None
                     ) -> list[dict[str, memoryview | Pieces]]:
    """Files of the same records split several ways, all lines rendered once. Each split is
    (key, a row order of ``records`` that sorts them by the key, a header) and gives one file
    per key value: the same bytes as :func:`write_hot` on that value's records and their
    charges, with the header's field named ``key`` (if it has one) set to the value. Charges
    whose parent is not among ``records`` are left out.

    The lines are rendered once, straight into the first split's files laid out one after
    the other in one buffer: those files are views of it. Each other split's file is
    :class:`~casslink.storage.Pieces` of that buffer (its head line, runs of its lines, its
    tail line), so no line is copied before it is written. Where the family's header is
    narrower than its records, every split's files are pieces. ``plan`` is the tables'
    :class:`LinePlan`, if already made, or a future of it (being made on another thread: the
    records' columns are prepared meanwhile); ``ranks`` the keys' :func:`dense_rank`, where
    already made."""
    n = records.num_rows
    if not n or not splits:
        return [{} for _ in splits]
    fam = FAMILIES[family or splits[0][2].family]
    batches = _prepared(fam, records)  # needs no plan
    ranks, types = ranks or {}, _type_codes(records.column("record_type"))
    groups = [_Groups(records, key, np.asarray(order, np.int64), header,
                      ranks.get(key) or dense_rank(records.column(key)), types)
              for key, order, header in splits]  # nor do these, but for their counts:
    plan = plan.result() if isinstance(plan, Future) else plan or LinePlan(fam, records, charges)
    groups = [g.count(plan) for g in groups]
    framed = fam.header.width == fam.width == fam.trailer.width  # head and tail lines fit
    first = groups[0].first_lines(plan, frame=framed)  # each position's first line
    lines = _draw(plan, first, groups[0].total_lines(frame=framed), newline, batches)
    if not framed:  # head and tail lines narrower than the body: every file gathered
        return [_gathered(fam, g, lines, g.rows_in(first), newline) for g in groups]
    return [_framed(fam, groups[0], lines, newline),
            *(_gathered(fam, g, lines, g.rows_in(first), newline) for g in groups[1:])]


def _framed(fam: Family, g: _Groups, lines: np.ndarray, newline: bytes
            ) -> dict[str, memoryview]:
    """The files of a split whose lines are laid out in ``lines`` with a blank line before
    and after each file's body: heads and tails rendered into those, the files are views."""
    starts, ends = g.file_starts(), g.file_ends()
    flat = lines.reshape(-1)
    width = lines.shape[1]
    _render_columns(fam.header, g.head_columns(), flat, starts * width, newline)
    _render_columns(fam.trailer, g.tail_columns(fam), flat, (ends - 1) * width, newline)
    view = memoryview(flat)
    return {code: view[a * width:z * width] for code, a, z in zip(g.codes, starts, ends,
                                                                  strict=True)}


def _gathered(fam: Family, g: _Groups, lines: np.ndarray, rows: np.ndarray, newline: bytes
              ) -> dict[str, Pieces]:
    """The files of a split whose body lines are rows ``rows`` of ``lines`` (in file order):
    each file its head line, its body lines as runs of consecutive rows of ``lines`` (no
    copy) and its tail line."""
    heads = _render_columns(fam.header, g.head_columns())
    tails = _render_columns(fam.trailer, g.tail_columns(fam))
    at = g.line_bounds()  # file k's body lines: rows[at[k]:at[k + 1]]
    starts = np.ones(len(rows), np.bool_)  # a run starts a file, or breaks the row sequence
    starts[1:] = rows[1:] != rows[:-1] + 1
    starts[at[:-1]] = True
    first = np.flatnonzero(starts)
    last = np.append(first[1:], len(rows)) - 1
    width = lines.shape[1]
    view = memoryview(lines.reshape(-1))
    lo, hi = rows[first] * width, (rows[last] + 1) * width  # each run's bytes
    bounds = np.searchsorted(first, at).tolist()  # each file's runs
    return {code: Pieces.runs(heads[k] + newline, view, lo[bounds[k]:bounds[k + 1]],
                              hi[bounds[k]:bounds[k + 1]], tails[k] + newline)
            for k, code in enumerate(g.codes)}


class _Groups:
    """The files of one split: the records in ``order`` grouped by ``key``, and what each
    file's header and trailer count. What needs no :class:`LinePlan` is counted when made
    (while the plan may still be in the making), the rest by :meth:`count`."""

    def __init__(self, records: pa.Table, key: str, order: np.ndarray, header: FileHeader,
                 ranked: tuple[np.ndarray, int], types: np.ndarray) -> None:
        self.key, self.order, self.header = key, order, header
        rank, bound = ranked  # the key's dense rank: counted unordered, in key order
        in_order = rank[order]
        if (in_order[1:] < in_order[:-1]).any():
            raise ValueError(f"records are not sorted by {key}")
        counts = np.bincount(rank, minlength=bound)
        present = counts > 0
        self.bounds = np.concatenate(([0], np.cumsum(counts[present])))
        self.codes = records.column(key).take(pa.array(order[self.bounds[:-1]])).to_pylist()
        self.group = np.repeat(np.arange(len(self.codes)), np.diff(self.bounds))  # per record
        self.file_of = (np.cumsum(present) - 1)[rank]  # each record's file, records unordered
        keyed = self.file_of * len(TYPES) + types  # types: as LinePlan.record_types
        if (types < 0).any():  # another type: not counted
            keyed = keyed[types >= 0]
        by_type = np.bincount(keyed, minlength=len(self.codes) * len(TYPES)
                              ).reshape(-1, len(TYPES))
        self.type_counts = {t: by_type[:, i] for i, t in enumerate(TYPES)}
        self.awb_serials = records.column("awb_serial")

    def count(self, plan: LinePlan) -> _Groups:
        """The files' lines, and their charge lines of each kind, from the tables' plan."""
        self.sizes = plan.per_position[self.order]  # body lines of each record, in file order
        self.ends = np.cumsum(self.sizes)
        self.charge_counts = {  # (float weights: exact for counts)
            rid: np.bincount(self.file_of, weights=per[:len(self.file_of)],
                             minlength=len(self.codes)).astype(np.int64)
            for rid, per in plan.lines_by_kind.items()}
        self.serials = self.awb_serials.take(pa.array(self.order)) \
            if plan.fam.name == "billing" else None  # in file order (billing trailers' hash)
        return self

    def line_bounds(self) -> np.ndarray:
        """Where each file's body lines start among the split's body lines, plus the end."""
        return np.concatenate(([0], self.ends))[self.bounds]

    def file_starts(self) -> np.ndarray:
        """Where each file (its head line) starts in a buffer of every file, framed."""
        return self.line_bounds()[:-1] + 2 * np.arange(len(self.codes))

    def file_ends(self) -> np.ndarray:
        """Where each file ends in a buffer of every file, framed."""
        return self.line_bounds()[1:] + 2 * np.arange(1, len(self.codes) + 1)

    def total_lines(self, frame: bool) -> int:
        return int(self.ends[-1]) + 2 * frame * len(self.codes)

    def first_lines(self, plan: LinePlan, frame: bool) -> np.ndarray:
        """Each position's first line when the files are laid out in one buffer (head line,
        body, tail line each when framed); -1 for positions in no file (orphan charges)."""
        first = np.full(len(plan.per_position), -1, np.int64)
        first[self.order] = self.ends - self.sizes + (2 * self.group + 1) * frame
        return first

    def rows_in(self, first: np.ndarray) -> np.ndarray:
        """The lines of every file of this split, in order, as rows of the rendered buffer."""
        sizes, ends = self.sizes, self.ends
        return np.repeat(first[self.order] - (ends - sizes), sizes) + np.arange(int(ends[-1]))

    def head_columns(self) -> dict[str, list]:
        """Every file's header values (:func:`_header_values`), by field: the split's
        header, its field named as the key (if any) each file's value."""
        n = len(self.codes)
        columns = {k: [v] * n for k, v in _header_values(self.header).items()}
        if self.key in columns:
            columns[self.key] = self.codes
        return columns

    def tail_columns(self, fam: Family) -> dict[str, list | np.ndarray]:
        """Every file's trailer values, by field: the counts straight from the split's."""
        serials = None if self.serials is None else [
            self.serials.slice(a, z - a) for a, z in pairwise(self.bounds.tolist())]
        return _trailer_columns(fam, self.head_columns(), self.type_counts, self.charge_counts,
                                serials)


def columns_written(family: str) -> set[str]:
    """The canonical record columns the body layouts of ``family`` write."""
    layouts = [r for r in FAMILIES[family].records if r.role != "charges"]
    return {n for layout in layouts for f in layout.fields
            for n in (f.name, f.split, f"{f.name}_pp", f"{f.name}_cc") if n} | \
        {"record_type", "airline_prefix", "awb_serial", "correction_number"}


class LinePlan:
    """What lines the records and their charges make in ``fam``, before any is rendered: per
    position (each record, then each missing parent of orphan charges) its own line and its
    charge lines, and which charges go on which line."""

    def __init__(self, fam: Family, records: pa.Table, charges: pa.Table | None) -> None:
        charges = charges if charges is not None else pa.table({})
        n_rec = records.num_rows
        self.fam, self.records, self.charges = fam, records, charges
        self.charge_lines: dict[str, int] = {"AW1": 0, "CC3": 0, "DC3": 0}
        self.record_types = _type_codes(records.column("record_type"))
        lines_of = np.zeros(n_rec, np.int64)  # charge lines per position (orphans appended)
        self.lines_by_kind: dict[str, np.ndarray] = {}
        self.charge_jobs: list = []  # (layout, charges in line order, parents, ranks, new line)
        self.parent_types = np.zeros(0, np.int64)  # each charge's parent type, coded
        if charges.num_rows:
            parent_types = self.parent_types = _type_codes(charges.column("parent_type"))
            parent_pos = _parent_positions(records, charges, self.record_types, parent_types)
            order = kernels.radix_order(parent_pos)  # stable
            pos_sorted = parent_pos[order]
            lines_of = np.zeros(max(n_rec, int(pos_sorted[-1]) + 1), np.int64)
            ptypes = parent_types[order]
            new_group = np.ones(len(order), bool)
            new_group[1:] = pos_sorted[1:] != pos_sorted[:-1]
            group_id = np.cumsum(new_group) - 1
            rank_in_group = np.arange(len(order)) - np.flatnonzero(new_group)[group_id]
            for layout in (r for r in fam.records if r.role == "charges"):
                takes = np.zeros(len(TYPES) + 1, np.bool_)  # by type code (-1: the last)
                takes[[TYPES.index(t) for t in layout.parents.values() if t in TYPES]] = True
                sel = np.flatnonzero(takes[ptypes])
                if not len(sel):
                    continue
                new_line = rank_in_group[sel] % layout.group.count == 0  # sel keeps each
                # parent's charges together
                self.charge_lines[layout.record_id] = int(new_line.sum())
                per = np.bincount(pos_sorted[sel][new_line], minlength=len(lines_of))
                self.lines_by_kind[layout.record_id] = per
                lines_of += per
                self.charge_jobs.append((layout, order[sel], pos_sorted[sel],
                                         rank_in_group[sel], new_line))
        self.own = np.zeros(len(lines_of), np.int64)
        self.own[:n_rec] = 1  # a record's own line (orphan positions have none)
        self.per_position = self.own + lines_of


def _type_codes(column: pa.ChunkedArray) -> np.ndarray:
    """Each row's record type as its index in TYPES, -1 for any other (or null)."""
    out = np.empty(len(column), np.int64)
    at = 0
    for chunk in column.chunks:  # a dictionary chunk: its few values coded, then looked up
        if pa.types.is_dictionary(chunk.type):
            coded = np.append(_type_codes(pa.chunked_array([chunk.dictionary])), -1)
            out[at:at + len(chunk)] = coded[kernels.dictionary_indices(chunk)]  # null: -1
        else:
            out[at:at + len(chunk)] = pc.fill_null(pc.index_in(chunk, pa.array(TYPES)), -1)
        at += len(chunk)
    return out


def _draw(plan: LinePlan, first: np.ndarray, n_lines: int, newline: bytes,
          batches: Batches | None = None) -> np.ndarray:
    """A blank buffer of ``n_lines`` lines with every position's lines rendered from line
    ``first[position]`` on (positions at -1 are left out), each line ending in ``newline``.
    Blocks of lines render straight into place on two threads (the kernels release the
    GIL); the buffer is blanked on two threads while the blocks are planned. ``batches``
    are the records' batches, if already made (see :func:`_prepared`)."""
    width = plan.fam.width + len(newline)
    body = np.empty((n_lines, width), np.uint8)
    flat = body.reshape(-1)
    with ThreadPoolExecutor(2) as pool:
        blanks = [pool.submit(flat[a:b].fill, fw.SPACE)  # in four parts
                  for a, b in pairwise(np.linspace(0, len(flat), 5, dtype=np.int64))]
        jobs = _jobs(plan, first, flat, width, newline, batches or _batches(plan.records))
        for done in blanks:
            done.result()
    _run(jobs)
    return body


def _jobs(plan: LinePlan, first: np.ndarray, flat: np.ndarray, width: int, newline: bytes,
          batches: Batches) -> list:
    """The blocks of lines to render (see :func:`_draw`), their columns prepared."""
    fam, records, charges = plan.fam, plan.records, plan.charges
    jobs: list = []
    record_starts, record_cols = batches
    for code, canonical in enumerate(TYPES):
        idx = np.flatnonzero((plan.record_types == code) & (first[:records.num_rows] >= 0))
        layout = fam.layout_for(canonical) if len(idx) else None
        for b, sel in _by_batch(record_starts, idx):
            rows = idx[sel]
            record_cols[b].prepare(layout.fields)
            jobs.append(partial(_render, layout, record_cols[b], rows - record_starts[b], flat,
                                first[rows] * width, fam.width, newline))
    if plan.charge_jobs:
        side = np.zeros(len(TYPES) + 1, np.int32)  # a correction's side, R or O, by type
        side[[TYPES.index(t) for t in ("CCR", "DCR")]] = 2
        side[[TYPES.index(t) for t in ("CCO", "DCO")]] = 1  # (index -1: another type, "")
        charge_starts, charge_cols = _batches(charges, {"side": pa.DictionaryArray.from_arrays(
            side[plan.parent_types], pa.array(["", "O", "R"]))})
    for layout, rows_of, parents, ranks, new_line in plan.charge_jobs:
        cap = layout.group.count
        line = first[parents]  # each charge's line: after its parent's own line, if any
        keep = np.flatnonzero(line >= 0)  # charges of a record in some file
        line += plan.own[parents] + ranks // cap
        for b, sel in _by_batch(charge_starts, rows_of[keep]):
            pick = keep[sel]
            charge_cols[b].prepare(layout.fields + layout.group.fields)
            jobs.append(partial(_render_charges, layout, charge_cols[b],
                                rows_of[pick] - charge_starts[b], line[pick] * width,
                                ranks[pick] % cap, new_line[pick], flat, fam.width, newline))
    return jobs


def _prepared(fam: Family, records: pa.Table) -> Batches:
    """The records' batches (see :func:`_batches`), each with the columns of the layouts of
    the record types it holds prepared."""
    starts, cols = _batches(records)
    for c in cols:
        for t in pc.unique(c.column("record_type")).to_pylist():
            if t in TYPES:
                c.prepare(fam.layout_for(t).fields)
    return starts, cols


def _batches(table: pa.Table, extra: dict | None = None) -> Batches:
    """The table's record batches as :class:`Columns` (their columns are read without a
    copy), and the row each batch starts at."""
    batches = table.to_batches()
    starts = np.concatenate(([0], np.cumsum([len(b) for b in batches]))).astype(np.int64)
    return starts, [Columns(pa.Table.from_batches([batch]),
                            {k: v.slice(int(a), len(batch)) for k, v in (extra or {}).items()})
                    for batch, a in zip(batches, starts, strict=False)]


def _by_batch(starts: np.ndarray, rows: np.ndarray) -> Iterator[tuple[int, np.ndarray]]:
    """(batch, positions in ``rows``) for each batch that holds some of ``rows``, at most
    BLOCK_ROWS positions at a time (a job each)."""
    small = np.uint16 if len(starts) <= np.iinfo(np.uint16).max else np.int64
    batch = np.repeat(np.arange(len(starts) - 1, dtype=small), np.diff(starts))[rows]
    order = np.argsort(batch, kind="stable")  # 16-bit keys: a radix sort
    bounds = np.searchsorted(batch[order], np.arange(len(starts), dtype=small))
    for b in range(len(starts) - 1):
        for lo in range(int(bounds[b]), int(bounds[b + 1]), BLOCK_ROWS):
            yield b, order[lo:min(lo + BLOCK_ROWS, int(bounds[b + 1]))]


BLOCK_ROWS = 250_000  # records (or charges) rendered per job at most


def _run(jobs: list) -> None:
    with ThreadPoolExecutor(2) as pool:
        for _ in pool.map(lambda job: job(), jobs):
            pass


def compute_trailer(fam: Family, header: FileHeader, records: pa.Table,
                    charge_lines: dict[str, int]) -> dict[str, list | np.ndarray]:
    """Trailer values computed from the data (never typed in), by field (one file's)."""
    found = pc.value_counts(records.column("record_type")).to_pylist() \
        if records.num_rows else []
    got = {v["values"]: v["counts"] for v in found}
    return _trailer_columns(fam, {k: [v] for k, v in _header_values(header).items()},
                            {t: np.array([got.get(t, 0)]) for t in TYPES},
                            {k: np.array([v]) for k, v in charge_lines.items()},
                            [records.column("awb_serial")] if fam.name == "billing" else None)


def _trailer_columns(fam: Family, heads: dict[str, list], count: dict[str, np.ndarray],
                     charge_lines: dict[str, np.ndarray], serials: list | None
                     ) -> dict[str, list | np.ndarray]:
    """The trailer values of files (their header values by field, counts of each record
    type and of each kind of charge line, AWB serials: billing family only), by field."""
    awb, cca, dcm = count["AWB"], count["CCO"] + count["CCR"], count["DCO"] + count["DCR"]
    if fam.name == "adjustment":
        return {"record_count": awb + cca + dcm}
    none = np.zeros(len(heads["operation"]), np.int64)
    out = {**{k: heads[k] for k in ("operation", "airline_prefix", "branch_indicator")},
           "awb_count": awb, "cca_count": cca, "dcm_count": dcm, "total_count": awb + cca + dcm,
           **{f"{k.lower()}_count": charge_lines.get(k, none) for k in ("AW1", "CC3", "DC3")}}
    if fam.name == "billing":
        out["hash_total"] = [f"{hash_total(s):012d}" if len(s) else "0" * 12 for s in serials]
    else:
        out.update(office_code=heads["office_code"], awm_count=awb,
                   aw4_count=none, aw5_count=none, ccr_count=count["CCR"],
                   cco_count=count["CCO"], dcr_count=count["DCR"], dco_count=count["DCO"])
    return out


def _header_values(header: FileHeader) -> dict:
    """The header's fields as the layouts write them (dates as dates): read off the
    instance, as ``as_dict`` does without its ISO dates (~1 us instead of ~15)."""
    return {**vars(header), "extra": dict(header.extra)}


def _parent_positions(records: pa.Table, charges: pa.Table, record_types: np.ndarray,
                      parent_types: np.ndarray) -> np.ndarray:
    """Row position of each charge's parent record (records.num_rows and above for orphans,
    one position per missing parent). Each key column is coded alike in both tables and the
    codes packed into int64, then looked up among the records' keys. The types come coded
    (index in TYPES, -1 for any other), as LinePlan has them."""
    n = records.num_rows
    keys: list[list] = [[], []]
    if (record_types >= 0).all() and (parent_types >= 0).all():
        keys[0].append((record_types, len(TYPES)))
        keys[1].append((parent_types, len(TYPES)))
    else:  # other types: coded by their text
        (rec, ch), bound = codes(records.column("record_type"), charges.column("parent_type"))
        keys[0].append((rec, bound))
        keys[1].append((ch, bound))
    for col in ("airline_prefix", "awb_serial", "correction_number"):
        (rec, ch), bound = codes(records.column(col), charges.column(col))
        keys[0].append((rec, bound))
        keys[1].append((ch, bound))
    rec_keys, ch_keys = (pack(k) for k in keys)
    if len(rec_keys) > 1:  # does not fit one int64: one id per distinct key
        _, ids = np.unique(np.concatenate([np.stack(rec_keys, axis=1), np.stack(ch_keys, axis=1)]),
                           axis=0, return_inverse=True)
        ids = ids.ravel().astype(np.int64)
        rec_keys, ch_keys = [ids[:n]], [ids[n:]]
    rec_keys, ch_keys = rec_keys[0], ch_keys[0]
    pos = kernels.first_index(rec_keys, ch_keys)  # a hash join: the first such record
    found = pos >= 0
    if not found.all():  # each missing parent its own position after every record, in the
        _, seen, codes_ = np.unique(ch_keys[~found], return_index=True,  # order first seen
                                    return_inverse=True)
        pos[~found] = n + np.argsort(np.argsort(seen))[codes_.ravel()]
    return pos


def _render_single(layout: RecordLayout, values: dict) -> bytes:
    return _render_columns(layout, {k: [v] for k, v in values.items()})[0]


def _render_columns(layout: RecordLayout, columns: dict[str, list | np.ndarray],
                    buf: np.ndarray | None = None, base: np.ndarray | None = None,
                    tail: bytes = b"") -> list[bytes]:
    """Header or trailer lines of the values given by field (lists, or integer arrays; None
    and "" render as blanks): as bytes, or into the blank buffer ``buf`` at ``base`` (each
    followed by ``tail``)."""
    columns = {k: v if isinstance(v, np.ndarray) else [None if x == "" else x for x in v]
               for k, v in columns.items()}
    n = len(next(iter(columns.values())))
    table = pa.table({k: pa.array(v) for k, v in columns.items()
                      if isinstance(v, np.ndarray) or any(x is not None for x in v)})
    if buf is not None:
        _render(layout, Columns(table), np.arange(n), buf, base, layout.width, tail)
        return []
    out = np.full((n, layout.width), fw.SPACE, np.uint8)
    _render(layout, Columns(table), np.arange(n), out.reshape(-1), np.arange(n) * layout.width,
            layout.width)
    return [bytes(line) for line in out]


Batches = tuple[np.ndarray, list["Columns"]]  # where each batch starts, its columns


class Columns:
    """A table's columns as the kernels read them, each prepared once: integers (values,
    validity) or strings (entry per row, offsets, data); ``extra`` adds derived columns."""

    def __init__(self, table: pa.Table, extra: dict[str, pa.Array] | None = None) -> None:
        self.table, self.extra, self.cache = table, extra or {}, {}
        self.names = frozenset(table.column_names) | frozenset(self.extra)  # asked per field

    def prepare(self, fields) -> None:
        """Prepare the columns ``fields`` write, before threads share them."""
        for f in fields:
            if f.split:
                self.split(f)
            elif f.kind in ("A", "AN", "N") and self.has(f.name):
                self.texts(f.name)
            elif f.kind not in ("id", "filler") and self.has(f.name):
                self.ints(f.name)

    def has(self, name: str) -> bool:
        return name in self.names

    def column(self, name: str) -> pa.Array:
        col = self.extra[name] if name in self.extra else self.table.column(name)
        if isinstance(col, pa.ChunkedArray):  # one chunk is read in place
            return col.chunk(0) if col.num_chunks == 1 else col.combine_chunks()
        return col

    def ints(self, name: str) -> tuple[np.ndarray, np.ndarray | None]:
        """(values, validity - None when there are no nulls)."""
        if ("i", name) not in self.cache:
            self.cache[("i", name)] = kernels.int_values(self.column(name))  # dates: days
        return self.cache[("i", name)]

    def split(self, f) -> tuple[np.ndarray, None]:
        """A correction amount: ``<name>_cc`` where the P/C indicator is C, else
        ``<name>_pp`` (a missing column or null counts as 0)."""
        if ("s", f.name) not in self.cache:
            m = self.table.num_rows
            zero = np.zeros(m, np.int64)
            collect = kernels.equals(self.column(f.split), "C") if self.has(f.split) else \
                np.zeros(m, np.bool_)
            pp, cc = (self.ints(n)[0] if self.has(n) else zero
                      for n in (f"{f.name}_pp", f"{f.name}_cc"))
            self.cache[("s", f.name)] = (np.where(collect, cc, pp), None)
            # the side a line cannot carry: an amount there would be lost if written
            self.cache[("o", f.name)] = np.where(collect, pp, cc)
        return self.cache[("s", f.name)]

    def unsplit(self, f) -> np.ndarray:
        """The amount of each row on the side its P/C indicator does not name (see
        :meth:`split`): not zero where a correction line cannot carry the row."""
        self.split(f)
        return self.cache[("o", f.name)]

    def texts(self, name: str) -> tuple[np.ndarray | None, np.ndarray, np.ndarray]:
        """(entry of each row or None: row r is string r; int32 offsets; data)."""
        if ("t", name) not in self.cache:
            self.cache[("t", name)] = kernels.string_parts(self.column(name))
        return self.cache[("t", name)]


def _render(layout: RecordLayout, cols: Columns, rows: np.ndarray, buf: np.ndarray,
            base: np.ndarray, width: int, tail: bytes = b"") -> None:
    """Lines of ``layout`` of rows ``rows`` of ``cols`` into the blank buffer ``buf``, row
    ``rows[i]`` at ``buf[base[i]:]``: ``width`` bytes, then ``tail`` (a line's newline)."""
    rows = np.asarray(rows, np.int64)
    if tail:
        kernels.put_bytes(buf, base, width, tail)
    _fill(layout.record_id, layout.fields, cols, rows, buf, base)


def _fill(record_id: str, fields, cols: Columns, rows: np.ndarray, buf: np.ndarray,
          base: np.ndarray) -> None:
    """Write ``fields`` of rows ``rows`` of ``cols``: row ``rows[i]`` at ``buf[base[i]:]``
    (a field at its own offset from there); ``buf`` is blank where nothing is written."""
    signed = {f.name for f in fields if f.kind == "sign"}
    for f in fields:
        at = f.start - 1
        if f.kind == "filler":
            continue
        if f.kind == "id":
            kernels.put_bytes(buf, base, at, record_id.encode())
            continue
        if f.split:
            values, valid = cols.split(f)
            other = cols.unsplit(f)[rows]
            if other.any():
                raise WriteError(
                    f"{record_id}.{f.name}: a correction line carries one amount, on the side "
                    f"of its P/C indicator ({f.split}); a row also holds "
                    f"{int(other[np.flatnonzero(other)[0]])} on the other side")
            _check(kernels.put_digits(buf, base, at, f.length, rows, values, valid, False,
                                      False), record_id, f, values, rows)
            continue
        if not cols.has(f.name):
            if f.kind == "amount":  # a missing amount column writes zeros
                kernels.put_bytes(buf, base, at, b"0" * f.length)
            continue
        if f.kind in ("A", "AN", "N"):
            bad = kernels.put_texts(buf, base, at, f.length, rows, *cols.texts(f.name))
            if bad >= 0:
                raise WriteError(f"{record_id}.{f.name}: fixed-width text must be ASCII")
            continue
        values, valid = cols.ints(f.name)
        if f.kind == "sign":
            kernels.put_minus(buf, base, at, rows, values, valid)
        elif f.kind == "date":
            kernels.put_dates(buf, base, at, rows, values, valid)
        elif f.kind == "rate":
            if kernels.put_rate(buf, base, at, rows, values, valid) >= 0:
                raise WriteError(f"{record_id}.{f.name}: rate out of range")
        else:
            _check(kernels.put_digits(buf, base, at, f.length, rows, values, valid,
                                      f.name in signed, f.kind != "amount"),
                   record_id, f, values, rows)


def _check(bad: int, record_id: str, f, values: np.ndarray, rows: np.ndarray) -> None:
    if bad >= 0:
        raise WriteError(f"{record_id}.{f.name}: value {values[rows[bad]]} does not fit "
                         f"{f.length} unsigned digits")


def _render_charges(layout: RecordLayout, cols: Columns, rows_of: np.ndarray,
                    base: np.ndarray, slot_of: np.ndarray, new_line: np.ndarray,
                    buf: np.ndarray, width: int, tail: bytes = b"") -> None:
    """Charges ``rows_of`` of ``cols`` into their lines at ``base`` (slot ``slot_of``): the
    common fields from each line's first charge (``new_line``), then every charge's slot."""
    _render(layout, cols, rows_of[new_line], buf, base[new_line], width, tail)
    group = layout.group
    _fill(layout.record_id, group.fields, cols, np.asarray(rows_of, np.int64), buf,
          base + (group.start - 1) + slot_of * group.slot_width)
