"""Record-level checks, vectorised over the canonical records table: identifiers, indicator
sets, dates against the period, amounts."""

from __future__ import annotations

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
from iso4217 import Currency

from casslink.canonical import AMOUNT_COLUMNS, BillingBatch
from casslink.parsers.hot.layouts import FAMILIES
from casslink.reference import PeriodInfo
from casslink.validators.context import ValidationContext

ISO_CURRENCIES = pa.array(sorted(c.code for c in Currency))


def _np(arr) -> np.ndarray:
    return np.asarray(arr.to_numpy(zero_copy_only=False))


def _mod7_ok(text: pa.ChunkedArray, length: int, body: int) -> np.ndarray:
    """Digits of exactly ``length`` whose last digit = first ``body`` digits mod 7."""
    filled = pc.fill_null(text, "")
    shaped = pc.and_(pc.utf8_is_digit(filled), pc.equal(pc.utf8_length(filled), length))
    ok_shape = _np(shaped)
    safe = pc.if_else(shaped, filled, "0" * length)
    head = _np(pc.cast(pc.utf8_slice_codeunits(safe, 0, body), pa.int64()))
    last = _np(pc.cast(pc.utf8_slice_codeunits(safe, body, length), pa.int64()))
    return ok_shape & (head % 7 == last)


def check(batch: BillingBatch, ctx: ValidationContext, col, op: str,
          period: PeriodInfo | None) -> None:
    t, ref = batch.records, ctx.reference
    lines = _np(t.column("source_line"))
    types = _np(t.column("record_type"))

    def report(code, mask, field="", raw_col=None, expected=""):
        idx = np.flatnonzero(mask)
        if len(idx):
            raws = _np(t.column(raw_col))[idx] if raw_col else None
            col.add_many(code, lines[idx], types[idx], field, raws, expected)

    prefix = t.column("airline_prefix")
    serial = t.column("awb_serial")
    report("E201", ~_mod7_ok(serial, 8, 7), "awb_serial", "awb_serial")
    agent_ok = _mod7_ok(t.column("agent_code"), 11, 10)
    report("E202", ~agent_ok, "agent_code", "agent_code")
    if batch.header.family == "billing" and batch.header.airline_prefix:
        report("E203", _np(pc.fill_null(pc.not_equal(prefix, batch.header.airline_prefix),
                                            True)), "airline_prefix", "airline_prefix",
               batch.header.airline_prefix)
    if op in ref.operations:
        registered = pa.array(sorted(c for c, a in ref.agents.items() if a.operation == op))
        unknown = agent_ok & ~_np(pc.is_in(t.column("agent_code"), value_set=registered))
        report("E204", unknown, "agent_code", "agent_code", op)
    report("E205", ~_np(pc.is_in(t.column("currency"), value_set=ISO_CURRENCIES)),
           "currency", "currency")
    for name in ("origin", "destination"):
        c = t.column(name)
        good = pc.fill_null(pc.and_(pc.equal(pc.utf8_length(c), 3), pc.utf8_is_upper(c)), False)
        alpha = pc.fill_null(pc.utf8_is_alpha(c), False)
        required = types == "AWB"
        present = ~_np(pc.is_null(c))
        report("E206", (present & ~(_np(good) & _np(alpha))) | (required & ~present), name,
               name)

    # indicator sets, from the layout tables
    fam = FAMILIES[batch.header.family]
    checked = set()
    for layout in fam.records:
        for f in layout.fields:
            if not f.values or f.kind == "sign" or f.name in checked or layout.role != "record":
                continue
            checked.add(f.name)
            c = t.column(f.name)
            bad = ~_np(pc.is_null(c)) & ~_np(pc.is_in(c, value_set=pa.array(list(f.values))))
            report("E207", bad, f.name, f.name, "/".join(f.values))

    # dates
    exe = t.column("execution_date")
    report("E305", _np(pc.is_null(exe)), "execution_date")
    if period is not None:
        late = _np(pc.fill_null(pc.greater(exe, pa.scalar(period.end_date)), False))
        report("E302", late, "execution_date", "execution_date", period.end_date)
    acc = t.column("acceptance_date")
    report("E303", _np(pc.fill_null(pc.less(acc, exe), False)), "acceptance_date",
           "acceptance_date")

    # amounts
    for name in AMOUNT_COLUMNS:
        if name == "discount":
            continue
        report("E501", _np(pc.fill_null(pc.less(t.column(name), 0), False)), name, name)
    pct = _np(pc.fill_null(t.column("commission_pct_e2"), 0))
    has_pct = pct > 0
    if has_pct.any():
        base = _np(pc.fill_null(t.column("weight_pp"), 0)) + _np(
            pc.fill_null(t.column("weight_cc"), 0))
        expected = np.round(base * pct / 10000).astype(np.int64)
        commission = _np(pc.fill_null(t.column("commission"), 0))
        tolerance = np.maximum(1, np.abs(expected) // 100)
        off = has_pct & (np.abs(commission - expected) > tolerance)
        idx = np.flatnonzero(off)
        col.add_many("W502", lines[idx], types[idx], "commission", commission[idx],
                     [f"{p / 100:.2f} % = {e}" for p, e in zip(pct[idx], expected[idx],
                                                              strict=True)])
    _one_currency_per_awb(t, lines, col)
    _chgs_rule(t, lines, types, col)
    _itemised_totals(batch, lines, col)


CHGS_GROUPS = {"weight and valuation charges": ("weight", "valuation"),
               "other charges": ("oc_carrier", "oc_agent")}


def _chgs_rule(t: pa.Table, lines: np.ndarray, types: np.ndarray, col) -> None:
    """IATA's CHGS rule: an AWB's weight and valuation charges are all prepaid or all collect,
    and so are its other charges (warning W404)."""
    awb = types == "AWB"
    keys = pc.binary_join_element_wise(pc.fill_null(t.column("airline_prefix"), ""),
                                       pc.fill_null(t.column("awb_serial"), ""), "-")
    for what, comps in CHGS_GROUPS.items():
        pp = sum(_np(pc.fill_null(t.column(f"{c}_pp"), 0)) for c in comps)
        cc = sum(_np(pc.fill_null(t.column(f"{c}_cc"), 0)) for c in comps)
        idx = np.flatnonzero(awb & (pp != 0) & (cc != 0))
        if len(idx):
            col.add_many("W404", lines[idx], "AWB", what, _np(keys)[idx],
                         [f"prepaid {p}, collect {c}" for p, c in zip(pp[idx], cc[idx],
                                                                      strict=True)])


def _one_currency_per_awb(t: pa.Table, lines: np.ndarray, col) -> None:
    keys = pc.binary_join_element_wise(pc.fill_null(t.column("airline_prefix"), ""),
                                       pc.fill_null(t.column("awb_serial"), ""), "-")
    grouped = pa.table({"k": keys, "c": pc.fill_null(t.column("currency"), "")}).group_by(
        "k").aggregate([("c", "count_distinct"), ("c", "distinct")])
    multi = grouped.filter(pc.greater(grouped.column("c_count_distinct"), 1))
    if multi.num_rows == 0:
        return
    bad = pc.is_in(keys, value_set=multi.column("k"))
    idx = np.flatnonzero(_np(bad))
    names = dict(zip(multi.column("k").to_pylist(), multi.column("c_distinct").to_pylist(),
                     strict=True))
    k = _np(keys)
    col.add_many("E503", lines[idx], "", "currency", k[idx],
                 ["/".join(sorted(names[x])) for x in k[idx]])


def _itemised_totals(batch: BillingBatch, lines: np.ndarray, col) -> None:
    """AW1 charges of an AWB add up to its other-charge totals (warning), joined, not looped."""
    ch, t = batch.charges, batch.records
    if ch.num_rows == 0:
        return
    awb_ch = ch.filter(pc.equal(ch.column("parent_type"), "AWB"))
    if awb_ch.num_rows == 0:
        return
    comps = ("oc_carrier_pp", "oc_carrier_cc", "oc_agent_pp", "oc_agent_cc")
    comp = pc.binary_join_element_wise(
        pc.if_else(pc.equal(awb_ch.column("entitlement"), "A"), "oc_agent", "oc_carrier"),
        pc.if_else(pc.equal(awb_ch.column("pc"), "C"), "cc", "pp"), "_")
    key = pc.binary_join_element_wise(awb_ch.column("airline_prefix"),
                                      awb_ch.column("awb_serial"), "-")
    sums = pa.table({"k": key, "comp": comp, "a": awb_ch.column("amount")}).group_by(
        ["k", "comp"], use_threads=False).aggregate([("a", "sum")])
    per = pa.table({"k": pc.unique(sums.column("k"))})
    for c in comps:
        part = sums.filter(pc.equal(sums.column("comp"), c))
        per = per.join(pa.table({"k": part.column("k"), f"i_{c}": part.column("a_sum")}), "k",
                       join_type="left outer", use_threads=False)
    awbs = t.filter(pc.equal(t.column("record_type"), "AWB"))
    rkeys = pc.binary_join_element_wise(awbs.column("airline_prefix"),
                                        awbs.column("awb_serial"), "-")
    joined = pa.table({"k": rkeys, "line": awbs.column("source_line"),
                       **{c: awbs.column(c) for c in comps}}).join(
        per, "k", join_type="inner", use_threads=False)
    for c in comps:
        itemised = pc.fill_null(joined.column(f"i_{c}"), 0)
        off = _np(pc.not_equal(itemised, pc.fill_null(joined.column(c), 0)))
        idx = np.flatnonzero(off)
        if len(idx):
            col.add_many("W504", _np(joined.column("line"))[idx], "AWB", c,
                         _np(joined.column("k"))[idx], _np(itemised)[idx])
