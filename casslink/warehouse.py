"""The warehouse: accepted canonical records as Parquet, partitioned by operation and period,
one immutable part per accepted input file (so a re-run reads exactly the same inputs).

    warehouse/operation=DE/period=2026-11/records/file-000042.parquet
    warehouse/operation=DE/period=2026-11/charges/file-000042.parquet
"""

from __future__ import annotations

import os
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


def store(settings: Settings, operation: str, period_id: str, file_id: int,
          records: pa.Table, charges: pa.Table) -> list[Path]:
    base = partition(settings, operation, period_id)
    name = f"file-{file_id:06d}.parquet"
    return [_write_once(records.cast(RECORDS_SCHEMA), base / "records" / name),
            _write_once(charges.cast(CHARGES_SCHEMA), base / "charges" / name)]


def parts(settings: Settings, operation: str, period_id: str | None = None,
          kind: str = "records") -> list[Path]:
    root = settings.warehouse_dir / f"operation={operation}"
    pattern = f"period={period_id}/{kind}/file-*.parquet" if period_id else \
        f"period=*/{kind}/file-*.parquet"
    return sorted(root.glob(pattern))


def read(settings: Settings, operation: str, period_id: str | None = None,
         kind: str = "records", airline_prefix: str | None = None) -> pa.Table:
    schema = RECORDS_SCHEMA if kind == "records" else CHARGES_SCHEMA
    files = parts(settings, operation, period_id, kind)
    if not files:
        return schema.empty_table()
    tables = [pq.read_table(f, schema=schema) for f in files]
    table = pa.concat_tables(tables)
    if airline_prefix:
        import pyarrow.compute as pc

        table = table.filter(pc.equal(table.column("airline_prefix"), airline_prefix))
    return table
