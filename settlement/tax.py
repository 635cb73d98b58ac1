"""Tax in the ledger: each line's tax per rule, the sides' figures, the tax table (docs/tax.md).

For every rule of the operation and every ledger line:

* the **tax point** is the AWB's execution date; a correction line takes the execution date of
  the AWB it corrects when that AWB is among the period's records, else its own;
* the rule is **in force** for the line when the tax point lies in ``valid_from..valid_to`` and
  the line is domestic/international as ``applies_to`` asks (both airports in the operation's
  country, by the ``airportsdata`` set; an unknown airport counts as international);
* ``line`` rounding: tax = base x rate, half-up to the minor unit of the record's currency,
  then converted to the settlement currency like any amount of the record (so it is the figure
  the airline's file should hold); ``bill`` rounding: the converted bases of a bill are summed
  and rounded once, and the bill's tax is shared over its lines by largest remainder, a
  foreign-currency line keeping its own line-rounded figure (so its files read back);
* ``compute`` and ``verify``: the side's field of the line (``tax_airline``, ``tax_agent``)
  becomes the sum of its computed taxes and the line's net follows; ``accept``: the file's
  figure stands (attributed to the side's first rule in force); ``withheld``: the line's
  ``tax_withheld``; the agent's net is unchanged, the airline's settlement drops by it.

Signs follow the lines (a correction's original enters with -1), so a correction bills the
tax of revised - original at the rate of the AWB's tax point.
"""

from __future__ import annotations

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from casslink.money import minor_unit
from casslink.ordering import runs
from casslink.settlement.ledger import convert
from casslink.tax_rules import (
    FILE_FIELD,
    TaxRule,
    applies,
    domestic_mask,
    half_up_div,
    in_force,
)

TAX_COLUMNS = ("origin", "destination", "execution_date")
"""Record columns the tax engine reads beyond the ledger's own inputs."""
TAX_TABLE_SCHEMA = pa.schema([
    ("agent_code", pa.string()), ("airline_prefix", pa.string()), ("code", pa.string()),
    ("name", pa.string()), ("side", pa.string()), ("rate_bp", pa.int32()),
    ("applies_to", pa.string()), ("rule_version", pa.int64()), ("base", pa.int64()),
    ("tax", pa.int64()), ("lines", pa.int64()),
])
SIDE_SIGN = {"airline": 1, "agent": -1}  # how a side's tax enters the agent's net
STATED_PREFIX = "cass_"
"""``cass_tax_airline``/``cass_tax_agent``: a computed side's tax in the record's own currency,
as the record states it (unsigned by the line's sign); the outputs write these in the VAT
fields (:meth:`casslink.outputs.source.RunData.read_records`)."""
CODE_PREFIX = "tax:"
"""Lines carry one column per tax code: ``tax:<code>`` (signed, settlement currency)."""


class TaxOutcome:
    """What the engine did to a period's lines: the new lines, the tax table, and per side
    the computed total minus the file's (``compute``/``verify`` sides)."""

    def __init__(self, lines: pa.Table, table: pa.Table, differences: dict[str, int],
                 unknown_airports: int) -> None:
        self.lines, self.table = lines, table
        self.differences, self.unknown_airports = differences, unknown_airports


def _ints(column) -> np.ndarray:
    if column.null_count:
        column = pc.fill_null(column, 0)
    return np.asarray(column, np.int64)


def tax_points(lines: pa.Table, own: np.ndarray, fallback: np.datetime64) -> np.ndarray:
    """Each line's tax point (datetime64[D]; ``own``: the lines' own execution dates as days,
    -1 where none): a correction takes its AWB's date - the AWB line of the same airline,
    agent and serial, adjacent in ledger order - else its own; no date at all: ``fallback``."""
    days = own
    is_awb = np.asarray(pc.equal(lines.column("record_type"), "AWB"))
    if is_awb.any() and not is_awb.all():
        bounds = runs(lines.column("airline_prefix"), lines.column("agent_code"),
                      lines.column("awb_serial"))
        awb = np.maximum.reduceat(np.where(is_awb, days, -1), bounds[:-1])
        per_line = np.repeat(awb, np.diff(bounds))
        days = np.where(~is_awb & (per_line >= 0), per_line, days)
    return np.where(days >= 0, days, fallback.astype(np.int64)).astype("datetime64[D]")


def _to_settlement(values: np.ndarray, lines: pa.Table, settlement_currency: str,
                   foreign: np.ndarray) -> np.ndarray:
    """Record-currency amounts of the lines -> settlement currency (as ledger_lines does;
    ``foreign``: the lines in another currency)."""
    if not foreign.any():
        return values
    out = values.copy()
    currency = lines.column("currency")
    rates = _ints(lines.column("exchange_rate_e5"))
    to_digits = minor_unit(settlement_currency)
    for cur in sorted(set(pc.unique(pc.fill_null(currency, "")).to_pylist())
                      - {settlement_currency}):
        rows = np.flatnonzero(np.asarray(pc.fill_null(pc.equal(currency, cur), cur == "")))
        rows = rows[values[rows] != 0]
        if len(rows):
            out[rows] = convert(values[rows], rates[rows], minor_unit(cur), to_digits)
    return out


def bill_rounded(base: np.ndarray, rate_bp: int, bill: np.ndarray,
                 taxed: np.ndarray | None = None, fixed: np.ndarray | None = None,
                 fixed_tax: np.ndarray | None = None) -> np.ndarray:
    """Tax per line of a ``bill``-rounded rule: each bill's tax is its summed base x rate
    rounded half-up once, shared over its ``taxed`` lines (default all; the others get 0).

    A line's share is its own base x rate rounded down or up, the ups going to the largest
    remainders (ties: line order). ``fixed`` taxed lines (foreign-currency records) keep
    ``fixed_tax``, the figure their own currency states (so their files read back to the
    ledger), as far as the bill's other lines can take up the difference within those
    bounds; what they cannot is shared over the fixed lines (a bill of fixed lines only)."""
    n = len(base)
    if not n:
        return base * rate_bp
    taxed = np.ones(n, bool) if taxed is None else taxed
    fixed = np.zeros(n, bool) if fixed is None else fixed & taxed
    fixed_tax = np.where(fixed, 0 if fixed_tax is None else fixed_tax, 0).astype(np.int64)
    free = taxed & ~fixed
    num = np.where(taxed, base * rate_bp, 0)
    m = int(bill.max()) + 1
    total = half_up_div(_sum_by(num, bill, m), 10000)
    floor = num // 10000
    frac = num - floor * 10000
    ups = _sum_by((free & (frac > 0)).astype(np.int64), bill, m)  # lines that may round up
    extra = total - _sum_by(np.where(free, floor, fixed_tax), bill, m)
    up = np.clip(extra, 0, ups)
    left, extra = np.divmod(extra - up, np.maximum(_sum_by(fixed.astype(np.int64), bill, m), 1))
    kind = np.where(free, 0, np.where(fixed, 1, 2))  # in each bill: free, fixed, the rest
    order = np.lexsort((np.arange(n), -frac, kind, bill))
    starts = np.searchsorted(bill[order], np.arange(m))
    rank = np.empty(n, np.int64)
    rank[order] = np.arange(n) - starts[bill[order]]
    rank_fixed = rank - _sum_by(free.astype(np.int64), bill, m)[bill]
    return np.where(free, floor + (rank < up[bill]),
                    fixed_tax + np.where(fixed, left[bill] + (rank_fixed < extra[bill]), 0))


def _sum_by(values: np.ndarray, group: np.ndarray, m: int) -> np.ndarray:
    out = np.zeros(m, np.int64)
    np.add.at(out, group, values)
    return out


def _column(records: pa.Table, name: str, rows: np.ndarray) -> pa.Array:
    """``records``' column ``name`` at ``rows`` (dictionaries unified first)."""
    column = records.column(name)
    if pa.types.is_dictionary(column.type) and column.num_chunks > 1:
        column = pa.table({name: column}).unify_dictionaries().column(name)
    return column.take(pa.array(rows))


def apply_tax(lines: pa.Table, records: pa.Table, rules: tuple[TaxRule, ...], operation: str,
              settlement_currency: str, fallback_day: np.datetime64) -> TaxOutcome:
    """The lines with computed tax (module doc), and the tax table (one row per agent,
    airline, code and rate). No rules: the lines gain a zero ``tax_withheld`` only."""
    n = lines.num_rows
    if not rules or n == 0:
        return TaxOutcome(lines.append_column("tax_withheld", pa.array(np.zeros(n, np.int64))),
                          TAX_TABLE_SCHEMA.empty_table(), {}, 0)
    rows = np.asarray(lines.column("input_row"), np.int64)
    own_days = np.asarray(pc.fill_null(_column(records, "execution_date", rows).cast(
        pa.int32()), -1), np.int64)
    days = tax_points(lines, own_days, fallback_day)
    domestic, unknown = domestic_mask(_column(records, "origin", rows),
                                      _column(records, "destination", rows), operation)
    sign = np.asarray(lines.column("sign"), np.int64)
    home = np.asarray(pc.fill_null(pc.equal(lines.column("currency"), settlement_currency),
                                   False))
    foreign = np.flatnonzero(~home)
    settled: dict[str, np.ndarray] = {}
    raw: dict[str, np.ndarray] = {}

    def settled_of(c: str) -> np.ndarray:
        if c not in settled:
            settled[c] = _ints(lines.column(c))
        return settled[c]

    def raw_of(c: str) -> np.ndarray:
        """The record's own figure: a home-currency line's value unsigned, else the
        record's."""
        if c not in raw:
            value = settled_of(c) * sign
            if len(foreign):
                value[foreign] = _ints(_column(records, c, rows[foreign]))
            raw[c] = value
        return raw[c]

    bounds = runs(lines.column("airline_prefix"), lines.column("agent_code"))
    bill = np.repeat(np.arange(len(bounds) - 1), np.diff(bounds)) \
        if any(r.rounding == "bill" for r in rules) else None
    per_rule: list[tuple[TaxRule, np.ndarray, np.ndarray, np.ndarray]] = []
    stated: dict[TaxRule, np.ndarray] = {}  # each computed tax as the record would state it
    attributed = {side: np.zeros(n, bool) for side in FILE_FIELD}
    for rule in rules:
        mask = in_force(rule, days) & applies(rule, domestic)
        if not mask.any():
            per_rule.append((rule, mask, None, None))
            continue
        base = np.where(mask, _base(rule, settled_of), 0)
        if rule.mode == "accept":
            side_mask = mask & ~attributed[rule.side]
            attributed[rule.side] |= side_mask
            tax = np.where(side_mask, settled_of(FILE_FIELD[rule.side]), 0)
        else:
            own = np.where(mask, half_up_div(_base(rule, raw_of) * rule.rate_bp, 10000), 0)
            tax = _to_settlement(own, lines, settlement_currency, ~home) * sign
            if rule.rounding == "bill":
                tax = bill_rounded(base, rule.rate_bp, bill, mask, ~home, tax)
                own = np.where(home, tax * sign, own)  # foreign: its line-rounded figure
            stated[rule] = own
        per_rule.append((rule, mask, base, tax))
    columns: dict[str, np.ndarray] = {}
    net = _ints(lines.column("net")).copy()
    differences: dict[str, int] = {}
    for side, field in FILE_FIELD.items():
        mine = [(r, t) for r, _, _, t in per_rule if r.side == side and r.mode != "accept"]
        if not mine:
            continue
        new, figure = np.zeros(n, np.int64), np.zeros(n, np.int64)
        for r, t in mine:
            if t is not None:
                new += t
                figure += stated[r]
        delta = new - settled_of(field)
        differences[side] = int(delta.sum())
        net += SIDE_SIGN[side] * delta
        columns[field] = new
        columns[STATED_PREFIX + field] = figure
    withheld = np.zeros(n, np.int64)
    for r, _, _, t in per_rule:
        if r.side == "withheld" and t is not None:
            withheld += t
    for col, values in columns.items():
        at = lines.schema.get_field_index(col)
        lines = (lines.set_column(at, col, pa.array(values, pa.int64())) if at >= 0 else
                 lines.append_column(col, pa.array(values, pa.int64())))
    lines = lines.set_column(lines.schema.get_field_index("net"), "net",
                             pa.array(net, pa.int64()))
    lines = lines.append_column("tax_withheld", pa.array(withheld, pa.int64()))
    by_code: dict[str, np.ndarray] = {}
    for r, _, _, t in per_rule:
        total = by_code.setdefault(r.code, np.zeros(n, np.int64))
        if t is not None:
            total += t
    for code in sorted(by_code):
        lines = lines.append_column(CODE_PREFIX + code, pa.array(by_code[code], pa.int64()))
    table = tax_table(lines, per_rule, bounds)
    return TaxOutcome(lines, table, differences, int(unknown.sum()))


def _base(rule: TaxRule, component) -> np.ndarray:
    total = component(rule.base[0]).copy()
    for c in rule.base[1:]:
        total += component(c)
    return total


def tax_table(lines: pa.Table, per_rule, bounds: np.ndarray) -> pa.Table:
    """One row per (agent, airline, code, rate_bp): base, tax and lines where a rule of that
    code and rate was in force; sorted by agent, airline, code, rate. ``bounds``: the runs
    of (airline, agent) in the lines (ledger order)."""
    starts = bounds[:-1]
    sums: dict[tuple[str, int], list] = {}
    for rule, mask, base, tax in per_rule:
        if base is None:
            continue
        entry = sums.setdefault((rule.code, rule.rate_bp), [rule, 0, 0, 0])
        entry[1] = entry[1] + np.add.reduceat(base, starts)
        entry[2] = entry[2] + np.add.reduceat(tax, starts)
        entry[3] = entry[3] + np.add.reduceat(mask.astype(np.int64), starts)
    if not sums:
        return TAX_TABLE_SCHEMA.empty_table()
    agents = lines.column("agent_code").take(pa.array(starts))
    airlines = lines.column("airline_prefix").take(pa.array(starts))
    parts = []
    for (code, rate), (rule, base, tax, count) in sums.items():
        keep = pa.array(count > 0)
        m = int(np.count_nonzero(count))
        parts.append(pa.table({
            "agent_code": agents.filter(keep), "airline_prefix": airlines.filter(keep),
            "code": pa.array([code] * m, pa.string()), "name": pa.array([rule.name] * m),
            "side": pa.array([rule.side] * m), "rate_bp": pa.array(np.full(m, rate, np.int32)),
            "applies_to": pa.array([rule.applies_to] * m),
            "rule_version": pa.array(np.full(m, rule.version, np.int64)),
            "base": pa.array(base[count > 0], pa.int64()),
            "tax": pa.array(tax[count > 0], pa.int64()),
            "lines": pa.array(count[count > 0], pa.int64())}, schema=TAX_TABLE_SCHEMA))
    table = pa.concat_tables(parts).combine_chunks()
    return table.take(pc.sort_indices(table, [("agent_code", "ascending"),
                                              ("airline_prefix", "ascending"),
                                              ("code", "ascending"),
                                              ("rate_bp", "ascending")]))


def withheld_by(table: pa.Table, keys: list[str]) -> dict[tuple, int]:
    """Σ ``tax_withheld`` of a table grouped by ``keys``."""
    if not table.num_rows:
        return {}
    g = table.select([*keys, "tax_withheld"]).group_by(keys, use_threads=False).aggregate(
        [("tax_withheld", "sum")])
    return {tuple(r[k] for k in keys): r["tax_withheld_sum"] for r in g.to_pylist()}


def add_withheld(bill_table: pa.Table, lines: pa.Table, airlines: pa.Table
                 ) -> tuple[pa.Table, pa.Table]:
    """Bills gain ``tax_withheld``; airlines gain ``tax_withheld`` and ``payable`` (net -
    tax_withheld): what the airline is settled after the withheld tax."""
    if not _ints(lines.column("tax_withheld")).any():  # most operations: nothing withheld
        per_bill, held = np.zeros(bill_table.num_rows, np.int64), np.zeros(
            airlines.num_rows, np.int64)
    else:
        by_bill = withheld_by(lines, ["agent_code", "airline_prefix"])
        keys = zip(bill_table.column("agent_code").to_pylist(),
                   bill_table.column("airline_prefix").to_pylist(), strict=True)
        per_bill = np.array([by_bill.get(k, 0) for k in keys], np.int64)
        by_airline = withheld_by(lines, ["airline_prefix"])
        held = np.array([by_airline.get((p,), 0) for p in
                         airlines.column("airline_prefix").to_pylist()], np.int64)
    bill_table = bill_table.append_column("tax_withheld", pa.array(per_bill, pa.int64()))
    airlines = airlines.append_column("tax_withheld", pa.array(held, pa.int64()))
    airlines = airlines.append_column("payable", pa.array(
        _ints(airlines.column("net")) - held, pa.int64()))
    return bill_table, airlines


def tax_problems(lines: pa.Table, bill_table: pa.Table, agents: pa.Table, airlines: pa.Table,
                 table: pa.Table) -> list[str]:
    """Conservation including tax: Σ agents' remittances = Σ airlines' payable + Σ withheld;
    the tax table adds up to the lines' tax per side; every airline's withheld tax is its
    lines'. Empty list = conserved."""
    problems = []
    total = lambda t, c: int(pc.sum(t.column(c)).as_py() or 0)  # noqa: E731
    remitted, payable = total(agents, "net"), total(airlines, "payable")
    held = {"lines": total(lines, "tax_withheld"), "bills": total(bill_table, "tax_withheld"),
            "airlines": total(airlines, "tax_withheld")}
    if len(set(held.values())) != 1:
        problems.append("withheld tax differs: " + ", ".join(f"{k} {v}" for k, v in
                                                               held.items()))
    if remitted != payable + held["airlines"]:
        problems.append(f"agents' remittances {remitted} != airlines' payable {payable} + "
                        f"withheld {held['airlines']}")
    for side in ("airline", "agent", "withheld"):
        rows = table.filter(pc.equal(table.column("side"), side)) if table.num_rows else table
        if not rows.num_rows:
            continue
        in_table = total(rows, "tax")
        codes = sorted(set(rows.column("code").to_pylist()))
        in_lines = sum(total(lines, CODE_PREFIX + c) for c in codes)
        if in_table != in_lines:
            problems.append(f"{side}-side tax: table {in_table}, lines {in_lines}")
        if side == "withheld" and in_table != held["lines"]:
            problems.append(f"withheld tax: table {in_table}, lines {held['lines']}")
    for r in airlines.to_pylist():
        if r["payable"] != r["net"] - r["tax_withheld"]:
            problems.append(f"airline {r['airline_prefix']}: payable {r['payable']} != net "
                            f"{r['net']} - withheld {r['tax_withheld']}")
    return problems


def tax_per_party(table: pa.Table, key: str) -> dict[str, dict[str, dict]]:
    """Per agent (``agent_code``) or airline (``airline_prefix``): per tax code its side,
    base, tax and rule version (the codes' sums over rates)."""
    out: dict[str, dict[str, dict]] = {}
    for r in table.to_pylist():
        entry = out.setdefault(r[key], {}).setdefault(r["code"], {
            "side": r["side"], "base": 0, "tax": 0, "rule_version": r["rule_version"]})
        entry["base"] += r["base"]
        entry["tax"] += r["tax"]
    return out
