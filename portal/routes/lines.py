"""``GET /lines``: the drill-down of one agent x airline in one period - its billed lines
(AWB records and the CCA/DCM records on them, as accepted), paged, each marked with its
dispute (``casslink.dispute_marks``) and, for a user with the ``dispute`` right on the
agent, a "Dispute" action opening the raise form pre-filled. Linked from the rows of the
live period view and of the statements. The table is polled (:data:`POLL`), so both
parties see a new dispute or decision marked without a reload.

Reads only that pair's lines: the parts billed in the period, filtered to the airline and
the agent by the Parquet reader (row-group statistics skip other airlines' parts), never
every line of the period.
"""

from __future__ import annotations

import math
from functools import lru_cache
from pathlib import Path
from urllib.parse import urlencode

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
from fastapi import APIRouter, Depends, HTTPException, Request
from fastapi.responses import RedirectResponse
from sqlalchemy import Engine

from casslink import dispute_marks, i18n, registry, warehouse
from casslink.app.disputes import states
from casslink.canonical import NET_TERMS
from casslink.portal.deps import Principal, current_user
from casslink.portal.rendering import render
from casslink.settings import Settings

router = APIRouter()
PAGE_LINES = 50
POLL = "every 3s"
"""The table re-reads its page this often (htmx, ``hx-select``): a dispute raised or decided
meanwhile shows its mark without a reload."""
SHOWN = ("weight_pp", "valuation_pp", "oc_carrier_pp", "oc_agent_cc", "commission",
         "discount", "tax_airline", "tax_agent")
COLUMNS = ("airline_prefix", "awb_serial", "agent_code", "record_type", "correction_number",
           "currency", "source_line", *NET_TERMS)
TYPE_ORDER = {"AWB": 0, "CCO": 1, "CCR": 2, "DCO": 3, "DCR": 4}


def pair_lines(settings: Settings, engine: Engine, operation: str, period: str, airline: str,
               agent: str, awb_serial: str | None = None) -> pa.Table:
    """The accepted lines of ``agent`` with ``airline`` billed in the period (one AWB's if
    ``awb_serial``), by AWB, CCA/DCM number and record type, with each line's agent net.
    Memoized on the parts read (path, size, mtime): an accepted part is never rewritten, a
    newly accepted file adds one, so the page's polls read the Parquet parts only when the
    period's lines changed."""
    files = [warehouse.part_path(settings, operation, a.period_id, a.part_name)
             for a in registry.accepted_parts(engine, operation, period)]
    stats = tuple((str(f), st.st_size, st.st_mtime_ns) for f, st in
                  ((f, f.stat()) for f in files))
    return read_pair(stats, airline, agent, awb_serial)


@lru_cache(maxsize=64)
def read_pair(parts: tuple[tuple[str, int, int], ...], airline: str, agent: str,
              awb_serial: str | None) -> pa.Table:
    """:func:`pair_lines` read from ``parts`` (path, size, mtime of each)."""
    t = warehouse.read_parts([Path(p) for p, *_ in parts], warehouse.Query(
        columns=COLUMNS, airline_prefix=airline, agent_code=agent, awb_serial=awb_serial))
    net = np.zeros(t.num_rows, np.int64)
    for c, sign in NET_TERMS.items():
        net += sign * np.asarray(pc.fill_null(t.column(c), 0), np.int64)
    t = t.append_column("net", pa.array(net, pa.int64()))
    kind = pa.array([TYPE_ORDER.get(x, 9) for x in t.column("record_type").to_pylist()],
                    pa.int8())
    t = t.append_column("type_order", kind)
    return t.sort_by([("awb_serial", "ascending"), ("correction_number", "ascending"),
                      ("type_order", "ascending")])


def _allowed(p: Principal, airline: str, agent: str) -> None:
    """404 unless the user sees one side of the pair (never 403: no IDOR)."""
    if not (p.can("view", agent) or p.can("view", airline)):
        raise HTTPException(404, "no such lines")


def raise_link(operation: str, period: str, line: dict) -> str:
    """The raise form pre-filled with the line: AWB, its CCA/DCM number (a correction)."""
    q = {"operation": operation, "period": period, "agent": line["agent_code"],
         "airline": line["airline_prefix"],
         "awb": f"{line['airline_prefix']}-{line['awb_serial']}"}
    if line["correction_number"]:
        q["correction"] = line["correction_number"]
    return "/disputes/new?" + urlencode(q)


@router.get("/lines", include_in_schema=False)
def lines_page(request: Request, operation: str = "", period: str = "", airline: str = "",
               agent: str = "", page: int = 1, p: Principal = Depends(current_user)):
    if not (operation and period and airline and agent):  # the pairs are chosen there
        return RedirectResponse("/periods/current", status_code=303)
    _allowed(p, airline, agent)
    settings, engine = request.app.state.settings, request.app.state.engine
    t = pair_lines(settings, engine, operation, period, airline, agent)
    pages = max(1, math.ceil(t.num_rows / PAGE_LINES))
    page = min(max(page, 1), pages)
    shown = t.slice((page - 1) * PAGE_LINES, PAGE_LINES).to_pylist()
    marks = dispute_marks.marks(engine, operation, period, agent=agent, airline=airline)
    disputes = p.can("dispute", agent)
    for line in shown:
        line["mark"] = marks.get((line["airline_prefix"], line["awb_serial"], agent))
        line["mark_status"] = line["mark"] and i18n.gettext(
            p.language, "disputes", states.LABELS.get(line["mark"].status, line["mark"].status))
        line["raise"] = raise_link(operation, period, line) if disputes and \
            line["record_type"] in ("AWB", "CCR", "DCR") else None
        line["tax"] = (line["tax_airline"] or 0) - (line["tax_agent"] or 0)
    base = {"operation": operation, "period": period, "agent": agent, "airline": airline}
    return render(request, "lines.html", operation=operation, period=period, airline=airline,
                  agent=agent, lines=shown, page=page, pages=pages, total=t.num_rows,
                  page_url=lambda n: "/lines?" + urlencode({**base, "page": n}), poll=POLL)
