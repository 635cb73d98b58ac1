"""The ledger of one (operation, period): record lines -> agent x airline bills -> agent
remittances and airline settlements, all in the operation's settlement currency.

Rules (docs/settlement.md):

* Every amount of a record is converted to the settlement currency with the record's rate of
  exchange (units of settlement currency per unit of the record's currency) when the two
  currencies differ, component by component, rounded half-up (away from zero) to the
  settlement currency's ISO minor unit. The record's net is the sum of its converted
  components, so components and nets always add up.
* A correction pair bills revised - original per component: original rows (CCO, DCO) enter
  with sign -1, revised rows (CCR, DCR) and AWB billings with +1. A CCA moving a charge from
  prepaid to collect is therefore handled by the same rule.
* Agent net per record (spec 4.5): PP weight + PP valuation + PP other charges due carrier
  - CC other charges due agent - commission - discount (signed) + VAT due airline
  - VAT due agent.
"""

from __future__ import annotations

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from casslink.canonical import AMOUNT_COLUMNS, NET_TERMS
from casslink.money import minor_unit

SIGN = {"AWB": 1, "CCO": -1, "CCR": 1, "DCO": -1, "DCR": 1}
KIND = {"AWB": "billing", "CCO": "cca", "CCR": "cca", "DCO": "dcm", "DCR": "dcm"}

BILL_KEYS = ("agent_code", "airline_prefix")
COUNT_ALL = pc.CountOptions(mode="all")


class MissingRate(ValueError):
    """A record in a foreign currency carries no rate of exchange."""


def convert(amounts: np.ndarray, rates_e5: np.ndarray, from_digits: int, to_digits: int
            ) -> np.ndarray:
    """Minor units of one currency -> minor units of another, half-up away from zero, exact.

    Python integers (object arrays) carry the intermediate product, which can exceed int64.
    """
    num = amounts.astype(object) * rates_e5.astype(object)
    den = 10 ** 5
    shift = to_digits - from_digits
    if shift >= 0:
        num = num * (10 ** shift)
    else:
        den *= 10 ** (-shift)
    mag = (np.abs(num) * 2 + den) // (2 * den)
    return np.where(num < 0, -mag, mag).astype(np.int64)


def ledger_lines(records: pa.Table, operation: str, period_id: str,
                 settlement_currency: str) -> pa.Table:
    """One signed, converted line per input record, in a deterministic order."""
    n = records.num_rows
    types = records.column("record_type").to_numpy(zero_copy_only=False).astype(str)
    sign = np.vectorize(SIGN.get, otypes=[np.int64])(types) if n else np.zeros(0, np.int64)
    currency = pc.fill_null(records.column("currency"), "").to_numpy(zero_copy_only=False)
    rates = np.asarray(pc.fill_null(records.column("exchange_rate_e5"), 0))
    to_digits = minor_unit(settlement_currency)
    comps = {c: np.asarray(pc.fill_null(records.column(c), 0), dtype=np.int64).copy()
             for c in AMOUNT_COLUMNS}
    for cur in sorted(set(currency.tolist()) - {settlement_currency}):
        rows = np.flatnonzero(currency == cur)
        missing = rows[rates[rows] <= 0]
        if len(missing):
            where = [f"{records.column('source_file')[i]}:{records.column('source_line')[i]}"
                     for i in missing[:5]]
            raise MissingRate(f"{len(missing)} {cur} records have no rate of exchange to "
                              f"{settlement_currency} (e.g. {', '.join(where)})")
        for c in AMOUNT_COLUMNS:
            comps[c][rows] = convert(comps[c][rows], rates[rows], minor_unit(cur), to_digits)
    for c in AMOUNT_COLUMNS:
        comps[c] = comps[c] * sign
    net = sum(comps[c] * s for c, s in NET_TERMS.items()) if n else np.zeros(0, np.int64)
    kinds = np.vectorize(KIND.get, otypes=[object])(types) if n else np.zeros(0, object)
    table = pa.table({
        "operation": pa.array([operation] * n, pa.string()),
        "period_id": pa.array([period_id] * n, pa.string()),
        "agent_code": records.column("agent_code"),
        "airline_prefix": records.column("airline_prefix"),
        "awb_serial": records.column("awb_serial"),
        "record_type": records.column("record_type"),
        "kind": pa.array(kinds, pa.string()),
        "correction_number": records.column("correction_number"),
        "sign": pa.array(sign, pa.int8()),
        "currency": records.column("currency"),
        "exchange_rate_e5": records.column("exchange_rate_e5"),
        "settlement_currency": pa.array([settlement_currency] * n, pa.string()),
        **{c: pa.array(comps[c], pa.int64()) for c in AMOUNT_COLUMNS},
        "net": pa.array(net, pa.int64()),
        "late": pc.equal(pc.fill_null(records.column("late_indicator"), ""), "L"),
        "source_file": records.column("source_file"),
        "source_line": records.column("source_line"),
    })
    order = pc.sort_indices(table, [(k, "ascending", "at_start") for k in (
        "airline_prefix", "agent_code", "awb_serial", "correction_number", "record_type",
        "source_file", "source_line")])
    return table.take(order)


def _group(lines: pa.Table, keys: list[str], kind: str | None, prefix: str) -> pa.Table:
    sub = lines if kind is None else lines.filter(pc.equal(lines.column("kind"), kind))
    aggs = [(c, "sum") for c in (*AMOUNT_COLUMNS, "net")] + [("net", "count", COUNT_ALL)]
    g = sub.group_by(keys, use_threads=False).aggregate(aggs)
    names = {f"{c}_sum": f"{prefix}{c}" for c in (*AMOUNT_COLUMNS, "net")}
    names["net_count"] = f"{prefix}rows"
    return g.rename_columns([names.get(c, c) for c in g.column_names])


def bills(lines: pa.Table) -> pa.Table:
    """One bill per (agent, airline): counts, billing and correction components, nets."""
    keys = list(BILL_KEYS)
    out = lines.group_by(keys, use_threads=False).aggregate([("net", "sum"),
                                                             ("net", "count", COUNT_ALL)])
    out = out.rename_columns([*keys, "net", "records"])
    for kind, prefix in (("billing", "bill_"), ("cca", "cca_"), ("dcm", "dcm_")):
        out = out.join(_group(lines, keys, kind, prefix), keys=keys, join_type="left outer",
                       use_threads=False)
    out = pa.table({c: out.column(c) if c in keys else pc.fill_null(out.column(c), 0)
                    for c in out.column_names})
    out = out.rename_columns([
        {"bill_net": "net_billing", "bill_rows": "awb_count", "cca_rows": "cca_records",
         "dcm_rows": "dcm_records"}.get(c, c.removeprefix("bill_")) for c in out.column_names])
    out = out.append_column("corrections_net", pc.add(out.column("cca_net"),
                                                      out.column("dcm_net")))
    cols = [*keys, "records", "awb_count", "cca_records", "dcm_records", *AMOUNT_COLUMNS,
            "net_billing", *(f"cca_{c}" for c in AMOUNT_COLUMNS), "cca_net",
            *(f"dcm_{c}" for c in AMOUNT_COLUMNS), "dcm_net", "corrections_net", "net"]
    out = out.select(cols)
    return out.take(pc.sort_indices(out, [(k, "ascending") for k in keys]))


def totals(bill_table: pa.Table, key: str, other: str) -> pa.Table:
    """Per agent (remittance) or per airline (settlement): counterparties, counts and net."""
    g = bill_table.group_by([key], use_threads=False).aggregate([
        (other, "count"), ("awb_count", "sum"), ("cca_records", "sum"), ("dcm_records", "sum"),
        ("net_billing", "sum"), ("corrections_net", "sum"), ("net", "sum")])
    g = g.rename_columns([key, "counterparties", "awb_count", "cca_records", "dcm_records",
                          "net_billing", "corrections_net", "net"])
    return g.take(pc.sort_indices(g, [(key, "ascending")]))
