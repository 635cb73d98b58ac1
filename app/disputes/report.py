"""The per-period dispute report of each party, as CSV and Excel, into its outbox.

A period's report lists the disputes of AWBs billed in it and those whose adjustment it
bills; each agent and airline gets the rows that are theirs, in the language of its
documents (``participants.language``). The layout is the table :data:`COLUMNS`; headers,
title, statuses, kinds and reasons are messages of the ``disputes`` gettext catalog (8
languages), :func:`values` says which fields are translated; amounts are written from minor
units, codes (AWB, CCA/DCM number, currency, periods) stay as they are.
"""

from __future__ import annotations

import csv
import datetime as dt
import io
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from sqlalchemy import Engine, or_, select

from casslink import i18n
from casslink.db.engine import session_scope
from casslink.db.models import Dispute, Participant
from casslink.dispute_rules import load_reasons
from casslink.money import minor_unit, to_decimal
from casslink.outbox import write_to_outbox
from casslink.outputs import xlsx
from casslink.outputs.layouts import MONEY_FORMATS
from casslink.settings import Settings

from . import states
from .service import as_dict

DOMAIN = "disputes"


@dataclass(frozen=True)
class Column:
    label: str  # the header: an English message id of the disputes catalog
    field: str  # a key of service.as_dict
    kind: str = "text"  # text | int | money | label (its value's message, see values())
    width: float = 10


COLUMNS = (
    Column("Dispute", "id", "int", 9), Column("Status", "status", "label", 16),
    Column("Kind", "kind", "label", 15), Column("Operation", "operation", width=9),
    Column("Period", "period", width=9), Column("Agent", "agent", width=13),
    Column("Airline", "airline", width=8), Column("AWB", "awb", width=14),
    Column("Reason", "reason", "label", 24), Column("Claimed", "claimed_minor", "money", 13),
    Column("Accepted", "accepted_minor", "money", 13), Column("Currency", "currency", width=8),
    Column("Instrument", "instrument", width=10), Column("CCA/DCM no.", "dcm_number", width=8),
    Column("Adjustment period", "adjust_period", width=10),
    Column("Raised on", "raised_on", width=11), Column("Response due", "response_due", width=11),
    Column("Text", "text", width=40),
)
"""The report's columns, in order (the same in the CSV and the Excel sheet)."""
TITLE = "Disputes {operation} {period}"
STATUS_LABELS = states.LABELS
KIND_LABELS = {"correction": "Correction", "pre_remittance": "Pre-remittance dispute"}


def values(reference_dir: Path) -> dict[str, dict[str, str]]:
    """Field -> code -> message id of the ``label`` columns (reasons: their reference-table
    label, ``fixtures/reference/dispute_reasons.csv``)."""
    return {"status": STATUS_LABELS, "kind": KIND_LABELS,
            "reason": {code: r.label for code, r in load_reasons(reference_dir).items()}}


def languages(engine: Engine, codes: list[str]) -> dict[str, str]:
    """Party code -> the language of its documents (English where none or unknown)."""
    with session_scope(engine) as s:
        rows = dict(s.execute(select(Participant.code, Participant.language).where(
            Participant.code.in_(codes))).all())
    return {c: rows[c] if rows.get(c) in i18n.LANGUAGES else i18n.DEFAULT_LANGUAGE
            for c in codes}


def rows_of(engine: Engine, operation: str, period_id: str) -> list[dict]:
    with session_scope(engine) as s:
        q = select(Dispute).where(Dispute.operation_code == operation, or_(
            Dispute.period_id == period_id, Dispute.adjust_period_id == period_id)
        ).order_by(Dispute.id)
        return [as_dict(d) for d in s.scalars(q)]


class Layout:
    """The report's labels in one language."""

    def __init__(self, language: str, labels: dict[str, dict[str, str]]) -> None:
        self.tr: Callable[[str], str] = lambda m: i18n.gettext(language, DOMAIN, m)
        self.labels = labels
        self.headers = [self.tr(c.label) for c in COLUMNS]

    def cell(self, d: dict, c: Column) -> str:
        value = d.get(c.field)
        if value is None:
            return ""
        if c.kind == "money":
            return str(to_decimal(int(value), d["currency"]))
        if c.kind == "label":
            return self.tr(self.labels[c.field].get(str(value), str(value)))
        return str(value)


def csv_bytes(rows: list[dict], layout: Layout) -> bytes:
    buf = io.StringIO()
    w = csv.writer(buf, lineterminator="\r\n")
    w.writerow(layout.headers)
    for d in rows:
        w.writerow([layout.cell(d, c) for c in COLUMNS])
    return buf.getvalue().encode("utf-8")


def xlsx_bytes(rows: list[dict], layout: Layout, title: str, currency: str,
               when: dt.date) -> bytes:
    pieces = [xlsx.row(1, [xlsx.text(title, xlsx.TITLE)]),
              xlsx.row(3, [xlsx.text(h, xlsx.HEADER) for h in layout.headers])]
    for i, d in enumerate(rows, start=4):
        cells = []
        for c in COLUMNS:
            v = layout.cell(d, c)
            cells.append(xlsx.number(v, xlsx.MONEY) if c.kind == "money" and v else
                         xlsx.number(v) if c.kind == "int" else xlsx.text(v))
        pieces.append(xlsx.row(i, cells))
    widths = tuple(xlsx.fit_width(c.width, h) for c, h in zip(COLUMNS, layout.headers,
                                                                strict=True))
    sheet = xlsx.Sheet(xlsx.sheet_name(title), widths, pieces, 3, 3 + len(rows))
    return xlsx.package([sheet], xlsx.styles(MONEY_FORMATS[minor_unit(currency)]), when)


def write_reports(settings: Settings, engine: Engine, operation: str, period_id: str,
                  currency: str, when: dt.date | None = None) -> dict[str, list[Path]]:
    """Each party's CSV and Excel report of the period, in its document language; party
    code -> files written."""
    rows = rows_of(engine, operation, period_id)
    parties = sorted({d["agent"] for d in rows} | {d["airline"] for d in rows})
    labels = values(settings.fixtures_dir / "reference")
    language = languages(engine, parties)
    when = when or dt.date.today()
    out = {}
    for code in parties:
        mine = [d for d in rows if code in (d["agent"], d["airline"])]
        layout = Layout(language[code], labels)
        title = layout.tr(TITLE).format(operation=operation, period=period_id)
        stem = f"DISPUTES_{operation}_{period_id}_{code}"
        out[code] = [
            write_to_outbox(settings, code, f"{stem}.csv", csv_bytes(mine, layout)),
            write_to_outbox(settings, code, f"{stem}.xlsx",
                            xlsx_bytes(mine, layout, title, currency, when))]
    return out
