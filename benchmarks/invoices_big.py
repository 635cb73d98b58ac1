"""Benchmark: the invoices of the 1M-AWB benchmark period (DE 2026-11 over 5,000 agents and
50 airlines, as benchmarks/settlement.py builds it), end to end as the Airflow DAGs run it.

The world's generated agents and airlines get legal parties generated for the benchmark
(``benchmarks.invoice_parties``; nothing is added to the fixtures). Then, on a new SQLite
data root: the generated billing files are stored as ingest would, the period is settled
(``settle``), and the invoices DAG's task functions run: ``issue_invoices`` (numbers in the
database, chunks of 500), ``render_invoices`` mapped over the chunks on ``--workers``
processes (CII + UBL XML, both XSD- and BR-CO-validated, PDF/A-3 with the XML, delivered to
both parties' outboxes), and ``invoice_register`` (CSV + Excel, gap check). Prints progress
to stderr and one JSON line: documents, documents per second by the wall clock, the render
workers' CPU time per document and the rate it gives on min(workers, cores) idle cores,
settlement seconds beside invoicing seconds, and the 1-minute load average before/after.

    nice .venv/bin/python benchmarks/invoices_big.py [--awbs 1000000] [--workers 2]

A smaller ``--awbs`` shrinks the world with it (agents = awbs / 200, 20 to 5,000; airlines
= awbs / 20,000, the 14 fixture airlines to 50, of which 10 to 46 serve DE): ``--awbs 20000``
(100 agents, 10 airlines, 1,887 documents; about 20 s of CPU for two cores) is a quick check.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import tempfile
import time
from concurrent.futures import ProcessPoolExecutor, as_completed
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
from benchmarks.invoice_parties import legal_data
from benchmarks.settlement import big_world
from tests.data_root import reference_root
from tests.invoice_world import store_generated

OPERATION, PERIOD = "DE", "2026-11"
_WORKER: dict = {}


def _init(settings) -> None:
    _WORKER["settings"] = settings


def _render(numbers: list[str]) -> tuple[int, int, float]:
    """(documents, files, CPU seconds): the DAG's mapped ``render`` task on one chunk."""
    from casslink.app.tasks import render_invoices

    cpu = time.process_time()
    done = render_invoices(numbers, _WORKER["settings"])
    return done["documents"], done["files"], time.process_time() - cpu


def _clocks() -> tuple[float, float]:
    return time.perf_counter(), time.process_time()


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--awbs", type=int, default=1_000_000)
    ap.add_argument("--agents", type=int, help="default: awbs / 200 (20 to 5,000)")
    ap.add_argument(
        "--airlines", type=int, help="in the world, default: awbs / 20,000 (14 to 50)"
    )
    ap.add_argument("--workers", type=int, default=2)
    ap.add_argument("--home", type=Path,
                    help="data root, kept (default: a new temporary folder, removed at the "
                         "end: the 1M-AWB period's is about 21 GB)")
    args = ap.parse_args()
    load_before = os.getloadavg()
    if args.home:
        run(args, args.home, load_before)
        return
    with tempfile.TemporaryDirectory(prefix="casslink-bench-inv-big-") as tmp:
        run(args, Path(tmp) / "var", load_before)


def run(args: argparse.Namespace, home: Path, load_before: tuple[float, ...]) -> None:
    """Build, settle and invoice the period in ``home``; print the JSON line."""
    n_agents = args.agents or min(5000, max(20, args.awbs // 200))
    n_airlines = args.airlines or min(50, max(14, args.awbs // 20_000))

    from casslink.app.tasks import invoice_register, issue_invoices
    from casslink.settlement.run import settle

    def say(**what) -> None:
        print(json.dumps(what), file=sys.stderr, flush=True)

    t0 = time.perf_counter()
    ref = big_world(n_agents, n_airlines)
    legal = legal_data(ref, OPERATION)
    n_airlines = sum(OPERATION in a.operations for a in ref.airlines.values())  # serving DE
    s, engine = reference_root(home)
    store_generated(s, engine, ref, OPERATION, PERIOD, args.awbs, seed=1)
    say(
        step="built",
        home=str(home),
        agents=n_agents,
        airlines=n_airlines,
        seconds=round(time.perf_counter() - t0, 1),
    )

    w0, c0 = _clocks()
    settled = settle(s, engine, OPERATION, PERIOD, reference=ref)
    w1, c1 = _clocks()
    engine.dispose()
    say(step="settled", seconds=round(w1 - w0, 2), run_id=settled.run_id)
    period = {"operation": OPERATION, "period": PERIOD}
    parts = issue_invoices(period, s, reference=ref, legal=legal)
    w2, c2 = _clocks()
    docs = sum(len(p) for p in parts)
    say(step="issued", documents=docs, chunks=len(parts), seconds=round(w2 - w1, 2))

    done = {"documents": 0, "files": 0, "cpu": 0.0}
    with ProcessPoolExecutor(args.workers, initializer=_init, initargs=(s,)) as pool:
        list(pool.map(_warm, range(args.workers)))  # imports, fonts, schemas: once each
        w3 = time.perf_counter()
        futures = [pool.submit(_render, p) for p in parts]
        for k, f in enumerate(as_completed(futures), start=1):
            n, files, cpu = f.result()
            done["documents"] += n
            done["files"] += files
            done["cpu"] += cpu
            if k % 20 == 0 or k == len(parts):
                wall = time.perf_counter() - w3
                say(
                    step="rendering",
                    chunks=f"{k}/{len(parts)}",
                    documents=done["documents"],
                    docs_per_s=round(done["documents"] / wall, 1),
                    cpu_ms_per_doc=round(done["cpu"] / done["documents"] * 1000, 1),
                    load_1m=round(os.getloadavg()[0], 2),
                )
        w4 = time.perf_counter()
    c4 = time.process_time()
    reg = invoice_register(period, s)
    w5, c5 = _clocks()
    cores = min(args.workers, os.cpu_count() or 1)
    invoicing = w5 - w1
    print(
        json.dumps(
            {
                "period": f"{OPERATION} {PERIOD}",
                "awbs": args.awbs,
                "agents": n_agents,
                "airlines": n_airlines,
                "records": settled.records,
                "documents": docs,
                "files": done["files"],
                "registered": reg["documents"],
                "workers": args.workers,
                "cpus": os.cpu_count(),
                "load_avg_1m_before_after": [
                    round(load_before[0], 2),
                    round(os.getloadavg()[0], 2),
                ],
                "settle_s": round(w1 - w0, 2),
                "settle_cpu_s": round(c1 - c0, 2),
                "invoicing_s": round(invoicing, 2),
                "issue_s": round(w2 - w1, 2),
                "issue_cpu_ms_per_doc": round((c2 - c1) / docs * 1000, 2),
                "render_deliver_s": round(w4 - w3, 2),
                "register_s": round(w5 - w4, 2),
                "register_cpu_s": round(c5 - c4, 2),
                "period_total_s": round(w5 - w0, 2),
                # wall clock: what this run got from a machine that may be shared
                "docs_per_s": round(docs / (w4 - w3), 1),
                "docs_per_s_invoicing": round(docs / invoicing, 1),
                # the render workers' CPU per document, and the rate it gives on idle cores
                "cpu_ms_per_doc": round(done["cpu"] / docs * 1000, 1),
                "docs_per_s_idle_cores": round(cores / (done["cpu"] / docs), 1),
            }
        )
    )


def _warm(_: int) -> None:
    """Load what a worker loads once (the Typst compiler and its fonts, the XSDs)."""
    from casslink.outputs.invoices import pdf, validation

    pdf._compiler()
    for kind in validation.SCHEMAS:
        validation.schema(kind)


if __name__ == "__main__":
    main()
