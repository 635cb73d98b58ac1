"""Tax checks of a billing file against its operation's tax rules (docs/tax.md).

* W701: a rule set in ``verify`` mode computes each record's tax per side (VAT due airline,
  VAT due agent) - base x rate, half-up in the record's currency, at the tax point of the AWB
  (a correction: the execution date of the AWB it corrects when that AWB is in the file) -
  and a figure more than :data:`TOLERANCE` minor units off is reported with both figures and
  the rules.
* W702: an origin or destination the airport data set does not know (taxed as international).
"""

from __future__ import annotations

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from casslink import tax_rules
from casslink.canonical import AMOUNT_COLUMNS, BillingBatch
from casslink.validators.context import ValidationContext

TOLERANCE = 1
"""Minor units of the record's currency a file's tax figure may differ by."""


def _tax_points(records: pa.Table) -> np.ndarray:
    days = np.asarray(pc.fill_null(records.column("execution_date").cast(pa.int32()), 0),
                      np.int64)
    is_awb = np.asarray(pc.equal(pc.fill_null(records.column("record_type"), ""), "AWB"))
    keys = pc.binary_join_element_wise(pc.fill_null(records.column("airline_prefix"), ""),
                                       pc.fill_null(records.column("awb_serial"), ""), "/")
    if is_awb.any() and (~is_awb).any():
        found = np.asarray(pc.fill_null(pc.index_in(keys, value_set=keys.filter(
            pa.array(is_awb))), -1), np.int64)
        take = (~is_awb) & (found >= 0)
        days = np.where(take, days[is_awb][np.where(take, found, 0)], days)
    return days.astype("datetime64[D]")


def check(batch: BillingBatch, ctx: ValidationContext, col, op: str) -> None:
    rules = ctx.reference.tax_rules.get(op, ())
    records = batch.records
    if not rules or not records.num_rows:
        return
    lines = np.asarray(pc.fill_null(records.column("source_line"), 0), np.int64)
    domestic, unknown = tax_rules.domestic_mask(records.column("origin"),
                                                records.column("destination"), op)
    if unknown.any():
        known = tax_rules.airport_countries()
        for field in ("origin", "destination"):
            values = records.column(field).to_pylist()
            bad = [i for i in np.flatnonzero(unknown)
                   if (values[i] or "").strip().upper() not in known]
            col.add_many("W702", lines[bad], field=field, raws=[values[i] for i in bad])
    verify = [r for r in rules if r.mode == "verify" and r.side in tax_rules.FILE_FIELD]
    if not verify:
        return
    days = _tax_points(records)
    comps = {c: np.asarray(pc.fill_null(records.column(c), 0), np.int64) for c in AMOUNT_COLUMNS}
    types = records.column("record_type").to_pylist()
    for side, field in tax_rules.FILE_FIELD.items():
        side_rules = [r for r in verify if r.side == side]
        if not side_rules:
            continue
        computed = np.zeros(records.num_rows, np.int64)
        for r in side_rules:
            mask = tax_rules.in_force(r, days) & tax_rules.applies(r, domestic)
            computed += np.where(mask, tax_rules.half_up_div(
                tax_rules.base_of(r, comps) * r.rate_bp, 10000), 0)
        off = np.flatnonzero(np.abs(computed - comps[field]) > TOLERANCE)
        names = ", ".join(f"{r.code} v{r.version}" for r in side_rules)
        for i in off[:1000]:
            col.add("W701", int(lines[i]), types[i] or "", field, int(comps[field][i]),
                    f"{int(computed[i])} by rule {names}")
