"""Issue 25's workflow on a hand-made period (tests/dispute_world.py), on SQLite and
PostgreSQL: raise before the cut-off -> the airline partly accepts -> the next period's
settlement bills the generated DCM (a money adjustment) or CCA (a changed rate or weight)
-> the agent pays exactly the accepted amount less -> trace reaches the dispute."""

from __future__ import annotations

import datetime as dt
import json
from pathlib import Path

from sqlalchemy import select
from typer.testing import CliRunner

from casslink.app.cli.main import app
from casslink.app.disputes import service
from casslink.db.engine import session_scope
from casslink.db.models import DisputeEvent, LandedFile
from casslink.settlement.run import read_ledger, settle
from tests.dispute_world import A1, AWB1, LH, build

BEFORE_CUTOFF = dt.date(2026, 12, 4)


def test_raise_partly_accept_bill_trace(system, tmp_path):
    s, engine = system
    build(s, engine, tmp_path)
    agent = service.actor_for(engine, "fw-admin")
    airline = service.actor_for(engine, "lh-admin")
    dispute_id = service.raise_dispute(
        s, engine, agent, agent=A1, airline=LH, awb=f"{LH}-{AWB1}", reason="other",
        amount="120.00", text="handling fee not agreed", today=BEFORE_CUTOFF)
    raised = service.show(engine, agent, dispute_id)
    assert (raised["status"], raised["kind"], raised["period"]) == ("RAISED", "correction",
                                                                    "2026-11")
    assert raised["claims"] == {"weight_pp": 12000} and raised["response_due"] == "2026-12-14"

    out = service.decide(s, engine, airline, dispute_id, accept=True, amount="80.00",
                         text="80.00 agreed", today=BEFORE_CUTOFF)
    assert out["status"] == "ADJUSTED" and out["accepted_minor"] == 8000
    assert out["dcm_number"] == "DP0001" and out["adjust_period"] == "2026-12"
    assert [(e["action"], e["to"]) for e in out["history"]] == [
        ("raised", "RAISED"), ("accepted", "PARTLY_ACCEPTED"), ("adjustment-landed", None),
        ("adjusted", "ADJUSTED")]
    with session_scope(engine) as ses:
        dcm = ses.get(LandedFile, out["file_id"])
        assert (dcm.channel, dcm.state, dcm.verdict, dcm.billed_period_id, dcm.accepted_count
                ) == ("dispute", "archived", "accepted", "2026-12", 2)

    # the next period bills the DCM: A1 pays 300.00 - 80.00, LH is settled as much
    result = settle(s, engine, "DE", "2026-12")
    ledger = read_ledger(Path(result.ledger_dir))
    agents = {a["agent_code"]: a["net"] for a in ledger["agents"].to_pylist()}
    assert agents == {A1: 30000 - 8000}
    bill = ledger["bills"].to_pylist()[0]
    assert (bill["dcm_records"], bill["dcm_net"], bill["net"]) == (2, -8000, 22000)
    assert {a["airline_prefix"]: a["net"] for a in ledger["airlines"].to_pylist()} == {
        LH: 22000}

    # trace from the ledger lines reaches the dispute
    res = CliRunner().invoke(app, ["trace", "--operation", "DE", "--period", "2026-12",
                                   "--agent", A1, "--json"])
    assert res.exit_code == 0, res.output
    traced = {f["file_id"]: f for f in json.loads(res.output)}
    assert traced[out["file_id"]]["disputes"] == [
        {"dispute_id": dispute_id, "status": "ADJUSTED", "role": "generated",
         "correction_number": "DP0001"}]
    assert traced[out["file_id"]]["net"] == -8000
    with session_scope(engine) as ses:  # the history is append-only rows
        assert ses.scalars(select(DisputeEvent.action).where(
            DisputeEvent.dispute_id == dispute_id)).all()[-1] == "adjusted"


def test_two_accepted_disputes_of_one_airline_bill_two_dcms(system, tmp_path):
    """Each generated DCM file is casslink's own (no file number of the airline's): the
    second one is not refused as the same logical file (HOT-E602)."""
    from tests.dispute_world import A2, AWB2

    s, engine = system
    build(s, engine, tmp_path)
    ids = [service.raise_dispute(s, engine, service.OPERATOR, agent=a, airline=LH,
                                 awb=f"{LH}-{awb}", reason="other", amount=amount,
                                 today=BEFORE_CUTOFF)
           for a, awb, amount in ((A1, AWB1, "10.00"), (A2, AWB2, "20.00"))]
    outs = [service.decide(s, engine, service.OPERATOR, i, accept=True, today=BEFORE_CUTOFF)
            for i in ids]
    assert [(o["status"], o["dcm_number"]) for o in outs] == [("ADJUSTED", "DP0001"),
                                                              ("ADJUSTED", "DP0002")]
    ledger = read_ledger(Path(settle(s, engine, "DE", "2026-12").ledger_dir))
    assert {a["agent_code"]: a["net"] for a in ledger["agents"].to_pylist()} == {
        A1: 30000 - 1000, A2: -2000}
