"""Everything a settlement run's outputs are rendered from: its ledger and its exact inputs.

The input parts are read as listed in the run's manifest and checked against their recorded
sha256, so outputs can never be rendered from anything but what was settled.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path

import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.parquet as pq

from casslink import warehouse
from casslink.canonical import CHARGES_SCHEMA, RECORDS_SCHEMA
from casslink.reference import ReferenceData
from casslink.settings import Settings
from casslink.storage import sha256_file
from settlement.run import read_ledger


class StaleInputs(RuntimeError):
    """A warehouse part no longer has the bytes the run settled."""


@dataclass
class RunData:
    folder: Path
    manifest: dict
    ledger: dict[str, pa.Table]
    records: pa.Table
    charges: pa.Table
    reference: ReferenceData

    @property
    def operation(self) -> str:
        return self.manifest["operation"]

    @property
    def period_id(self) -> str:
        return self.manifest["period"]

    @property
    def currency(self) -> str:
        return self.manifest["settlement_currency"]

    def airline_name(self, prefix: str) -> str:
        a = self.reference.airlines.get(prefix)
        return a.name if a else ""

    def agent_name(self, code: str) -> str:
        a = self.reference.agents.get(code)
        return a.name if a else ""


def load_run(settings: Settings, folder: Path, reference: ReferenceData) -> RunData:
    manifest = json.loads((folder / "manifest.json").read_text())
    base = warehouse.partition(settings, manifest["operation"], manifest["period"])
    recs, chs = [], []
    for item in manifest["inputs"]:
        part = base / "records" / item["part"]
        if sha256_file(part) != item["part_sha256"]:
            raise StaleInputs(f"{part} changed since the run")
        recs.append(pq.read_table(part, schema=RECORDS_SCHEMA))
        charges = base / "charges" / item["part"]
        if charges.exists():
            chs.append(pq.read_table(charges, schema=CHARGES_SCHEMA))
    records = pa.concat_tables(recs) if recs else RECORDS_SCHEMA.empty_table()
    charges = pa.concat_tables(chs) if chs else CHARGES_SCHEMA.empty_table()
    return RunData(folder, manifest, read_ledger(folder), records, charges, reference)


def rows_of(table: pa.Table, column: str, value: str) -> pa.Table:
    return table.filter(pc.equal(table.column(column), value))
