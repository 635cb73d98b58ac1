"""The statements mark disputed lines: the Excel detail rows and the XML statements of the
period an AWB is billed in show its dispute's id, status and, once decided, the accepted
amount (tests/dispute_world.py: LH bills A1's AWB 020-12345675 and A2's 020-76543213 in DE
2026-11)."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import openpyxl
from lxml import etree

from casslink.app.disputes import service
from casslink.db.engine import session_scope
from casslink.db.models import Participant
from casslink.outputs.deliver import deliver_run
from casslink.parsers.onerecord.xsd import schema
from casslink.participants import resolve
from casslink.settlement.run import settle
from tests.dispute_world import A1, A2, AWB1, AWB2, LH, build

DAY = dt.date(2026, 12, 4)
NS = {"cb": "https://w3id.org/casslink/ns/billing#"}


def _delivered(s, engine) -> dict[str, Path]:
    result = settle(s, engine, "DE", "2026-11")
    return {Path(d["path"]).name: Path(d["path"])
            for d in deliver_run(s, engine, result.run_id, Path(result.ledger_dir))}


def _detail(path: Path) -> list[dict]:
    """The rows of the workbook's (only) detail sheet, by header."""
    ws = openpyxl.load_workbook(path, read_only=True).worksheets[1]
    rows = list(ws.iter_rows(min_row=8, values_only=True))
    return [dict(zip(rows[0], r, strict=True)) for r in rows[1:] if r and r[0]]


def test_excel_and_xml_statements_mark_disputed_awbs(system, tmp_path):
    s, engine = system
    build(s, engine, tmp_path)
    accepted = service.raise_dispute(s, engine, service.OPERATOR, agent=A1, airline=LH,
                                     awb=f"{LH}-{AWB1}", reason="rate", amount="120.00",
                                     today=DAY)
    service.decide(s, engine, service.OPERATOR, accepted, accept=True, amount="80.00",
                   today=DAY)
    open_ = service.raise_dispute(s, engine, service.OPERATOR, agent=A2, airline=LH,
                                  awb=f"{LH}-{AWB2}", reason="weight", amount="5.00",
                                  today=DAY)
    files = _delivered(s, engine)

    # the airline's detail: one row per ledger line, the disputed ones marked
    rows = _detail(files[f"DE_2026-11_{LH}_settlement.xlsx"])
    marks = {r["AWB"]: (r["Dispute"], r["Dispute status"], r["Accepted (EUR)"]) for r in rows}
    assert marks == {f"{LH}-{AWB1}": (accepted, "ADJUSTED", 80),
                     f"{LH}-{AWB2}": (open_, "RAISED", None)}
    # the agent's statement in German: the same mark under translated headers
    with session_scope(engine) as ses:
        ses.get(Participant, resolve(engine, A1).id).language = "de"
    files = _delivered(s, engine)
    de = _detail(files[f"DE_2026-11_{A1}_statement.xlsx"])
    assert [(r["AWB"], r["Reklamation"], r["Status der Reklamation"], r["Angenommen (EUR)"])
            for r in de] == [(f"{LH}-{AWB1}", accepted, "ADJUSTED", 80)]

    for name, expected in ((f"DE_2026-11_{A1}_statement.xml",
                            [(f"{LH}-{AWB1}", LH, str(accepted), "ADJUSTED", "80.00")]),
                           (f"DE_2026-11_{LH}_settlement.xml",
                            [(f"{LH}-{AWB1}", A1, str(accepted), "ADJUSTED", "80.00"),
                             (f"{LH}-{AWB2}", A2, str(open_), "RAISED", None)])):
        doc = etree.parse(str(files[name]))
        assert schema().validate(doc), schema().error_log
        assert [tuple(d.findtext(f"cb:{f}", namespaces=NS) for f in (
            "awbNumber", "counterpartyCode", "disputeId", "disputeStatus", "acceptedAmount"))
            for d in doc.findall(".//cb:DisputedAwb", namespaces=NS)] == expected
