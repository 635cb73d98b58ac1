"""The warehouse: accepted canonical records as Parquet, partitioned by operation and period,
one immutable part per accepted input file (so a re-run reads exactly the same inputs).

    warehouse/operation=DE/period=2026-11/records/file-000042.parquet
    warehouse/operation=DE/period=2026-11/charges/file-000042.parquet
    warehouse/operation=DE/period=2026-11/adjustments/file-000043.parquet  (agent disputes)
"""

from __future__ import annotations

import os
from collections.abc import Sequence
from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq

from casslink.canonical import CHARGES_SCHEMA, RECORDS_SCHEMA
from casslink.settings import Settings


def partition(settings: Settings, operation: str, period_id: str) -> Path:
    return settings.warehouse_dir / f"operation={operation}" / f"period={period_id}"


def _write_once(table: pa.Table, path: Path) -> Path:
    if path.exists():  # immutable: a retried task finds the part already there
        return path
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f".{path.name}.tmp")
    pq.write_table(table, tmp, compression="zstd")
    with open(tmp, "rb") as fh:
        os.fsync(fh.fileno())
    os.replace(tmp, path)
    return path


def part_name(file_id: int) -> str:
    return f"file-{file_id:06d}.parquet"


def store(settings: Settings, operation: str, period_id: str, file_id: int,
          records: pa.Table, charges: pa.Table) -> list[Path]:
    """Store an accepted billing file's records and charges (a retry finds them stored)."""
    base = partition(settings, operation, period_id)
    name = part_name(file_id)
    return [_write_once(records.cast(RECORDS_SCHEMA), base / "records" / name),
            _write_once(charges.cast(CHARGES_SCHEMA), base / "charges" / name)]


def store_adjustments(settings: Settings, operation: str, period_id: str, file_id: int,
                      records: pa.Table) -> list[Path]:
    """Store an agent's accepted adjustment (dispute) lines; settlement does not read them."""
    path = partition(settings, operation, period_id) / "adjustments" / part_name(file_id)
    return [_write_once(records.cast(RECORDS_SCHEMA), path)]


def parts(settings: Settings, operation: str, period_id: str | None = None,
          kind: str = "records") -> list[Path]:
    root = settings.warehouse_dir / f"operation={operation}"
    pattern = f"period={period_id}/{kind}/file-*.parquet" if period_id else \
        f"period=*/{kind}/file-*.parquet"
    return sorted(root.glob(pattern))


def read(settings: Settings, operation: str, period_id: str | None = None,
         kind: str = "records", airline_prefix: str | None = None,
         exclude_file_id: int | None = None, with_period: bool = False,
         columns: list[str] | None = None, dictionary: tuple[str, ...] = (),
         only: Sequence[str] | None = None) -> pa.Table:
    """The stored rows of an operation (one period or all), optionally of one airline and
    only some ``columns``, the ``dictionary`` ones dictionary-encoded as Parquet stores them
    (cheaper to read and to group); ``with_period`` appends the partition's ``period_id``.
    ``only``: the parts named so (in their order, each must exist), not every stored one."""
    schema = CHARGES_SCHEMA if kind == "charges" else RECORDS_SCHEMA
    if columns is not None:
        schema = pa.schema([schema.field(c) for c in columns])
    for name in dictionary:
        i = schema.get_field_index(name)
        schema = schema.set(i, pa.field(name, pa.dictionary(pa.int32(), schema.field(i).type)))
    dictionary = list(dictionary) or None
    skip = part_name(exclude_file_id) if exclude_file_id is not None else None
    if only is not None:
        if period_id is None:
            raise ValueError("parts are named within one period")
        folder = partition(settings, operation, period_id)
        files = [folder / kind / name for name in only]
        if missing := [f.name for f in files if not f.is_file()]:
            raise FileNotFoundError(f"{kind} parts gone from {folder}: {missing}")
    else:
        files = parts(settings, operation, period_id, kind)
    files = [f for f in files if f.name != skip]
    if with_period:
        schema = schema.append(pa.field("period_id", pa.string()))
    if not files:
        return schema.empty_table()
    filters = [("airline_prefix", "=", airline_prefix)] if airline_prefix else None
    tables = []
    for f in files:
        want = schema.remove(schema.get_field_index("period_id")) if with_period else schema
        if filters:
            t = pq.read_table(f, columns=want.names, read_dictionary=dictionary, filters=filters)
        else:  # ParquetFile: no dataset layer (whose import alone takes seconds)
            t = pq.ParquetFile(f, read_dictionary=dictionary).read(columns=want.names)
        if t.schema != want:
            t = t.cast(want)
        if with_period:
            period = f.parent.parent.name.removeprefix("period=")
            t = t.append_column("period_id", pa.array([period] * t.num_rows, pa.string()))
        tables.append(t)
    return pa.concat_tables(tables)
