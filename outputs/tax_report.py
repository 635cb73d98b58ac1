"""The tax report of a settled period: per tax code and rate, base and tax; per airline and
per agent (docs/tax.md). Laid out by the tables :data:`SECTIONS` (columns as data), rendered
as CSV and as an Excel workbook (one sheet per section), delivered to every participant with
only its own lines and to the operators (``cass``) whole.

CSV: one file, one row per section line: ``section`` (``code``, ``airline``, ``agent``),
``airline_prefix``, ``agent_code`` (empty where the section has none), ``code``, ``name``,
``side``, ``rate_bp`` (basis points), ``base``, ``tax`` (decimals of the settlement currency),
``lines``, ``currency``.
"""

from __future__ import annotations

import csv
import datetime as dt
import io
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import pyarrow as pa
import pyarrow.compute as pc
from sqlalchemy import Engine, delete

from casslink import faults
from casslink.db.engine import session_scope
from casslink.db.models import Delivery
from casslink.money import format_amount, minor_unit
from casslink.outbox import write_to_outbox
from casslink.outputs import xlsx
from casslink.outputs.excel import labels
from casslink.outputs.formats import KEYS
from casslink.settings import Settings
from casslink.storage import sha256_of

OPERATOR = "cass"
KINDS = ("tax-report-xlsx", "tax-report-csv")


@dataclass(frozen=True)
class ReportColumn:
    name: str  # a column of the section's rows
    label: str  # its key in outputs/catalogue/en.json (translated by the statements catalog)
    kind: str = "text"  # text | count | money | rate (basis points, shown as a percentage)
    width: float = 14


_TAIL = (ReportColumn("code", "col_tax_code", width=12),
         ReportColumn("name", "col_tax_name", width=40),
         ReportColumn("side", "col_tax_side", width=10),
         ReportColumn("rate_bp", "col_tax_rate", "rate", 9),
         ReportColumn("base", "col_tax_base", "money", 16),
         ReportColumn("tax", "col_tax_amount", "money", 16),
         ReportColumn("lines", "col_lines", "count", 10))
SECTIONS: dict[str, tuple[ReportColumn, ...]] = {
    "code": _TAIL,
    "airline": (ReportColumn("airline_prefix", "col_airline", width=9), *_TAIL),
    "agent": (ReportColumn("agent_code", "col_agent", width=13), *_TAIL),
}
"""Each section's columns, in order; ``code``: the whole (or the participant's) period."""
SHEET_TITLES = {"code": "tax_by_code", "airline": "tax_by_airline", "agent": "tax_by_agent"}
"""Each section's sheet, by label key."""


def sections(tax: pa.Table) -> dict[str, list[dict]]:
    """The report's rows from a run's tax table (or the part of it a participant sees)."""
    out: dict[str, list[dict]] = {}
    for section, columns in SECTIONS.items():
        keys = [c.name for c in columns if c.kind in ("text", "rate")]
        if not tax.num_rows:
            out[section] = []
            continue
        g = tax.group_by(keys, use_threads=False).aggregate(
            [("base", "sum"), ("tax", "sum"), ("lines", "sum")])
        rows = [{**{k: r[k] for k in keys}, "base": r["base_sum"], "tax": r["tax_sum"],
                 "lines": r["lines_sum"]} for r in g.to_pylist()]
        rows.sort(key=lambda r: tuple(r[k] for k in keys))
        out[section] = rows
    return out


def report(tax: pa.Table, operation: str, period_id: str, currency: str,
           participant: str | None = None, kind: str | None = None) -> dict:
    """The report as data: a participant (``kind`` airline/agent) sees only its own lines."""
    if participant is not None and kind is not None and tax.num_rows:
        tax = tax.filter(pc.equal(tax.column(KEYS[kind]), participant))
    return {"operation": operation, "period": period_id, "currency": currency,
            "participant": participant or OPERATOR, "sections": sections(tax)}


def _cell(column: ReportColumn, value, currency: str) -> str:
    if column.kind == "money":
        return format_amount(int(value), currency)
    return str(value)  # rates stay basis points (the rules' unit)


def render_csv(data: dict) -> bytes:
    """The report as CSV (UTF-8, ``\\n`` line ends)."""
    buf = io.StringIO()
    w = csv.writer(buf, lineterminator="\n")
    names = ["airline_prefix", "agent_code", *(c.name for c in _TAIL)]
    w.writerow(["section", *names, "currency"])
    for section, columns in SECTIONS.items():
        by_name = {c.name: c for c in columns}
        for r in data["sections"][section]:
            w.writerow([section, *(_cell(by_name[n], r[n], data["currency"]) if n in by_name
                                   else "" for n in names), data["currency"]])
    return buf.getvalue().encode()


def render_xlsx(data: dict, when: dt.date, language: str = "en") -> bytes:
    """The report as a workbook in ``language``: one sheet per section, a title row, a
    header row (the labels of the statements catalog; numbers stay numbers)."""
    cur, digits = data["currency"], minor_unit(data["currency"])
    L = labels(language)
    sheets = []
    for section, columns in SECTIONS.items():
        title = L["tax_report_title"].format(
            operation=data["operation"], period=data["period"],
            section=L[SHEET_TITLES[section]], participant=data["participant"], currency=cur)
        pieces = [xlsx.row(1, [xlsx.text(title, xlsx.TITLE)]),
                  xlsx.row(3, [xlsx.text(L[c.label], xlsx.HEADER) for c in columns])]
        rows = data["sections"][section]
        for i, r in enumerate(rows, start=4):
            cells = []
            for c in columns:
                if c.kind == "money":
                    cells.append(xlsx.number(format_amount(int(r[c.name]), cur), xlsx.MONEY))
                elif c.kind == "rate":
                    cells.append(xlsx.number(format_amount(int(r[c.name]), "EUR")))
                elif c.kind == "count":
                    cells.append(xlsx.number(str(int(r[c.name]))))
                else:
                    cells.append(xlsx.text(str(r[c.name])))
            pieces.append(xlsx.row(i, cells))
        sheets.append(xlsx.Sheet(xlsx.sheet_name(L[SHEET_TITLES[section]]),
                                 tuple(xlsx.fit_width(c.width, L[c.label]) for c in columns),
                                 pieces, 3, 3 + len(rows)))
    money = "#,##0" + ("." + "0" * digits if digits else "")
    return xlsx.package(sheets, xlsx.styles(money), when)


def deliver(settings: Settings, engine: Engine, run_id: int, folder: Path, tax: pa.Table,
            manifest: dict, languages: dict[str, str] | None = None,
            wanted: Callable[[str], bool] = lambda code: True) -> list[dict]:
    """Every participant's tax report (its own lines) and the operators' whole report, as
    Excel (in the participant's ``languages`` entry, else English) and CSV (a data format:
    English headers), into the outboxes; the run's tax-report deliveries are replaced. A
    participant receives it when it ``wanted`` its reports (the Excel outputs)."""
    op, pid, cur = manifest["operation"], manifest["period"], manifest["settlement_currency"]
    when = dt.date.fromisoformat(manifest["billing_date"])
    bills = pq_read(folder / "bills.parquet", ["agent_code", "airline_prefix"])
    audience: list[tuple[str, str | None]] = [(OPERATOR, None)]
    for kind in ("airline", "agent"):
        audience += [(code, kind) for code in sorted(set(bills.column(KEYS[kind]).to_pylist()))
                     if wanted(code)]
    out = []
    for code, kind in audience:
        data = report(tax, op, pid, cur, None if kind is None else code, kind)
        language = (languages or {}).get(code, "en")
        for label, body in (("tax-report-xlsx", render_xlsx(data, when, language)),
                            ("tax-report-csv", render_csv(data))):
            ext = label.rsplit("-", 1)[1]
            name = f"{op}_{pid}_{code}_tax-report.{ext}"
            path = write_to_outbox(settings, code, name, body)
            out.append({"participant": code, "kind": label, "path": str(path),
                        "sha256": sha256_of(body), "size": len(body)})
    faults.checkpoint("tax_report", "written")  # files in the outboxes, deliveries not recorded
    with session_scope(engine) as s:
        s.execute(delete(Delivery).where(Delivery.run_id == run_id, Delivery.kind.in_(KINDS)))
        for d in out:
            s.add(Delivery(run_id=run_id, participant_code=d["participant"], kind=d["kind"],
                           path=d["path"], sha256=d["sha256"], size=d["size"]))
    return out


def pq_read(path: Path, columns: list[str]) -> pa.Table:
    import pyarrow.parquet as pq

    return pq.ParquetFile(path).read(columns=columns)
