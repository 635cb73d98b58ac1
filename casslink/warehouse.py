"""The warehouse: accepted canonical records as Parquet, partitioned by operation and period,
one immutable part per accepted input file (so a re-run reads exactly the same inputs).

    warehouse/operation=DE/period=2026-11/records/file-000042.parquet
    warehouse/operation=DE/period=2026-11/charges/file-000042.parquet
    warehouse/operation=DE/period=2026-11/adjustments/file-000043.parquet  (agent disputes)

A part is written by one ingest attempt under a name of its own (``file-000042.a2.parquet``
for a second attempt) and counts only once the registry's outcome names it
(:func:`casslink.registry.accepted_parts`): the folder may hold parts of crashed attempts,
which nothing reads.
"""

from __future__ import annotations

import io
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.parquet as pq

from casslink.canonical import CHARGES_SCHEMA, RECORDS_SCHEMA
from casslink.settings import Settings
from casslink.storage import atomic_write_stream


def partition(settings: Settings, operation: str, period_id: str) -> Path:
    return settings.warehouse_dir / f"operation={operation}" / f"period={period_id}"


def _write_part(table: pa.Table, path: Path) -> Path:
    """Write a part atomically (temp name, fsync, rename, folder fsync)."""
    def write(fh) -> None:
        buffered = io.BufferedWriter(fh, 1 << 20)
        pq.write_table(table, buffered, compression="zstd")
        buffered.flush()
        buffered.detach()

    return atomic_write_stream(path, write, sync_dir=True)


def part_name(file_id: int, attempt: int = 1) -> str:
    """The part's file name: ``file-000042.parquet`` for a file's first attempt,
    ``file-000042.a2.parquet`` for its second."""
    return f"file-{file_id:06d}.parquet" if attempt <= 1 else \
        f"file-{file_id:06d}.a{attempt}.parquet"


def store(settings: Settings, operation: str, period_id: str, file_id: int,
          records: pa.Table, charges: pa.Table, attempt: int = 1) -> list[Path]:
    """Store an accepted billing file's records and charges (read once the registry names
    the part)."""
    base = partition(settings, operation, period_id)
    name = part_name(file_id, attempt)
    return [_write_part(records.cast(RECORDS_SCHEMA), base / "records" / name),
            _write_part(charges.cast(CHARGES_SCHEMA), base / "charges" / name)]


def store_adjustments(settings: Settings, operation: str, period_id: str, file_id: int,
                      records: pa.Table, attempt: int = 1) -> list[Path]:
    """Store an agent's accepted adjustment (dispute) lines; settlement does not read them."""
    path = partition(settings, operation, period_id) / "adjustments" / part_name(file_id,
                                                                                  attempt)
    return [_write_part(records.cast(RECORDS_SCHEMA), path)]


def drop_uncommitted(settings: Settings, operation: str, period_id: str, file_id: int,
                     keep: str | None) -> list[Path]:
    """Remove a file's parts in one period other than ``keep`` (the one its outcome committed):
    what crashed attempts left. Returns what was removed."""
    base = partition(settings, operation, period_id)
    gone = []
    for kind in ("records", "charges", "adjustments"):
        for path in (base / kind).glob(f"file-{file_id:06d}.*parquet"):
            if path.name != keep:
                path.unlink(missing_ok=True)
                gone.append(path)
    return gone


def parts(settings: Settings, operation: str, period_id: str | None = None,
          kind: str = "records") -> list[Path]:
    """Every part file on disk (committed or not: for operators and tools, never for billing;
    settlement lists its inputs from the registry)."""
    root = settings.warehouse_dir / f"operation={operation}"
    pattern = f"period={period_id}/{kind}/file-*.parquet" if period_id else \
        f"period=*/{kind}/file-*.parquet"
    return sorted(root.glob(pattern))


@dataclass(frozen=True)
class Query:
    """What to read from parts: ``kind`` (records, charges, adjustments), only ``columns``
    (None: all), the ``dictionary`` ones dictionary-encoded as Parquet stores them (cheaper
    to read and group), only one ``airline_prefix`` (and ``agent_code``, ``awb_serial``:
    filters the Parquet reader applies row group by row group), and ``with_period``
    appending each part's ``period_id`` (from its partition folder)."""

    kind: str = "records"
    columns: Sequence[str] | None = None
    dictionary: tuple[str, ...] = ()
    airline_prefix: str | None = None
    with_period: bool = False
    agent_code: str | None = None
    awb_serial: str | None = None

    def filters(self) -> list[tuple[str, str, str]] | None:
        """The reader's row filters (None: every row)."""
        out = [(k, "=", v) for k in ("airline_prefix", "agent_code", "awb_serial")
               if (v := getattr(self, k))]
        return out or None

    def schema(self) -> pa.Schema:
        schema = CHARGES_SCHEMA if self.kind == "charges" else RECORDS_SCHEMA
        if self.columns is not None:
            schema = pa.schema([schema.field(c) for c in self.columns])
        for name in self.dictionary:
            i = schema.get_field_index(name)
            schema = schema.set(i, pa.field(name, pa.dictionary(pa.int32(),
                                                                schema.field(i).type)))
        return schema


def part_path(settings: Settings, operation: str, period_id: str, name: str,
              kind: str = "records") -> Path:
    return partition(settings, operation, period_id) / kind / name


def read(settings: Settings, operation: str, period_id: str | None = None,
         only: Sequence[str] | None = None, **query) -> pa.Table:
    """The stored rows of an operation's parts (one period or all). ``only``: the parts
    named so, in their order (each must exist) - what billing uses, listed from the registry;
    without it, every part file on disk. ``query``: the fields of :class:`Query`."""
    q = Query(**query)
    if only is not None:
        if period_id is None:
            raise ValueError("parts are named within one period")
        files = [part_path(settings, operation, period_id, name, q.kind) for name in only]
        if missing := [f.name for f in files if not f.is_file()]:
            raise FileNotFoundError(f"{q.kind} parts gone from "
                                    f"{partition(settings, operation, period_id)}: {missing}")
    else:
        files = parts(settings, operation, period_id, q.kind)
    return read_parts(files, q)


def read_parts(files: Sequence[Path], query: Query = Query()) -> pa.Table:
    """The rows of the part ``files`` in order, as ``query`` says. With filters, a part's
    row groups whose statistics exclude the value are not read (another airline's part costs
    its footer only), the rest are filtered in memory."""
    want = query.schema()
    schema = want.append(pa.field("period_id", pa.string())) if query.with_period else want
    if not files:
        return schema.empty_table()
    dictionary = list(query.dictionary) or None
    filters = query.filters()
    tables = []
    for f in files:
        # ParquetFile: no dataset layer (whose import alone takes seconds)
        pf = pq.ParquetFile(f, read_dictionary=dictionary)
        t = _matching(pf, want.names, filters) if filters else pf.read(columns=want.names)
        if t.schema != want:
            t = t.cast(want)
        if query.with_period:
            period = f.parent.parent.name.removeprefix("period=")
            t = t.append_column("period_id", pa.array([period] * t.num_rows, pa.string()))
        tables.append(t)
    return pa.concat_tables(tables)


def _matching(pf: pq.ParquetFile, columns: list[str], filters: list[tuple[str, str, str]]
              ) -> pa.Table:
    """The rows of ``pf`` equal to every filter's value, reading only the row groups whose
    min/max statistics admit them."""
    meta, names = pf.metadata, pf.schema_arrow.names
    keep = []
    for g in range(meta.num_row_groups):
        group = meta.row_group(g)
        for name, _, value in filters:
            stats = group.column(names.index(name)).statistics
            if stats is not None and stats.has_min_max and not (
                    stats.min <= value <= stats.max):
                break
        else:
            keep.append(g)
    extra = [n for n, _, _ in filters if n not in columns]
    t = pf.read_row_groups(keep, columns=[*columns, *extra]) if keep else \
        pf.schema_arrow.empty_table().select([*columns, *extra])
    mask = None
    for name, _, value in filters:
        eq = pc.fill_null(pc.equal(t.column(name), value), False)
        mask = eq if mask is None else pc.and_(mask, eq)
    return t.filter(mask).select(columns)
