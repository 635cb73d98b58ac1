"""Benchmark: the invoices of generated periods (DE 2026-11, IN 2026-11-1, US 2026-11-1):
per period, its settlement time beside its invoicing time: issuing every document (numbers
in the database), rendering and delivering them (CII + UBL XML, both XSD- and
BR-CO-validated, PDF/A-3 with the XML, written to two outboxes each) in chunks on
``--workers`` processes as the invoices DAG's mapped tasks run, and the register. Prints one
JSON line: documents per second by the wall clock, the workers' CPU time per document and
the rate it gives on min(workers, cores) idle cores (which a machine shared with other work
does not lower), and the 1-minute load average before and after.

    .venv/bin/python benchmarks/invoices.py [--awbs 3000] [--workers 2] [--chunk 50]

The fixture world has 20 agents x 10 airlines per operation, so each period has at most a
few hundred documents whatever ``--awbs`` says; ``benchmarks/invoices_big.py`` invoices the
1M-AWB period (5,000 agents x 50 airlines).
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import tempfile
import time
from concurrent.futures import ProcessPoolExecutor
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
from benchmarks._common import REPO
from tests.data_root import reference_root

PERIODS = {"DE": "2026-11", "IN": "2026-11-1", "US": "2026-11-1"}
_WORKER: dict = {}


def _init(home: str, db_url: str) -> None:
    from casslink.db.engine import make_engine
    from casslink.settings import get_settings

    s = get_settings().with_home(Path(home))
    _WORKER["settings"] = type(s)(home=Path(home), db_url=db_url)
    _WORKER["engine"] = make_engine(db_url)


def _render(numbers: list[str]) -> tuple[int, float]:
    """(files delivered, CPU seconds this process spent on the chunk)."""
    from casslink.outputs.invoices.deliver import deliver_chunk

    cpu = time.process_time()
    files = len(deliver_chunk(_WORKER["settings"], _WORKER["engine"], numbers))
    return files, time.process_time() - cpu


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--awbs", type=int, default=3000)
    ap.add_argument("--workers", type=int, default=2)
    ap.add_argument("--chunk", type=int, default=50)
    args = ap.parse_args()

    from casslink.outputs.invoices import register
    from casslink.outputs.invoices.deliver import chunks
    from casslink.outputs.invoices.issue import issue_period
    from casslink.reference import ReferenceData
    from casslink.settlement.run import settle
    from tests.invoice_world import store_generated

    home = Path(tempfile.mkdtemp(prefix="casslink-bench-inv-")) / "var"
    s, engine = reference_root(home)
    ref = ReferenceData.from_fixtures(REPO / "fixtures" / "reference")
    cores = min(args.workers, os.cpu_count() or 1)
    load_before = os.getloadavg()
    periods, totals = [], {"documents": 0, "files": 0, "cpu": 0.0, "render": 0.0}
    with ProcessPoolExecutor(args.workers, initializer=_init,
                             initargs=(str(home), s.db_url)) as pool:
        for op, period in PERIODS.items():
            store_generated(s, engine, ref, op, period, args.awbs, seed=1)
            t0 = time.perf_counter()
            settle(s, engine, op, period)
            t_settle = time.perf_counter() - t0
            t0 = time.perf_counter()
            issue_period(s, engine, op, period)
            t_issue = time.perf_counter() - t0
            parts = chunks(engine, op, period, args.chunk)
            if not periods:  # warm the workers once: imports, fonts, schemas
                list(pool.map(_render, [parts[0][:2]] * args.workers))
            t0 = time.perf_counter()
            done = list(pool.map(_render, parts))
            t_render = time.perf_counter() - t0
            t0 = time.perf_counter()
            register.to_xlsx(register.rows(engine, op, period), f"{op} {period}")
            register.gaps(engine, op)
            t_register = time.perf_counter() - t0
            docs = sum(len(p) for p in parts)
            cpu = sum(c for _, c in done)
            periods.append({
                "period": f"{op} {period}", "documents": docs,
                "settle_s": round(t_settle, 2),
                "invoicing_s": round(t_issue + t_render + t_register, 2),
                "issue_s": round(t_issue, 2), "render_deliver_s": round(t_render, 2),
                "register_s": round(t_register, 2)})
            totals["documents"] += docs
            totals["files"] += sum(f for f, _ in done)
            totals["cpu"] += cpu
            totals["render"] += t_render
    engine.dispose()
    docs, cpu = totals["documents"], totals["cpu"]
    print(json.dumps({
        "awbs_per_period": args.awbs, "documents": docs, "files": totals["files"],
        "workers": args.workers, "cpus": os.cpu_count(),
        "load_avg_1m_before_after": [round(load_before[0], 2), round(os.getloadavg()[0], 2)],
        # wall clock: what this run got from a machine that may be shared
        "docs_per_s": round(docs / totals["render"], 1),
        # the workers' CPU time per document (render, validate both XMLs, PDF, deliver), and
        # the rate it gives on min(workers, cores) cores of their own
        "cpu_ms_per_doc": round(cpu / docs * 1000, 1),
        "docs_per_s_idle_cores": round(cores / (cpu / docs), 1),
        "periods": periods}))


if __name__ == "__main__":
    main()
