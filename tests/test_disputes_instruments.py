"""CCA or DCM, and AWBs billed in a foreign currency (docs/disputes.md), on the hand-made DE
world (tests/dispute_world.py: A1 owes 300.00 in 2026-12 before any dispute, A2 nothing).

The amounts are worked out by hand in the comments; the ledger of the period the
adjustment is billed in must show exactly them, and conserve."""

from __future__ import annotations

import datetime as dt
import json
from pathlib import Path

import pyarrow.compute as pc
import pytest
from typer.testing import CliRunner

from casslink import registry
from casslink.app.cli.main import app
from casslink.app.disputes import service
from casslink.app.ingest import land_and_ingest
from casslink.participants import resolve
from casslink.reference import ReferenceData
from casslink.settlement.run import read_ledger, settle
from tests.dispute_world import A1, A2, AWB1, AWB2, LH, awb, billing_file, build

BEFORE_CUTOFF = dt.date(2026, 12, 4)  # DE 2026-11: cut-off 2026-12-05
AFTER_CUTOFF = dt.date(2026, 12, 10)  # pre-remittance: up to 2026-12-25
USD_AWB, GBP_AWB = "22222222", "33333333"


def _ledger(s, engine, period: str) -> dict:
    ledger = read_ledger(Path(settle(s, engine, "DE", period).ledger_dir))
    agents = {a["agent_code"]: a["net"] for a in ledger["agents"].to_pylist()}
    airlines = {a["airline_prefix"]: a["net"] for a in ledger["airlines"].to_pylist()}
    assert sum(agents.values()) == sum(airlines.values())  # conservation
    return {"agents": agents, "airlines": airlines,
            "bills": {b["agent_code"]: b for b in ledger["bills"].to_pylist()}}


def _records(s, engine, number: str) -> list[dict]:
    """The warehouse's records of CCA/DCM ``number``."""
    rows = registry.accepted_records(s, engine, "DE", airline_prefix=LH)
    rows = rows.filter(pc.equal(rows.column("correction_number"), number))
    return rows.select(["record_type", "awb_serial", "correction_number", "currency",
                        "weight_pp", "reason"]).to_pylist()


def test_a_rate_correction_bills_a_cca_and_a_duplicate_a_dcm(system, tmp_path):
    s, engine = system
    build(s, engine, tmp_path)
    rate = service.raise_dispute(s, engine, service.OPERATOR, agent=A1, airline=LH,
                                 awb=f"{LH}-{AWB1}", reason="rate", amount="120.00",
                                 today=BEFORE_CUTOFF)
    dup = service.raise_dispute(s, engine, service.OPERATOR, agent=A2, airline=LH,
                                awb=f"{LH}-{AWB2}", reason="duplicate", today=BEFORE_CUTOFF)
    cca = service.decide(s, engine, service.OPERATOR, rate, accept=True, amount="80.00",
                         today=BEFORE_CUTOFF)
    dcm = service.decide(s, engine, service.OPERATOR, dup, accept=True, today=BEFORE_CUTOFF)
    # one number series per airline and instrument
    assert [(d["status"], d["instrument"], d["dcm_number"]) for d in (cca, dcm)] == [
        ("ADJUSTED", "CCA", "CP0001"), ("ADJUSTED", "DCM", "DP0001")]
    # the CCA pair: the original repeats weight 1000.00, the revised bills 920.00
    reason = f"DISPUTE {rate} rate"
    assert _records(s, engine, "CP0001") == [
        {"record_type": "CCO", "awb_serial": AWB1, "correction_number": "CP0001",
         "currency": "EUR", "weight_pp": 100000, "reason": reason},
        {"record_type": "CCR", "awb_serial": AWB1, "correction_number": "CP0001",
         "currency": "EUR", "weight_pp": 92000, "reason": reason}]
    assert [r["record_type"] for r in _records(s, engine, "DP0001")] == ["DCO", "DCR"]

    led = _ledger(s, engine, "2026-12")
    # A1: 300.00 billed in December - 80.00 accepted; A2: - 500.00 (the duplicate removed)
    assert led["agents"] == {A1: 30000 - 8000, A2: -50000}
    assert led["airlines"] == {LH: 22000 - 50000}
    a1 = led["bills"][A1]
    assert (a1["cca_records"], a1["cca_net"], a1["dcm_records"]) == (2, -8000, 0)
    assert (led["bills"][A2]["dcm_records"], led["bills"][A2]["dcm_net"]) == (2, -50000)

    res = CliRunner().invoke(app, ["trace", "--operation", "DE", "--period", "2026-12",
                                   "--agent", A1, "--json"])
    assert res.exit_code == 0, res.output
    traced = {f["file_id"]: f for f in json.loads(res.output)}
    assert traced[cca["file_id"]]["disputes"] == [
        {"dispute_id": rate, "status": "ADJUSTED", "role": "generated",
         "correction_number": "CP0001"}]


def test_a_pre_remittance_dispute_bills_a_dcm_whatever_its_reason(system, tmp_path):
    s, engine = system
    build(s, engine, tmp_path)
    did = service.raise_dispute(s, engine, service.OPERATOR, agent=A1, airline=LH,
                                awb=f"{LH}-{AWB1}", reason="rate", amount="10.00",
                                today=AFTER_CUTOFF)
    out = service.decide(s, engine, service.OPERATOR, did, accept=True, today=AFTER_CUTOFF)
    assert (out["kind"], out["instrument"], out["dcm_number"], out["status"]) == (
        "pre_remittance", "DCM", "DP0001", "ADJUSTED")


def _foreign(s, engine, tmp_path) -> None:
    """LH's second November file: A2's AWB of USD 1000.00 at 0.92000 EUR per USD and one of
    GBP 1000.00 at 1.50000 EUR per GBP."""
    build(s, engine, tmp_path)
    ref = ReferenceData.from_db(engine)
    day = dt.date(2026, 11, 20)
    rows = [{**awb(USD_AWB, A2, day, weight_pp=100000), "currency": "USD",
             "exchange_rate_e5": 92000},
            {**awb(GBP_AWB, A2, day, weight_pp=100000), "currency": "GBP",
             "exchange_rate_e5": 150000}]
    r = land_and_ingest(s, engine, billing_file(ref, tmp_path, "2026-11", rows, number=2),
                        resolve(engine, LH))
    assert (r.verdict, r.counts["accepted"]) == ("accepted", 2), r.codes


def test_a_foreign_currency_awb_is_credited_exactly_the_accepted_euros(system, tmp_path):
    s, engine = system
    _foreign(s, engine, tmp_path)
    did = service.raise_dispute(s, engine, service.OPERATOR, agent=A2, airline=LH,
                                awb=f"{LH}-{USD_AWB}", reason="weight", amount="10.01",
                                today=BEFORE_CUTOFF)
    out = service.decide(s, engine, service.OPERATOR, did, accept=True, today=BEFORE_CUTOFF)
    assert (out["status"], out["currency"], out["accepted_minor"]) == ("ADJUSTED", "EUR", 1001)
    # USD 1000.00 is EUR 920.00; EUR 10.01 = USD 10.88 (989.12 x 0.92 = 909.9904 -> 909.99)
    recs = _records(s, engine, "CP0001")
    assert [(r["record_type"], r["currency"], r["weight_pp"]) for r in recs] == [
        ("CCO", "USD", 100000), ("CCR", "USD", 98912)]
    led = _ledger(s, engine, "2026-12")
    assert led["agents"] == {A1: 30000, A2: -1001}
    assert led["bills"][A2]["cca_net"] == -1001


def test_a_foreign_claim_no_whole_amount_reaches_is_refused_with_the_nearest(system,
                                                                             tmp_path):
    s, engine = system
    _foreign(s, engine, tmp_path)
    # GBP 0.01 converts to EUR 0.01 or 0.02 (x 1.5, half up): EUR 0.02 -> nearest 0.01, 0.03
    with pytest.raises(service.DisputeError, match=r"nearest are 0\.01, 0\.03"):
        service.raise_dispute(s, engine, service.OPERATOR, agent=A2, airline=LH,
                              awb=f"{LH}-{GBP_AWB}", reason="rate", amount="0.02",
                              today=BEFORE_CUTOFF)
    # removing it claims its whole net in euros: GBP 1000.00 x 1.5 = EUR 1500.00
    did = service.raise_dispute(s, engine, service.OPERATOR, agent=A2, airline=LH,
                                awb=f"{LH}-{GBP_AWB}", reason="not_our_shipment",
                                today=BEFORE_CUTOFF)
    out = service.decide(s, engine, service.OPERATOR, did, accept=True, today=BEFORE_CUTOFF)
    assert (out["claimed_minor"], out["instrument"], out["status"]) == (150000, "DCM",
                                                                       "ADJUSTED")
    assert _ledger(s, engine, "2026-12")["agents"] == {A1: 30000, A2: -150000}


def test_the_accepted_amount_is_what_settles_vat_included(system, tmp_path):
    """DE computes 19 % VAT on commission (fixtures/reference/tax_rules.csv): A1's AWB bills
    1000.00 + 50.00 - commission 50.00 - VAT 9.50 = 990.50."""
    s, engine = system
    build(s, engine, tmp_path)
    # removing the AWB claims what it bills, VAT included
    removed = service.raise_dispute(s, engine, service.OPERATOR, agent=A1, airline=LH,
                                    awb=f"{LH}-{AWB1}", reason="not_our_shipment",
                                    today=BEFORE_CUTOFF)
    assert service.show(engine, service.OPERATOR, removed)["claimed_minor"] == 99050
    service.withdraw(engine, service.OPERATOR, removed)
    # 11.90 of commission: commission 50.00 -> 60.00, VAT due agent 9.50 -> 11.40
    did = service.raise_dispute(s, engine, service.OPERATOR, agent=A1, airline=LH,
                                awb=f"{LH}-{AWB1}", reason="commission", amount="11.90",
                                today=BEFORE_CUTOFF)
    out = service.decide(s, engine, service.OPERATOR, did, accept=True, today=BEFORE_CUTOFF)
    assert (out["status"], out["instrument"]) == ("ADJUSTED", "DCM")
    rows = registry.accepted_records(s, engine, "DE", airline_prefix=LH)
    rows = rows.filter(pc.equal(rows.column("correction_number"), "DP0001"))
    assert [(r["record_type"], r["commission"]) for r in rows.to_pylist()] == [
        ("DCO", 5000), ("DCR", 6000)]
    assert _ledger(s, engine, "2026-12")["agents"] == {A1: 30000 - 1190}


def test_a_claim_on_a_computed_tax_is_refused(system, tmp_path):
    """DE computes VAT due agent itself: a credit on the file's figure would bill nothing."""
    s, engine = system
    build(s, engine, tmp_path)
    with pytest.raises(service.DisputeError, match="tax rules compute it"):
        service.raise_dispute(s, engine, service.OPERATOR, agent=A1, airline=LH,
                              awb=f"{LH}-{AWB1}", reason="tax", component="tax_agent",
                              amount="1.00", today=BEFORE_CUTOFF)


def test_a_removal_partly_accepted_credits_exactly_the_accepted_part(system, tmp_path):
    s, engine = system
    build(s, engine, tmp_path)
    did = service.raise_dispute(s, engine, service.OPERATOR, agent=A1, airline=LH,
                                awb=f"{LH}-{AWB1}", reason="not_our_shipment",
                                today=BEFORE_CUTOFF)
    with pytest.raises(service.DisputeError, match="exceeds the claim"):
        service.decide(s, engine, service.OPERATOR, did, accept=True, amount="990.51",
                       today=BEFORE_CUTOFF)
    out = service.decide(s, engine, service.OPERATOR, did, accept=True, amount="400.00",
                         today=BEFORE_CUTOFF)
    # claimed 990.50 (the whole net), accepted 400.00: PARTLY_ACCEPTED, then billed
    assert (out["claimed_minor"], out["accepted_minor"]) == (99050, 40000)
    assert [h["to"] for h in out["history"] if h["to"]] == [
        "RAISED", "PARTLY_ACCEPTED", "ADJUSTED"]
    # the DCR lowers the weight charge 1000.00 -> 600.00; other charges 50.00 and the
    # commission 50.00 stay, so the VAT on commission (9.50) is unchanged: net 990.50 ->
    # 600.00 + 50.00 - 50.00 - 9.50 = 590.50, i.e. exactly 400.00 less
    assert [(r["record_type"], r["weight_pp"]) for r in _records(s, engine, "DP0001")] == [
        ("DCO", 100000), ("DCR", 60000)]
    led = _ledger(s, engine, "2026-12")
    assert led["agents"] == {A1: 30000 - 40000}
    assert led["airlines"] == {LH: 30000 - 40000}
    assert led["bills"][A1]["dcm_net"] == -40000


def test_an_acceptance_no_whole_amount_reaches_is_refused_before_deciding(system, tmp_path):
    s, engine = system
    _foreign(s, engine, tmp_path)
    did = service.raise_dispute(s, engine, service.OPERATOR, agent=A2, airline=LH,
                                awb=f"{LH}-{GBP_AWB}", reason="weight", amount="0.03",
                                today=BEFORE_CUTOFF)  # GBP 0.02 x 1.5 = EUR 0.03
    with pytest.raises(service.DisputeError, match=r"nearest are 0\.01, 0\.03"):
        service.decide(s, engine, service.OPERATOR, did, accept=True, amount="0.02",
                       today=BEFORE_CUTOFF)
    d = service.show(engine, service.OPERATOR, did)
    assert (d["status"], d["accepted_minor"], d["dcm_number"]) == ("RAISED", None, None)
