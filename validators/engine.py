"""Apply the rule catalogue to a parsed batch and reach a verdict."""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from casslink.canonical import BillingBatch, Problem
from casslink.validators import checks_corrections, checks_records, checks_structure
from casslink.validators.catalogue import FILE, RECORD, WARNING, rule
from casslink.validators.context import ValidationContext

ACCEPTED, PARTIAL, REJECTED = "accepted", "accepted_with_rejections", "rejected"


@dataclass
class Finding:
    code: str
    severity: str
    message: str
    line: int | None = None
    record_type: str = ""
    field: str = ""
    raw: str = ""

    def as_dict(self) -> dict:
        return dict(self.__dict__)


@dataclass
class Verdict:
    verdict: str
    findings: list[Finding]
    accepted_records: pa.Table
    accepted_charges: pa.Table
    rejected_lines: list[int] = field(default_factory=list)
    operation: str = ""
    period_id: str = ""
    counts: dict = field(default_factory=dict)

    @property
    def codes(self) -> list[str]:
        return [f.code for f in self.findings]


class Collector:
    """Where checks put what they find; record-level findings mark their lines rejected."""

    def __init__(self, header_lines: set[int]) -> None:
        self.findings: list[Finding] = []
        self.rejected: set[int] = set()
        self._header_lines = header_lines

    def add(self, code: str, line: int | None = None, record_type: str = "", field: str = "",
            raw: object = "", expected: object = "") -> None:
        r = rule(code)
        severity = r.severity
        if severity == RECORD and (line is None or line in self._header_lines):
            severity = FILE
        try:
            message = r.message.format(field=field, raw=raw, expected=expected)
        except (KeyError, IndexError, ValueError):
            message = r.message
        self.findings.append(Finding(code, severity, message, line, record_type, field,
                                     str(raw)))
        if severity == RECORD and line is not None:
            self.rejected.add(int(line))

    def add_many(self, code: str, lines, record_type="", field="", raws=None, expected=None,
                 limit: int = 1000) -> None:
        """Vectorised checks report through here: one finding per offending line."""
        lines = list(lines)

        def per_line(value) -> list:
            if isinstance(value, (list, tuple, np.ndarray, pa.Array, pa.ChunkedArray)):
                return list(value)
            return [value if value is not None else ""] * len(lines)

        raws, exp, types = per_line(raws), per_line(expected), per_line(record_type)
        for i, line in enumerate(lines):
            if i >= limit:  # keep reports readable; the lines are still rejected
                r = rule(code)
                if r.severity == RECORD:
                    self.rejected.update(int(x) for x in lines[limit:])
                self.findings.append(Finding(code, r.severity, f"... and {len(lines) - limit} "
                                             "more like this", None, "", field, ""))
                break
            self.add(code, int(line), types[i], field, raws[i], exp[i])

    def from_parser(self, problems: list[Problem]) -> None:
        for p in problems:
            self.add(p.code, p.line, p.record_type, p.field, p.raw)


def validate(batch: BillingBatch, ctx: ValidationContext) -> Verdict:
    header_lines = {x for x in (batch.header.source_line, batch.trailer.get("source_line"))
                    if x is not None}
    col = Collector(header_lines)
    col.from_parser(batch.problems)
    op, period = checks_structure.check(batch, ctx, col)
    duplicate = "HOT-E601" in {f.code for f in col.findings}
    if batch.records.num_rows and not duplicate:  # a resent file needs no record report
        checks_records.check(batch, ctx, col, op, period)
        checks_corrections.check(batch, ctx, col, period)
    # a rejected charge line rejects the record it itemises; a rejected correction record
    # takes its pair partner with it
    rejected = checks_corrections.expand_pairs(
        batch.records, col.rejected | _parents_of_rejected_charges(batch, col.rejected))
    records, charges = batch.records, batch.charges
    if rejected and records.num_rows:
        keep = ~np.isin(np.asarray(records.column("source_line")), list(rejected))
        kept_records = records.filter(pa.array(keep))
        keys = checks_corrections.record_keys(kept_records)
        ckeys = checks_corrections.charge_keys(charges)
        ckeep = pc.is_in(ckeys, value_set=keys) if charges.num_rows else pa.array([], pa.bool_())
        charges = charges.filter(ckeep)
        records = kept_records
    file_rejected = any(f.severity == FILE for f in col.findings)
    dropped = batch.header.extra.get("dropped", 0)  # items the reader could not take
    errors = any(f.severity != WARNING for f in col.findings)
    if file_rejected or (batch.records.num_rows and records.num_rows == 0) or (
            records.num_rows == 0 and errors):
        verdict = REJECTED
    elif rejected or dropped:
        verdict = PARTIAL
    else:
        verdict = ACCEPTED
    if verdict == REJECTED:
        records, charges = records.slice(0, 0), charges.slice(0, 0)
    counts = {"records": batch.records.num_rows + dropped, "accepted": records.num_rows,
              "rejected": batch.records.num_rows + dropped - records.num_rows,
              "charges": batch.charges.num_rows, "errors": sum(
                  1 for f in col.findings if f.severity != WARNING),
              "warnings": sum(1 for f in col.findings if f.severity == WARNING)}
    col.findings.sort(key=lambda f: (f.line or 0, f.code))
    return Verdict(verdict, col.findings, records, charges, sorted(rejected), op,
                   period.period_id if period else "", counts)


def _parents_of_rejected_charges(batch: BillingBatch, rejected: set[int]) -> set[int]:
    ch = batch.charges
    if not rejected or ch.num_rows == 0 or batch.records.num_rows == 0:
        return set()
    hit = np.isin(np.asarray(ch.column("source_line")), list(rejected))
    if not hit.any():
        return set()
    bad_keys = checks_corrections.charge_keys(ch.filter(pa.array(hit)))
    rkeys = checks_corrections.record_keys(batch.records)
    lines = np.asarray(batch.records.column("source_line"))
    return {int(x) for x in lines[np.asarray(pc.is_in(rkeys, value_set=bad_keys))]}
