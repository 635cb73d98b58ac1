"""The .xlsx writer: archives zipfile reads, exact decimal cells, escaping, empty cells that
keep later cells in their columns, valid sheet names; read back with openpyxl."""

from __future__ import annotations

import datetime as dt
import io
import re
import zipfile
from decimal import Decimal
from itertools import pairwise

import numpy as np
import openpyxl
import pyarrow as pa
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from casslink import kernels
from casslink.outputs import xlsx

WHEN = dt.date(2026, 12, 10)


def _workbook(cells: list[kernels.Ops], n: int, name: str = "Sheet & <1>"
              ) -> openpyxl.Workbook:
    body = xlsx.rows(np.arange(2, n + 2), cells)
    head = xlsx.row(1, [xlsx.text("Head", xlsx.HEADER)])
    sheet = xlsx.Sheet(name, (10, 12, 14), [head, body.span(0, n)], 1, n + 1)
    data = xlsx.package([sheet], xlsx.styles("#,##0.000"), WHEN)
    return openpyxl.load_workbook(io.BytesIO(data))


def test_the_archive_is_valid_and_dated():
    data = xlsx.zip_parts([("a.xml", [b"<a>", b"x" * 5000, b"</a>"]), ("b/c.xml", b"<c/>")],
                          WHEN)
    z = zipfile.ZipFile(io.BytesIO(data))
    assert z.testzip() is None
    assert z.read("a.xml") == b"<a>" + b"x" * 5000 + b"</a>" and z.read("b/c.xml") == b"<c/>"
    assert {i.date_time for i in z.infolist()} == {(2026, 12, 10, 0, 0, 0)}
    assert all(i.compress_type == zipfile.ZIP_DEFLATED for i in z.infolist())
    big = bytes(range(256)) * 20000  # a part past the join threshold is deflated in pieces
    monkey = xlsx.JOIN_BELOW
    try:
        xlsx.JOIN_BELOW = 1000
        z = zipfile.ZipFile(io.BytesIO(xlsx.zip_parts([("big", [b"<", big, b">"])], WHEN)))
    finally:
        xlsx.JOIN_BELOW = monkey
    assert z.read("big") == b"<" + big + b">"


def test_parts_either_side_of_the_small_part_size_read_back():
    """Small parts are deflated at a faster level than large ones: both read back."""
    row = b"<row><c><v>12.34</v></c></row>"
    parts = {f"p{n}.xml": (row * (n // len(row) + 1))[:n]
             for n in (1, xlsx.SMALL_PART - 1, xlsx.SMALL_PART, 3 * xlsx.SMALL_PART)}
    z = zipfile.ZipFile(io.BytesIO(xlsx.zip_parts([(k, [v]) for k, v in parts.items()], WHEN)))
    assert z.testzip() is None
    assert {k: z.read(k) for k in parts} == parts


def test_static_pieces_are_deflated_once_and_spliced():
    head = xlsx.Static(b"<head>" + b"h" * 3000)
    parts = [("one.xml", [head, xlsx.Static(b"<t/>"), b"<rows>1</rows>"]),
             ("two.xml", [head, xlsx.Static(b"<t/>"), b"<rows>22</rows>", b"<tail/>"]),
             ("three.xml", [head]), ("four.xml", [b"<x>", head])]
    z = zipfile.ZipFile(io.BytesIO(xlsx.zip_parts(parts, WHEN)))
    assert z.testzip() is None  # every CRC matches the data
    for name, pieces in parts:
        assert z.read(name) == b"".join(pieces)


@settings(deadline=None)
@given(st.lists(st.integers(-(10 ** 15), 10 ** 15), min_size=1, max_size=40),
       st.sampled_from([0, 2, 3]))
def test_money_cells_are_exact_decimals(values, digits):
    data, offsets = kernels.format_rows(len(values), xlsx.number_cells(
        np.array(values, np.int64), digits, xlsx.MONEY))
    cells = [bytes(data[a:b]).decode() for a, b in pairwise(offsets)]
    for cell, minor in zip(cells, values, strict=True):
        lexical = re.fullmatch(r'<c s="4"><v>(-?\d+(?:\.\d+)?)</v></c>', cell).group(1)
        assert Decimal(lexical) == Decimal(minor).scaleb(-digits)
        assert len(lexical.partition(".")[2]) == digits


def test_cells_read_back_with_styles_escapes_and_empty_cells():
    wb = _workbook([
        xlsx.text_cells(pa.array(["A&B <x>", None, ""])),
        xlsx.number_cells(np.array([-1, 123456, 0]), 3, xlsx.MONEY_BOLD),
        xlsx.number_cells(np.array([0, 95012345, 100000]), 5, xlsx.RATE,
                          present=np.array([False, True, True]))], 3)
    ws = wb["Sheet & <1>"]  # escaped in workbook.xml and app.xml
    assert [[c.value for c in r] for r in ws.iter_rows(min_row=2)] == [
        ["A&B <x>", -0.001, None], [None, 123.456, 950.12345], [None, 0, 1]]
    assert ws["B2"].number_format == "#,##0.000" and ws["B2"].font.b
    assert ws["C3"].number_format == "0.00000" and not ws["C3"].font.b
    assert ws["A1"].font.b and ws["A1"].fill.fgColor.rgb == "FFDDE4EE"
    assert ws.freeze_panes == "A2" and ws.auto_filter.ref == "A1:C4"
    assert [ws.column_dimensions[c].width for c in "ABC"] == [10, 12, 14]


def test_sheet_names():
    assert xlsx.sheet_name("157 Qatar Airways Cargo / Freighter Division") == \
        "157 Qatar Airways Cargo - Freig"  # 31 characters
    assert xlsx.sheet_name("'quoted'") == "quoted" and xlsx.sheet_name("[]") == "--"
    assert xlsx.sheet_name("") == "Sheet"


def test_same_input_same_bytes():
    def build() -> bytes:
        cells = [xlsx.text_cells(pa.array(["x", "y"]))]
        sheet = xlsx.Sheet("S", (8,), [xlsx.rows(np.array([2, 3]), cells).span(0, 2)], 1, 3)
        return xlsx.package([sheet], xlsx.styles("0.00"), WHEN)

    assert build() == build()


def test_sheets_deflated_in_one_pass_equal_sheets_from_pieces():
    """Three sheets of one pass of unnumbered rows, deflated by deflate_sheets (each its
    rows and the end of the sheet): the package holds the same XML as sheets built from
    pieces, and reads back with openpyxl, each row after the header row in turn."""
    sizes = [3, 1, 5]
    bounds = np.concatenate(([0], np.cumsum(sizes)))
    cells = [xlsx.number_cells(np.arange(bounds[-1]) * 7, 2, xlsx.MONEY)]
    body = xlsx.rows(int(bounds[-1]), cells)
    title, header = xlsx.Static(xlsx.row(1, [xlsx.text("T")])), \
        xlsx.Static(xlsx.row(2, [xlsx.text("H", xlsx.HEADER)]))
    first = xlsx.Sheet("first", (10, 12), [], 2, 2)
    done = xlsx.deflate_sheets((10, 12), 2, [((title, header), body.span(a, z), 2 + z - a)
                                            for a, z in pairwise(bounds)])
    sheets = [xlsx.Sheet(f"s{i}", (10, 12), [title, header, body.span(a, z)], 2, 2 + z - a)
              for i, (a, z) in enumerate(pairwise(bounds))]
    data = xlsx.package([first, *(xlsx.Sheet(s.name, s.widths, [], 2, s.last_row, deflated=d)
                                  for s, d in zip(sheets, done, strict=True))],
                        xlsx.styles("0.00"), WHEN)
    ours = zipfile.ZipFile(io.BytesIO(data))
    theirs = zipfile.ZipFile(io.BytesIO(xlsx.package([first, *sheets], xlsx.styles("0.00"),
                                                     WHEN)))
    assert ours.testzip() is None and ours.namelist() == theirs.namelist()
    for name in ours.namelist():
        assert ours.read(name) == theirs.read(name), name
    book = openpyxl.load_workbook(io.BytesIO(data))
    assert [c.value for c in book["s2"]["A"][2:]] == [v * 7 / 100 for v in range(4, 9)]
    assert [c.row for c in book["s2"]["A"][2:]] == list(range(3, 8))
    with pytest.raises(ValueError):
        xlsx.package([xlsx.Sheet("s", (10, 12), [], 2, 3, deflated=done[0])],
                     xlsx.styles("0.00"), WHEN)
