"""A small SpreadsheetML (.xlsx) writer for large, regular reports.

Rows are rendered column-wise with Arrow string kernels (one pass for many sheets), sheets are
assembled from byte pieces, and the package is zipped with fixed timestamps, so the same input
gives the same bytes. Cells carry no ``r`` reference (optional in ECMA-376: cells follow each
other, ``<c/>`` is an empty cell), which keeps the XML small. Deflate is ISA-L's (python-isal,
several times faster than zlib at the same ratio).
"""

from __future__ import annotations

import datetime as dt
import struct
import zlib
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from functools import lru_cache
from xml.sax.saxutils import escape, quoteattr

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
from isal import isal_zlib

DEFLATE_LEVEL = 1  # ISA-L levels 0-3; 1 compresses these sheets ~6x at ~500 MB/s
JOIN_BELOW = 1 << 22  # a part's pieces are joined before deflating unless it is larger
MAIN = "http://schemas.openxmlformats.org/spreadsheetml/2006/main"
REL = "http://schemas.openxmlformats.org/officeDocument/2006/relationships"
PKG_REL = "http://schemas.openxmlformats.org/package/2006/relationships"
CT = "application/vnd.openxmlformats-officedocument."
XML_DECL = b'<?xml version="1.0" encoding="UTF-8" standalone="yes"?>\n'
SELECTED = ' tabSelected="1"'
FORBIDDEN_IN_NAMES = str.maketrans({c: "-" for c in "[]:*?/\\"})

# cell styles (indices into cellXfs of :func:`styles`)
PLAIN, TITLE, BOLD, HEADER, MONEY, MONEY_BOLD, RATE = range(7)


def styles(money_format: str) -> bytes:
    """The stylesheet: plain, title (bold 14), bold, header (bold, filled, wrapped), money,
    bold money (``money_format``) and a 5-decimal rate."""
    fmt = escape(money_format, {'"': "&quot;"})
    xf = '<xf numFmtId="{}" fontId="{}" fillId="{}" borderId="0" xfId="0"{}/>'
    cell_xfs = [xf.format(0, 0, 0, ""), xf.format(0, 1, 0, ' applyFont="1"'),
                xf.format(0, 2, 0, ' applyFont="1"'),
                xf.format(0, 2, 2, ' applyFont="1" applyFill="1" applyAlignment="1"')
                .replace("/>", '><alignment wrapText="1"/></xf>'),
                xf.format(164, 0, 0, ' applyNumberFormat="1"'),
                xf.format(164, 2, 0, ' applyNumberFormat="1" applyFont="1"'),
                xf.format(165, 0, 0, ' applyNumberFormat="1"')]
    return XML_DECL + (
        f'<styleSheet xmlns="{MAIN}"><numFmts count="2">'
        f'<numFmt numFmtId="164" formatCode="{fmt}"/>'
        '<numFmt numFmtId="165" formatCode="0.00000"/></numFmts>'
        '<fonts count="3"><font><sz val="11"/><name val="Calibri"/><family val="2"/></font>'
        '<font><b/><sz val="14"/><name val="Calibri"/><family val="2"/></font>'
        '<font><b/><sz val="11"/><name val="Calibri"/><family val="2"/></font></fonts>'
        '<fills count="3"><fill><patternFill patternType="none"/></fill>'
        '<fill><patternFill patternType="gray125"/></fill>'
        '<fill><patternFill patternType="solid"><fgColor rgb="FFDDE4EE"/>'
        '<bgColor indexed="64"/></patternFill></fill></fills>'
        '<borders count="1"><border><left/><right/><top/><bottom/><diagonal/></border></borders>'
        '<cellStyleXfs count="1"><xf numFmtId="0" fontId="0" fillId="0" borderId="0"/>'
        f'</cellStyleXfs><cellXfs count="{len(cell_xfs)}">{"".join(cell_xfs)}</cellXfs>'
        '<cellStyles count="1"><cellStyle name="Normal" xfId="0" builtinId="0"/></cellStyles>'
        '</styleSheet>').encode()


# --- cells and rows, column-wise ---------------------------------------------------------------

def text_cells(values: pa.Array | pa.ChunkedArray) -> pa.Array:
    """Inline-string cells; an empty cell where the value is null or empty."""
    values = values.cast(pa.string())
    if isinstance(values, pa.ChunkedArray):
        values = values.combine_chunks()
    if _has_markup(values):
        for char, entity in (("&", "&amp;"), ("<", "&lt;"), (">", "&gt;")):
            values = pc.replace_substring(values, char, entity)
    cells = pc.binary_join_element_wise('<c t="inlineStr"><is><t>', values, "</t></is></c>", "")
    empty = pc.equal(pc.fill_null(values, ""), "")
    return pc.if_else(empty, "<c/>", cells) if pc.any(empty).as_py() else cells


def _has_markup(values: pa.Array) -> bool:
    """Whether any string holds ``&``, ``<`` or ``>`` (a scan of the data buffer)."""
    if len(values) == 0 or values.buffers()[2] is None:
        return False
    offsets = np.frombuffer(values.buffers()[1], np.int32)[values.offset:][[0, len(values)]]
    data = np.frombuffer(values.buffers()[2], np.uint8)[offsets[0]:offsets[1]]
    return bool(np.isin(data, np.frombuffer(b"&<>", np.uint8)).any())


def number_cells(values: pa.Array | pa.ChunkedArray, style: int = PLAIN) -> pa.Array:
    """Numeric cells from their lexical forms (decimal strings); empty where null."""
    start = f'<c s="{style}"><v>' if style else "<c><v>"
    return pc.fill_null(pc.binary_join_element_wise(start, values.cast(pa.string()),
                                                    "</v></c>", ""), "<c/>")


def money_cells(minor: np.ndarray, digits: int, style: int = PLAIN) -> pa.Array:
    """Numeric cells of amounts in minor units, as exact decimals in major units: the sign
    with the opening tags, the whole units, the fraction with the closing tags (one join)."""
    start = f'<c s="{style}"><v>' if style else "<c><v>"
    whole, frac = np.divmod(np.abs(minor), 10 ** digits)
    opening = pa.array([start, start + "-"]).take(pa.array((minor < 0).view(np.int8)))
    return pc.binary_join_element_wise(
        opening, pa.array(whole).cast(pa.string()), _closings(digits).take(pa.array(frac)), "")


@lru_cache(maxsize=8)
def _closings(digits: int) -> pa.Array:
    """Fraction digits with the closing tags, indexed by the fraction's value."""
    return pa.array([f".{i:0{digits}d}</v></c>" if digits else "</v></c>"
                     for i in range(10 ** digits)])


@dataclass
class Rows:
    """Rendered ``<row>`` elements: ``data[offsets[i]:offsets[i + 1]]`` is row ``i``."""

    data: memoryview
    offsets: np.ndarray

    def span(self, start: int, stop: int) -> memoryview:
        return self.data[self.offsets[start]:self.offsets[stop]]


def rows(row_numbers: np.ndarray, cells: Sequence[pa.Array]) -> Rows:
    """Join per-row cells (equal-length string arrays, no nulls) into ``<row>`` elements."""
    n = len(row_numbers)
    if not n:
        return Rows(memoryview(b""), np.zeros(1, np.int64))
    joined = pc.binary_join_element_wise(
        '<row r="', pa.array(row_numbers).cast(pa.string()), '">', *cells, "</row>", "")
    if isinstance(joined, pa.ChunkedArray):
        joined = joined.combine_chunks()
    offsets = np.frombuffer(joined.buffers()[1], np.int32)[joined.offset: joined.offset + n + 1]
    return Rows(memoryview(joined.buffers()[2]), offsets.astype(np.int64))


def row(number: int, cells: Iterable[str]) -> bytes:
    """One row from ready cell strings (for the few rows outside the column-wise bodies)."""
    return f'<row r="{number}">{"".join(cells)}</row>'.encode()


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


@dataclass
class Sheet:
    """A sheet: rows ``pieces`` (byte strings, in order), column widths, the header row (frozen
    above the row after it, autofilter from it down to ``last_row``)."""

    name: str
    widths: tuple[float, ...]
    pieces: list
    header_row: int
    last_row: int

    def __post_init__(self) -> None:
        self.last_column = column_letter(len(self.widths))
        self.filter_ref = (f"A{self.header_row}:{self.last_column}{self.last_row}"
                           if self.last_row > self.header_row else "")

    def xml_pieces(self, selected: bool) -> list:
        ref = self.filter_ref
        tail = ("</sheetData>" + (f'<autoFilter ref="{ref}"/>' if ref else "")
                + '<pageMargins left="0.7" right="0.7" top="0.75" bottom="0.75" header="0.3" '
                'footer="0.3"/><pageSetup paperSize="9" orientation="landscape" fitToWidth="1" '
                'fitToHeight="0"/></worksheet>')
        return [_sheet_head(self.widths, self.header_row, selected), *self.pieces,
                tail.encode()]


@lru_cache(maxsize=64)
def _sheet_head(widths: tuple[float, ...], header_row: int, selected: bool) -> bytes:
    """Everything of a sheet's XML before its rows: view (frozen below the header), columns."""
    top = f"A{header_row + 1}"
    cols = "".join(f'<col min="{i}" max="{i}" width="{w}" customWidth="1"/>'
                   for i, w in enumerate(widths, start=1))
    return XML_DECL + (
        f'<worksheet xmlns="{MAIN}" xmlns:r="{REL}"><sheetPr><pageSetUpPr fitToPage="1"/>'
        f'</sheetPr><sheetViews><sheetView{SELECTED if selected else ""} workbookViewId="0">'
        f'<pane ySplit="{header_row}" topLeftCell="{top}" activePane="bottomLeft" '
        f'state="frozen"/><selection pane="bottomLeft" activeCell="{top}" sqref="{top}"/>'
        f'</sheetView></sheetViews><sheetFormatPr defaultRowHeight="15"/><cols>{cols}'
        "</cols><sheetData>").encode()


def package(sheets: Sequence[Sheet], stylesheet: bytes, when: dt.date,
            creator: str = "casslink") -> bytes:
    """The .xlsx bytes of ``sheets``; every timestamp is ``when`` (so bytes are reproducible)."""
    n = len(sheets)
    names = "".join(f"<sheet name={_quoteattr(s.name)} sheetId=\"{i}\" r:id=\"rId{i}\"/>"
                    for i, s in enumerate(sheets, start=1))
    defined = "".join(
        f'<definedName name="_xlnm._FilterDatabase" localSheetId="{i}" hidden="1">'
        f"{_escape(_quoted(s.name))}!$A${s.header_row}:${s.last_column}${s.last_row}"
        "</definedName>" for i, s in enumerate(sheets) if s.filter_ref)
    workbook = (f'<workbook xmlns="{MAIN}" xmlns:r="{REL}"><bookViews><workbookView '
                f'activeTab="0"/></bookViews><sheets>{names}</sheets>'
                + (f"<definedNames>{defined}</definedNames>" if defined else "") + "</workbook>")
    stamp = f"{when:%Y-%m-%d}T00:00:00Z"
    core = ('<cp:coreProperties xmlns:cp="http://schemas.openxmlformats.org/package/2006/'
            'metadata/core-properties" xmlns:dc="http://purl.org/dc/elements/1.1/" '
            'xmlns:dcterms="http://purl.org/dc/terms/" xmlns:xsi="http://www.w3.org/2001/'
            f'XMLSchema-instance"><dc:creator>{escape(creator)}</dc:creator>'
            f'<dcterms:created xsi:type="dcterms:W3CDTF">{stamp}</dcterms:created>'
            f'<dcterms:modified xsi:type="dcterms:W3CDTF">{stamp}</dcterms:modified>'
            "</cp:coreProperties>")
    titles = "".join(f"<vt:lpstr>{_escape(s.name)}</vt:lpstr>" for s in sheets)
    app = ('<Properties xmlns="http://schemas.openxmlformats.org/officeDocument/2006/'
           'extended-properties" xmlns:vt="http://schemas.openxmlformats.org/officeDocument/'
           f'2006/docPropsVTypes"><Application>{escape(creator)}</Application><HeadingPairs>'
           '<vt:vector size="2" baseType="variant"><vt:variant><vt:lpstr>Worksheets</vt:lpstr>'
           f'</vt:variant><vt:variant><vt:i4>{n}</vt:i4></vt:variant></vt:vector></HeadingPairs>'
           f'<TitlesOfParts><vt:vector size="{n}" baseType="lpstr">{titles}</vt:vector>'
           "</TitlesOfParts></Properties>")
    parts = [("[Content_Types].xml", _content_types(n)),
             ("_rels/.rels", _ROOT_RELS),
             ("docProps/app.xml", [XML_DECL, app.encode()]),
             ("docProps/core.xml", [XML_DECL, core.encode()]),
             ("xl/workbook.xml", [XML_DECL, workbook.encode()]),
             ("xl/_rels/workbook.xml.rels", _workbook_rels(n)),
             ("xl/styles.xml", stylesheet)]
    parts += [(f"xl/worksheets/sheet{i}.xml", s.xml_pieces(selected=i == 1))
              for i, s in enumerate(sheets, start=1)]
    return zip_parts(parts, when)


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


@lru_cache(maxsize=4096)
def _quoteattr(text: str) -> str:
    return quoteattr(text)


@lru_cache(maxsize=4096)
def _escape(text: str) -> str:
    return escape(text)


# --- zip ---------------------------------------------------------------------------------------

def zip_parts(parts: Sequence[tuple[str, list | bytes]], when: dt.date) -> bytes:
    """A zip archive of ``parts``, deflated, every entry dated ``when``. A part is a list of
    byte pieces, or one ``bytes`` object that repeats across archives (deflated once)."""
    time_, date_ = 0, ((when.year - 1980) << 9) | (when.month << 5) | when.day
    out: list = []
    central: list[bytes] = []
    pos = 0
    for name, pieces in parts:
        crc, size, data = _deflated(pieces)
        raw = name.encode()
        if size >= 1 << 32 or len(data) >= 1 << 32 or pos >= 1 << 32:
            raise ValueError(f"{name}: a part over 4 GB needs zip64")
        fields = (20, 0, 8, time_, date_, crc, len(data), size, len(raw))
        local = struct.pack("<IHHHHHIIIHH", 0x04034B50, *fields, 0) + raw
        central.append(struct.pack("<IHHHHHHIIIHHHHHII", 0x02014B50, 20, *fields, 0, 0, 0, 0,
                                   0, pos) + raw)
        out += (local, data)
        pos += len(local) + len(data)
    directory = b"".join(central)
    end = struct.pack("<IHHHHIIH", 0x06054B50, 0, 0, len(parts), len(parts), len(directory),
                      pos, 0)
    return b"".join([*out, directory, end])


def _deflated(pieces: list | bytes) -> tuple[int, int, bytes]:
    if isinstance(pieces, bytes):
        return _deflated_static(pieces)
    if sum(map(len, pieces)) < JOIN_BELOW:  # ISA-L deflates small pieces poorly
        data = b"".join(pieces)
        return zlib.crc32(data), len(data), isal_zlib.compress(data, DEFLATE_LEVEL, -15)
    crc, size = 0, 0
    z = isal_zlib.compressobj(DEFLATE_LEVEL, isal_zlib.DEFLATED, -15)
    chunks = []
    for p in pieces:
        crc = zlib.crc32(p, crc)
        size += len(p)
        chunks.append(z.compress(p))
    chunks.append(z.flush())
    return crc, size, b"".join(chunks)


@lru_cache(maxsize=1024)
def _deflated_static(data: bytes) -> tuple[int, int, bytes]:
    """Parts that repeat in every workbook (stylesheet, package relationships) deflate once."""
    return zlib.crc32(data), len(data), isal_zlib.compress(data, DEFLATE_LEVEL, -15)
