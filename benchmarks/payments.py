"""Benchmark: post a period's dues for N agents, import one camt.053 paying every remittance
by reference, then one payout round (SQLite in a temp folder, one process). The import's SQL
statements are counted (``import_queries``).

    .venv/bin/python benchmarks/payments.py [--agents 2000]
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
from benchmarks._common import REPO, settled_period


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--agents", type=int, default=2000)
    args = parser.parse_args()
    from sqlalchemy import event

    from casslink.db.engine import make_engine, session_scope, upgrade
    from casslink.payments import statements
    from casslink.payments.dues import post_dues
    from casslink.payments.payouts import pay_out
    from casslink.payments.references import remittance_reference
    from casslink.payments.terms import load_terms
    from tests.camt_files import credit, statement

    terms = load_terms(REPO / "fixtures" / "reference")
    agents, settled = settled_period(args.agents)
    day = dt.date(2026, 12, 28)
    with tempfile.TemporaryDirectory() as tmp:
        url = f"sqlite:///{tmp}/b.db"
        upgrade(url)
        engine = make_engine(url)
        t0 = time.perf_counter()
        with session_scope(engine) as s:
            post_dues(s, settled, terms.rule("DE"), day)
        t1 = time.perf_counter()
        data = statement("B1", [credit(settled.agents[a], day,
                                       e2e=remittance_reference("DE", "2026-11", a))
                                for a in agents], iban=terms.hinge("DE").iban)
        t2 = time.perf_counter()
        queries = []

        def count(*_args) -> None:
            queries.append(1)

        event.listen(engine, "before_cursor_execute", count)
        result = statements.import_statement(None, engine, data, terms)
        t3 = time.perf_counter()
        event.remove(engine, "before_cursor_execute", count)
        paid = pay_out(None, engine, settled, terms, day, Path(tmp) / "out")
        t4 = time.perf_counter()
        engine.dispose()
    print(json.dumps({"agents": args.agents, "bills": len(settled.bills),
                      "post_dues_s": round(t1 - t0, 2), "statement_entries": len(agents),
                      "import_s": round(t3 - t2, 2), "import_queries": len(queries),
                      "queries_per_entry": round(len(queries) / len(agents), 2),
                      "entries_per_s": round(len(agents) / (t3 - t2)),
                      "classifications": result["classifications"],
                      "payout_s": round(t4 - t3, 2), "payees_paid": len(paid["paid"])}))


if __name__ == "__main__":
    main()
