"""Benchmark: the payments pages and API over a collected period of N agents (SQLite in a
temp folder, TestClient in one process): dues posted for N agents x 10 airlines, one camt.053
paying every remittance, 10% of them short (an irregularity each), 50 credits unmatched.
Times the operator's page, its polled partial, the whole-period API and an airline's view
(median and max of --rounds calls, ms).

    .venv/bin/python benchmarks/payments_pages.py [--agents 2000] [--rounds 10]
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import statistics
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
from benchmarks._common import REPO, settled_period
from tests.data_root import reference_root

PASSWORD = "benchmark-password-1"


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--agents", type=int, default=2000)
    parser.add_argument("--rounds", type=int, default=10)
    args = parser.parse_args()
    from fastapi.testclient import TestClient

    from casslink.db.engine import session_scope
    from casslink.participants import resolve
    from casslink.payments import statements
    from casslink.payments.dues import post_dues
    from casslink.payments.references import remittance_reference
    from casslink.payments.terms import load_terms
    from casslink.portal.app import create_app
    from casslink.sftp_gateway import accounts
    from tests.camt_files import credit, statement
    from tests.portal_world import csrf_of, sign_in

    terms = load_terms(REPO / "fixtures" / "reference")
    agents, settled = settled_period(args.agents)
    day = dt.date(2026, 12, 28)
    with tempfile.TemporaryDirectory() as tmp:
        home = Path(tmp)
        settings, engine = reference_root(home)
        accounts.add_user(engine, "ops", resolve(engine, "cass"), "admin", PASSWORD)
        with session_scope(engine) as s:
            post_dues(s, settled, terms.rule("DE"), day)
        entries = [credit(settled.agents[a] - (100 if i % 10 == 0 else 0), day,
                          e2e=remittance_reference("DE", "2026-11", a))
                   for i, a in enumerate(agents)]
        entries += [credit(100 + n, day, info="no reference") for n in range(50)]
        statements.import_statement(None, engine, statement(  # no notices: no ledger
            "B1", entries, iban=terms.hinge("DE").iban), terms)
        c = TestClient(create_app(settings, engine=engine))
        assert sign_in(c, "ops", PASSWORD).status_code == 303
        c.headers["X-CSRF-Token"] = csrf_of(c)
        calls = {"/payments": ("/payments", {}), "/payments/live": ("/payments/live", {}),
                 "/api/v1/payments (period)": ("/api/v1/payments",
                                               {"operation": "DE", "period": "2026-11"}),
                 "/api/v1/payments (airline 020)": ("/api/v1/payments",
                                                    {"participant": "020"})}
        out = {"agents": args.agents, "short": len(agents[::10]), "unmatched": 50}
        for label, (url, params) in calls.items():
            times = []
            for _ in range(args.rounds):
                t0 = time.perf_counter()
                r = c.get(url, params=params)
                times.append((time.perf_counter() - t0) * 1000)
                assert r.status_code == 200, (url, r.status_code)
            out[label] = {"median_ms": round(statistics.median(times)),
                        "max_ms": round(max(times)), "bytes": len(r.content)}
        engine.dispose()
    print(json.dumps(out, indent=1))


if __name__ == "__main__":
    main()
