"""The per-period dispute report of each party, as CSV and Excel, into its outbox.

A period's report lists the disputes of AWBs billed in it and those whose adjustment it
bills; each agent and airline gets the rows that are theirs. The columns are the table
:data:`COLUMNS` (header, field, kind); amounts are written from minor units.
"""

from __future__ import annotations

import csv
import datetime as dt
import io
from pathlib import Path

from sqlalchemy import Engine, or_, select

from casslink.db.engine import session_scope
from casslink.db.models import Dispute
from casslink.money import minor_unit, to_decimal
from casslink.outbox import write_to_outbox
from casslink.outputs import xlsx
from casslink.outputs.layouts import MONEY_FORMATS
from casslink.settings import Settings

from .service import as_dict

COLUMNS = (
    ("Dispute", "id", "int", 9), ("Status", "status", "text", 16), ("Kind", "kind", "text", 15),
    ("Operation", "operation", "text", 9), ("Period", "period", "text", 9),
    ("Agent", "agent", "text", 13), ("Airline", "airline", "text", 8),
    ("AWB", "awb", "text", 14), ("Reason", "reason", "text", 16),
    ("Claimed", "claimed_minor", "money", 13), ("Accepted", "accepted_minor", "money", 13),
    ("Currency", "currency", "text", 8), ("Instrument", "instrument", "text", 10),
    ("CCA/DCM", "dcm_number", "text", 8),
    ("Adjustment period", "adjust_period", "text", 10), ("Raised on", "raised_on", "text", 11),
    ("Response due", "response_due", "text", 11), ("Text", "text", "text", 40),
)
"""The report's columns: header, field of the dispute, kind (text, int, money), width."""


def rows_of(engine: Engine, operation: str, period_id: str) -> list[dict]:
    with session_scope(engine) as s:
        q = select(Dispute).where(Dispute.operation_code == operation, or_(
            Dispute.period_id == period_id, Dispute.adjust_period_id == period_id)
        ).order_by(Dispute.id)
        return [as_dict(d) for d in s.scalars(q)]


def _cell(d: dict, field: str, kind: str) -> str:
    value = d.get(field)
    if value is None:
        return ""
    return str(to_decimal(int(value), d["currency"])) if kind == "money" else str(value)


def csv_bytes(rows: list[dict]) -> bytes:
    buf = io.StringIO()
    w = csv.writer(buf, lineterminator="\r\n")
    w.writerow([h for h, *_ in COLUMNS])
    for d in rows:
        w.writerow([_cell(d, f, k) for _, f, k, _ in COLUMNS])
    return buf.getvalue().encode("utf-8")


def xlsx_bytes(rows: list[dict], title: str, currency: str, when: dt.date) -> bytes:
    pieces = [xlsx.row(1, [xlsx.text(title, xlsx.TITLE)]),
              xlsx.row(3, [xlsx.text(h, xlsx.HEADER) for h, *_ in COLUMNS])]
    for i, d in enumerate(rows, start=4):
        cells = []
        for _, f, k, _ in COLUMNS:
            v = _cell(d, f, k)
            cells.append(xlsx.number(v, xlsx.MONEY) if k == "money" and v else
                         xlsx.number(v) if k == "int" else xlsx.text(v))
        pieces.append(xlsx.row(i, cells))
    sheet = xlsx.Sheet(xlsx.sheet_name(title), tuple(w for *_, w in COLUMNS), pieces, 3,
                       3 + len(rows))
    return xlsx.package([sheet], xlsx.styles(MONEY_FORMATS[minor_unit(currency)]), when)


def write_reports(settings: Settings, engine: Engine, operation: str, period_id: str,
                  currency: str, when: dt.date | None = None) -> dict[str, list[Path]]:
    """Each party's CSV and Excel report of the period; party code -> files written."""
    rows = rows_of(engine, operation, period_id)
    parties = sorted({d["agent"] for d in rows} | {d["airline"] for d in rows})
    when = when or dt.date.today()
    out = {}
    for code in parties:
        mine = [d for d in rows if code in (d["agent"], d["airline"])]
        stem = f"DISPUTES_{operation}_{period_id}_{code}"
        out[code] = [
            write_to_outbox(settings, code, f"{stem}.csv", csv_bytes(mine)),
            write_to_outbox(settings, code, f"{stem}.xlsx", xlsx_bytes(
                mine, f"Disputes {operation} {period_id}", currency, when))]
    return out
