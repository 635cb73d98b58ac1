"""Excel billing reports: the agent's statement (summary per airline + one sheet per airline)
and the airline's statement (summary per agent + detail).

Every sheet has a title block (operation, period, billing and remittance dates, currency), a
styled header row frozen above the data, an autofilter and column widths. Amounts are numbers
in major units, written as exact decimal strings from the ledger's minor units, with the
settlement currency's decimals as the number format; labels come from
``outputs/catalogue/<lang>.json``. All reports of one kind are rendered together: each
table's rows for many workbooks in one column-wise pass (:mod:`outputs.xlsx`), then split.
Timestamps are the billing date, so the same ledger always gives the same bytes.
"""

from __future__ import annotations

import datetime as dt
import json
from collections.abc import Iterator
from dataclasses import dataclass
from functools import cache
from itertools import pairwise
from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from casslink import kernels
from casslink.money import format_amount, minor_unit
from casslink.ordering import runs
from outputs import xlsx
from outputs.source import RunData, chunks, in_order
from outputs.workers import map_chunks
from outputs.xlsx import BOLD, HEADER, MONEY, MONEY_BOLD, RATE, TITLE

CATALOGUE = Path(__file__).parent / "catalogue"
COMPONENTS = ("weight_pp", "valuation_pp", "oc_carrier_pp", "oc_agent_cc", "commission",
              "discount", "tax_airline", "tax_agent")
SUMMARY_WIDTHS = (22, 30, 8, 8, 8, *([16] * len(COMPONENTS)), 16, 16, 16)
DETAIL_WIDTHS = (22, 14, 8, 12, 9, 12, *([16] * len(COMPONENTS)), 16, 26)
LINE_COLUMNS = {"agent_code", "airline_prefix", "awb_serial", "record_type", "correction_number",
                "currency", "exchange_rate_e5", *COMPONENTS, "net", "source_file",
                "source_line"}  # the ledger lines' columns a detail row shows
HEADER_ROW = 8  # rows 1-6 title block, 7 empty, 8 header, data from 9
CHUNK_LINES = 50_000  # detail rows rendered per pass (bounds the memory of the pass)
MAX_ROWS = 1_048_576  # rows of an Excel sheet


@cache
def labels(lang: str = "en") -> dict[str, str]:
    return json.loads((CATALOGUE / f"{lang}.json").read_text(encoding="utf-8"))


def money_format(currency: str) -> str:
    d = minor_unit(currency)
    body = "#,##0" + ("." + "0" * d if d else "")
    return f"{body};[Red]-{body}"


@dataclass(frozen=True)
class Side:
    """Whose reports: the workbook's owner column and the counterparty column."""

    kind: str  # agent | airline
    key: str
    other: str

    def name(self, run: RunData, code: str, counterparty: bool = False) -> str:
        airline = (self.kind == "airline") != counterparty
        return run.airline_name(code) if airline else run.agent_name(code)


AGENT = Side("agent", "agent_code", "airline_prefix")
AIRLINE = Side("airline", "airline_prefix", "agent_code")


def agent_reports(run: RunData, codes: list[str] | None = None) -> dict[str, bytes]:
    """Agent code -> its billing statement, for every agent of the run (or ``codes``)."""
    return dict(_reports(run, AGENT, codes))


def airline_reports(run: RunData, codes: list[str] | None = None) -> dict[str, bytes]:
    """Airline prefix -> its settlement statement, for every airline of the run (or
    ``codes``)."""
    return dict(_reports(run, AIRLINE, codes))


def agent_report(run: RunData, agent_code: str) -> bytes:
    return agent_reports(run, [agent_code])[agent_code]


def airline_report(run: RunData, prefix: str) -> bytes:
    return airline_reports(run, [prefix])[prefix]


# --- rendering ---------------------------------------------------------------------------------

def _reports(run: RunData, side: Side, codes: list[str] | None) -> Iterator[tuple[str, bytes]]:
    bills, lines = run.ledger["bills"], run.ledger_columns("lines", LINE_COLUMNS)
    if codes is not None:
        bills = bills.filter(pc.is_in(bills.column(side.key), pa.array(codes, pa.string())))
        lines = lines.filter(pc.is_in(lines.column(side.key), pa.array(codes, pa.string())))
    bills = in_order(bills, [side.key, side.other])
    lines = in_order(lines, [side.key] if side is AIRLINE else [side.key, side.other])
    book_bills = runs(bills.column(side.key))
    book_lines = runs(lines.column(side.key))
    owners = [bills.column(side.key)[int(i)].as_py() for i in book_bills[:-1]]
    if owners != [lines.column(side.key)[int(i)].as_py() for i in book_lines[:-1]]:
        raise ValueError("the ledger's bills and lines disagree on the participants")
    page = _Page(run, side)

    def render(chunk: tuple[int, int]) -> list[tuple[str, bytes]]:
        a, z = chunk
        return list(page.workbooks(
            owners[a:z], bills.slice(int(book_bills[a]), int(book_bills[z] - book_bills[a])),
            lines.slice(int(book_lines[a]), int(book_lines[z] - book_lines[a]))))

    # the agents' many small workbooks are mostly Python: worker processes; the airlines' few
    # large ones mostly deflate, which releases the GIL: threads
    for done in map_chunks(render, chunks(book_lines, CHUNK_LINES), processes=side is AGENT):
        yield from done


class _Page:
    """What every workbook of a run shares: labels, styles, title block, header rows."""

    def __init__(self, run: RunData, side: Side) -> None:
        L, m = labels(), run.manifest
        self.run, self.side, self.L = run, side, L
        self.digits = minor_unit(run.currency)
        self.titles: dict[str, xlsx.Static] = {}
        self.when = dt.date.fromisoformat(m["billing_date"])
        self.stylesheet = xlsx.styles(money_format(run.currency))
        info = ((L["operation"], run.operation),
                (L["period"], f"{run.period_id} ({m['period_start']} - {m['period_end']})"),
                (L["billing_date"], m["billing_date"]),
                (L["remittance_date"], m["remittance_date"]),
                (L["currency"], run.currency))
        self.block = b"".join(xlsx.row(i, (xlsx.text(k, BOLD), xlsx.text(v)))
                              for i, (k, v) in enumerate(info, start=2))
        counter = ("col_airline", "col_airline_name") if side is AGENT else \
            ("col_agent", "col_agent_name")
        self.summary_head = self._header(
            [L[counter[0]], L[counter[1]], L["col_awbs"], L["col_cca"], L["col_dcm"],
             *(L[f"col_{c}"] for c in COMPONENTS), L["col_net_billing"],
             L["col_corrections"], L["col_net"]])
        self.detail_head = self._header(
            [L[counter[0]], L["col_awb"], L["col_type"], L["col_number"], L["col_currency"],
             L["col_rate"], *(L[f"col_{c}"] for c in COMPONENTS), L["col_net"],
             L["col_source"]])

    @staticmethod
    def _header(names: list[str]) -> xlsx.Static:
        return xlsx.Static(xlsx.row(HEADER_ROW, (xlsx.text(n, HEADER) for n in names)))

    def _title(self, title: str) -> bytes:
        return xlsx.row(1, [xlsx.text(title, TITLE)]) + self.block

    def _detail_title(self, name: str) -> xlsx.Static:
        """A detail sheet's title block, deflated once: detail sheets repeat the airlines'
        names."""
        if name not in self.titles:
            self.titles[name] = xlsx.Static(self._title(name))
        return self.titles[name]

    def money(self, minor: np.ndarray, style: int = MONEY) -> kernels.Ops:
        return xlsx.number_cells(minor, self.digits, style)

    def workbooks(self, owners: list[str], bills: pa.Table, lines: pa.Table
                  ) -> Iterator[tuple[str, bytes]]:
        side, L, run = self.side, self.L, self.run
        summary, bill_runs = self._summary_rows(bills), runs(bills.column(side.key))
        sheet_runs = self._sheet_runs(lines)
        detail = self._detail_rows(lines, sheet_runs)
        first_sheet = np.searchsorted(sheet_runs, runs(lines.column(side.key)))
        sheet_names = self._sheet_names(lines, sheet_runs)
        sizes = np.diff(sheet_runs).tolist()
        deflated = xlsx.deflate_sheets(DETAIL_WIDTHS, HEADER_ROW, [
            (self._detail_title(name), self.detail_head) for name in sheet_names],
            detail, sheet_runs)  # every detail sheet of these workbooks, one pass
        nets = np.add.reduceat(np.asarray(bills.column("net"), np.int64), bill_runs[:-1]) \
            if bills.num_rows else np.zeros(0, np.int64)
        for b, code in enumerate(owners):
            title = L[f"{side.kind}_title"].format(code=code, name=side.name(run, code))
            a, z = bill_runs[b], bill_runs[b + 1]
            last = HEADER_ROW + int(z - a)
            total = int(nets[b])
            label = L["total_settlement"] if side is AIRLINE else \
                L["total_remittance"] if total >= 0 else L["total_refund"]
            due = xlsx.number(format_amount(total, run.currency), MONEY_BOLD)
            footer = xlsx.row(last + 2, [xlsx.text(label, BOLD), *(["<c/>"] * 14), due])
            footer += xlsx.row(last + 3, [xlsx.text(L["sign_note"])])
            sheets = [xlsx.Sheet(L["summary"], SUMMARY_WIDTHS,
                                 [self._title(title), self.summary_head, summary.span(a, z),
                                  footer], HEADER_ROW, last)]
            for s in range(first_sheet[b], first_sheet[b + 1]):
                sheets.append(xlsx.Sheet(sheet_names[s], DETAIL_WIDTHS, [], HEADER_ROW,
                                         HEADER_ROW + sizes[s], deflated=deflated[s]))
            yield code, xlsx.package(sheets, self.stylesheet, self.when)

    def _summary_rows(self, bills: pa.Table) -> xlsx.Rows:
        """One row per bill: counterparty, its name, counts, components, net."""
        side = self.side
        other = bills.column(side.other)
        uniq = pc.unique(other)
        names = pa.array([side.name(self.run, c, counterparty=True) for c in uniq.to_pylist()],
                         pa.string())
        cells = [xlsx.text_cells(other), xlsx.text_cells(names.take(pc.index_in(other, uniq))),
                 *(xlsx.number_cells(_ints(bills, c)) for c in
                   ("awb_count", "cca_records", "dcm_records")),
                 *(self.money(_ints(bills, c)) for c in
                   (*COMPONENTS, "net_billing", "corrections_net")),
                 self.money(_ints(bills, "net"), MONEY_BOLD)]
        return xlsx.rows(_row_numbers(runs(bills.column(side.key))), cells)

    def _sheet_runs(self, lines: pa.Table) -> np.ndarray:
        """Where each detail sheet starts: one per agent and airline (agent side), one per
        airline; a sheet that would pass Excel's last row continues on the next sheet."""
        keys = [self.side.key, self.side.other] if self.side is AGENT else [self.side.key]
        bounds = runs(*(lines.column(k) for k in keys))
        limit = MAX_ROWS - HEADER_ROW
        if not (np.diff(bounds) > limit).any():
            return bounds
        cuts = [np.arange(a, b, limit) for a, b in pairwise(bounds)]
        return np.concatenate([*cuts, bounds[-1:]])

    def _sheet_names(self, lines: pa.Table, sheet_runs: np.ndarray) -> list[str]:
        """A detail sheet is named after its airline (agent side) or "Detail"; the sheets
        that continue one are numbered "(2)", "(3)", ..."""
        starts = pa.array(sheet_runs[:-1])
        if self.side is AGENT:  # each airline's name made once, for every agent's sheet
            other = lines.column(self.side.other).take(starts)
            uniq = pc.unique(other)
            named = pa.array([xlsx.sheet_name(f"{p} {self.run.airline_name(p)}")
                              for p in uniq.to_pylist()], pa.string())
            names = named.take(pc.index_in(other, uniq)).to_pylist()
        else:
            names = [xlsx.sheet_name(self.L["detail"])] * len(starts)
        owners = lines.column(self.side.key).take(starts)
        if len(runs(owners, pa.array(names, pa.string()))) == len(names) + 1:
            return names  # no sheet continues another (the usual case)
        out, seen = [], {}
        for owner, name in zip(owners.to_pylist(), names, strict=True):
            n = seen[(owner, name)] = seen.get((owner, name), 0) + 1
            out.append(name if n == 1 else name[:25] + f" ({n})")
        return out

    def _detail_rows(self, lines: pa.Table, sheet_runs: np.ndarray) -> xlsx.Rows:
        """One row per ledger line: counterparty, AWB, record, correction number, currency,
        rate, components, net, source file and line."""
        side = self.side
        rate = _ints(lines, "exchange_rate_e5")
        source = pc.binary_join_element_wise(
            pc.utf8_slice_codeunits(pc.fill_null(lines.column("source_file"), ""), 0, 12),
            lines.column("source_line").cast(pa.string()), ":")
        cells = [xlsx.text_cells(lines.column(side.other)),
                 xlsx.text_cells(pc.binary_join_element_wise(
                     lines.column("airline_prefix"), lines.column("awb_serial"), "-")),
                 xlsx.text_cells(lines.column("record_type")),
                 xlsx.text_cells(lines.column("correction_number")),
                 xlsx.text_cells(lines.column("currency")),
                 xlsx.number_cells(rate, 5, RATE, present=rate != 0),
                 *(self.money(_ints(lines, c)) for c in COMPONENTS),
                 self.money(_ints(lines, "net"), MONEY_BOLD),
                 xlsx.text_cells(source)]
        numbers = _row_numbers(sheet_runs)
        last = np.zeros(len(numbers), np.bool_)
        last[sheet_runs[1:] - 1] = True  # each sheet's last row ends the sheet
        return xlsx.rows(numbers, cells, xlsx.sheet_tails(last, numbers, len(DETAIL_WIDTHS),
                                                          HEADER_ROW))


def _ints(table: pa.Table, column: str) -> np.ndarray:
    return np.asarray(pc.fill_null(table.column(column), 0), np.int64)


def _row_numbers(runs: np.ndarray) -> np.ndarray:
    """Sheet row of each data row: the first row of every run is the row after the header."""
    return HEADER_ROW + 1 + np.arange(runs[-1]) - np.repeat(runs[:-1], np.diff(runs))
