"""A small SpreadsheetML (.xlsx) writer for large, regular reports.

Rows are rendered by a C kernel from per-column cell programs (one pass for many sheets),
sheets are assembled from byte pieces, and the package is zipped with fixed timestamps, so
the same input gives the same bytes. Cells carry no ``r`` reference, nor need rows (optional
in ECMA-376: cells follow each other, ``<c/>`` is an empty cell; a row without one follows
the row before), which keeps the XML small and lets the same rows serve several sheets.
Deflate and crc32 are ISA-L's (python-isal, several times faster than zlib's at the same
ratio).
"""

from __future__ import annotations

import datetime as dt
import unicodedata
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, replace
from functools import lru_cache
from xml.sax.saxutils import escape, quoteattr

import numpy as np
import pyarrow as pa
from isal import isal_zlib

from casslink import kernels
from casslink.outputs.layouts import MONEY_FORMAT, PAGE, STYLE, STYLES, Page, Style

DEFLATE_LEVEL = 1  # ISA-L levels 0-3; 1 compresses these sheets ~6x at ~500 MB/s
SMALL_LEVEL, SMALL_PART = 0, 1 << 16  # parts below 64 KiB (an agent's sheet of one
# airline: ~1-10 KiB): level 1 costs ~8 us a call whatever the size (its Huffman tables are
# built per call), level 0 ~2.5 us; the agents' workbooks take 0.8 CPU-s less, 12% more bytes
JOIN_BELOW = 1 << 22  # a part's pieces are joined before deflating unless it is larger
MAIN = "http://schemas.openxmlformats.org/spreadsheetml/2006/main"
REL = "http://schemas.openxmlformats.org/officeDocument/2006/relationships"
PKG_REL = "http://schemas.openxmlformats.org/package/2006/relationships"
CT = "application/vnd.openxmlformats-officedocument."
XML_DECL = b'<?xml version="1.0" encoding="UTF-8" standalone="yes"?>\n'
SELECTED = ' tabSelected="1"'
FORBIDDEN_IN_NAMES = str.maketrans({c: "-" for c in "[]:*?/\\"})

# cell styles (indices into cellXfs of :func:`styles`, made from the style table)
PLAIN, TITLE, BOLD, HEADER, MONEY, MONEY_BOLD, RATE = (
    STYLE[n] for n in ("plain", "title", "bold", "header", "money", "money_bold", "rate"))
FONT = '<font>{}<sz val="{}"/><name val="Calibri"/><family val="2"/></font>'
FILL = ('<fill><patternFill patternType="solid"><fgColor rgb="{}"/><bgColor indexed="64"/>'
        "</patternFill></fill>")
BUILT_IN_FILLS = ('<fill><patternFill patternType="none"/></fill>'
                  '<fill><patternFill patternType="gray125"/></fill>')  # fills 0 and 1
FIRST_CUSTOM_FORMAT = 164  # numFmtIds below are Excel's built-in formats


def styles(money_format: str, table: Sequence[Style] = STYLES) -> bytes:
    """The stylesheet of the style ``table`` (cellXfs in its order); a style whose number
    format is ``money`` takes ``money_format``."""
    fonts: dict[tuple, int] = {}
    fills: dict[str, int] = {}
    formats: dict[str, int] = {}
    xfs = []
    for st in table:
        font = fonts.setdefault((st.bold, st.size), len(fonts))
        fill = 0 if st.fill is None else fills.setdefault(st.fill, len(fills) + 2)
        code = money_format if st.number_format == MONEY_FORMAT else st.number_format
        fmt = 0 if code is None else formats.setdefault(code, FIRST_CUSTOM_FORMAT + len(formats))
        applied = "".join(f' apply{k}="1"' for k, on in (
            ("NumberFormat", fmt), ("Font", font), ("Fill", fill), ("Alignment", st.wrap)) if on)
        xf = f'<xf numFmtId="{fmt}" fontId="{font}" fillId="{fill}" borderId="0" xfId="0"{applied}'
        xfs.append(xf + ('><alignment wrapText="1"/></xf>' if st.wrap else "/>"))
    num_fmts = "".join(f'<numFmt numFmtId="{i}" formatCode={quoteattr(c)}/>'
                       for c, i in formats.items())
    font_xml = "".join(FONT.format("<b/>" if b else "", sz) for b, sz in fonts)
    fill_xml = BUILT_IN_FILLS + "".join(FILL.format(rgb) for rgb in fills)
    return XML_DECL + (
        f'<styleSheet xmlns="{MAIN}">'
        + (f'<numFmts count="{len(formats)}">{num_fmts}</numFmts>' if formats else "")
        + f'<fonts count="{len(fonts)}">{font_xml}</fonts>'
        f'<fills count="{len(fills) + 2}">{fill_xml}</fills>'
        '<borders count="1"><border><left/><right/><top/><bottom/><diagonal/></border></borders>'
        '<cellStyleXfs count="1"><xf numFmtId="0" fontId="0" fillId="0" borderId="0"/>'
        f'</cellStyleXfs><cellXfs count="{len(xfs)}">{"".join(xfs)}</cellXfs>'
        '<cellStyles count="1"><cellStyle name="Normal" xfId="0" builtinId="0"/></cellStyles>'
        '</styleSheet>').encode()


# --- cells and rows, column-wise ---------------------------------------------------------------
# Cells are programs for the C row kernel (casslink.kernels): one pass writes every row.

def text_cells(values: pa.Array | pa.ChunkedArray) -> kernels.Ops:
    """Inline-string cells (XML-escaped); an empty cell where the value is null or empty."""
    parts = kernels.string_parts(values)
    entries, offsets, _ = parts
    lengths = np.diff(offsets)
    filled = lengths > 0 if entries is None else \
        np.where(entries >= 0, lengths[np.maximum(entries, 0)] if len(lengths) else 0, 0) > 0
    return kernels.when(filled, kernels.lit('<c t="inlineStr"><is><t>')
                        + kernels.strs(parts) + kernels.lit("</t></is></c>"),
                        kernels.lit("<c/>"))


def number_cells(values: np.ndarray, digits: int = 0, style: int = PLAIN,
                 present: np.ndarray | None = None) -> kernels.Ops:
    """Numeric cells of integers in units of 10^-``digits`` (amounts in minor units, rates
    x 100000), as exact decimals; an empty cell where ``present`` is False."""
    cell = kernels.lit(f'<c s="{style}"><v>' if style else "<c><v>") + \
        kernels.dec(values, digits) + kernels.lit("</v></c>")
    return cell if present is None else kernels.when(present, cell, kernels.lit("<c/>"))


@dataclass
class Rows:
    """Rendered ``<row>`` elements: ``data[offsets[i]:offsets[i + 1]]`` is row ``i``."""

    data: memoryview
    offsets: np.ndarray

    def span(self, start: int, stop: int) -> memoryview:
        return self.data[self.offsets[start]:self.offsets[stop]]


def rows(numbers: np.ndarray | int, cells: Sequence[kernels.Ops]) -> Rows:
    """``<row>`` elements of per-row cells (one program per column, as built above): rows
    numbered ``numbers`` (``r``), or ``numbers`` rows without a number (each follows the
    row before it)."""
    if isinstance(numbers, int):
        n, ops = numbers, kernels.lit("<row>")
    else:
        n, ops = len(numbers), kernels.lit('<row r="') + kernels.ints(numbers) + kernels.lit('">')
    for column in cells:
        ops += column
    data, offsets = kernels.format_rows(n, ops + kernels.lit("</row>"))
    return Rows(memoryview(data), offsets)


def row(number: int, cells: Iterable[str], height: float | None = None) -> bytes:
    """One row from ready cell strings (for the few rows outside the column-wise bodies),
    ``height`` points high if given."""
    ht = f' ht="{height}" customHeight="1"' if height else ""
    return f'<row r="{number}"{ht}>{"".join(cells)}</row>'.encode()


def text(value: str, style: int = PLAIN) -> str:
    s = f' s="{style}"' if style else ""
    if not value:
        return f"<c{s}/>"
    return f'<c{s} t="inlineStr"><is><t xml:space="preserve">{escape(value)}</t></is></c>'


def number(lexical: str, style: int = PLAIN) -> str:
    s = f' s="{style}"' if style else ""
    return f"<c{s}><v>{lexical}</v></c>"


# --- sheets and the package --------------------------------------------------------------------

@lru_cache(maxsize=256)
def column_letter(n: int) -> str:
    out = ""
    while n:
        n, r = divmod(n - 1, 26)
        out = chr(65 + r) + out
    return out


def sheet_name(name: str) -> str:
    """A valid sheet name: no ``[]:*?/\\``, at most 31 characters."""
    return name.translate(FORBIDDEN_IN_NAMES).strip("'")[:31] or "Sheet"


@dataclass(slots=True)
class Sheet:
    """A sheet: rows ``pieces`` (byte strings, in order) or its whole XML deflated beforehand
    (``deflated``), column widths, the header row (frozen above the row after it, autofilter
    from it down to ``last_row``)."""

    name: str
    widths: tuple[float, ...]
    pieces: list
    header_row: int
    last_row: int
    deflated: Deflated | None = None  # the whole sheet XML, deflated (see deflate_sheets)
    footer: str = PAGE.footer  # the printed footer (Excel's codes: &P page, &N pages)

    def xml_pieces(self, selected: bool) -> list | Deflated:
        if self.deflated is not None:
            if selected:
                raise ValueError("the first sheet of a workbook cannot come deflated")
            return self.deflated
        head = _sheet_head(self.widths, self.header_row, selected)
        filter_ref = (f"A{self.header_row}:{column_letter(len(self.widths))}{self.last_row}"
                      if self.last_row > self.header_row else "")
        return [head, *self.pieces, _sheet_end(filter_ref, self.footer)]


def display_width(text: str) -> int:
    """Character columns ``text`` takes: two for an East-Asian wide or full-width character
    (CJK ideographs, kana, hangul), one for any other."""
    return sum(2 if unicodedata.east_asian_width(c) in "WF" else 1 for c in text)


def fit_width(width: float, header: str) -> float:
    """``width`` widened so that no word of ``header`` (a run without spaces: a whole CJK
    header often is one) is wider than the column: a wrapped header breaks only between
    words, never inside one."""
    return max(width, max((display_width(w) for w in header.split()), default=0))


@lru_cache(maxsize=64)
def _sheet_head(widths: tuple[float, ...], header_row: int, selected: bool) -> Static:
    """Everything of a sheet's XML before its rows: view (frozen below the header), columns."""
    top = f"A{header_row + 1}"
    cols = "".join(f'<col min="{i}" max="{i}" width="{w}" customWidth="1"/>'
                   for i, w in enumerate(widths, start=1))
    return Static(XML_DECL + (
        f'<worksheet xmlns="{MAIN}" xmlns:r="{REL}"><sheetViews>'
        f'<sheetView{SELECTED if selected else ""} workbookViewId="0">'
        f'<pane ySplit="{header_row}" topLeftCell="{top}" activePane="bottomLeft" '
        f'state="frozen"/><selection pane="bottomLeft" activeCell="{top}" sqref="{top}"/>'
        f'</sheetView></sheetViews><sheetFormatPr defaultRowHeight="15"/><cols>{cols}'
        "</cols><sheetData>").encode())


def _sheet_end(filter_ref: str, footer: str = PAGE.footer) -> bytes:
    """What follows a sheet's rows: the autofilter over ``filter_ref`` (if any), margins,
    page setup and ``footer``."""
    page = PAGE if footer == PAGE.footer else replace(PAGE, footer=footer)
    return ("</sheetData>" + (f'<autoFilter ref="{filter_ref}"/>' if filter_ref else "")
            + _page_end(page)).encode()


@lru_cache(maxsize=8)
def _page_end(page: Page) -> str:
    """Margins, page setup (paper, orientation, at 100 %) and the footer of ``page``."""
    m, top = page.margin, page.margin_top
    return (f'<pageMargins left="{m}" right="{m}" top="{top}" bottom="{top}" header="0.2" '
            f'footer="0.2"/><pageSetup paperSize="{page.paper}" scale="100" '
            f'orientation="{page.orientation}"/><headerFooter><oddFooter>'
            f"{escape(page.footer)}</oddFooter></headerFooter></worksheet>")


Deflated = tuple[int, int, list]  # a part deflated beforehand: crc32, size, deflated pieces
# (a plain tuple: made for every one of the agents' ~115,000 sheets)


def deflate_sheets(widths: tuple[float, ...], header_row: int,
                   sheets: Sequence[tuple[tuple[Static, ...], memoryview, int]],
                   footer: str = PAGE.footer) -> list[Deflated]:
    """Sheets (not the first of their workbook) deflated: each its static pieces (title
    block, header row; deflated once each), its rows, then the end of the sheet (autofilter
    from the header row down to its last row). Many small sheets (an agent's sheet of one
    airline): the loop makes no call it can spare."""
    head = _sheet_head(widths, header_row, False)
    corner = f"A{header_row}:{column_letter(len(widths))}"
    heads: dict[tuple, tuple[int, int, bytes]] = {}
    ends: dict[int, bytes] = {}
    crc32, compress, combine = isal_zlib.crc32, isal_zlib.compress, isal_zlib.crc32_combine
    out = []
    for static, body, last in sheets:
        packed = heads.get(static)
        if packed is None:
            packed = heads[static] = _packed((head, *static))
        end = ends.get(last)
        if end is None:
            end = ends[last] = _sheet_end(f"{corner}{last}", footer)
        crc, size, chunk = packed
        n = len(body) + len(end)
        if n < JOIN_BELOW:
            data = b"".join((body, end))
            c, chunks = crc32(data), [chunk, compress(data, _level(n), -15)]
        else:
            c, n, rest = _stream([body, end])
            chunks = [chunk, *rest]
        out.append((combine(crc, c, n), size + n, chunks))
    return out


def package(sheets: Sequence[Sheet], stylesheet: bytes, when: dt.date,
            creator: str = "casslink") -> bytes:
    """The .xlsx bytes of ``sheets``; every timestamp is ``when`` (so bytes are reproducible)."""
    n = len(sheets)
    names, defined, titles, parts = [], [], [], []
    for i, s in enumerate(sheets):
        entry, filter_start, title, part, print_titles = _fragments(
            s.name, i, s.header_row, len(s.widths))
        names.append(entry)
        titles.append(title)
        if s.last_row > s.header_row:
            defined.append(f"{filter_start}{s.last_row}</definedName>")
        defined.append(print_titles)
        parts.append((part, s.xml_pieces(selected=not i)))
    workbook = (f'<workbook xmlns="{MAIN}" xmlns:r="{REL}"><bookViews><workbookView '
                f'activeTab="0"/></bookViews><sheets>{"".join(names)}</sheets>'
                + f"<definedNames>{''.join(defined)}</definedNames>"
                + "</workbook>")
    app = ('<Properties xmlns="http://schemas.openxmlformats.org/officeDocument/2006/'
           'extended-properties" xmlns:vt="http://schemas.openxmlformats.org/officeDocument/'
           f'2006/docPropsVTypes"><Application>{escape(creator)}</Application><HeadingPairs>'
           '<vt:vector size="2" baseType="variant"><vt:variant><vt:lpstr>Worksheets</vt:lpstr>'
           f'</vt:variant><vt:variant><vt:i4>{n}</vt:i4></vt:variant></vt:vector></HeadingPairs>'
           f'<TitlesOfParts><vt:vector size="{n}" baseType="lpstr">{"".join(titles)}'
           "</vt:vector></TitlesOfParts></Properties>")
    fixed = [("[Content_Types].xml", _content_types(n)),
             ("_rels/.rels", _ROOT_RELS),
             ("docProps/app.xml", [XML_DECL, app.encode()]),
             ("docProps/core.xml", _core(when, creator)),
             ("xl/workbook.xml", [XML_DECL, workbook.encode()]),
             ("xl/_rels/workbook.xml.rels", _workbook_rels(n)),
             ("xl/styles.xml", stylesheet)]
    return zip_parts(fixed + parts, when)


@lru_cache(maxsize=1 << 14)
def _fragments(name: str, i: int, header_row: int, columns: int
               ) -> tuple[str, str, str, str, str]:
    """What the package says of sheet ``i`` (from 0) named ``name``: its workbook entry,
    the start of its filter range's defined name (the last row follows), its title in the
    document properties, its part name, its print titles (the header row, repeated on every
    printed page) (the same for many workbooks: made once)."""
    quoted = escape(_quoted(name))
    return (f"<sheet name={quoteattr(name)} sheetId=\"{i + 1}\" r:id=\"rId{i + 1}\"/>",
            f'<definedName name="_xlnm._FilterDatabase" localSheetId="{i}" hidden="1">'
            f"{quoted}!$A${header_row}:${column_letter(columns)}$",
            f"<vt:lpstr>{escape(name)}</vt:lpstr>", f"xl/worksheets/sheet{i + 1}.xml",
            f'<definedName name="_xlnm.Print_Titles" localSheetId="{i}">'
            f"{quoted}!${header_row}:${header_row}</definedName>")


@lru_cache(maxsize=16)
def _core(when: dt.date, creator: str) -> bytes:
    """docProps/core.xml: creator and timestamps (the same for every workbook of a run, so
    deflated once)."""
    stamp = f"{when:%Y-%m-%d}T00:00:00Z"
    return XML_DECL + (
        '<cp:coreProperties xmlns:cp="http://schemas.openxmlformats.org/package/2006/'
        'metadata/core-properties" xmlns:dc="http://purl.org/dc/elements/1.1/" '
        'xmlns:dcterms="http://purl.org/dc/terms/" xmlns:xsi="http://www.w3.org/2001/'
        f'XMLSchema-instance"><dc:creator>{escape(creator)}</dc:creator>'
        f'<dcterms:created xsi:type="dcterms:W3CDTF">{stamp}</dcterms:created>'
        f'<dcterms:modified xsi:type="dcterms:W3CDTF">{stamp}</dcterms:modified>'
        "</cp:coreProperties>").encode()


@lru_cache(maxsize=256)
def _content_types(n: int) -> bytes:
    """[Content_Types].xml of a workbook of ``n`` sheets (the same for every such workbook)."""
    sheets = "".join(f'<Override PartName="/xl/worksheets/sheet{i}.xml" ContentType="{CT}'
                     'spreadsheetml.worksheet+xml"/>' for i in range(1, n + 1))
    return XML_DECL + (
        '<Types xmlns="http://schemas.openxmlformats.org/package/2006/content-types">'
        '<Default Extension="rels" ContentType="application/vnd.openxmlformats-package.'
        'relationships+xml"/><Default Extension="xml" ContentType="application/xml"/>'
        f'<Override PartName="/xl/workbook.xml" ContentType="{CT}spreadsheetml.sheet.main+xml"/>'
        f'<Override PartName="/xl/styles.xml" ContentType="{CT}spreadsheetml.styles+xml"/>'
        f'{sheets}<Override PartName="/docProps/core.xml" ContentType="application/vnd.'
        'openxmlformats-package.core-properties+xml"/><Override PartName="/docProps/app.xml" '
        f'ContentType="{CT}extended-properties+xml"/></Types>').encode()


@lru_cache(maxsize=256)
def _workbook_rels(n: int) -> bytes:
    """The workbook's relationships: ``n`` sheets and the stylesheet."""
    rels = "".join(f'<Relationship Id="rId{i}" Type="{REL}/worksheet" '
                   f'Target="worksheets/sheet{i}.xml"/>' for i in range(1, n + 1))
    rels += f'<Relationship Id="rId{n + 1}" Type="{REL}/styles" Target="styles.xml"/>'
    return XML_DECL + f'<Relationships xmlns="{PKG_REL}">{rels}</Relationships>'.encode()


_ROOT_RELS = XML_DECL + (
    f'<Relationships xmlns="{PKG_REL}"><Relationship Id="rId1" Type="{REL}/officeDocument" '
    'Target="xl/workbook.xml"/><Relationship Id="rId2" Type="http://schemas.openxmlformats.org/'
    'package/2006/relationships/metadata/core-properties" Target="docProps/core.xml"/>'
    f'<Relationship Id="rId3" Type="{REL}/extended-properties" Target="docProps/app.xml"/>'
    "</Relationships>").encode()


def _quoted(name: str) -> str:
    return "'" + name.replace("'", "''") + "'"


# --- zip ---------------------------------------------------------------------------------------

def zip_parts(parts: Sequence[tuple[str, list | bytes | Deflated]], when: dt.date) -> bytes:
    """A zip archive of ``parts``, deflated, every entry dated ``when``. A part is a list of
    byte pieces (leading :class:`Static` ones deflated once for all archives), one ``bytes``
    object that repeats across archives (deflated once), or a tuple :data:`Deflated`."""
    date = ((when.year - 1980) << 9) | (when.month << 5) | when.day
    return kernels.zip_archive([(_encoded(name), *_deflated(pieces)) for name, pieces in parts],
                               date)


@lru_cache(maxsize=4096)
def _encoded(name: str) -> bytes:
    return name.encode()


def _deflated(pieces: list | bytes | Deflated) -> tuple[int, int, list]:
    """(crc, size, deflated chunks) of a part. A part's leading :class:`Static` pieces are
    deflated once for every part that starts with them and full-flushed (the chunk stands
    alone), the rest is deflated as a stream of its own that ends the part."""
    if isinstance(pieces, tuple):  # Deflated
        return pieces
    if isinstance(pieces, bytes):
        crc, size, chunk = _packed((pieces,), final=True)
        return crc, size, [chunk]
    k = 0
    while k < len(pieces) and isinstance(pieces[k], Static):
        k += 1
    rest = pieces[k:]
    if k:
        crc, size, head = _packed(tuple(pieces[:k]), final=not rest)
        if not rest:
            return crc, size, [head]
    c, n, chunks = _stream(rest)
    if not k:
        return c, n, chunks
    return isal_zlib.crc32_combine(crc, c, n), size + n, [head, *chunks]


def _stream(pieces: Sequence) -> tuple[int, int, list]:
    """(crc, size, deflated chunks) of ``pieces`` as a stream of its own that ends a part:
    joined first unless large (ISA-L deflates small pieces poorly)."""
    if sum(map(len, pieces)) < JOIN_BELOW:
        data = pieces[0] if len(pieces) == 1 else b"".join(pieces)
        n = len(data)
        return isal_zlib.crc32(data), n, [isal_zlib.compress(data, _level(n), -15)]
    c, n, chunks = 0, 0, []
    z = isal_zlib.compressobj(DEFLATE_LEVEL, isal_zlib.DEFLATED, -15)
    for p in pieces:
        c, n = isal_zlib.crc32(p, c), n + len(p)
        chunks.append(z.compress(p))
    chunks.append(z.flush())
    return c, n, chunks


def _level(size: int) -> int:
    return SMALL_LEVEL if size < SMALL_PART else DEFLATE_LEVEL


class Static(bytes):
    """A piece that repeats across sheets or workbooks (a sheet's head, a title block, a
    header row): the leading static pieces of a part are deflated once, for every part that
    starts with them."""


@lru_cache(maxsize=4096)
def _packed(pieces: tuple[bytes, ...], final: bool = False) -> tuple[int, int, bytes]:
    """(crc, size, deflated) of ``pieces`` deflated alone: a whole stream (``final``) or
    full-flushed, for more deflated data to follow."""
    data = b"".join(pieces)
    z = isal_zlib.compressobj(DEFLATE_LEVEL, isal_zlib.DEFLATED, -15)
    chunk = z.compress(data) + (z.flush() if final else z.flush(isal_zlib.Z_FULL_FLUSH))
    return isal_zlib.crc32(data), len(data), chunk
