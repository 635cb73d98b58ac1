"""Apply the rule catalogue to a parsed batch and reach a verdict."""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from casslink.canonical import BillingBatch, Problem
from validators import checks_corrections, checks_records, checks_structure
from validators.catalogue import FILE, RECORD, WARNING, rule
from validators.context import ValidationContext

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
        raws = list(raws) if raws is not None else [""] * len(lines)
        exp = list(expected) if expected is not None and not isinstance(expected, str) else \
            [expected or ""] * len(lines)
        for i, line in enumerate(lines):
            if i >= limit:  # keep reports readable; the lines are still rejected
                r = rule(code)
                if r.severity == RECORD:
                    self.rejected.update(int(x) for x in lines[limit:])
                self.findings.append(Finding(code, r.severity, f"... and {len(lines) - limit} "
                                             "more like this", None, record_type, field, ""))
                break
            self.add(code, int(line), record_type, field, raws[i], exp[i])

    def from_parser(self, problems: list[Problem]) -> None:
        for p in problems:
            self.add(p.code, p.line, p.record_type, p.field, p.raw)


def validate(batch: BillingBatch, ctx: ValidationContext) -> Verdict:
    header_lines = {x for x in (batch.header.source_line, batch.trailer.get("source_line"))
                    if x is not None}
    col = Collector(header_lines)
    col.from_parser(batch.problems)
    op, period = checks_structure.check(batch, ctx, col)
    if batch.records.num_rows:
        checks_records.check(batch, ctx, col, op, period)
        checks_corrections.check(batch, ctx, col, period)
    # a rejected correction record takes its pair partner with it
    rejected = checks_corrections.expand_pairs(batch.records, col.rejected)
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
    if file_rejected or (batch.records.num_rows and records.num_rows == 0):
        verdict = REJECTED
    elif rejected:
        verdict = PARTIAL
    else:
        verdict = ACCEPTED
    if verdict == REJECTED:
        records, charges = records.slice(0, 0), charges.slice(0, 0)
    counts = {"records": batch.records.num_rows, "accepted": records.num_rows,
              "rejected": batch.records.num_rows - records.num_rows,
              "charges": batch.charges.num_rows, "errors": sum(
                  1 for f in col.findings if f.severity != WARNING),
              "warnings": sum(1 for f in col.findings if f.severity == WARNING)}
    col.findings.sort(key=lambda f: (f.line or 0, f.code))
    return Verdict(verdict, col.findings, records, charges, sorted(rejected), op,
                   period.period_id if period else "", counts)
