"""Everything a settlement run's outputs are rendered from: its ledger and its exact inputs.

The input parts are read as listed in the run's manifest and checked against their recorded
sha256, so outputs can never be rendered from anything but what was settled.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import TypeVar

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.parquet as pq

from casslink import warehouse
from casslink.canonical import CHARGES_SCHEMA, RECORDS_SCHEMA
from casslink.ordering import key_values, order_by, refine, runs
from casslink.reference import ReferenceData
from casslink.settings import Settings
from casslink.settlement.run import LedgerTables
from casslink.storage import sha256_of

T = TypeVar("T")


class StaleInputs(RuntimeError):
    """A warehouse part no longer has the bytes the run settled."""


@dataclass
class RunData:
    """A settlement run's ledger, manifest and reference data; its ledger tables, input
    records and charges are read on first use (only the HOT files need the inputs, only the
    Excel reports the ledger lines), from parts already checked."""

    folder: Path
    manifest: dict
    ledger: Mapping[str, pa.Table]  # read on first use where loaded (LedgerTables)
    reference: ReferenceData
    parts: list[tuple[Path, Path]] = field(default_factory=list)  # records, charges
    # the disputed AWBs' marks (casslink.dispute_marks), set by whoever reads the database
    dispute_marks: dict = field(default_factory=dict)

    @property
    def records(self) -> pa.Table:
        if "_records" not in self.__dict__:
            self.__dict__["_records"] = self.read_records()
        return self.__dict__["_records"]

    def read_records(self, columns: set[str] | None = None, dictionary: bool = False
                     ) -> pa.Table:
        """The input records (only ``columns``, in schema order, if given), not kept
        (``dictionary``: see :func:`read_parts`)."""
        return self._billed_tax(read_parts([r for r, _ in self.parts],
                                           _only(RECORDS_SCHEMA, columns), dictionary))

    def _billed_tax(self, records: pa.Table) -> pa.Table:
        """The VAT fields as billed: where the operation's tax rules computed a side
        (``compute``/``verify``), CASS's figure from the ledger lines (``cass_tax_*``, in
        the record's currency) replaces the file's, so every output shows what is billed."""
        fields = [c for c in ("tax_airline", "tax_agent") if c in records.column_names]
        if not fields or not records.num_rows:
            return records
        lines = self.ledger_columns("lines", {"input_row", *(f"cass_{c}" for c in fields)})
        for c in fields:
            if f"cass_{c}" not in lines.column_names:
                continue
            values = np.zeros(records.num_rows, np.int64)
            values[np.asarray(lines.column("input_row"), np.int64)] = np.asarray(
                lines.column(f"cass_{c}"), np.int64)
            records = records.set_column(records.schema.get_field_index(c), c,
                                         pa.array(values, pa.int64()))
        return records

    def kept(self, name: str, make: Callable[[], T]) -> T:
        """A value derived from the run (``make()``), made on first use and kept with the
        run, so renderings of several kinds share it."""
        cache = self.__dict__.setdefault("_kept", {})
        if name not in cache:
            cache[name] = make()
        return cache[name]

    def ledger_columns(self, name: str, columns: set[str]) -> pa.Table:
        """Only ``columns`` of ledger table ``name`` (a LedgerTables reads no other)."""
        if isinstance(self.ledger, LedgerTables):
            return self.ledger.select(name, columns)
        table = self.ledger[name]
        return table.select([c for c in table.column_names if c in columns])

    @property
    def charges(self) -> pa.Table:
        if "_charges" not in self.__dict__:
            self.__dict__["_charges"] = self.read_charges()
        return self.__dict__["_charges"]

    def read_charges(self, columns: set[str] | None = None, dictionary: bool = False
                     ) -> pa.Table:
        """The input charges (only ``columns``, in schema order, if given), not kept
        (``dictionary``: see :func:`read_parts`)."""
        return read_parts([c for _, c in self.parts if c.exists()],
                          _only(CHARGES_SCHEMA, columns), dictionary)

    @property
    def operation(self) -> str:
        return self.manifest["operation"]

    @property
    def period_id(self) -> str:
        return self.manifest["period"]

    @property
    def currency(self) -> str:
        return self.manifest["settlement_currency"]

    def rows(self, table: str, key: str, code: str) -> pa.Table:
        """The rows of ``table`` (records, charges, or a ledger table) whose ``key`` is
        ``code``. Each (table, key) is partitioned once, so rendering every participant is
        linear in the period's size, not quadratic."""
        cache = self.__dict__.setdefault("_partitions", {})
        if (table, key) not in cache:
            cache[(table, key)] = partition(self._table(table), key)
        found = cache[(table, key)].get(code)
        return found if found is not None else self._table(table).slice(0, 0)

    def _table(self, name: str) -> pa.Table:
        if name == "records":
            return self.records
        if name == "charges":
            return self.charges_with_agent()
        return self.ledger[name]

    def charges_with_agent(self) -> pa.Table:
        """Charges with the agent of the record they itemise (charges carry no agent)."""
        if "_charges_agent" not in self.__dict__:
            keys = ["parent_type", "airline_prefix", "awb_serial", "correction_number"]
            owners = pa.table({
                "parent_type": self.records.column("record_type"),
                "airline_prefix": self.records.column("airline_prefix"),
                "awb_serial": self.records.column("awb_serial"),
                "correction_number": pc.fill_null(self.records.column("correction_number"),
                                                  ""),
                "agent_code": self.records.column("agent_code")})
            ch = self.charges.append_column("_n", pa.array(range(self.charges.num_rows)))
            ch = ch.set_column(ch.schema.get_field_index("correction_number"),
                               "correction_number",
                               pc.fill_null(ch.column("correction_number"), ""))
            joined = ch.join(owners, keys=keys, join_type="left outer", use_threads=False)
            joined = joined.sort_by("_n")
            out = self.charges.append_column("agent_code", joined.column("agent_code"))
            self.__dict__["_charges_agent"] = out
        return self.__dict__["_charges_agent"]

    def airline_name(self, prefix: str) -> str:
        a = self.reference.airlines.get(prefix)
        return a.name if a else ""

    def agent_name(self, code: str) -> str:
        a = self.reference.agents.get(code)
        return a.name if a else ""


def load_run(settings: Settings, folder: Path, reference: ReferenceData) -> RunData:
    """The run in ``folder``; its input parts must still have the bytes the run settled."""
    manifest = json.loads((folder / "manifest.json").read_text())
    base = warehouse.partition(settings, manifest["operation"], manifest["period"])
    parts = []
    for item in manifest["inputs"]:
        part = base / "records" / item["part"]
        if sha256_of(part) != item["part_sha256"]:
            raise StaleInputs(f"{part} changed since the run")
        parts.append((part, base / "charges" / item["part"]))
    return RunData(folder, manifest, LedgerTables(folder), reference, parts)


def _only(schema: pa.Schema, columns: set[str] | None) -> pa.Schema:
    return schema if columns is None else pa.schema([f for f in schema if f.name in columns])


SPARSE = frozenset({"awb_serial", "correction_number"})  # nearly a value per row


def read_parts(paths: list[Path], schema: pa.Schema, dictionary: bool = False) -> pa.Table:
    """The parts' rows in this order, as ``schema``; each part read whole, its columns side
    by side (no dataset layer: nothing to discover). With ``dictionary``, the string columns
    but SPARSE ones come dictionary-encoded, as Parquet stores them: read in about 60% of
    the time, and smaller."""
    if dictionary:
        schema = pa.schema([pa.field(f.name, pa.dictionary(pa.int32(), f.type))
                            if f.type == pa.string() and f.name not in SPARSE else f
                            for f in schema])
    coded = [f.name for f in schema if pa.types.is_dictionary(f.type)] or None
    tables = [pq.ParquetFile(p, read_dictionary=coded).read(columns=schema.names)
              for p in paths]
    tables = [t if t.schema == schema else t.cast(schema) for t in tables]
    return pa.concat_tables(tables) if tables else schema.empty_table()


def partition(table: pa.Table, key: str) -> dict[str, pa.Table]:
    """code -> its rows, in their original order (one stable sort, then slices)."""
    if table.num_rows == 0:
        return {}
    t = table.take(pc.array_sort_indices(pc.fill_null(table.column(key), "")))  # stable
    keys = pc.fill_null(t.column(key), "").to_numpy(zero_copy_only=False).astype(str)
    uniq, starts = np.unique(keys, return_index=True)
    ends = np.append(starts[1:], len(keys))
    return {k: t.slice(int(a), int(b - a)) for k, a, b in zip(uniq, starts, ends, strict=True)}


def in_order(table: pa.Table, keys: list[str]) -> pa.Table:
    """``table`` stably sorted by ``keys``: the ledger's own order is kept within a group.
    A table already in order by the last keys (the bills, by agent then airline, wanted by
    airline then agent) is only sorted stably by the first ones: one radix pass."""
    if table.num_rows == 0 or _ascending(table, keys):
        return table
    done = next((j for j in range(1, len(keys)) if _ascending(table, keys[j:])), None)
    order = refine(np.arange(table.num_rows), [key_values(table.column(k))
                                                for k in keys[:done]]) \
        if done is not None else order_by(table, keys)
    if np.array_equal(order, np.arange(len(order))):
        return table
    return table.take(pa.array(order))


def _ascending(table: pa.Table, keys: list[str]) -> bool:
    """Whether the rows are already in ascending order of ``keys`` (string or integer keys
    without nulls): each run of equal keys is followed by a greater one. The ledger's tables
    are in order, and this check takes a fraction of ranking the keys to sort them; False
    where it cannot tell."""
    cols = [table.column(k) for k in keys]
    if not cols or any(c.null_count or not (pa.types.is_string(c.type)
                                            or pa.types.is_integer(c.type)) for c in cols):
        return False
    heads = pa.array(runs(*cols)[:-1])
    m = len(heads)
    tied = None  # consecutive runs equal on the keys so far (None: all of them)
    for c in cols:
        key = c.take(heads)
        now, after = key.slice(0, m - 1), key.slice(1)
        above = pc.greater(now, after)
        if pc.any(above if tied is None else pc.and_(tied, above)).as_py():
            return False
        same = pc.equal(now, after)
        tied = same if tied is None else pc.and_(tied, same)
    return True


def chunks(bounds: np.ndarray, size: int) -> list[tuple[int, int]]:
    """Consecutive groups (rows ``bounds[g]:bounds[g + 1]``) in chunks of about ``size`` rows:
    (first group, end group) pairs; a group larger than ``size`` is a chunk of its own."""
    out, first, groups = [], 0, len(bounds) - 1
    while first < groups:
        last = int(np.searchsorted(bounds, bounds[first] + size, "right")) - 1
        last = min(max(last, first + 1), groups)
        out.append((first, last))
        first = last
    return out
