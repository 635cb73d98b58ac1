"""File-level checks: header/trailer placement and counts, hash total, sender, operation,
period, lateness, duplicate files."""

from __future__ import annotations

from casslink.canonical import BillingBatch
from casslink.parsers.hot.layouts import FAMILIES, Family
from casslink.parsers.hot.writer import hash_total
from casslink.reference import PeriodInfo
from casslink.validators.context import ValidationContext

SENDER_FAMILY = {"airline": "billing", "gssa": "billing", "agent": "adjustment"}


def check(batch: BillingBatch, ctx: ValidationContext, col) -> tuple[str, PeriodInfo | None]:
    """Run the file-level checks; returns the file's operation and period (None: unknown)."""
    fam = FAMILIES.get(batch.header.family)
    if batch.line_count == 0 or fam is None:
        return "", None
    if batch.format == "hot":  # XML batches: the reader checks header and item count
        _placement(batch, fam, col)
    if ctx.sender_kind in SENDER_FAMILY and SENDER_FAMILY[ctx.sender_kind] != fam.name:
        col.add("E107", None, raw=fam.name, expected=ctx.sender_kind)
    if batch.trailer:
        _trailer_counts(batch, col)
    op = _operation(batch, fam, ctx, col)
    if op not in ctx.reference.operations:
        return op, None
    if fam.name == "billing":
        _billing_participant(batch, op, ctx, col)
    period = _period(batch, fam, op, ctx, col)
    _duplicates(batch, op, period, ctx, col)
    return op, period


def _placement(batch: BillingBatch, fam: Family, col) -> None:
    """One header, on the first line; one trailer, on the last."""
    h, t, rc = batch.header, batch.trailer, batch.record_counts
    n_headers = sum(rc.get(i, 0) for i in (fam.header.record_id, *fam.header_aliases))
    if h.source_line is not None and h.source_line != 1:
        col.add("E101", h.source_line)
    if n_headers > 1:
        col.add("E102", None, raw=n_headers)
    if rc.get(fam.trailer.record_id, 0) != 1 or t.get("source_line") != batch.line_count:
        col.add("E103", t.get("source_line"))


def _operation(batch: BillingBatch, fam: Family, ctx: ValidationContext, col) -> str:
    """The file's CASS operation (an agent's adjustment file: the agent's operation)."""
    h, ref = batch.header, ctx.reference
    op = (ctx.operation or h.operation or "").upper()
    if fam.name == "adjustment" and not op and h.agent_code in ref.agents:
        op = ref.agents[h.agent_code].operation
    if op not in ref.operations:
        col.add("E209", h.source_line, raw=op)
    return op


def _billing_participant(batch: BillingBatch, op: str, ctx: ValidationContext, col) -> None:
    """A billing file's airline is a CASS airline of the operation, and its sender."""
    h = batch.header
    airline = ctx.reference.airline(h.airline_prefix or "")
    if airline is None or (ctx.sender_kind in ("airline", "gssa")
                           and ctx.sender_code not in (airline.prefix, airline.designator)):
        col.add("E208", h.source_line, raw=h.airline_prefix,
                expected=ctx.sender_code or "a CASS airline")
    elif op not in airline.operations:
        col.add("E210", h.source_line, raw=airline.prefix, expected=op)


def _period(batch: BillingBatch, fam: Family, op: str, ctx: ValidationContext,
            col) -> PeriodInfo | None:
    """The calendar period the header names, and whether the file is late for it."""
    h, ref = batch.header, ctx.reference
    if fam.name == "adjustment":
        period = next((p for p in ref.periods_of(op) if p.end_date == h.period_end), None)
    else:
        period = ref.period_by_dates(op, h.period_start, h.period_end) \
            if h.period_start and h.period_end else None
    if period is None:
        col.add("E301", h.source_line, raw=f"{h.period_start}..{h.period_end}", expected=op)
    elif ctx.received_on and ctx.received_on > period.billing_date:
        col.add("W304", h.source_line, raw=ctx.received_on, expected=period.billing_date)
    return period


def _duplicates(batch: BillingBatch, op: str, period: PeriodInfo | None,
                ctx: ValidationContext, col) -> None:
    """The same bytes received before; the same logical file accepted before."""
    h, hist = batch.header, ctx.history
    if ctx.sha256 and ctx.sha256 in hist.sha256_seen:
        col.add("E601", None, raw=f"file id {hist.sha256_seen[ctx.sha256]}")
    if period is not None:
        key = (ctx.sender_code, op, period.period_id, h.file_number)
        if key in hist.accepted_logical:
            col.add("E602", h.source_line, raw=f"no. {h.file_number} of {period.period_id}")
def _trailer_counts(batch: BillingBatch, col) -> None:
    t, rc, fam = batch.trailer, batch.record_counts, batch.header.family
    line = t.get("source_line")
    if batch.format != "hot":  # api:hasTotalItems counts every item of the collection
        items = batch.records.num_rows + batch.header.extra.get("dropped", 0)
        if t.get("total_count") is not None and t["total_count"] != items:
            col.add("E104", line, field="hasTotalItems", raw=t["total_count"],
                    expected=items)
        return
    if fam == "adjustment":
        body = sum(v for k, v in rc.items() if k in ("AW", "CO", "CR", "DO", "DR"))
        if t.get("record_count") is not None and t["record_count"] != body:
            col.add("E104", line, field="record_count", raw=t["record_count"], expected=body)
        return
    awb_id = "AWB" if fam == "billing" else "AWM"
    actual = {
        "awb_count": rc.get(awb_id, 0), "cca_count": rc.get("CCO", 0) + rc.get("CCR", 0),
        "dcm_count": rc.get("DCO", 0) + rc.get("DCR", 0), "aw1_count": rc.get("AW1", 0),
        "cc3_count": rc.get("CC3", 0), "dc3_count": rc.get("DC3", 0),
        "awm_count": rc.get("AWM", 0), "ccr_count": rc.get("CCR", 0),
        "cco_count": rc.get("CCO", 0), "dcr_count": rc.get("DCR", 0),
        "dco_count": rc.get("DCO", 0),
    }
    actual["total_count"] = actual["awb_count"] + actual["cca_count"] + actual["dcm_count"]
    for key, value in actual.items():
        if key in t and t[key] is not None and t[key] != value:
            col.add("E104", line, field=key, raw=t[key], expected=value)
    if fam == "billing":
        supplied = t.get("hash_total")
        if supplied is None:
            col.add("W106", line)
        else:
            computed = f"{hash_total(batch.records.column('awb_serial').combine_chunks()):012d}" \
                if batch.records.num_rows else "0" * 12
            if supplied != computed:
                col.add("E105", line, field="hash_total", raw=supplied, expected=computed)
