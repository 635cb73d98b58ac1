"""Benchmark: raising and deciding disputes on a big period.

Ingests a generated DE 2026-11 period of N AWBs (one file per airline) into a throwaway data
root (SQLite), then raises K disputes (1.00 EUR on the prepaid weight charge of K AWBs) and
accepts each (which writes, lands and ingests its CCA file: a rate correction). Prints one
JSON line: seconds per raise and per accept (median and max), and the ingest time of the
period.

    .venv/bin/python benchmarks/disputes.py [--awbs 100000] [--disputes 20]
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import shutil
import statistics
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
from tests.data_root import reference_root

DAY = dt.date(2026, 12, 4)  # before DE 2026-11's correction cut-off


def main() -> None:
    import pyarrow.compute as pc

    from casslink.app.disputes import service
    from casslink.app.ingest import land_and_ingest
    from casslink.app.synthetic.generator import generate_billing
    from casslink.parsers.hot import write_hot
    from casslink.participants import resolve
    from casslink.reference import ReferenceData

    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--awbs", type=int, default=100_000)
    ap.add_argument("--disputes", type=int, default=20)
    args = ap.parse_args()
    home = Path(tempfile.mkdtemp(prefix="casslink-bench-disputes-"))
    s, engine = reference_root(home)
    ref = ReferenceData.from_db(engine)
    files = generate_billing(ref, "DE", ref.period("DE", "2026-11"), args.awbs, seed=7)
    t0 = time.perf_counter()
    picks = []
    for f in files:
        path = home / f"{f.airline_prefix}_DE_2026-11_01.hot"
        path.write_bytes(write_hot(f.header, f.records, f.charges))
        land_and_ingest(s, engine, path, resolve(engine, f.airline_prefix))
        r = f.records
        ok = pc.and_(pc.equal(r.column("record_type"), "AWB"),
                     pc.equal(r.column("currency"), "EUR"))
        for c in ("weight", "valuation", "oc_carrier", "oc_agent"):
            ok = pc.and_(ok, pc.or_(pc.equal(r.column(f"{c}_pp"), 0),
                                    pc.equal(r.column(f"{c}_cc"), 0)))
        ok = pc.and_(ok, pc.greater_equal(r.column("weight_pp"), 100))
        picks += r.filter(ok).select(["airline_prefix", "awb_serial", "agent_code"]
                                     ).slice(0, 3).to_pylist()
    ingest_s = time.perf_counter() - t0
    raise_s, accept_s = [], []
    for p in picks[:args.disputes]:
        t = time.perf_counter()
        did = service.raise_dispute(s, engine, service.OPERATOR, agent=p["agent_code"],
                                    airline=p["airline_prefix"],
                                    awb=f"{p['airline_prefix']}-{p['awb_serial']}",
                                    reason="rate", amount="1.00", today=DAY, ref=ref)
        raise_s.append(time.perf_counter() - t)
        t = time.perf_counter()
        out = service.decide(s, engine, service.OPERATOR, did, accept=True, today=DAY, ref=ref)
        accept_s.append(time.perf_counter() - t)
        assert out["status"] == "ADJUSTED", out
    engine.dispose()
    shutil.rmtree(home, ignore_errors=True)
    print(json.dumps({"awbs": args.awbs, "disputes": len(raise_s),
                      "ingest_period_s": round(ingest_s, 2),
                      "raise_s_median": round(statistics.median(raise_s), 3),
                      "raise_s_max": round(max(raise_s), 3),
                      "accept_and_bill_s_median": round(statistics.median(accept_s), 3),
                      "accept_and_bill_s_max": round(max(accept_s), 3)}))


if __name__ == "__main__":
    main()
