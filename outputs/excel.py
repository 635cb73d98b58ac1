"""Excel billing reports: the agent's statement (summary per airline + one sheet per airline)
and the airline's statement (summary per agent + detail).

Every sheet is laid out by a table of :mod:`outputs.layouts` (columns: source field, kind,
width, style, label key; the title block; the page setup; the styles): a title block, a
styled header row frozen above the data and repeated on every printed page, an autofilter
and column widths. Amounts are numbers
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
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from functools import cache
from itertools import pairwise
from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from casslink import dispute_marks, i18n, kernels
from casslink.canonical import NET_TERMS
from casslink.identifiers import InvalidComponent
from casslink.money import format_amount, minor_unit
from casslink.ordering import order_by, runs
from casslink.outputs import xlsx
from casslink.outputs.layouts import (
    COUNTERPARTY,
    DETAIL,
    DISPUTE_DETAIL,
    HEADER_HEIGHT,
    HEADER_ROW,
    MONEY_FORMATS,
    PAGE,
    STYLE,
    SUMMARY,
    TAX_BLOCK,
    TITLE_BLOCK,
    TITLE_VALUE_COLUMN,
    TOTAL_UNDER,
    Column,
    detail_columns,
)
from casslink.outputs.source import RunData, chunks, in_order
from casslink.outputs.workers import map_chunks
from casslink.outputs.xlsx import BOLD, HEADER, MONEY, MONEY_BOLD, TITLE
from casslink.storage import Data

CATALOGUE = Path(__file__).parent / "catalogue"
DERIVED = {"awb", "original_net", "source_name", "source_id",
           *(c.source for c in DISPUTE_DETAIL)}  # detail fields made per row
LINE_COLUMNS = ({c.source for c in DETAIL} - DERIVED) | {
    "airline_prefix", "awb_serial", "sign", "input_row", "source_file",
    "settlement_currency"}  # the ledger lines' columns the detail rows are made from
KIND_STYLE = {"money": "money", "rate": "rate"}  # a column's style unless its row names one
CHUNK_LINES = 50_000  # detail rows rendered per pass (bounds the memory of the pass)
MAX_ROWS = 1_048_576  # rows of an Excel sheet


@cache
def labels(lang: str = "en") -> dict[str, str]:
    """Label key -> text in ``lang``: ``catalogue/en.json`` holds the English texts, which
    are the message ids of the ``statements`` catalog that translates them."""
    english = json.loads((CATALOGUE / "en.json").read_text(encoding="utf-8"))
    return {key: i18n.gettext(lang, "statements", text) for key, text in english.items()}


def money_format(currency: str) -> str:
    body = MONEY_FORMATS[minor_unit(currency)]
    return f"{body};[Red]-{body}"


def widths(columns: tuple[Column, ...], headers: list[str]) -> tuple[float, ...]:
    """The columns' layout widths, widened to fit each header's words (:func:`xlsx.fit_width`:
    zh, ja and ko headers are wider than their character count)."""
    return tuple(xlsx.fit_width(c.width, h) for c, h in zip(columns, headers, strict=True))


def style(column: Column) -> int:
    """The column's cell format: its own style, else its kind's."""
    name = column.style if column.style != "plain" else KIND_STYLE.get(column.kind, "plain")
    return STYLE[name]


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


def agent_reports(run: RunData, codes: list[str] | None = None,
                  languages: Mapping[str, str] | None = None) -> dict[str, Data]:
    """Agent code -> its billing statement, for every agent of the run (or ``codes``): bytes,
    or read-only views of the memory the worker processes rendered them in. Labels are in
    each agent's language of ``languages`` (code -> language; English where none)."""
    return dict(_in_languages(run, AGENT, codes, languages))


def airline_reports(run: RunData, codes: list[str] | None = None,
                    languages: Mapping[str, str] | None = None) -> dict[str, Data]:
    """Airline prefix -> its settlement statement, for every airline of the run (or
    ``codes``), in each airline's language of ``languages``."""
    return dict(_in_languages(run, AIRLINE, codes, languages))


def agent_report(run: RunData, agent_code: str) -> bytes:
    return agent_reports(run, [agent_code])[agent_code]


def airline_report(run: RunData, prefix: str) -> bytes:
    return airline_reports(run, [prefix])[prefix]


# --- rendering ---------------------------------------------------------------------------------

def _in_languages(run: RunData, side: Side, codes: list[str] | None,
                  languages: Mapping[str, str] | None) -> Iterator[tuple[str, Data]]:
    """The reports of ``codes`` (None: everyone), rendered once per language they are in;
    all in English: one batch, as always."""
    if not languages:
        yield from _reports(run, side, codes)
        return
    everyone = codes if codes is not None else \
        pc.unique(run.ledger["bills"].column(side.key)).to_pylist()
    groups: dict[str, list[str]] = {}
    for code in everyone:
        groups.setdefault(languages.get(code, i18n.DEFAULT_LANGUAGE), []).append(code)
    if set(groups) <= {i18n.DEFAULT_LANGUAGE}:
        yield from _reports(run, side, codes)
        return
    for lang in sorted(groups):
        yield from _reports(run, side, groups[lang], i18n.check(lang))


def _reports(run: RunData, side: Side, codes: list[str] | None,
             lang: str = i18n.DEFAULT_LANGUAGE) -> Iterator[tuple[str, Data]]:
    bills, lines = run.ledger["bills"], run.ledger_columns("lines", LINE_COLUMNS)
    if codes is not None:
        bills = bills.filter(pc.is_in(bills.column(side.key), pa.array(codes, pa.string())))
        lines = lines.filter(pc.is_in(lines.column(side.key), pa.array(codes, pa.string())))
    bills = in_order(bills, [side.key, side.other])
    lines = in_order(lines, list(LEDGER_ORDER))  # the ledger's own order: no copy
    page = _Page(run, side, lang)
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
    """What every workbook of a run shares: labels, styles, title block, header rows (all
    from the layout tables, :mod:`outputs.layouts`)."""

    def __init__(self, run: RunData, side: Side, lang: str = i18n.DEFAULT_LANGUAGE) -> None:
        L, m = labels(lang), run.manifest
        self.run, self.side, self.L = run, side, L
        self.digits = minor_unit(run.currency)
        self.statics: dict[str, tuple[xlsx.Static, xlsx.Static]] = {}
        self._counterparties: tuple[pa.Array, pa.Array] | None = None
        self.when = dt.date.fromisoformat(m["billing_date"])
        self.stylesheet = xlsx.styles(money_format(run.currency))
        shown = {"operation": run.operation,
                 "period": f"{run.period_id} ({m['period_start']} - {m['period_end']})",
                 "billing_date": m["billing_date"], "remittance_date": m["remittance_date"],
                 "currency": run.currency}
        self.block = b"".join(xlsx.row(i, (xlsx.text(L[key], BOLD),
                                           *(["<c/>"] * (TITLE_VALUE_COLUMN - 2)),
                                           xlsx.text(shown[field])))
                              for i, (key, _, field) in enumerate(TITLE_BLOCK, start=2))
        self.summary_columns = (*COUNTERPARTY[side.kind], *SUMMARY)
        self.summary_head = self._header(self.summary_columns)
        self.detail = detail_columns(bool(run.dispute_marks))
        self.detail_head = self._header(self.detail)  # the same detail rows for both kinds
        self.summary_widths = widths(self.summary_columns, self.headers(self.summary_columns))
        self.detail_widths = widths(self.detail, self.headers(self.detail))
        self.total_column = [c.source for c in self.summary_columns].index(TOTAL_UNDER)
        self.footer = PAGE.footer.replace(labels()["page_footer"], L["page_footer"])

    def counterparties(self) -> tuple[pa.Array, pa.Array]:
        """Every counterparty of the run's bills and its name, looked up once (the airlines'
        summaries name the same agents fifty times over)."""
        if self._counterparties is None:
            codes = pc.unique(self.run.ledger["bills"].column(self.side.other))
            names = [self.side.name(self.run, c, counterparty=True) for c in codes.to_pylist()]
            self._counterparties = codes, pa.array(names, pa.string())
        return self._counterparties

    def headers(self, columns: tuple[Column, ...]) -> list[str]:
        """Each column's label, naming the settlement currency of amounts."""
        return [self.L[c.label_key].format(currency=self.run.currency) for c in columns]

    def _header(self, columns: tuple[Column, ...]) -> xlsx.Static:
        """The header row (:meth:`headers`)."""
        return xlsx.Static(xlsx.row(HEADER_ROW, (
            xlsx.text(h, HEADER) for h in self.headers(columns)), height=HEADER_HEIGHT))

    def _title(self, title: str) -> bytes:
        return xlsx.row(1, [xlsx.text(title, TITLE)]) + self.block

    def _detail_static(self, name: str) -> tuple[xlsx.Static, xlsx.Static]:
        """What a detail sheet named ``name`` starts with, deflated once: its title block and
        the header row (detail sheets repeat the airlines' names)."""
        static = self.statics.get(name)
        if static is None:
            static = self.statics[name] = (xlsx.Static(self._title(name)), self.detail_head)
        return static

    def cells(self, column: Column, table: pa.Table, derived: dict) -> kernels.Ops:
        """The cells of ``column`` for every row of ``table``: its source is a field of
        ``derived`` or a column of ``table``, written as the column's kind says."""
        kind, st = column.kind, style(column)
        value = derived[column.source] if column.source in derived else \
            table.column(column.source)
        if kind == "text":
            return xlsx.text_cells(value)
        if kind == "original":
            return original_cells(*value)
        values, present = value if isinstance(value, tuple) else (_ints(table, column.source),
                                                                  None)
        if kind == "count":
            return xlsx.number_cells(values, 0, st, present)
        if kind == "money":
            return xlsx.number_cells(values, self.digits, st, present)
        if kind == "rate":
            return xlsx.number_cells(values, 5, st, present=values != 0)
        raise ValueError(f"unknown column kind {kind!r}")

    def workbooks(self, owners: list[str], bills: pa.Table, sheets: _Sheets, first: int,
                  detail: _Detail) -> Iterator[tuple[str, bytes]]:
        """The workbooks of ``owners`` (workbooks ``first`` on of ``sheets``), their bills."""
        side, L, run = self.side, self.L, self.run
        summary, bill_runs = self._summary_rows(bills), runs(bills.column(side.key))
        lo, hi = int(sheets.first[first]), int(sheets.first[first + len(owners)])
        bodies = detail.spans(sheets.start[lo:hi], sheets.end[lo:hi])
        sizes = (sheets.end[lo:hi] - sheets.start[lo:hi]).tolist()
        names = sheets.names[lo:hi]
        deflated = xlsx.deflate_sheets(self.detail_widths, HEADER_ROW, [
            (self._detail_static(name), body, HEADER_ROW + size)
            for name, body, size in zip(names, bodies, sizes, strict=True)], self.footer)
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
            footer = xlsx.row(last + 2, [xlsx.text(label, BOLD),
                                         *(["<c/>"] * (self.total_column - 1)), due])
            footer += xlsx.row(last + 3, [xlsx.text(L["sign_note"])])
            footer += self._tax_block(code, last + 5)
            book = [xlsx.Sheet(L["summary"], self.summary_widths,
                               [self._title(title), self.summary_head, summary.span(a, z),
                                footer], HEADER_ROW, last, footer=self.footer)]
            for s in range(int(sheets.first[first + b]) - lo,
                           int(sheets.first[first + b + 1]) - lo):
                book.append(xlsx.Sheet(names[s], self.detail_widths, [], HEADER_ROW,
                                       HEADER_ROW + sizes[s], deflated=deflated[s]))
            yield code, xlsx.package(book, self.stylesheet, self.when)

    def _tax_block(self, code: str, first_row: int) -> bytes:
        """The owner's tax per code and rate (:data:`TAX_BLOCK`) from ``first_row`` on, and
        for an airline whose tax is withheld, the tax withheld and what it is paid; empty
        where the run has no tax."""
        if "_tax" not in self.__dict__:
            self.__dict__["_tax"] = _tax_by_owner(self.run, self.side.key)
        rows, withheld = self.__dict__["_tax"].get(code, ([], 0))
        if not rows:
            return b""
        L, cur = self.L, self.run.currency
        out = [xlsx.row(first_row, [xlsx.text(L["tax_block"], BOLD)]),
               xlsx.row(first_row + 1, [xlsx.text(L[c.label_key], HEADER) for c in TAX_BLOCK])]
        for i, r in enumerate(rows, start=first_row + 2):
            out.append(xlsx.row(i, [
                xlsx.number(format_amount(r[c.source], cur), MONEY) if c.kind == "money" else
                xlsx.number(format_amount(r[c.source], "EUR")) if c.kind == "rate_bp" else
                xlsx.text(str(r[c.source])) for c in TAX_BLOCK]))
        if withheld and self.side is AIRLINE:
            at = first_row + 3 + len(rows)
            net, payable = withheld
            out.append(xlsx.row(at, [xlsx.text(L["tax_withheld"], BOLD),
                                     xlsx.number(format_amount(net - payable, cur), MONEY)]))
            out.append(xlsx.row(at + 1, [xlsx.text(L["payable_after_tax"], BOLD),
                                         xlsx.number(format_amount(payable, cur), MONEY_BOLD)]))
        return b"".join(out)

    def _summary_rows(self, bills: pa.Table) -> xlsx.Rows:
        """One row per bill, its columns as the summary's layout says."""
        other = bills.column(self.side.other)
        codes, names = self.counterparties()
        derived = {"counterparty": other, "counterparty_name": names.take(pc.index_in(other,
                                                                                     codes))}
        cells = [self.cells(c, bills, derived) for c in self.summary_columns]
        return xlsx.rows(_row_numbers(runs(bills.column(self.side.key))), cells)

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
        """One row per ledger line, the same in both kinds of report, its columns as the
        detail layout says."""
        derived = {"awb": pc.binary_join_element_wise(
            lines.column("airline_prefix"), lines.column("awb_serial"), "-"),
            "original_net": self.original_nets(lines), **self.sources(lines)}
        if self.detail is not DETAIL:
            derived.update(self.disputes(lines))
        return xlsx.rows(lines.num_rows, [self.cells(c, lines, derived) for c in self.detail])

    def disputes(self, lines: pa.Table) -> dict[str, object]:
        """Each line's dispute mark (``run.dispute_marks``): id, status, accepted amount."""
        cols = dispute_marks.mark_columns(self.run.dispute_marks, lines.column(
            "airline_prefix"), lines.column("awb_serial"), lines.column("agent_code"))

        def ints(name: str) -> tuple[np.ndarray, np.ndarray]:
            col = cols[name]
            return (np.asarray(pc.fill_null(col, 0), np.int64),
                    np.asarray(pc.is_valid(col), np.bool_))
        return {"dispute_id": ints("dispute_id"), "dispute_status": cols["dispute_status"],
                "dispute_accepted": ints("dispute_accepted")}

    def original_nets(self, lines: pa.Table) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """Each line's net in its record's own currency (signed as the line), that
        currency's decimals, and whether it is known: from the input records the line was
        settled from (``input_row``), else only where the record is in the settlement
        currency (the line's own net)."""
        currency = pc.fill_null(lines.column("currency"), "")
        uniq = pc.unique(currency)
        digits = np.array([_decimals(c, self.digits) for c in uniq.to_pylist()], np.int64)
        digits = digits[np.asarray(pc.index_in(currency, uniq), np.int64)] if len(lines) \
            else np.zeros(0, np.int64)
        nets = self.run.kept("original nets", self._input_nets)
        if "input_row" in lines.column_names and len(nets) and lines.num_rows:
            rows = _ints(lines, "input_row")
            if int(rows.max()) < len(nets):
                sign = np.asarray(lines.column("sign"), np.int64)
                return nets[rows] * sign, digits, np.ones(lines.num_rows, np.bool_)
        same = np.asarray(pc.equal(currency, self.run.currency), np.bool_)
        return _ints(lines, "net"), digits, same

    def _input_nets(self) -> np.ndarray:
        """The agent net of every input record in its own currency (unsigned)."""
        records = self.run.read_records(set(NET_TERMS))
        net = np.zeros(records.num_rows, np.int64)
        for c, sign in NET_TERMS.items():
            net += sign * np.asarray(pc.fill_null(records.column(c), 0), np.int64)
        return net

    def sources(self, lines: pa.Table) -> dict[str, object]:
        """Each line's input file by its original name and registry id (from the run's
        manifest: one lookup per file, not per line); a file the manifest does not name
        shows the first 12 characters of its sha256."""
        files = {i.get("file_sha256"): (i.get("name"), i.get("file_id"))
                 for i in self.run.manifest.get("inputs", ())}
        source = pc.fill_null(lines.column("source_file"), "")
        uniq = pc.unique(source)
        found = [files.get(f, (None, None)) for f in uniq.to_pylist()]
        names = pa.array([n if n else f[:12] for f, (n, _) in
                          zip(uniq.to_pylist(), found, strict=True)], pa.string())
        ids = np.array([i if i is not None else 0 for _, i in found], np.int64)
        at = np.asarray(pc.index_in(source, uniq), np.int64) if lines.num_rows else \
            np.zeros(0, np.int64)
        known = np.array([i is not None for _, i in found], np.bool_)
        return {"source_name": names.take(pa.array(at)), "source_id": (ids[at], known[at])}


def original_cells(minor: np.ndarray, digits: np.ndarray, present: np.ndarray
                   ) -> kernels.Ops:
    """Amounts in minor units of each row's own currency (``digits`` decimals each), in that
    currency's number format; an empty cell where not ``present``."""
    out: kernels.Ops = kernels.lit("<c/>")
    for d in np.unique(digits[present]).tolist():
        cell = xlsx.number_cells(minor, d, STYLE[f"amount{d}"])
        out = kernels.when(present & (digits == d), cell, out)
    return out


def _decimals(currency: str, default: int) -> int:
    try:
        return minor_unit(currency)
    except InvalidComponent:
        return default


def _tax_by_owner(run: RunData, key: str) -> dict[str, tuple[list[dict], tuple[int, int]]]:
    """Per statement owner: its tax rows (code, name, side, rate, base, tax) and, where tax
    is withheld from an airline, (net, payable)."""
    tax = run.ledger["tax"]
    out: dict[str, tuple[list[dict], tuple[int, int]]] = {}
    if not tax.num_rows:
        return out
    g = tax.group_by([key, "code", "name", "side", "rate_bp"], use_threads=False).aggregate(
        [("base", "sum"), ("tax", "sum")])
    held = {}
    if key == "airline_prefix":
        airlines = run.ledger["airlines"]
        if "payable" in airlines.column_names:
            held = {a[key]: (a["net"], a["payable"]) for a in airlines.to_pylist()
                    if a["tax_withheld"]}
    for r in sorted(g.to_pylist(), key=lambda r: (r[key], r["code"], r["rate_bp"])):
        rows, _ = out.setdefault(r[key], ([], held.get(r[key], 0)))
        rows.append({"code": r["code"], "name": r["name"], "side": r["side"],
                     "rate_bp": r["rate_bp"], "base": r["base_sum"], "tax": r["tax_sum"]})
    return out


def _ints(table: pa.Table, column: str) -> np.ndarray:
    """An integer column as int64, nulls 0 (a view of its buffer where it can be)."""
    col = table.column(column)
    chunks = [kernels.int_values(c)[0] for c in col.chunks]
    return chunks[0] if len(chunks) == 1 else np.concatenate(chunks) if chunks else \
        np.zeros(0, np.int64)


def _row_numbers(runs: np.ndarray) -> np.ndarray:
    """Sheet row of each data row: the first row of every run is the row after the header."""
    return HEADER_ROW + 1 + np.arange(runs[-1]) - np.repeat(runs[:-1], np.diff(runs))
