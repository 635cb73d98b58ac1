"""Excel billing reports: the agent's statement (summary per airline + one sheet per airline)
and the airline's statement (summary per agent + detail).

Every sheet has a title block (operation, period, billing and remittance dates, currency), a
styled header row frozen above the data, an autofilter and column widths. Amounts are numbers
in major units, written as exact decimal strings from the ledger's minor units, with the
settlement currency's decimals as the number format; labels come from
``outputs/catalogue/<lang>.json``. All reports of one kind are rendered together: each
table's rows for many workbooks in one column-wise pass (:mod:`outputs.xlsx`), then split.
The detail rows are the same in both kinds (agent, AWB, ...: a ledger line each) and are
rendered once for both: an airline's detail and an agent's sheet of one airline are runs of
the ledger's lines. Timestamps are the billing date, so the same ledger always gives the
same bytes.
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
from casslink.ordering import order_by, runs
from casslink.outputs import xlsx
from casslink.outputs.source import RunData, chunks, in_order
from casslink.outputs.workers import map_chunks
from casslink.outputs.xlsx import BOLD, HEADER, MONEY, MONEY_BOLD, RATE, TITLE
from casslink.storage import Data

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


def agent_reports(run: RunData, codes: list[str] | None = None) -> dict[str, Data]:
    """Agent code -> its billing statement, for every agent of the run (or ``codes``): bytes,
    or read-only views of the memory the worker processes rendered them in."""
    return dict(_reports(run, AGENT, codes))


def airline_reports(run: RunData, codes: list[str] | None = None) -> dict[str, Data]:
    """Airline prefix -> its settlement statement, for every airline of the run (or
    ``codes``)."""
    return dict(_reports(run, AIRLINE, codes))


def agent_report(run: RunData, agent_code: str) -> bytes:
    return agent_reports(run, [agent_code])[agent_code]


def airline_report(run: RunData, prefix: str) -> bytes:
    return airline_reports(run, [prefix])[prefix]


# --- rendering ---------------------------------------------------------------------------------

def _reports(run: RunData, side: Side, codes: list[str] | None) -> Iterator[tuple[str, Data]]:
    bills, lines = run.ledger["bills"], run.ledger_columns("lines", LINE_COLUMNS)
    if codes is not None:
        bills = bills.filter(pc.is_in(bills.column(side.key), pa.array(codes, pa.string())))
        lines = lines.filter(pc.is_in(lines.column(side.key), pa.array(codes, pa.string())))
    bills = in_order(bills, [side.key, side.other])
    lines = in_order(lines, list(LEDGER_ORDER))  # the ledger's own order: no copy
    page = _Page(run, side)
    detail = _detail(run, page, lines, shared=codes is None)
    sheets = page.detail_sheets(lines)
    book_bills = runs(bills.column(side.key))
    owners = bills.column(side.key).take(pa.array(book_bills[:-1])).to_pylist()
    if owners != sheets.owners:
        raise ValueError("the ledger's bills and lines disagree on the participants")

    def render(chunk: tuple[int, int]) -> list[tuple[str, bytes]]:
        a, z = chunk
        return list(page.workbooks(
            owners[a:z], bills.slice(int(book_bills[a]), int(book_bills[z] - book_bills[a])),
            sheets, a, detail))

    # the agents' many small workbooks are mostly Python: worker processes; the airlines' few
    # large ones mostly deflate, which releases the GIL: threads
    for done in map_chunks(render, chunks(sheets.owner_lines(), CHUNK_LINES),
                           processes=side is AGENT):
        yield from done


LEDGER_ORDER = ("airline_prefix", "agent_code")  # the ledger lines' order (settlement.ledger)


@dataclass
class _Detail:
    """Every ledger line's detail row, rendered once for both kinds of report: the ledger
    is in airline, agent order, so an airline's detail sheet and an agent's sheet of one
    airline are each a run of consecutive rows. Rows carry no row number (optional in
    ECMA-376: a row follows the one before), in pieces of whole airlines."""

    starts: np.ndarray  # the first line of each piece, and the end
    rows: list[xlsx.Rows]

    def spans(self, starts: np.ndarray, ends: np.ndarray) -> list[memoryview]:
        """Rows of lines ``starts[i]:ends[i]`` (never across two airlines), for each i."""
        piece = np.searchsorted(self.starts, starts, "right") - 1
        lo, hi = np.empty(len(starts), np.int64), np.empty(len(starts), np.int64)
        for k in np.unique(piece).tolist():  # byte offsets within each piece, at once
            mine = piece == k
            base, offsets = int(self.starts[k]), self.rows[k].offsets
            lo[mine], hi[mine] = offsets[starts[mine] - base], offsets[ends[mine] - base]
        data = [r.data for r in self.rows]
        return [data[k][a:z] for k, a, z in zip(piece.tolist(), lo.tolist(), hi.tolist(),
                                                strict=True)]


def _detail(run: RunData, page: _Page, lines: pa.Table, shared: bool) -> _Detail:
    """The detail rows of ``lines`` (in the ledger's order), rendered in pieces of whole
    airlines side by side; kept in the run (``shared``: every line) for the other kind."""
    def render() -> _Detail:
        bounds = runs(lines.column("airline_prefix"))
        pieces = [(int(bounds[a]), int(bounds[z])) for a, z in chunks(bounds, CHUNK_LINES)]
        rows = list(map_chunks(lambda p: page.detail_rows(lines.slice(p[0], p[1] - p[0])),
                               pieces))
        return _Detail(np.array([a for a, _ in pieces] + [lines.num_rows], np.int64), rows)

    return run.kept("excel detail rows", render) if shared else render()


@dataclass
class _Sheets:
    """The detail sheets of a batch of workbooks in workbook order: each one's lines
    (``start:end`` of the ledger-ordered lines) and name; ``first[b]`` is workbook b's first
    sheet (and ``first[-1]`` the end)."""

    owners: list[str]
    first: np.ndarray
    start: np.ndarray
    end: np.ndarray
    names: list[str]

    def owner_lines(self) -> np.ndarray:
        """Where each workbook's lines start, counted in workbook order, and the end."""
        sizes = np.add.reduceat(self.end - self.start, self.first[:-1]) if len(self.owners) \
            else np.zeros(0, np.int64)
        return np.concatenate(([0], np.cumsum(sizes))).astype(np.int64)


class _Page:
    """What every workbook of a run shares: labels, styles, title block, header rows."""

    def __init__(self, run: RunData, side: Side) -> None:
        L, m = labels(), run.manifest
        self.run, self.side, self.L = run, side, L
        self.digits = minor_unit(run.currency)
        self.statics: dict[str, tuple[xlsx.Static, xlsx.Static]] = {}
        self._counterparties: tuple[pa.Array, pa.Array] | None = None
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
        self.detail_head = self._header(  # the same detail rows for both kinds
            [L["col_agent"], L["col_awb"], L["col_type"], L["col_number"], L["col_currency"],
             L["col_rate"], *(L[f"col_{c}"] for c in COMPONENTS), L["col_net"],
             L["col_source"]])

    def counterparties(self) -> tuple[pa.Array, pa.Array]:
        """Every counterparty of the run's bills and its name, looked up once (the airlines'
        summaries name the same agents fifty times over)."""
        if self._counterparties is None:
            codes = pc.unique(self.run.ledger["bills"].column(self.side.other))
            names = [self.side.name(self.run, c, counterparty=True) for c in codes.to_pylist()]
            self._counterparties = codes, pa.array(names, pa.string())
        return self._counterparties

    @staticmethod
    def _header(names: list[str]) -> xlsx.Static:
        return xlsx.Static(xlsx.row(HEADER_ROW, (xlsx.text(n, HEADER) for n in names)))

    def _title(self, title: str) -> bytes:
        return xlsx.row(1, [xlsx.text(title, TITLE)]) + self.block

    def _detail_static(self, name: str) -> tuple[xlsx.Static, xlsx.Static]:
        """What a detail sheet named ``name`` starts with, deflated once: its title block and
        the header row (detail sheets repeat the airlines' names)."""
        static = self.statics.get(name)
        if static is None:
            static = self.statics[name] = (xlsx.Static(self._title(name)), self.detail_head)
        return static

    def money(self, minor: np.ndarray, style: int = MONEY) -> kernels.Ops:
        return xlsx.number_cells(minor, self.digits, style)

    def workbooks(self, owners: list[str], bills: pa.Table, sheets: _Sheets, first: int,
                  detail: _Detail) -> Iterator[tuple[str, bytes]]:
        """The workbooks of ``owners`` (workbooks ``first`` on of ``sheets``), their bills."""
        side, L, run = self.side, self.L, self.run
        summary, bill_runs = self._summary_rows(bills), runs(bills.column(side.key))
        lo, hi = int(sheets.first[first]), int(sheets.first[first + len(owners)])
        bodies = detail.spans(sheets.start[lo:hi], sheets.end[lo:hi])
        sizes = (sheets.end[lo:hi] - sheets.start[lo:hi]).tolist()
        names = sheets.names[lo:hi]
        deflated = xlsx.deflate_sheets(DETAIL_WIDTHS, HEADER_ROW, [
            (self._detail_static(name), body, HEADER_ROW + size)
            for name, body, size in zip(names, bodies, sizes, strict=True)])
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
            book = [xlsx.Sheet(L["summary"], SUMMARY_WIDTHS,
                               [self._title(title), self.summary_head, summary.span(a, z),
                                footer], HEADER_ROW, last)]
            for s in range(int(sheets.first[first + b]) - lo,
                           int(sheets.first[first + b + 1]) - lo):
                book.append(xlsx.Sheet(names[s], DETAIL_WIDTHS, [], HEADER_ROW,
                                       HEADER_ROW + sizes[s], deflated=deflated[s]))
            yield code, xlsx.package(book, self.stylesheet, self.when)

    def _summary_rows(self, bills: pa.Table) -> xlsx.Rows:
        """One row per bill: counterparty, its name, counts, components, net."""
        side = self.side
        other = bills.column(side.other)
        codes, names = self.counterparties()
        cells = [xlsx.text_cells(other), xlsx.text_cells(names.take(pc.index_in(other, codes))),
                 *(xlsx.number_cells(_ints(bills, c)) for c in
                   ("awb_count", "cca_records", "dcm_records")),
                 *(self.money(_ints(bills, c)) for c in
                   (*COMPONENTS, "net_billing", "corrections_net")),
                 self.money(_ints(bills, "net"), MONEY_BOLD)]
        return xlsx.rows(_row_numbers(runs(bills.column(side.key))), cells)

    def detail_sheets(self, lines: pa.Table) -> _Sheets:
        """The detail sheets of the workbooks of ``lines`` (in the ledger's order): one per
        airline (airline side) or per agent and airline, named after the airline (agent
        side: in the agent's workbook by airline); a sheet that would pass Excel's last row
        continues on the next, numbered "(2)", "(3)", ..."""
        side = self.side
        keys = ["airline_prefix"] if side is AIRLINE else list(LEDGER_ORDER)
        bounds = runs(*(lines.column(k) for k in keys))
        starts, ends = bounds[:-1], bounds[1:]
        limit = MAX_ROWS - HEADER_ROW
        if (ends - starts > limit).any():
            starts = np.concatenate([np.arange(a, b, limit) for a, b in pairwise(bounds)])
            ends = np.minimum(starts + limit, bounds[np.searchsorted(bounds, starts, "right")])
        at = pa.array(starts)
        owner, other = lines.column(side.key).take(at), lines.column(side.other).take(at)
        if side is AGENT:  # workbook order: agent, then airline (continuations in turn)
            order = order_by(pa.table({"o": owner, "p": other}), ["o", "p"])
            starts, ends = starts[order], ends[order]
            owner, other = owner.take(pa.array(order)), other.take(pa.array(order))
            uniq = pc.unique(other)  # each airline's name made once, for every agent
            named = pa.array([xlsx.sheet_name(f"{p} {self.run.airline_name(p)}")
                              for p in uniq.to_pylist()], pa.string())
            names = named.take(pc.index_in(other, uniq)).to_pylist()
        else:
            names = [xlsx.sheet_name(self.L["detail"])] * len(starts)
        books = runs(owner)
        codes = owner.take(pa.array(books[:-1])).to_pylist()
        if len(runs(owner, pa.array(names, pa.string()))) != len(names) + 1:
            out, seen = [], {}  # some sheet continues another
            for code, name in zip(owner.to_pylist(), names, strict=True):
                n = seen[(code, name)] = seen.get((code, name), 0) + 1
                out.append(name if n == 1 else name[:25] + f" ({n})")
            names = out
        return _Sheets(codes, books, np.asarray(starts, np.int64), np.asarray(ends, np.int64),
                       names)

    def detail_rows(self, lines: pa.Table) -> xlsx.Rows:
        """One row per ledger line, the same in both kinds of report: agent, AWB (the
        airline's prefix and the serial), record, correction number, currency, rate,
        components, net, source file and line."""
        rate = _ints(lines, "exchange_rate_e5")
        source = pc.binary_join_element_wise(
            pc.utf8_slice_codeunits(pc.fill_null(lines.column("source_file"), ""), 0, 12),
            lines.column("source_line").cast(pa.string()), ":")
        cells = [xlsx.text_cells(lines.column("agent_code")),
                 xlsx.text_cells(pc.binary_join_element_wise(
                     lines.column("airline_prefix"), lines.column("awb_serial"), "-")),
                 xlsx.text_cells(lines.column("record_type")),
                 xlsx.text_cells(lines.column("correction_number")),
                 xlsx.text_cells(lines.column("currency")),
                 xlsx.number_cells(rate, 5, RATE, present=rate != 0),
                 *(self.money(_ints(lines, c)) for c in COMPONENTS),
                 self.money(_ints(lines, "net"), MONEY_BOLD),
                 xlsx.text_cells(source)]
        return xlsx.rows(lines.num_rows, cells)


def _ints(table: pa.Table, column: str) -> np.ndarray:
    """An integer column as int64, nulls 0 (a view of its buffer where it can be)."""
    col = table.column(column)
    chunks = [kernels.int_values(c)[0] for c in col.chunks]
    return chunks[0] if len(chunks) == 1 else np.concatenate(chunks) if chunks else \
        np.zeros(0, np.int64)


def _row_numbers(runs: np.ndarray) -> np.ndarray:
    """Sheet row of each data row: the first row of every run is the row after the header."""
    return HEADER_ROW + 1 + np.arange(runs[-1]) - np.repeat(runs[:-1], np.diff(runs))
