"""Tax rules: effective-dated, per operation, versioned reference data (docs/tax.md).

A rules file is CSV with the public columns :data:`COLUMNS`. :func:`parse_rules` validates every
row and refuses the whole file with line-numbered errors; :func:`store_rules` replaces the rule
set of each operation the file names with a new version (earlier versions stay for audit);
:func:`active_rules` gives each operation's latest version. The arithmetic every stage shares
(half-up division, airport -> country, which rule is in force for which record) lives here too,
so validation (``verify`` warnings) and settlement compute the same figures.
"""

from __future__ import annotations

import csv
import datetime as dt
import hashlib
import io
import re
from collections.abc import Iterable
from dataclasses import dataclass, replace
from functools import cache
from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
from sqlalchemy import Engine, func, select

from casslink import faults
from casslink.canonical import AMOUNT_COLUMNS
from casslink.db.engine import session_scope
from casslink.db.models import TaxRuleRow

COLUMNS = ("operation", "code", "name", "side", "base", "rate_bp", "applies_to", "valid_from",
           "valid_to", "rounding", "mode")
"""The public columns of a rules file (``casslink tax rules load FILE.csv``)."""
SIDES = ("airline", "agent", "withheld")
APPLIES_TO = ("all", "domestic", "international")
ROUNDINGS = ("line", "bill")
MODES = ("compute", "verify", "accept")
BASE_COMPONENTS = tuple(c for c in AMOUNT_COLUMNS if c not in ("tax_airline", "tax_agent"))
"""Canonical components a base may add up (the file's own tax fields never are a base)."""
FILE_FIELD = {"airline": "tax_airline", "agent": "tax_agent"}
"""The record field holding the file's figure of each side (withheld tax has none)."""
FIXTURE_FILE = "tax_rules.csv"
_CODE = re.compile(r"^[A-Z0-9_]{1,12}$")
_OPERATION = re.compile(r"^[A-Z]{2}$")


class TaxRulesError(ValueError):
    """A rules file is refused whole; ``errors`` lists each problem with its line."""

    def __init__(self, errors: list[str]) -> None:
        super().__init__("; ".join(errors))
        self.errors = errors


@dataclass(frozen=True)
class TaxRule:
    """One effective-dated rule of an operation (``version``: the rule set it belongs to)."""

    operation: str
    code: str
    name: str
    side: str
    base: tuple[str, ...]
    rate_bp: int
    applies_to: str
    valid_from: dt.date
    valid_to: dt.date | None
    rounding: str
    mode: str
    version: int = 0
    line: int = 0

    def in_force(self, day: dt.date) -> bool:
        return self.valid_from <= day and (self.valid_to is None or day <= self.valid_to)

    def as_row(self) -> dict[str, str]:
        """The rule as a rules-file row (the public columns)."""
        return {"operation": self.operation, "code": self.code, "name": self.name,
                "side": self.side, "base": "+".join(self.base), "rate_bp": str(self.rate_bp),
                "applies_to": self.applies_to, "valid_from": self.valid_from.isoformat(),
                "valid_to": self.valid_to.isoformat() if self.valid_to else "",
                "rounding": self.rounding, "mode": self.mode}

    def as_dict(self) -> dict:
        return {**self.as_row(), "rate_bp": self.rate_bp, "version": self.version}


def _date(text: str, column: str, errors: list[str], where: str) -> dt.date | None:
    try:
        return dt.date.fromisoformat(text)
    except ValueError:
        errors.append(f"{where}: {column} {text!r} is not a date YYYY-MM-DD")
        return None


def _row_rule(row: dict[str, str], line: int, errors: list[str]) -> TaxRule | None:
    where, before = f"line {line}", len(errors)
    v = {k: (row.get(k) or "").strip() for k in COLUMNS}
    if not _OPERATION.match(v["operation"]):
        errors.append(f"{where}: operation {v['operation']!r} is not a 2-letter code")
    if not _CODE.match(v["code"]):
        errors.append(f"{where}: code {v['code']!r} is not 1-12 of A-Z, 0-9, _")
    if not v["name"]:
        errors.append(f"{where}: name is empty")
    for column, allowed in (("side", SIDES), ("applies_to", APPLIES_TO),
                            ("rounding", ROUNDINGS), ("mode", MODES)):
        if v[column] not in allowed:
            errors.append(f"{where}: {column} {v[column]!r} is not one of {', '.join(allowed)}")
    base = tuple(v["base"].split("+")) if v["base"] else ()
    unknown = [c for c in base if c not in BASE_COMPONENTS]
    if not base or unknown:
        errors.append(f"{where}: base {v['base']!r} must be components joined by '+' "
                      f"({', '.join(BASE_COMPONENTS)})")
    elif len(set(base)) != len(base):
        errors.append(f"{where}: base {v['base']!r} names a component twice")
    rate = int(v["rate_bp"]) if v["rate_bp"].isdigit() else -1
    if not 0 <= rate <= 10000:
        errors.append(f"{where}: rate_bp {v['rate_bp']!r} is not basis points 0-10000")
    start = _date(v["valid_from"], "valid_from", errors, where)
    end = _date(v["valid_to"], "valid_to", errors, where) if v["valid_to"] else None
    if start and end and end < start:
        errors.append(f"{where}: valid_to {end} is before valid_from {start}")
    if v["side"] == "withheld" and v["mode"] not in ("compute", ""):
        errors.append(f"{where}: withheld tax has no figure in the file: mode must be compute")
    if len(errors) > before or start is None:
        return None
    return TaxRule(v["operation"], v["code"], v["name"], v["side"], base, rate,
                   v["applies_to"], start, end, v["rounding"], v["mode"], line=line)


def parse_rules(text: str, operations: Iterable[str] | None = None) -> list[TaxRule]:
    """Every rule of a rules file, or TaxRulesError naming each bad line (nothing half-read).

    Beyond each row: a code's rules of one operation may not overlap in time, and the rules
    of one (operation, side) share one mode (the file's figure of a side is one field)."""
    reader = csv.DictReader(io.StringIO(text.lstrip("\ufeff")))
    header = tuple(h.strip() for h in (reader.fieldnames or ()))
    missing = [c for c in COLUMNS if c not in header]
    if missing:
        raise TaxRulesError([f"line 1: missing columns {', '.join(missing)} (want "
                             f"{','.join(COLUMNS)})"])
    known = set(operations) if operations is not None else None
    errors: list[str] = []
    rules: list[TaxRule] = []
    for line, row in enumerate(reader, start=2):
        if None in row:
            errors.append(f"line {line}: more fields than columns")
            continue
        rule = _row_rule({k.strip(): v for k, v in row.items()}, line, errors)
        if rule is None:
            continue
        if known is not None and rule.operation not in known:
            errors.append(f"line {line}: unknown operation {rule.operation}")
            continue
        rules.append(rule)
    far = dt.date.max
    for a in rules:
        for b in rules:
            if b.line <= a.line or (a.operation, a.code) != (b.operation, b.code):
                continue
            if a.valid_from <= (b.valid_to or far) and b.valid_from <= (a.valid_to or far):
                errors.append(f"line {b.line}: {b.operation} {b.code} overlaps line {a.line} "
                              f"in time")
        modes = {r.mode for r in rules if (r.operation, r.side) == (a.operation, a.side)}
        if len(modes) > 1 and a.line == max(r.line for r in rules
                                            if (r.operation, r.side) == (a.operation, a.side)):
            errors.append(f"line {a.line}: {a.operation} {a.side}-side rules mix modes "
                          f"{', '.join(sorted(modes))}")
    if not rules and not errors:
        errors.append("line 1: the file holds no rules")
    if errors:
        raise TaxRulesError(sorted(errors, key=lambda e: int(e.split()[1].rstrip(":"))))
    return sorted(rules, key=lambda r: (r.operation, r.code, r.valid_from))


def group_by_operation(rules: Iterable[TaxRule]) -> dict[str, tuple[TaxRule, ...]]:
    out: dict[str, list[TaxRule]] = {}
    for r in rules:
        out.setdefault(r.operation, []).append(r)
    return {op: tuple(sorted(rs, key=lambda r: (r.code, r.valid_from)))
            for op, rs in sorted(out.items())}


def rules_from_fixtures(directory: Path) -> dict[str, tuple[TaxRule, ...]]:
    """The fixture world's rules (``tax_rules.csv``; none when absent), as version 1."""
    path = Path(directory) / FIXTURE_FILE
    if not path.exists():
        return {}
    rules = parse_rules(path.read_text(encoding="utf-8"))
    return group_by_operation(replace(r, version=1) for r in rules)


def digest(rules: dict[str, tuple[TaxRule, ...]]) -> str:
    """A digest of rule sets (part of the reference digest: new rules, new settlement run)."""
    h = hashlib.sha256()
    for op, rs in sorted(rules.items()):
        for r in rs:
            h.update(repr((op, r.version, sorted(r.as_row().items()))).encode())
    return h.hexdigest()


# --- the rules store ------------------------------------------------------------------------

def store_rules(engine: Engine, rules: list[TaxRule], source: str = "") -> dict[str, int]:
    """Replace the rule set of every operation ``rules`` names by a new version; returns
    operation -> version. One transaction: all operations or none."""
    out = {}
    with session_scope(engine) as s:
        for op, rs in group_by_operation(rules).items():
            version = (s.scalar(select(func.max(TaxRuleRow.version)).where(
                TaxRuleRow.operation_code == op)) or 0) + 1
            for r in rs:
                s.add(TaxRuleRow(
                    operation_code=op, version=version, code=r.code, name=r.name, side=r.side,
                    base="+".join(r.base), rate_bp=r.rate_bp, applies_to=r.applies_to,
                    valid_from=r.valid_from, valid_to=r.valid_to, rounding=r.rounding,
                    mode=r.mode, source=source[:500], source_line=r.line))
            out[op] = version
        s.flush()
        faults.checkpoint("tax_rules", "stored")  # rows written, not committed
    return out


def active_rules(engine: Engine) -> dict[str, tuple[TaxRule, ...]]:
    """Each operation's latest rule set."""
    with session_scope(engine) as s:
        latest = dict(s.execute(select(TaxRuleRow.operation_code, func.max(TaxRuleRow.version))
                                .group_by(TaxRuleRow.operation_code)).all())
        rows = [r for r in s.scalars(select(TaxRuleRow)) if latest.get(r.operation_code)
                == r.version]
        rules = [TaxRule(r.operation_code, r.code, r.name, r.side, tuple(r.base.split("+")),
                         r.rate_bp, r.applies_to, r.valid_from, r.valid_to, r.rounding, r.mode,
                         r.version, r.source_line or 0) for r in rows]
    return group_by_operation(rules)


# --- shared arithmetic ----------------------------------------------------------------------

def half_up_div(num: np.ndarray, den: int) -> np.ndarray:
    """``num / den`` rounded half-up (away from zero), exact integers."""
    num = np.asarray(num, np.int64)
    mag = (np.abs(num) * 2 + den) // (2 * den)
    return np.where(num < 0, -mag, mag)


@cache
def airport_countries() -> dict[str, str]:
    """IATA airport code -> ISO country, from the maintained ``airportsdata`` set (its CSV
    read with Arrow, only the two columns: as ``airportsdata.load("IATA")``, ten times
    faster; the last row of a code wins, as there)."""
    from importlib.resources import files

    from pyarrow import csv as pa_csv

    path = files("airportsdata") / "airports.csv"
    table = pa_csv.read_csv(str(path), convert_options=pa_csv.ConvertOptions(
        include_columns=["iata", "country"], column_types={"iata": pa.string(),
                                                           "country": pa.string()},
        strings_can_be_null=False))
    return {code: country for code, country in zip(
        table.column("iata").to_pylist(), table.column("country").to_pylist(), strict=True)
        if code}


def countries(airports: pa.Array | pa.ChunkedArray) -> pa.Array:
    """The country of each airport code (null when unknown or blank)."""
    table = airport_countries()
    arr = airports.combine_chunks() if isinstance(airports, pa.ChunkedArray) else airports
    enc = arr.dictionary_encode() if not pa.types.is_dictionary(arr.type) else arr
    values = [table.get((v or "").strip().upper()) for v in enc.dictionary.to_pylist()]
    return pa.array(values, pa.string()).take(enc.indices)


def domestic_mask(origin, destination, country: str) -> tuple[np.ndarray, np.ndarray]:
    """(domestic, unknown) per record: domestic when both airports lie in ``country``;
    unknown when either airport is not in the data set (such a record is international)."""
    o, d = countries(origin), countries(destination)
    unknown = np.asarray(pc.or_(pc.is_null(o), pc.is_null(d)))
    dom = np.asarray(pc.fill_null(pc.and_(pc.equal(o, country), pc.equal(d, country)), False))
    return dom & ~unknown, unknown


def applies(rule: TaxRule, domestic: np.ndarray) -> np.ndarray:
    if rule.applies_to == "domestic":
        return domestic
    if rule.applies_to == "international":
        return ~domestic
    return np.ones(len(domestic), bool)


def in_force(rule: TaxRule, days: np.ndarray) -> np.ndarray:
    """Tax points (numpy datetime64[D]) inside the rule's validity."""
    ok = days >= np.datetime64(rule.valid_from)
    if rule.valid_to is not None:
        ok &= days <= np.datetime64(rule.valid_to)
    return ok


def base_of(rule: TaxRule, components: dict[str, np.ndarray]) -> np.ndarray:
    total = np.zeros(len(next(iter(components.values()))), np.int64)
    for c in rule.base:
        total += components[c]
    return total
