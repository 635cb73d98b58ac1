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
from casslink.ordering import order_by, rank

SIGN = {"AWB": 1, "CCO": -1, "CCR": 1, "DCO": -1, "DCR": 1}
KIND = {"AWB": "billing", "CCO": "cca", "CCR": "cca", "DCO": "dcm", "DCR": "dcm"}

BILL_KEYS = ("agent_code", "airline_prefix")
INPUT_COLUMNS = ["agent_code", "airline_prefix", "awb_serial", "record_type",
                 "correction_number", "currency", "exchange_rate_e5", *AMOUNT_COLUMNS,
                 "late_indicator", "source_file", "source_line"]
"""The record columns a ledger is computed from (settlement reads only these)."""
DICTIONARY_COLUMNS = ("agent_code", "airline_prefix", "record_type", "correction_number",
                      "currency", "late_indicator", "source_file")
"""Low-cardinality inputs, read dictionary-encoded."""


class MissingRate(ValueError):
    """A record in a foreign currency carries no rate of exchange."""


INT64_SAFE = 2**62  # |amount * rate * 10**shift| below this: int64 arithmetic is exact


def convert(amounts: np.ndarray, rates_e5: np.ndarray, from_digits: int, to_digits: int
            ) -> np.ndarray:
    """Minor units of one currency -> minor units of another, half-up away from zero, exact.

    int64 arithmetic when the products cannot overflow (checked); otherwise Python integers
    (object arrays) carry the intermediate product. A result beyond int64 raises
    OverflowError.
    """
    amounts, rates_e5 = np.asarray(amounts, np.int64), np.asarray(rates_e5, np.int64)
    den = 10 ** 5
    shift = to_digits - from_digits
    mul = 10 ** shift if shift >= 0 else 1
    if shift < 0:
        den *= 10 ** (-shift)
    biggest = int(np.abs(amounts).max(initial=0)) * int(np.abs(rates_e5).max(initial=0)) * mul
    if biggest * 2 + den < INT64_SAFE:
        num = amounts * rates_e5 * mul
        mag = (np.abs(num) * 2 + den) // (2 * den)
        return np.where(num < 0, -mag, mag)
    num = amounts.astype(object) * rates_e5.astype(object) * mul
    mag = (np.abs(num) * 2 + den) // (2 * den)
    if int(mag.max(initial=0)) >= 2**63:
        raise OverflowError("a converted amount does not fit in int64 minor units")
    return np.where(num < 0, -mag, mag).astype(np.int64)


def _ints(column: pa.ChunkedArray) -> np.ndarray:
    """int64 numpy values of a column, nulls as 0."""
    if column.null_count:
        column = pc.fill_null(column, 0)
    return np.asarray(column, np.int64)


def _repeat(value: str, n: int) -> pa.Array:
    return pc.fill_null(pa.nulls(n, pa.string()), value)


def _codes(column: pa.ChunkedArray | pa.Array, values: tuple[str, ...]) -> np.ndarray:
    """Index of each row's value in ``values`` (-1 where absent or null)."""
    return np.asarray(pc.fill_null(pc.index_in(column, pa.array(values)), -1), np.int64)


def _order(records: pa.Table) -> np.ndarray:
    """Row order of the ledger: airline, agent, AWB, correction number, record type, source
    file and line - string keys as ranks, packed into int64 keys for one numpy lexsort."""
    return order_by(records, ("airline_prefix", "agent_code", "awb_serial",
                              "correction_number", "record_type", "source_file",
                              "source_line"))


def _plain_strings(table: pa.Table) -> pa.Table:
    """Dictionary-encoded columns (as read from Parquet) back to plain strings."""
    for i, f in enumerate(table.schema):
        if pa.types.is_dictionary(f.type):
            table = table.set_column(i, f.name, table.column(i).cast(f.type.value_type))
    return table


def ledger_lines(records: pa.Table, operation: str, period_id: str,
                 settlement_currency: str) -> pa.Table:
    """One signed, converted line per input record, in a deterministic order (airline, agent,
    AWB, correction number, record type, source file, source line); ``input_row`` is the
    line's row in ``records``. String columns may come dictionary-encoded (cheaper to read
    and to sort); the lines hold plain strings."""
    records = records.select(INPUT_COLUMNS).unify_dictionaries().combine_chunks()
    order = _order(records) if records.num_rows else np.zeros(0, np.int64)
    if records.num_rows:
        records = records.take(pa.array(order))
    records = _plain_strings(records)
    n = records.num_rows
    types = _codes(records.column("record_type"), tuple(SIGN))
    if (types < 0).any():
        raise ValueError(f"{int((types < 0).sum())} records have no canonical record type")
    sign = np.array(list(SIGN.values()), np.int64)[types]
    currency = records.column("currency")
    rates = np.asarray(pc.fill_null(records.column("exchange_rate_e5"), 0), np.int64)
    to_digits = minor_unit(settlement_currency)
    comps = {c: _ints(records.column(c)).copy() for c in AMOUNT_COLUMNS}
    currencies = pc.unique(pc.fill_null(currency, "")).to_pylist() if n else []
    for cur in sorted(set(currencies) - {settlement_currency}):
        rows = np.flatnonzero(np.asarray(pc.fill_null(pc.equal(currency, cur), cur == "")))
        missing = rows[rates[rows] <= 0]
        if len(missing):
            where = [f"{records.column('source_file')[i]}:{records.column('source_line')[i]}"
                     for i in missing[:5]]
            raise MissingRate(f"{len(missing)} {cur or 'currency-less'} records have no rate "
                              f"of exchange to {settlement_currency} (e.g. {', '.join(where)})")
        for c in AMOUNT_COLUMNS:
            comps[c][rows] = convert(comps[c][rows], rates[rows], minor_unit(cur), to_digits)
    for c in AMOUNT_COLUMNS:
        comps[c] *= sign
    net = np.zeros(n, np.int64)
    for c, t in NET_TERMS.items():
        net += comps[c] * t
    kind_names = tuple(dict.fromkeys(KIND.values()))
    kind_of_type = np.array([kind_names.index(KIND[t]) for t in SIGN], np.int32)
    kinds = pa.DictionaryArray.from_arrays(pa.array(kind_of_type[types]),
                                           pa.array(kind_names)).cast(pa.string())
    return pa.table({
        "operation": _repeat(operation, n),
        "period_id": _repeat(period_id, n),
        "agent_code": records.column("agent_code"),
        "airline_prefix": records.column("airline_prefix"),
        "awb_serial": records.column("awb_serial"),
        "record_type": records.column("record_type"),
        "kind": kinds,
        "correction_number": records.column("correction_number"),
        "sign": pa.array(sign, pa.int8()),
        "currency": currency,
        "exchange_rate_e5": records.column("exchange_rate_e5"),
        "settlement_currency": _repeat(settlement_currency, n),
        **{c: pa.array(comps[c], pa.int64()) for c in AMOUNT_COLUMNS},
        "net": pa.array(net, pa.int64()),
        "late": pc.equal(pc.fill_null(records.column("late_indicator"), ""), "L"),
        "source_file": records.column("source_file"),
        "source_line": records.column("source_line"),
        "input_row": pa.array(order, pa.int64()),
    })


def bills(lines: pa.Table) -> pa.Table:
    """One bill per (agent, airline): counts, billing and correction components, nets.

    Lines are grouped by their (airline, agent) ranks: totals by ``reduceat`` over the
    grouped rows, the corrections (a few per cent of the lines) by ``add.at``, billing =
    total - CCA - DCM. The bills are returned in (agent, airline) order."""
    keys = list(BILL_KEYS)
    n = lines.num_rows
    lines = lines.combine_chunks()
    (airline, _), (agent, n_agents) = (
        rank(lines.column(k).chunk(0)) if n else (np.zeros(0, np.int64), 1)
        for k in ("airline_prefix", "agent_code"))
    group_key = airline * n_agents + agent
    order = None if n < 2 or (np.diff(group_key) >= 0).all() else \
        np.argsort(group_key, kind="stable")  # None: the ledger's own order is grouped
    sorted_key = group_key if order is None else group_key[order]
    starts = np.flatnonzero(np.diff(sorted_key, prepend=-1))
    bill_of_row = np.cumsum(np.diff(sorted_key, prepend=-1) != 0) - 1
    m = len(starts)

    def col(name: str) -> np.ndarray:
        v = _ints(lines.column(name))
        return v if order is None else v[order]

    kind = np.asarray(pc.fill_null(pc.index_in(lines.column("kind"),
                                               pa.array(["billing", "cca", "dcm"])), -1))
    kind = kind if order is None else kind[order]
    first = starts if order is None else order[starts]
    out: dict[str, np.ndarray | pa.Array] = {k: lines.column(k).take(pa.array(first))
                                             for k in keys}
    out["records"] = np.diff(np.append(starts, n))
    values = {c: col(c) for c in (*AMOUNT_COLUMNS, "net")}
    for kind_code, prefix in ((1, "cca_"), (2, "dcm_")):
        rows = np.flatnonzero(kind == kind_code)
        out[f"{prefix[:3]}_records"] = np.bincount(bill_of_row[rows], minlength=m)
        for c in (*AMOUNT_COLUMNS, "net"):
            total = np.zeros(m, np.int64)
            np.add.at(total, bill_of_row[rows], values[c][rows])
            out[f"{prefix}{c}"] = total
    out["awb_count"] = out["records"] - out["cca_records"] - out["dcm_records"]
    for c in (*AMOUNT_COLUMNS, "net"):
        total = np.add.reduceat(values[c], starts) if n else np.zeros(0, np.int64)
        if c == "net":
            out["net"] = total
        out["net_billing" if c == "net" else c] = total - out[f"cca_{c}"] - out[f"dcm_{c}"]
    out["corrections_net"] = out["cca_net"] + out["dcm_net"]
    cols = [*keys, "records", "awb_count", "cca_records", "dcm_records", *AMOUNT_COLUMNS,
            "net_billing", *(f"cca_{c}" for c in AMOUNT_COLUMNS), "cca_net",
            *(f"dcm_{c}" for c in AMOUNT_COLUMNS), "dcm_net", "corrections_net", "net"]
    table = pa.table({c: out[c] if c in keys else pa.array(out[c], pa.int64()) for c in cols})
    return table.take(pa.array(np.lexsort((airline[first], agent[first]))))


def totals(bill_table: pa.Table, key: str, other: str) -> pa.Table:
    """Per agent (remittance) or per airline (settlement): counterparties, counts and net."""
    g = bill_table.group_by([key], use_threads=False).aggregate([
        (other, "count"), ("awb_count", "sum"), ("cca_records", "sum"), ("dcm_records", "sum"),
        ("net_billing", "sum"), ("corrections_net", "sum"), ("net", "sum")])
    g = g.rename_columns([key, "counterparties", "awb_count", "cca_records", "dcm_records",
                          "net_billing", "corrections_net", "net"])
    return g.take(pc.sort_indices(g, [(key, "ascending")]))
