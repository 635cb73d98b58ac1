"""Apply the rule catalogue to a parsed batch and reach a verdict."""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from casslink.canonical import BillingBatch, FileHeader, Finding
from casslink.validators import checks_corrections, checks_records, checks_structure, checks_tax
from casslink.validators.catalogue import FILE, RECORD, WARNING, code_for, rule
from casslink.validators.context import ValidationContext

ACCEPTED, PARTIAL, REJECTED = "accepted", "accepted_with_rejections", "rejected"
PARSER_LISTED = 200  # parser findings listed per code, record type and field
LENGTH_NUMBERS = ("S006", "S009")  # a line of the wrong length: its other findings follow
__all__ = ["ACCEPTED", "PARTIAL", "REJECTED", "Finding", "Verdict", "finding", "validate"]


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

    def __init__(self, header_lines: set[int], fmt: str = "hot") -> None:
        self.findings: list[Finding] = []
        self.rejected: set[int] = set()
        self._header_lines = header_lines
        self.fmt = fmt

    def add(self, code: str, line: int | None = None, record_type: str = "", field: str = "",
            raw: object = "", expected: object = "") -> None:
        """Report rule ``code``: a number (``E201``, prefixed by the file's format) or a full
        code (``HOT-S002``, as parsers give them)."""
        code = code_for(code, self.fmt)
        r = rule(code)
        severity = r.severity
        if severity == RECORD and (line is None or line in self._header_lines):
            severity = FILE
        try:
            message = r.message.format(field=field, raw=raw, expected=expected)
        except (KeyError, IndexError, ValueError):
            message = r.message
        self.findings.append(Finding(code, severity, message, line, record_type, field,
                                     str(raw), str(expected)))
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
        for i, line in enumerate(lines[:limit]):
            self.add(code, int(line), types[i], field, raws[i], exp[i])
        if len(lines) > limit:
            self.more_like_this(code, lines[limit:], field=field)

    def more_like_this(self, code: str, lines, record_type: str = "", field: str = "") -> None:
        """Findings past the listing limit: one summary, the lines still rejected."""
        code = code_for(code, self.fmt)
        r = rule(code)
        if r.severity == RECORD:
            self.rejected.update(int(x) for x in lines if x is not None)
        self.findings.append(Finding(code, r.severity, f"... and {len(lines)} more like this",
                                     None, record_type, field, ""))

    def from_parser(self, problems: list[Finding], limit: int = PARSER_LISTED) -> None:
        """The parser's findings: every line is judged (and rejected where the rule says so);
        at most ``limit`` per code, record type and field are listed."""
        seen: Counter = Counter()
        past: dict[tuple, list] = {}
        for p in problems:
            key = (p.code, p.record_type, p.field)
            seen[key] += 1
            if seen[key] <= limit or p.line in self._header_lines:  # header/trailer: listed
                self.add(p.code, p.line, p.record_type, p.field, p.raw, p.expected)
            else:
                past.setdefault(key, []).append(p.line)
        for (code, record_type, name), lines in past.items():
            self.more_like_this(code, lines, record_type, name)

    def causes_first(self, header: FileHeader) -> int:
        """Lead with root causes and leave out what follows from them; returns how many
        findings were left out.

        * A root-cause rule (no header, not well-formed, ...) or a parser finding on the header
          (its line, or its record type: an XML header spans lines): only those findings are
          listed; the root finding's message says how many more were left out (the file is
          rejected either way).
        * A line of the wrong length: its other findings (shifted or missing fields) go.
        """
        parser_codes = ("HOT-S", "XML-S")

        def on_header(f: Finding) -> bool:
            return f.code.startswith(parser_codes) and (
                (header.source_line is not None and f.line == header.source_line)
                or (bool(f.record_type) and f.record_type == header.record_id))

        roots = [f for f in self.findings if rule(f.code).root or on_header(f)]
        for f in roots:  # a header that cannot be read rejects the file
            f.severity = FILE
        if roots:
            left_out = len(self.findings) - len(roots)
            if left_out:
                roots[0].message += f" ({left_out} findings that follow from it not listed)"
            self.findings = roots
            return left_out
        wrong = {f.line for f in self.findings
                 if f.line is not None and f.code.split("-")[-1] in LENGTH_NUMBERS}
        if not wrong:
            return 0
        keep = [f for f in self.findings if f.line not in wrong or f.code.split("-")[-1] in
                (*LENGTH_NUMBERS, "S007")]
        left_out = len(self.findings) - len(keep)
        self.findings = keep
        return left_out


def finding(code: str, line: int | None = None, record_type: str = "", field: str = "",
            raw: object = "", expected: object = "", fmt: str = "hot") -> Finding:
    """One finding of rule ``code`` with its catalogue severity and message, for code outside
    the rule engine (ingest's ``FMT-E001`` and ``ING-E900``)."""
    col = Collector(set(), fmt)
    col.add(code, line, record_type, field, raw, expected)
    return col.findings[0]


def validate(batch: BillingBatch, ctx: ValidationContext) -> Verdict:
    header_lines = {x for x in (batch.header.source_line, batch.trailer.get("source_line"))
                    if x is not None}
    col = Collector(header_lines, batch.format)
    col.from_parser(batch.problems)
    op, period = checks_structure.check(batch, ctx, col)
    duplicate = code_for("E601", batch.format) in {f.code for f in col.findings}
    if batch.records.num_rows and not duplicate:  # a resent file needs no record report
        checks_records.check(batch, ctx, col, op, period)
        checks_corrections.check(batch, ctx, col, period)
        checks_tax.check(batch, ctx, col, op)
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
    file_rejected = any(f.severity == FILE for f in col.findings)  # listed or not
    left_out = col.causes_first(batch.header)
    file_rejected = file_rejected or any(f.severity == FILE for f in col.findings)
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
              "warnings": sum(1 for f in col.findings if f.severity == WARNING),
              "not_listed": left_out}
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
