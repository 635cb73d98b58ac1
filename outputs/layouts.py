"""Report layouts as data: the styles and the columns of every Excel sheet.

A sheet is a tuple of :class:`Column` rows: what the column shows (``source``, a field the
renderer knows: a ledger column or one derived once for every row), how (``kind``), its
width, its style and its header (``label_key`` in ``outputs/catalogue/<lang>.json``, the
English ``label`` beside it). Changing a column is changing its row here. The stylesheet is
made from :data:`STYLES` (:func:`outputs.xlsx.styles`). The XML statements' elements are
:mod:`outputs.xml_statements`' tables (``LINE_ELEMENTS``, ``RATINGS``).
"""

from __future__ import annotations

from dataclasses import dataclass, replace

MONEY_FORMAT = "money"  # a style's number format that is the settlement currency's
MONEY_FORMATS = {d: "#,##0" + ("." + "0" * d if d else "") for d in range(5)}  # ISO 4217: 0-4


@dataclass(frozen=True)
class Style:
    """One cell style: font (bold, size), fill colour (ARGB), wrapped text, number format
    (an Excel format code, or ``money``: the settlement currency's amount format)."""

    name: str
    bold: bool = False
    size: int = 11
    fill: str | None = None
    wrap: bool = False
    number_format: str | None = None


STYLES = (  # the stylesheet's cell formats, in this order (the first is the default)
    Style("plain"),
    Style("title", bold=True, size=14),
    Style("bold", bold=True),
    Style("header", bold=True, fill="FFDDE4EE", wrap=True),
    Style("money", number_format=MONEY_FORMAT),
    Style("money_bold", bold=True, number_format=MONEY_FORMAT),
    Style("rate", number_format="0.00000"),
    *(Style(f"amount{d}", number_format=f"{f};[Red]-{f}")  # an original currency's amount
      for d, f in MONEY_FORMATS.items()),
)
STYLE = {s.name: i for i, s in enumerate(STYLES)}  # style name -> cell format index


@dataclass(frozen=True)
class Column:
    """One column of a sheet. ``kind``: ``text``, ``count`` (an integer), ``money`` (minor
    units of the settlement currency: the header names it), ``original`` (minor units of
    each row's own currency, its decimals per row), ``rate`` (x 100000, empty where 0)."""

    label_key: str
    label: str  # English; ``{currency}`` is the settlement currency
    source: str
    kind: str = "text"
    width: float = 12
    style: str = "plain"


# What an agent's statement names (the counterparty is the airline) and an airline's.
COUNTERPARTY = {
    "agent": (Column("col_airline", "Airline", "counterparty", width=9),
              Column("col_airline_name", "Airline name", "counterparty_name", width=30)),
    "airline": (Column("col_agent", "Agent", "counterparty", width=13),
                Column("col_agent_name", "Agent name", "counterparty_name", width=30)),
}

COMPONENTS = (  # the amount components of a bill and of a ledger line, in column order
    Column("col_weight_pp", "Weight charge PP ({currency})", "weight_pp", "money"),
    Column("col_valuation_pp", "Valuation PP ({currency})", "valuation_pp", "money"),
    Column("col_oc_carrier_pp", "Other charges due carrier PP ({currency})", "oc_carrier_pp",
           "money"),
    Column("col_oc_agent_cc", "Other charges due agent CC ({currency})", "oc_agent_cc",
           "money"),
    Column("col_commission", "Commission ({currency})", "commission", "money"),
    Column("col_discount", "Discount ({currency})", "discount", "money"),
    Column("col_tax_airline", "VAT due airline ({currency})", "tax_airline", "money"),
    Column("col_tax_agent", "VAT due agent ({currency})", "tax_agent", "money"),
)

SUMMARY = (  # after the two counterparty columns: one row per bill
    Column("col_awbs", "AWBs", "awb_count", "count", width=7),
    Column("col_cca", "CCA records", "cca_records", "count", width=8),
    Column("col_dcm", "DCM records", "dcm_records", "count", width=8),
    *COMPONENTS,
    Column("col_net_billing", "Net billing ({currency})", "net_billing", "money"),
    Column("col_corrections", "Corrections CCA/DCM ({currency})", "corrections_net", "money"),
    Column("col_net", "Net ({currency})", "net", "money", width=13, style="money_bold"),
)

DETAIL = (  # one row per ledger line, the same in both kinds of workbook
    Column("col_agent", "Agent", "agent_code", width=12),
    Column("col_awb", "AWB", "awb", width=13),
    Column("col_type", "Record", "record_type", width=7),
    Column("col_number", "CCA/DCM no.", "correction_number", width=8),
    Column("col_original_currency", "Original currency", "currency", width=8),
    Column("col_original_net", "Original net", "original_net", "original", width=12),
    Column("col_rate", "Rate of exchange", "exchange_rate_e5", "rate", width=9, style="rate"),
    *(replace(c, width=11) for c in COMPONENTS),  # a line's amounts are narrower
    Column("col_net", "Net ({currency})", "net", "money", width=12, style="money_bold"),
    Column("col_source_name", "Source file", "source_name", width=18),
    Column("col_source_id", "File id", "source_id", "count", width=7),
    Column("col_source_line", "Line", "source_line", "count", width=6),
)
DISPUTE_DETAIL = (  # after the net, in the detail of a run with disputed AWBs only (a run
    # without keeps its 19 columns, which print on A3 at 100 %): each disputed AWB's lines
    # carry the dispute (casslink.dispute_marks), its status and, once decided, the amount
    # accepted
    Column("col_dispute", "Dispute", "dispute_id", "count", width=8),
    Column("col_dispute_status", "Dispute status", "dispute_status", width=15),
    Column("col_dispute_accepted", "Accepted ({currency})", "dispute_accepted", "money",
           width=11),
)


def detail_columns(disputed: bool) -> tuple[Column, ...]:
    """The detail layout: with the dispute columns after the net when ``disputed``."""
    if not disputed:
        return DETAIL
    at = next(i for i, c in enumerate(DETAIL) if c.source == "net") + 1
    return (*DETAIL[:at], *DISPUTE_DETAIL, *DETAIL[at:])

TAX_BLOCK = (  # under a summary's totals: the owner's tax per code and rate (docs/tax.md)
    Column("col_tax_code", "Tax code", "code"),
    Column("col_tax_name", "Tax", "name"),
    Column("col_tax_side", "Side", "side"),
    Column("col_tax_rate", "Rate %", "rate_bp", "rate_bp"),
    Column("col_tax_base", "Base", "base", "money"),  # the block's title names the currency
    Column("col_tax_amount", "Tax amount", "tax", "money"),
)

TITLE_BLOCK = (  # rows 2-6 of every sheet: (label key, English label, what it shows)
    ("operation", "Operation", "operation"),
    ("period", "Billing period", "period"),
    ("billing_date", "Billing date", "billing_date"),
    ("remittance_date", "Remittance date", "remittance_date"),
    ("currency", "Settlement currency", "currency"),
)
TITLE_VALUE_COLUMN = 3  # a title block row: its label in column A, its value in C
HEADER_ROW = 8  # rows 1-6 title block, 7 empty, 8 header, data from 9
HEADER_HEIGHT = 45  # points: three lines of a wrapped header
TOTAL_UNDER = "net"  # the summary's total sits under this column


@dataclass(frozen=True)
class Page:
    """How a sheet prints: paper (Excel's paperSize: 8 is A3, 9 A4), orientation, margins
    (inches), at 100 % (no fit to page), the rows up to the header repeated on every page,
    "page N of M" in the footer."""

    paper: int = 8
    orientation: str = "landscape"
    margin: float = 0.25
    margin_top: float = 0.5
    footer: str = "&L&A&RPage &P of &N"


PAGE = Page()
