"""HOT outputs: the airline hand-off file (per airline) and the agent HOT file (per agent),
written with the hand-off layouts of ``parsers.hot`` from the run's input records."""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor

import numpy as np
import pyarrow as pa

from casslink import kernels
from casslink.canonical import NET_TERMS, FileHeader
from casslink.ordering import dense_rank, order_by, refine
from casslink.outputs.source import RunData
from casslink.parsers.hot import write_hot
from casslink.parsers.hot.layouts import FAMILIES
from casslink.parsers.hot.writer import LinePlan, columns_written, write_hot_splits
from casslink.storage import Data

FAMILY = "handoff"


def _with_net(records: pa.Table) -> pa.Table:
    """AWM columns 170-182: the agent net of each AWB in the record's own currency."""
    net = np.zeros(records.num_rows, np.int64)
    for c, sign in NET_TERMS.items():  # chunk by chunk, in place: no column-long temporaries
        add = np.add if sign > 0 else np.subtract
        at = 0
        for chunk in records.column(c).chunks:
            part = net[at:at + len(chunk)]
            values, valid = kernels.int_buffer(chunk)
            add(part, values, out=part, where=True if valid is None else valid)
            at += len(chunk)
    is_awb = kernels.equals(records.column("record_type"), "AWB")
    value = pa.Array.from_buffers(pa.int64(), len(net), [  # net where an AWB, else null
        pa.py_buffer(np.packbits(is_awb, bitorder="little")), pa.py_buffer(net)])
    at = records.schema.get_field_index("net_amount")
    return records.set_column(at, "net_amount", value) if at >= 0 else \
        records.append_column("net_amount", value)


def _header(run: RunData, airline_prefix: str = "", agent_code: str = "") -> FileHeader:
    m = run.manifest
    import datetime as dt

    return FileHeader(family=FAMILY, record_id="AAA", operation=run.operation,
                      airline_prefix=airline_prefix, agent_code=agent_code,
                      period_start=dt.date.fromisoformat(m["period_start"]),
                      period_end=dt.date.fromisoformat(m["period_end"]),
                      billing_date=dt.date.fromisoformat(m["billing_date"]), file_number=1,
                      currency=run.currency,
                      office_code=run.reference.operations[run.operation].office_code)


ORDER = ("agent_code", "airline_prefix", "awb_serial", "correction_number", "record_type",
         "source_file", "source_line")


def _sorted(records: pa.Table, first: str = "agent_code") -> pa.Table:
    """Records by ``first``, then the rest of ORDER (nulls first), only the columns the
    hand-off layouts write."""
    records = _written(records)
    return records.take(pa.array(order_by(records, (first, *(k for k in ORDER if k != first)))))


def _written(records: pa.Table) -> pa.Table:
    """Only the columns the hand-off layouts write, and the sort keys."""
    wanted = columns_written(FAMILY) | set(ORDER)
    return records.select([c for c in records.column_names if c in wanted])


def _columns() -> set[str]:
    """The input record columns the HOT files are written from (the net amount is not read:
    :func:`_with_net` computes it)."""
    return (columns_written(FAMILY) | set(ORDER) | set(NET_TERMS)) - {"net_amount"}


def _charge_columns() -> set[str]:
    """The input charge columns the HOT files are written from: a charge line's fields, and
    the parent's key."""
    layouts = [r for r in FAMILIES[FAMILY].records if r.role == "charges"]
    return {f.name for r in layouts for f in (*r.fields, *r.group.fields) if f.name} | {
        "parent_type", "airline_prefix", "awb_serial", "correction_number"}


def airline_handoff(run: RunData, prefix: str) -> bytes:
    records = _sorted(_with_net(run.rows("records", "airline_prefix", prefix)))
    charges = run.rows("charges", "airline_prefix", prefix).drop_columns(["agent_code"])
    return write_hot(_header(run, airline_prefix=prefix), records, charges)


def agent_hot(run: RunData, agent_code: str) -> bytes:
    records = _sorted(_with_net(run.rows("records", "agent_code", agent_code)))
    charges = run.rows("charges", "agent_code", agent_code).drop_columns(["agent_code"])
    return write_hot(_header(run, agent_code=agent_code), records, charges)


def hot_all(run: RunData, keys: tuple[str, ...] = ("airline_prefix", "agent_code")
            ) -> list[dict[str, Data]]:
    """Every participant's file for each of ``keys`` (airline_prefix: hand-off files,
    agent_code: agent HOT files), the records' lines rendered once for all (the first key's
    files are views of one buffer, the others' files pieces of it). The charges are read,
    and their lines planned, while the records are read, ordered and their columns prepared
    (Arrow and numpy release the GIL); both are read with their strings dictionary-encoded
    (as Parquet stores them: the kernels write them through the indices)."""
    with ThreadPoolExecutor(1) as pool:
        charges = pool.submit(run.read_charges, _charge_columns(), dictionary=True)
        records = _written(_with_net(run.read_records(_columns(), dictionary=True)))
        plan = pool.submit(LinePlan, FAMILIES[FAMILY], records, charges.result())
        header = _header(run)  # each file's code goes in the field named as its key
        ranks = {k: dense_rank(records.column(k)) for k in ORDER[:2]}
        known = _ledger_order(run, records.num_rows) if keys[:1] == ("airline_prefix",) \
            else None
        splits = [(key, order, header) for key, order in
                  zip(keys, _split_orders(records, keys, ranks, known), strict=True)]
        return write_hot_splits(splits, records, charges.result(), FAMILY, plan=plan,
                                ranks=ranks)


def _split_orders(records: pa.Table, keys: tuple[str, ...],
                  ranks: dict[str, tuple[np.ndarray, int]] | None = None,
                  first: np.ndarray | None = None) -> list[np.ndarray]:
    """For each key (agent_code or airline_prefix), the order of ``records`` by the key, then
    the rest of ORDER: the records are sorted by the keys after the first two once, and that
    order is refined by the first split's two participant ranks (same order as sorting by
    every key) - unless that ``first`` order is known. A later split's order is the one
    before refined by its own key alone: sorted stably by agent, records in airline, agent,
    ... order are in agent, airline, ... order. ``ranks``: the participants'
    :func:`dense_rank`, where already made."""
    if not keys:
        return []
    ranks = ranks or {k: dense_rank(records.column(k)) for k in ORDER[:2]}
    if first is None:
        first = refine(order_by(records, ORDER[2:]),
                       [ranks[k] for k in (keys[0], *(k for k in ORDER[:2] if k != keys[0]))])
    return [first, *(refine(first, [ranks[key]]) for key in keys[1:])]


def _ledger_order(run: RunData, n: int) -> np.ndarray | None:
    """The input records in the order of the run's ledger lines (airline, agent, AWB,
    correction number, record type, source file and line: the hand-off files' order) from
    the lines' ``input_row``; None for a ledger written before lines kept it."""
    lines = run.ledger_columns("lines", {"input_row"})
    if "input_row" not in lines.column_names:
        return None
    rows = lines.column("input_row").to_numpy().astype(np.int64, copy=False)
    if len(rows) != n or (n and (rows.min() < 0 or rows.max() >= n
                                 or np.bincount(rows, minlength=n).max() > 1)):
        raise ValueError("the ledger's lines are not the run's input records")
    return rows
