"""Excel billing reports (openpyxl, write-only): the agent's statement (summary per airline +
one sheet per airline) and the airline's statement (summary per agent + detail).

Amounts are written as numbers in major units with the settlement currency's decimals as the
number format; labels come from ``outputs/catalogue/<lang>.json``. The workbook bytes are
normalised (fixed zip timestamps and document dates = the billing date), so the same ledger
always gives the same file. openpyxl writes everything but the detail rows: those (up to
hundreds of thousands per airline) are rendered column-wise into the sheet XML at save time.
"""

from __future__ import annotations

import datetime as dt
import io
import json
import re
import zipfile
from dataclasses import dataclass, field
from decimal import Decimal
from functools import cache
from pathlib import Path
from xml.sax.saxutils import escape

import numpy as np
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
        self.part = f"xl/worksheets/sheet{len(wb.worksheets)}.xml"  # openpyxl's part name
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


@dataclass
class Details:
    """The detail sheets of a workbook, filled in at save time (see :func:`_details`)."""

    counter_key: str
    currency: str
    template: str = ""  # sheet part written fully by openpyxl
    template_title: str = ""
    placeholder_row: int = 0
    sheets: dict[str, tuple[str, pa.Table]] = field(default_factory=dict)  # part: title, lines


def _details(wb: Workbook, run: RunData, sheets: list[tuple[str, pa.Table]],
             counter_key: str) -> Details:
    """Detail sheets, one row per ledger line. openpyxl writes the first sheet's title
    block, header and one styled placeholder row, and only the frame (page setup, widths,
    frozen header, filter) of the others; :func:`_normalised` copies the title block and
    header into every sheet and puts the rows, rendered column-wise, in place."""
    L, cur = labels(), run.currency
    fmt = _money_fmt(cur)
    head = [L["col_agent"] if counter_key == "agent_code" else L["col_airline"], L["col_awb"],
            L["col_type"], L["col_number"], L["col_currency"], L["col_rate"],
            *(L[f"col_{c}"] for c in COMPONENTS), L["col_net"], L["col_source"]]
    widths = [14, 14, 8, 12, 9, 12, *([16] * len(COMPONENTS)), 16, 26]
    out = Details(counter_key, cur)
    for title, lines in sheets:
        sh = Sheet(wb, title, widths)
        if not out.template:
            _title_block(sh, run, title)
            sh.header(head)
            sh.append([0, None, None, None, None, sh.cell(0, fmt="0.00000"),
                       *(sh.cell(0, fmt=fmt) for _ in COMPONENTS), sh.cell(0, BOLD, fmt=fmt)])
            out.template, out.template_title, out.placeholder_row = sh.part, title, sh.row
        else:
            sh.header_row = out.placeholder_row - 1
            sh.ws.freeze_panes = f"A{out.placeholder_row}"
        sh.row = out.placeholder_row - 1 + lines.num_rows
        sh.finish(sh.row)
        out.sheets[sh.part] = (title, lines)
    return out


def agent_report(run: RunData, agent_code: str) -> bytes:
    L = labels()
    wb = Workbook(write_only=True)
    bills = run.rows("bills", "agent_code", agent_code)
    net = int(pc.sum(bills.column("net")).as_py() or 0)
    title = L["agent_title"].format(code=agent_code, name=run.agent_name(agent_code))
    _summary(wb, run, title, bills, "airline_prefix", run.airline_name,
             L["total_remittance"] if net >= 0 else L["total_refund"])
    by_airline = partition(run.rows("lines", "agent_code", agent_code), "airline_prefix")
    details = _details(wb, run, [(f"{p} {run.airline_name(p)}"[:31], by_airline[p])
                                 for p in sorted(by_airline)], "airline_prefix")
    return _normalised(wb, run, details)


def airline_report(run: RunData, prefix: str) -> bytes:
    L = labels()
    wb = Workbook(write_only=True)
    bills = run.rows("bills", "airline_prefix", prefix)
    title = L["airline_title"].format(code=prefix, name=run.airline_name(prefix))
    _summary(wb, run, title, bills, "agent_code", run.agent_name, L["total_settlement"])
    details = _details(wb, run, [(L["detail"], run.rows("lines", "airline_prefix", prefix))],
                       "agent_code")
    return _normalised(wb, run, details)


def _normalised(wb: Workbook, run: RunData, details: Details) -> bytes:
    """Save, fill in the detail sheets, then fix every timestamp so the same ledger gives the
    same bytes."""
    when = dt.datetime.fromisoformat(run.manifest["billing_date"])
    wb.properties.creator = "casslink"
    raw = io.BytesIO()
    wb.save(raw)
    stamp = when.strftime("%Y-%m-%dT%H:%M:%SZ")
    out = io.BytesIO()
    with zipfile.ZipFile(raw) as src, zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as dst:
        filled = _fill_details(src, details) if details.sheets else {}
        for info in src.infolist():
            data = filled.get(info.filename) or src.read(info.filename)
            if info.filename == "docProps/core.xml":
                data = re.sub(rb"(<dcterms:(created|modified)[^>]*>)[^<]*(</dcterms:)",
                              rb"\g<1>" + stamp.encode() + rb"\g<3>", data)
            fixed = zipfile.ZipInfo(info.filename, date_time=when.timetuple()[:6])
            fixed.compress_type = zipfile.ZIP_DEFLATED
            dst.writestr(fixed, data, compresslevel=DEFLATE_LEVEL)
    return out.getvalue()


# --- detail rows, rendered column-wise ---------------------------------------------------------

DEFLATE_LEVEL = 1  # detail sheets are large and regular: level 1 is ~3x faster than 6
SHEET_DATA = re.compile(rb"<sheetData>(.*?)</sheetData>|<sheetData/>", re.S)


def _fill_details(src: zipfile.ZipFile, d: Details) -> dict[str, bytes]:
    """Sheet part -> its XML with title block, header and rows. The template's placeholder
    row gives the cell styles; all sheets' rows are rendered in one pass, then split."""
    template = src.read(d.template)
    inner = SHEET_DATA.search(template).group(1)
    found = re.search(rb'<row r="%d"[^>]*>(.*?)</row>' % d.placeholder_row, inner)
    styles = {k.decode(): v.decode() for k, v in re.findall(
        rb'<c r="([A-Z]+)%d" s="(\d+)"' % d.placeholder_row, found.group(1))}
    prefix = inner[:found.start()]
    parts = list(d.sheets)
    tables = [d.sheets[p][1] for p in parts]
    sizes = np.array([t.num_rows for t in tables])
    first_of_sheet = np.repeat(np.cumsum(sizes) - sizes, sizes)
    rnum = d.placeholder_row + np.arange(int(sizes.sum())) - first_of_sheet
    lines = pa.concat_tables(tables)
    rows, offsets = _rows_xml(lines, d.counter_key, d.currency, rnum, styles)
    bounds = np.concatenate(([0], np.cumsum(sizes)))
    out = {}
    for k, part in enumerate(parts):
        title = d.sheets[part][0]
        head = prefix if title == d.template_title else re.sub(
            rb"(<t[^>]*>).*?(</t>)", lambda m, t=title: b'<t xml:space="preserve">'
            + escape(t).encode() + m.group(2), prefix, count=1, flags=re.S)
        body = rows[offsets[bounds[k]]: offsets[bounds[k + 1]]]
        xml = template if part == d.template else src.read(part)
        where = SHEET_DATA.search(xml)
        out[part] = b"".join((xml[:where.start()], b"<sheetData>", head, body,
                              b"</sheetData>", xml[where.end():]))
    return out


def _rows_xml(lines: pa.Table, counter_key: str, currency: str, row_numbers: np.ndarray,
              styles: dict[str, str]) -> tuple[memoryview, np.ndarray]:
    """The ``<row>`` elements of the detail lines and each one's byte offset: every cell is a
    string column built by Arrow kernels, every row one element of their concatenation - no
    Python loop per cell."""
    n = lines.num_rows
    rnum = pa.array(row_numbers).cast(pa.string())
    digits = minor_unit(currency)
    rate = np.asarray(pc.fill_null(lines.column("exchange_rate_e5"), 0), np.int64)
    source = pc.binary_join_element_wise(
        pc.utf8_slice_codeunits(pc.fill_null(lines.column("source_file"), ""), 0, 12),
        lines.column("source_line").cast(pa.string()), ":")
    cells = [
        _text_cell("A", rnum, lines.column(counter_key)),
        _text_cell("B", rnum, pc.binary_join_element_wise(lines.column("airline_prefix"),
                                                          lines.column("awb_serial"), "-")),
        _text_cell("C", rnum, lines.column("record_type")),
        _text_cell("D", rnum, lines.column("correction_number")),
        _text_cell("E", rnum, lines.column("currency")),
        _number_cell("F", rnum, styles["F"], _decimals(rate, 5, mask=rate == 0)),
    ]
    for letter, c in zip("GHIJKLMN", COMPONENTS, strict=True):
        values = np.asarray(pc.fill_null(lines.column(c), 0), np.int64)
        cells.append(_number_cell(letter, rnum, styles[letter], _decimals(values, digits)))
    net = np.asarray(lines.column("net"), np.int64)
    cells.append(_number_cell("O", rnum, styles["O"], _decimals(net, digits)))
    cells.append(_text_cell("P", rnum, source))
    rows = pc.binary_join_element_wise('<row r="', rnum, '">', *cells, "</row>", "",
                                       null_handling="replace", null_replacement="")
    if isinstance(rows, pa.ChunkedArray):
        rows = rows.combine_chunks()
    if not n:
        return memoryview(b""), np.zeros(1, np.int64)
    offsets = np.frombuffer(rows.buffers()[1], np.int32)[rows.offset: rows.offset + n + 1]
    data = memoryview(rows.buffers()[2])
    return data, offsets.astype(np.int64)


def _escaped(values: pa.ChunkedArray | pa.Array) -> pa.Array:
    values = values.cast(pa.string())
    for char, entity in (("&", "&amp;"), ("<", "&lt;"), (">", "&gt;")):
        values = pc.replace_substring(values, char, entity)
    return pc.if_else(pc.equal(values, ""), pa.scalar(None, pa.string()), values)


def _text_cell(letter: str, rnum: pa.Array, values) -> pa.Array:
    """``<c r=.. t="inlineStr">`` per row; null (no cell) where the value is null or empty."""
    return pc.binary_join_element_wise(f'<c r="{letter}', rnum, '" t="inlineStr"><is><t>',
                                       _escaped(values), "</t></is></c>", "")


def _number_cell(letter: str, rnum: pa.Array, style: str, values: pa.Array) -> pa.Array:
    return pc.binary_join_element_wise(f'<c r="{letter}', rnum, f'" s="{style}" t="n"><v>',
                                       values, "</v></c>", "")


def _decimals(minor: np.ndarray, digits: int, mask: np.ndarray | None = None) -> pa.Array:
    """Integers in minor units as exact decimal strings in major units (123456 -> 1234.56)."""
    if digits == 0:
        return pa.array(minor, mask=mask).cast(pa.string())
    whole, frac = np.divmod(np.abs(minor), 10 ** digits)
    sign = pc.if_else(pa.array(minor < 0), "-", "")
    text = pc.binary_join_element_wise(
        sign, pa.array(whole).cast(pa.string()), ".",
        pc.utf8_lpad(pa.array(frac).cast(pa.string()), digits, "0"), "")
    return text if mask is None else pc.if_else(pa.array(mask), pa.scalar(None, pa.string()),
                                                text)
