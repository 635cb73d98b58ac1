"""Excel billing reports (openpyxl, write-only): the agent's statement (summary per airline +
one sheet per airline) and the airline's statement (summary per agent + detail).

Amounts are written as numbers in major units with the settlement currency's decimals as the
number format; labels come from ``outputs/catalogue/<lang>.json``. The workbook bytes are
normalised (fixed zip timestamps and document dates = the billing date), so the same ledger
always gives the same file.
"""

from __future__ import annotations

import datetime as dt
import io
import json
import re
import zipfile
from decimal import Decimal
from functools import cache
from pathlib import Path

import pyarrow as pa
import pyarrow.compute as pc
from openpyxl import Workbook
from openpyxl.cell import WriteOnlyCell
from openpyxl.styles import Alignment, Font, PatternFill
from openpyxl.utils import get_column_letter

from casslink.money import minor_unit
from outputs.source import RunData, partition

CATALOGUE = Path(__file__).parent / "catalogue"
COMPONENTS = ("weight_pp", "valuation_pp", "oc_carrier_pp", "oc_agent_cc", "commission",
              "discount", "tax_airline", "tax_agent")
BOLD, HEAD_FILL = Font(bold=True), PatternFill("solid", fgColor="DDE4EE")
TITLE = Font(bold=True, size=14)


@cache
def labels(lang: str = "en") -> dict[str, str]:
    return json.loads((CATALOGUE / f"{lang}.json").read_text(encoding="utf-8"))


class Sheet:
    """A write-only sheet with a title block, a styled header row, frozen panes, a filter."""

    def __init__(self, wb: Workbook, title: str, widths: list[int]) -> None:
        self.ws = wb.create_sheet(title[:31])
        ws = self.ws
        ws.page_setup.orientation = "landscape"
        ws.page_setup.paperSize = "9"  # A4
        ws.sheet_properties.pageSetUpPr.fitToPage = True
        ws.page_setup.fitToWidth, ws.page_setup.fitToHeight = 1, 0
        widths = [max(widths[0], 22), *widths[1:]]
        for i, w in enumerate(widths, start=1):
            self.ws.column_dimensions[get_column_letter(i)].width = w
        self.row = 0
        self.ncols = len(widths)

    def cell(self, value, font=None, fmt=None, fill=None, align=None) -> WriteOnlyCell:
        c = WriteOnlyCell(self.ws, value=value)
        if font:
            c.font = font
        if fmt:
            c.number_format = fmt
        if fill:
            c.fill = fill
        if align:
            c.alignment = align
        return c

    def append(self, cells: list) -> None:
        self.ws.append(cells)
        self.row += 1

    def header(self, names: list[str]) -> None:
        self.append([self.cell(n, BOLD, fill=HEAD_FILL, align=Alignment(wrap_text=True))
                     for n in names])
        self.header_row = self.row
        self.ws.freeze_panes = f"A{self.row + 1}"

    def finish(self, last_row: int) -> None:
        if last_row > self.header_row:
            self.ws.auto_filter.ref = (f"A{self.header_row}:"
                                       f"{get_column_letter(self.ncols)}{last_row}")


def _money_fmt(currency: str) -> str:
    d = minor_unit(currency)
    return "#,##0" + ("." + "0" * d if d else "") + ";[Red]-#,##0" + ("." + "0" * d if d
                                                                      else "")


def _major(minor: int, currency: str) -> float | int:
    d = minor_unit(currency)
    return int(minor) if d == 0 else float(Decimal(int(minor)).scaleb(-d))


def _title_block(sh: Sheet, run: RunData, title: str) -> None:
    L, m = labels(), run.manifest
    sh.append([sh.cell(title, TITLE)])
    for key, value in (("operation", run.operation), ("period", f"{run.period_id} ("
                       f"{m['period_start']} - {m['period_end']})"),
                       ("billing_date", m["billing_date"]),
                       ("remittance_date", m["remittance_date"]),
                       ("currency", run.currency)):
        sh.append([sh.cell(L[key], BOLD), value])
    sh.append([])


def _summary(wb: Workbook, run: RunData, title: str, bills: pa.Table, key: str,
             name_of, total_label: str) -> None:
    L, cur = labels(), run.currency
    fmt = _money_fmt(cur)
    head = [L["col_airline"] if key == "airline_prefix" else L["col_agent"],
            L["col_airline_name"] if key == "airline_prefix" else L["col_agent_name"],
            L["col_awbs"], L["col_cca"], L["col_dcm"], *(L[f"col_{c}"] for c in COMPONENTS),
            L["col_net_billing"], L["col_corrections"], L["col_net"]]
    sh = Sheet(wb, L["summary"], [14, 30, 8, 8, 8, *([16] * len(COMPONENTS)), 16, 16, 16])
    _title_block(sh, run, title)
    sh.header(head)
    total = 0
    for b in bills.sort_by(key).to_pylist():
        total += b["net"]
        sh.append([b[key], name_of(b[key]), b["awb_count"], b["cca_records"],
                   b["dcm_records"], *(sh.cell(_major(b[c], cur), fmt=fmt) for c in COMPONENTS),
                   sh.cell(_major(b["net_billing"], cur), fmt=fmt),
                   sh.cell(_major(b["corrections_net"], cur), fmt=fmt),
                   sh.cell(_major(b["net"], cur), BOLD, fmt=fmt)])
    last = sh.row
    sh.finish(last)
    sh.append([])
    sh.append([sh.cell(total_label, BOLD), None, *([None] * (len(head) - 3)),
               sh.cell(_major(total, cur), BOLD, fmt=fmt)])
    sh.append([L["sign_note"]])


def _detail(wb: Workbook, run: RunData, title: str, lines: pa.Table, counter_key: str) -> None:
    L, cur = labels(), run.currency
    fmt = _money_fmt(cur)
    head = [L["col_agent"] if counter_key == "agent_code" else L["col_airline"], L["col_awb"],
            L["col_type"], L["col_number"], L["col_currency"], L["col_rate"],
            *(L[f"col_{c}"] for c in COMPONENTS), L["col_net"], L["col_source"]]
    sh = Sheet(wb, title, [14, 14, 8, 12, 9, 12, *([16] * len(COMPONENTS)), 16, 26])
    _title_block(sh, run, title)
    sh.header(head)
    for r in lines.to_pylist():
        rate = r["exchange_rate_e5"] or 0
        sh.append([r[counter_key], f"{r['airline_prefix']}-{r['awb_serial']}", r["record_type"],
                   r["correction_number"] or "", r["currency"],
                   sh.cell(rate / 100000, fmt="0.00000") if rate else "",
                   *(sh.cell(_major(r[c], cur), fmt=fmt) for c in COMPONENTS),
                   sh.cell(_major(r["net"], cur), BOLD, fmt=fmt),
                   f"{(r['source_file'] or '')[:12]}:{r['source_line']}"])
    sh.finish(sh.row)


def agent_report(run: RunData, agent_code: str) -> bytes:
    L = labels()
    wb = Workbook(write_only=True)
    bills = run.rows("bills", "agent_code", agent_code)
    net = int(pc.sum(bills.column("net")).as_py() or 0)
    title = L["agent_title"].format(code=agent_code, name=run.agent_name(agent_code))
    _summary(wb, run, title, bills, "airline_prefix", run.airline_name,
             L["total_remittance"] if net >= 0 else L["total_refund"])
    by_airline = partition(run.rows("lines", "agent_code", agent_code), "airline_prefix")
    for prefix in sorted(by_airline):
        _detail(wb, run, f"{prefix} {run.airline_name(prefix)}"[:31], by_airline[prefix],
                "airline_prefix")
    return _normalised(wb, run)


def airline_report(run: RunData, prefix: str) -> bytes:
    L = labels()
    wb = Workbook(write_only=True)
    bills = run.rows("bills", "airline_prefix", prefix)
    title = L["airline_title"].format(code=prefix, name=run.airline_name(prefix))
    _summary(wb, run, title, bills, "agent_code", run.agent_name, L["total_settlement"])
    _detail(wb, run, L["detail"], run.rows("lines", "airline_prefix", prefix),
            "agent_code")
    return _normalised(wb, run)


def _normalised(wb: Workbook, run: RunData) -> bytes:
    """Save, then fix every timestamp so the same ledger gives the same bytes."""
    when = dt.datetime.fromisoformat(run.manifest["billing_date"])
    wb.properties.creator = "casslink"
    raw = io.BytesIO()
    wb.save(raw)
    stamp = when.strftime("%Y-%m-%dT%H:%M:%SZ")
    out = io.BytesIO()
    with zipfile.ZipFile(raw) as src, zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as dst:
        for info in src.infolist():
            data = src.read(info.filename)
            if info.filename == "docProps/core.xml":
                data = re.sub(rb"(<dcterms:(created|modified)[^>]*>)[^<]*(</dcterms:)",
                              rb"\g<1>" + stamp.encode() + rb"\g<3>", data)
            fixed = zipfile.ZipInfo(info.filename, date_time=when.timetuple()[:6])
            fixed.compress_type = zipfile.ZIP_DEFLATED
            dst.writestr(fixed, data)
    return out.getvalue()
