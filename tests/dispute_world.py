"""A hand-made DE world for the dispute tests (plain functions, no fixtures).

LH (020) bills, in DE 2026-11 (cut-off 2026-12-05, remittance 2026-12-28):
- AWB 020-12345675 to agent A1 23156130152: weight 1000.00 + other charges due carrier
  50.00 - commission 50.00 = 1000.00, less the VAT due agent DE's rules compute on the
  commission (19 % of 50.00 = 9.50; FRA-HKG charges are exempt): net 990.50;
- AWB 020-76543213 to agent A2 23658656000: weight 500.00 = net 500.00;
and in DE 2026-12 AWB 020-11111111 to A1: weight 300.00 = net 300.00.
Users: tests/portal_world.py (lh-admin decides for 020, fw-admin is A1, other-agent is A2).
"""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import pyarrow as pa

from casslink.app.ingest import land_and_ingest
from casslink.canonical import RECORDS_SCHEMA, FileHeader, empty_charges
from casslink.parsers.hot import write_hot
from casslink.participants import resolve
from casslink.reference import ReferenceData
from tests.portal_world import populate

A1, A2, LH = "23156130152", "23658656000", "020"
AWB1, AWB2, AWB_DEC = "12345675", "76543213", "11111111"
MONEY = ("weight_pp", "valuation_pp", "oc_carrier_pp", "oc_agent_pp", "weight_cc",
         "valuation_cc", "oc_carrier_cc", "oc_agent_cc", "taxes_pp", "taxes_cc", "commission",
         "discount", "tax_airline", "tax_agent")


def awb(serial: str, agent: str, day: dt.date, **amounts) -> dict:
    row = {n: None for n in RECORDS_SCHEMA.names}
    row.update(record_type="AWB", airline_prefix=LH, awb_serial=serial, agent_code=agent,
               origin="FRA", destination="HKG", execution_date=day, acceptance_date=day,
               currency="EUR", exchange_rate_e5=0, weight_tenths=1000, weight_unit="K",
               commission_pct_e2=0)
    row.update({n: amounts.get(n, 0) for n in MONEY})
    return row


def billing_file(ref: ReferenceData, folder: Path, period_id: str, rows: list[dict],
                 number: int = 1) -> Path:
    p = ref.period("DE", period_id)
    header = FileHeader(family="billing", record_id="ALS", operation="DE", airline_prefix=LH,
                        period_start=p.start_date, period_end=p.end_date,
                        billing_date=p.billing_date, file_number=number, currency="EUR",
                        office_code="234")
    path = folder / f"LH_DE_{period_id}_{number:02d}.hot"
    path.write_bytes(write_hot(header, pa.Table.from_pylist(rows, RECORDS_SCHEMA),
                               empty_charges()))
    return path


def build(settings, engine, folder: Path) -> None:
    """The users and both LH files, ingested (each must be accepted whole)."""
    populate(engine)
    ref = ReferenceData.from_db(engine)
    lh = resolve(engine, LH)
    nov = [awb(AWB1, A1, dt.date(2026, 11, 10), weight_pp=100000, oc_carrier_pp=5000,
               commission=5000),
           awb(AWB2, A2, dt.date(2026, 11, 12), weight_pp=50000)]
    dec = [awb(AWB_DEC, A1, dt.date(2026, 12, 2), weight_pp=30000)]
    for period_id, rows in (("2026-11", nov), ("2026-12", dec)):
        r = land_and_ingest(settings, engine, billing_file(ref, folder, period_id, rows), lh)
        assert (r.verdict, r.counts["accepted"]) == ("accepted", len(rows)), r.codes


def portal_world(settings, engine, folder: Path):
    """The world built, with a portal app whose dispute clock reads 2026-12-04."""
    from casslink.portal.app import create_app

    build(settings, engine, folder)
    app = create_app(settings, engine=engine)
    app.state.dispute_today = lambda: dt.date(2026, 12, 4)
    return settings, engine, app


def client(world, login: str):
    """A TestClient signed in as ``login`` of ``world`` (portal_world), CSRF header set."""
    from fastapi.testclient import TestClient

    from tests.portal_world import csrf_of, sign_in

    c = TestClient(world[2])
    assert sign_in(c, login).status_code == 303
    c.headers["X-CSRF-Token"] = csrf_of(c)
    return c
