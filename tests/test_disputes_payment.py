"""The payment effect of open disputes, both modes, conservation checked (hand-computed on
tests/dispute_world.py: DE 2026-11 bills A1 990.50 - 1000.00 less the 9.50 VAT due agent
that DE's rules compute on its 50.00 commission (19 %) - and A2 500.00, all from LH)."""

from __future__ import annotations

import datetime as dt
import json
from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from casslink.app.disputes import service
from casslink.dispute_rules import DisputeRule
from casslink.settlement import payment_effect
from casslink.settlement.run import settle
from tests.dispute_world import A1, A2, AWB1, AWB2, LH, build

DAY = dt.date(2026, 12, 4)


def _raise(s, engine, who, agent, awb, amount):
    return service.raise_dispute(s, engine, service.actor_for(engine, who), agent=agent,
                                 airline=LH, awb=f"{LH}-{awb}", reason="rate", amount=amount,
                                 today=DAY)


def _rows(folder: Path) -> dict:
    return {(r["agent_code"], r["airline_prefix"]): (r["net"], r["withheld"], r["payable"])
            for r in pq.read_table(folder / "payable.parquet").to_pylist()}


def test_both_modes_conserve(system, tmp_path):
    s, engine = system
    build(s, engine, tmp_path)
    _raise(s, engine, "fw-admin", A1, AWB1, "120.00")
    decided = _raise(s, engine, "other-agent", A2, AWB2, "20.00")
    service.decide(s, engine, service.actor_for(engine, "lh-admin"), decided, accept=False,
                   text="no")  # decided: never withheld
    result = settle(s, engine, "DE", "2026-11")  # DE: pay_in_full
    folder = Path(result.ledger_dir)
    summary = json.loads((folder / "payment.json").read_text())
    assert (summary["payment_effect"], summary["withheld"], summary["payable"]) == (
        "pay_in_full", 0, 149050)
    assert _rows(folder) == {(A1, LH): (99050, 0, 99050), (A2, LH): (50000, 0, 50000)}

    withhold = payment_effect.apply(engine, "DE", "2026-11", folder,
                                    DisputeRule("DE", payment_effect="withhold_disputed"))
    assert (withhold["net"], withhold["withheld"], withhold["payable"]) == (149050, 12000,
                                                                           137050)
    assert _rows(folder) == {(A1, LH): (99050, 12000, 87050), (A2, LH): (50000, 0, 50000)}
    table = pq.read_table(folder / "payable.parquet")
    assert payment_effect.party_totals(table, "airline_prefix") == {
        LH: {"net": 149050, "withheld": 12000, "payable": 137050}}


def test_withholding_is_capped_at_the_bill_and_the_check_can_fail():
    bills = pa.table({"agent_code": ["A", "B"], "airline_prefix": ["L", "L"],
                      "net": pa.array([5000, -300], pa.int64())})
    rule = DisputeRule("US", payment_effect="withhold_disputed")
    t = payment_effect.payable(bills, {("A", "L"): 9000, ("B", "L"): 100}, rule)
    assert t.column("withheld").to_pylist() == [5000, 0]  # never below zero, never a credit
    agents = pa.table({"agent_code": ["A", "B"], "net": pa.array([5000, -300], pa.int64())})
    airlines = pa.table({"airline_prefix": ["L"], "net": pa.array([4700], pa.int64())})
    assert payment_effect.check(t, agents, airlines) == {"withheld": 5000, "payable": -300,
                                                         "net": 4700}
    broken = t.set_column(4, "payable", pa.array([100, -300], pa.int64()))
    with pytest.raises(payment_effect.PaymentConservationError, match="agent A"):
        payment_effect.check(broken, agents, airlines)
