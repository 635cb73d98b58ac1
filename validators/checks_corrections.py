"""Correction pairs, original-versus-billed, and AWBs billed twice."""

from __future__ import annotations

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from casslink.canonical import BillingBatch
from casslink.reference import PeriodInfo
from casslink.validators.context import ValidationContext

SPLIT = ("weight", "valuation", "oc_carrier", "oc_agent")
"""Amounts a correction record carries once, with a P/C indicator (the AWB: prepaid and
collect apart)."""
SINGLE = ("commission", "discount", "tax_airline", "tax_agent")
COMPARED = (*(f"{c}_{s}" for c in SPLIT for s in ("pp", "cc")), *SINGLE)
PARTNER = {"CCO": "CCR", "CCR": "CCO", "DCO": "DCR", "DCR": "DCO"}


def _s(col) -> pa.ChunkedArray:
    return pc.fill_null(col.cast(pa.string()), "")


def pair_keys(t: pa.Table) -> pa.ChunkedArray:
    """Key shared by the two records of a pair: CC|DC + prefix + serial + agent + number."""
    kind = pc.utf8_slice_codeunits(_s(t.column("record_type")), 0, 2)
    return pc.binary_join_element_wise(kind, _s(t.column("airline_prefix")),
                                       _s(t.column("awb_serial")), _s(t.column("agent_code")),
                                       _s(t.column("correction_number")), "|")


def record_keys(t: pa.Table) -> pa.ChunkedArray:
    """Key by which charges find the record they itemise."""
    return pc.binary_join_element_wise(_s(t.column("record_type")), _s(t.column(
        "airline_prefix")), _s(t.column("awb_serial")), _s(t.column("correction_number")), "|")


def charge_keys(ch: pa.Table) -> pa.ChunkedArray:
    return pc.binary_join_element_wise(_s(ch.column("parent_type")), _s(ch.column(
        "airline_prefix")), _s(ch.column("awb_serial")), _s(ch.column("correction_number")), "|")


def expand_pairs(t: pa.Table, rejected: set[int]) -> set[int]:
    """Rejected lines plus the pair partners of rejected correction records."""
    if not rejected or t.num_rows == 0:
        return set(rejected)
    lines = np.asarray(t.column("source_line"))
    types = t.column("record_type").to_numpy(zero_copy_only=False)
    is_corr = np.isin(types, list(PARTNER))
    hit = np.isin(lines, list(rejected)) & is_corr
    if not hit.any():
        return set(rejected)
    keys = pair_keys(t).to_numpy(zero_copy_only=False)
    partners = np.isin(keys, keys[hit]) & is_corr
    return set(rejected) | {int(x) for x in lines[partners]}


def check(batch: BillingBatch, ctx: ValidationContext, col, period: PeriodInfo | None) -> None:
    t = batch.records
    lines = np.asarray(t.column("source_line"))
    types = t.column("record_type").to_numpy(zero_copy_only=False)
    is_corr = np.isin(types, list(PARTNER))
    if is_corr.any():
        _pairs(t, lines, types, is_corr, col)
        _one_side(t, lines, types, is_corr, col)
        _originals(t, ctx, lines, types, col)
        dcr = np.flatnonzero((types == "DCR") & np.asarray(pc.is_null(t.column("reason"))))
        if len(dcr):
            col.add_many("E403", lines[dcr], "DCR", "reason",
                         t.column("correction_number").to_numpy(zero_copy_only=False)[dcr])
    _billed_twice(t, ctx, lines, types, col)


def _pairs(t, lines, types, is_corr, col) -> None:
    keys = pair_keys(t).to_numpy(zero_copy_only=False)
    idx = np.flatnonzero(is_corr)
    present = {(k, ty) for k, ty in zip(keys[idx], types[idx], strict=True)}
    numbers = t.column("correction_number").to_numpy(zero_copy_only=False)
    for i in idx:
        if (keys[i], PARTNER[types[i]]) not in present:
            col.add("E401", int(lines[i]), types[i], types[i],
                    numbers[i] or "(no number)", PARTNER[types[i]])


def _one_side(t, lines, types, is_corr, col) -> None:
    """A correction line carries weight, valuation and other charges once each, on the side
    of its P/C indicator: a record with amounts on both sides (an XML file can hold them)
    could not be handed off in CASS files without losing one of them (E405)."""
    idx = np.flatnonzero(is_corr)
    for c in SPLIT:
        pp, cc = (np.asarray(pc.fill_null(t.column(f"{c}_{s}"), 0))[idx] for s in ("pp", "cc"))
        both = (pp != 0) & (cc != 0)
        if both.any():
            col.add_many("E405", lines[idx[both]], types[idx[both]], c,
                         [f"{a} prepaid and {b} collect" for a, b in
                          zip(pp[both], cc[both], strict=True)])


def _originals(t, ctx, lines, types, col) -> None:
    """Each O record must repeat the latest billed state of its AWB (the last AWB, CCR or DCR
    record before it, from earlier files or this one), when that is known. Vectorised: state
    rows and O rows are sorted together by (AWB, order) and each O row looks back to the
    last state row of its AWB."""
    parts = []
    billed = ctx.history.billed
    if billed is not None and billed.num_rows:
        parts.append(billed.select(["record_type", "airline_prefix", "awb_serial",
                                    "correction_number", "source_line", *COMPARED]))
    parts.append(t.select(["record_type", "airline_prefix", "awb_serial", "correction_number",
                           "source_line", *COMPARED]))
    allrows = pa.concat_tables(parts)
    n_hist = allrows.num_rows - t.num_rows
    rtype = allrows.column("record_type").to_numpy(zero_copy_only=False).astype(str)
    is_state = np.isin(rtype, ["AWB", "CCR", "DCR"])
    is_orig = np.isin(rtype, ["CCO", "DCO"]) & (np.arange(allrows.num_rows) >= n_hist)
    if not is_orig.any():
        return
    key = pc.binary_join_element_wise(_s(allrows.column("airline_prefix")),
                                      _s(allrows.column("awb_serial")), "-")
    codes = np.asarray(pc.dictionary_encode(key).combine_chunks().indices)
    order = np.arange(allrows.num_rows)
    srt = np.lexsort((order, codes))
    s_codes, s_state = codes[srt], is_state[srt]
    pos = np.arange(len(srt))
    last_state = np.maximum.accumulate(np.where(s_state, pos, -1))
    group_start = np.r_[0, np.flatnonzero(np.diff(s_codes)) + 1]
    start_of = np.repeat(group_start, np.diff(np.r_[group_start, len(srt)]))
    # for an O row the last state row strictly before it (a state row never sits on an O row)
    known = last_state >= start_of
    o_sorted = np.flatnonzero(is_orig[srt] & known)
    if not len(o_sorted):
        return
    o_rows, s_rows = srt[o_sorted], srt[last_state[o_sorted]]
    values = {c: np.asarray(pc.fill_null(allrows.column(c), 0), dtype=np.int64)
              for c in COMPARED}
    first_diff = np.full(len(o_rows), "", dtype=object)
    detail = np.full(len(o_rows), "", dtype=object)
    for field, (o_val, b_val) in _comparable(values, o_rows, s_rows).items():
        differs = (o_val != b_val) & (first_diff == "")
        first_diff[differs] = field
        shown = (lambda v: "PC"[v]) if field.endswith("_pc") else str
        detail[differs] = [f"{shown(o)} != billed {shown(b)}" for o, b in zip(
            o_val[differs], b_val[differs], strict=True)]
    keys = key.to_numpy(zero_copy_only=False)
    numbers = allrows.column("correction_number").to_numpy(zero_copy_only=False)
    line_col = np.asarray(allrows.column("source_line"))
    for i in np.flatnonzero(first_diff != ""):
        o = o_rows[i]
        col.add("E402", int(line_col[o]), rtype[o], first_diff[i], f"{keys[o]} {numbers[o]}",
                detail[i])


def _comparable(values: dict[str, np.ndarray], o_rows: np.ndarray, s_rows: np.ndarray
                ) -> dict[str, tuple[np.ndarray, np.ndarray]]:
    """(original, billed) per comparable field, in report order, for O rows and their billed
    state rows: what the correction layout can express.

    A HOT correction carries each of weight, valuation and other charges due agent/carrier
    once, with a P/C indicator. Its amount is compared with the billed prepaid + collect total;
    its side (P/C) with the billed side when the billed amount is all on one side (an AWB that
    mixes them breaks the CHGS rule and gets HOT-W404, not a rejected correction). A correction
    that carries both sides (XML can) is compared side by side."""
    out: dict[str, tuple[np.ndarray, np.ndarray]] = {}
    for c in SPLIT:
        opp, occ = values[f"{c}_pp"][o_rows], values[f"{c}_cc"][o_rows]
        bpp, bcc = values[f"{c}_pp"][s_rows], values[f"{c}_cc"][s_rows]
        both = (opp != 0) & (occ != 0)
        out[c] = (opp + occ, bpp + bcc)
        pure = ((bpp == 0) | (bcc == 0)) & ((opp + occ) != 0)
        side = np.where(occ != 0, 1, 0)
        billed_side = np.where(bcc != 0, 1, 0)
        check = pure & ~both
        out[f"{c}_pc"] = (np.where(check, side, 0), np.where(check, billed_side, 0))
        out[f"{c}_pp"] = (np.where(both, opp, 0), np.where(both, bpp, 0))
    for c in SINGLE:
        out[c] = (values[c][o_rows], values[c][s_rows])
    return out


def _billed_twice(t, ctx, lines, types, col) -> None:
    """An AWB is billed once: not twice in this file, not again after an earlier file."""
    awb = np.flatnonzero(types == "AWB")
    if not len(awb):
        return
    keys = pc.binary_join_element_wise(_s(t.column("airline_prefix")),
                                       _s(t.column("awb_serial")), "-").to_numpy(
        zero_copy_only=False)
    sub = keys[awb]
    _, first, inverse = np.unique(sub, return_index=True, return_inverse=True)
    dup = np.ones(len(awb), bool)
    dup[first] = False
    first_lines = lines[awb[first]][inverse]
    where = {int(i): f"on line {first_lines[i]} of this file" for i in np.flatnonzero(dup)}
    billed = ctx.history.billed
    if billed is not None and billed.num_rows:
        b = billed.filter(pc.equal(billed.column("record_type"), "AWB"))
        bkeys = pc.binary_join_element_wise(_s(b.column("airline_prefix")),
                                            _s(b.column("awb_serial")), "-")
        bperiod = dict(zip(bkeys.to_pylist(), b.column("period_id").to_pylist()
                           if "period_id" in b.column_names else [""] * b.num_rows,
                           strict=True))
        hit = np.flatnonzero(np.asarray(pc.is_in(pa.array(sub), value_set=bkeys)))
        for i in hit:
            where[int(i)] = f"in period {bperiod.get(sub[i]) or '?'} by an earlier file"
    idx = sorted(where)
    col.add_many("E603", lines[awb[idx]], "AWB", "awb_serial", keys[awb[idx]],
                 [where[i] for i in idx])
