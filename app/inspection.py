"""A file inspector: kind, period, record counts and totals per currency of any billing input."""

from __future__ import annotations

from pathlib import Path

import pyarrow as pa
import pyarrow.compute as pc

from casslink.canonical import AMOUNT_COLUMNS, BillingBatch, agent_net
from casslink.money import format_amount


def read_any(path: Path) -> BillingBatch:
    """Read a billing input in any supported format (HOT, ONE Record XML, XFWB)."""
    from casslink.parsers import read_any as parse

    fmt, batch = parse(Path(path).read_bytes(), Path(path).name)
    if batch is None:
        raise ValueError(f"{path}: {fmt} is not a billing file casslink reads")
    return batch


def totals_by_currency(records: pa.Table) -> dict[str, dict[str, str]]:
    """Per currency: every money component summed over the records, plus the agent net."""
    out: dict[str, dict[str, str]] = {}
    if records.num_rows == 0:
        return out
    grouped = records.group_by("currency").aggregate([(c, "sum") for c in AMOUNT_COLUMNS])
    for row in grouped.to_pylist():
        cur = row["currency"] or "???"
        sums = {c: int(row[f"{c}_sum"] or 0) for c in AMOUNT_COLUMNS}
        net = agent_net(sums)
        fmt = (lambda v, c=cur: format_amount(v, c)) if cur != "???" else str
        out[cur] = {**{k: fmt(v) for k, v in sums.items() if v}, "agent_net": fmt(net)}
    return out


def inspect_file(path: Path) -> dict:
    batch = read_any(Path(path))
    types = batch.records.column("record_type") if batch.records.num_rows else pa.array([])
    counts = pc.value_counts(types).to_pylist() if len(types) else []
    return {
        "kind": batch.header.family,
        "format": batch.format,
        "header": batch.header.as_dict(),
        "trailer": batch.trailer,
        "lines": batch.line_count,
        "record_counts": {c["values"]: c["counts"] for c in sorted(counts,
                                                                   key=lambda c: c["values"])},
        "raw_record_ids": batch.record_counts,
        "charge_count": batch.charges.num_rows,
        "totals": totals_by_currency(batch.records),
        "problem_count": len(batch.problems),
        "problems": [p.as_dict() for p in batch.problems[:100]],
    }
