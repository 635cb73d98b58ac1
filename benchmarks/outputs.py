"""Benchmark: render every output of the 1,000,000-AWB period of benchmarks/settlement.py
(5,000 agents, 50 airlines): time per format and in total, against the settlement time of
the same period measured in the same run. Every participant's files of a format are rendered
in one batch, in memory (as delivery renders them, without writing to the outboxes): first
one format after the other in one process, then the three formats in three processes at
once, as the settlement DAG's delivery tasks run.

    .venv/bin/python benchmarks/settlement.py      # builds the period once
    .venv/bin/python benchmarks/outputs.py [--awbs 1000000] [--repeat 3]
    CASSLINK_KERNELS=off .venv/bin/python benchmarks/outputs.py   # on the numpy kernels

Each repeat is a fresh process (settle, then render), so noise on a shared machine shows as
spread between runs; the summary line gives the medians.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
from benchmarks._common import OUT, REPO, TUNE, run_child

CHILD = """
import json, sys, time
import pandas  # pyarrow imports it on first use (~0.3 s): before the clock, for both stages
from pathlib import Path
from casslink.settings import get_settings
from benchmarks.settlement import big_world
from casslink.settlement.ledger import DICTIONARY_COLUMNS, INPUT_COLUMNS
from casslink.settlement.run import settle_records
from casslink import warehouse
from casslink.storage import sha256_of
from casslink.outputs.source import load_run  # both stages' code imported before the clocks
from casslink.outputs import excel, hot_files, xml_statements
from casslink import kernels
s = get_settings()
t0 = time.perf_counter()
records = warehouse.read(s, "DE", "2026-11", columns=INPUT_COLUMNS, dictionary=DICTIONARY_COLUMNS)
folder = s.home / "ledger-bench"
tables, _ = settle_records(records, "DE", "2026-11", "EUR", folder)
agents, airlines = tables["agents"], tables["airlines"]
ref = big_world()
p = ref.period("DE", "2026-11")
manifest = {"operation": "DE", "period": "2026-11", "settlement_currency": "EUR",
            "period_start": str(p.start_date), "period_end": str(p.end_date),
            "billing_date": str(p.billing_date), "remittance_date": str(p.remittance_date),
            "inputs": [{"part": f.name, "part_sha256": sha256_of(f)}
                       for f in warehouse.parts(s, "DE", "2026-11")]}
(folder / "manifest.json").write_text(json.dumps(manifest))
t1 = time.perf_counter()
run = load_run(s, folder, ref)
t2 = time.perf_counter()
timing, sizes = {}, {}
a = time.perf_counter()
hot = hot_files.hot_all(run)  # both HOT kinds from one rendering of the lines, as delivered
timing["hot_both"] = round(time.perf_counter() - a, 2)
for label, files in zip(("handoff_hot", "agent_hot"), hot, strict=True):
    sizes[label] = {"files": len(files), "mb": round(sum(map(len, files.values())) / 1e6, 1)}
del hot
for label, fn in (("airline_xlsx", excel.airline_reports),
                  ("agent_xlsx", excel.agent_reports),
                  ("airline_xml", xml_statements.airline_statements),
                  ("agent_xml", xml_statements.agent_statements)):
    a = time.perf_counter()
    files = fn(run)  # every participant's file, as delivery renders them
    timing[label] = round(time.perf_counter() - a, 2)
    sizes[label] = {"files": len(files), "mb": round(sum(map(len, files.values())) / 1e6, 1)}
    del files
t3 = time.perf_counter()
print(json.dumps({"kernels": kernels.backend(), "settle_s": round(t1 - t0, 2),
                  "load_run_s": round(t2 - t1, 2),
                  "outputs_s": round(t3 - t1, 2), "per_format_s": timing,
                  "agents": agents.num_rows, "airlines": airlines.num_rows,
                  "output": sizes}))
"""

# one settlement DAG delivery task: load the run, render one format for every participant
FORMAT_CHILD = """
import json, sys, time
t0 = time.perf_counter()
from casslink.settings import get_settings
from benchmarks.settlement import big_world
from casslink.outputs.source import load_run
from casslink.outputs import excel, hot_files, xml_statements
s = get_settings()
run = load_run(s, s.home / "ledger-bench", big_world())
fmt = sys.argv[1]
if fmt == "hot":
    files = hot_files.hot_all(run)
elif fmt == "xlsx":
    files = [excel.airline_reports(run), excel.agent_reports(run)]
else:
    files = [xml_statements.airline_statements(run), xml_statements.agent_statements(run)]
print(json.dumps({"format": fmt, "files": sum(map(len, files)),
                  "in_process_s": round(time.perf_counter() - t0, 2)}))
"""


def side_by_side() -> dict:
    """The three formats in three processes at once, as the settlement DAG's mapped delivery
    tasks run: wall time from the first start to the last finish (interpreter start and
    imports included)."""
    t0 = time.perf_counter()
    procs = [subprocess.Popen([sys.executable, "-c", TUNE + FORMAT_CHILD, fmt], cwd=REPO,
                              stdout=subprocess.PIPE, text=True) for fmt in ("hot", "xlsx", "xml")]
    results = [json.loads(p.communicate()[0].strip().splitlines()[-1]) for p in procs]
    if any(p.returncode for p in procs):
        raise SystemExit("a format process failed")
    return {"wall_s": round(time.perf_counter() - t0, 2), "tasks": results}


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--awbs", type=int, default=1_000_000)
    ap.add_argument("--repeat", type=int, default=3,
                    help="fresh processes that settle and render (the summary gives the "
                         "median of each figure and of the ratio; default 3)")
    args = ap.parse_args()
    home = OUT / f"settle_home_{args.awbs}"
    if not (home / "warehouse").exists():
        raise SystemExit("run benchmarks/settlement.py first (it builds the period)")
    os.environ["CASSLINK_HOME"] = str(home)
    runs = []
    for _ in range(max(1, args.repeat)):
        out = run_child(CHILD)
        out["outputs_over_settle"] = round(out["outputs_s"] / out["settle_s"], 2)
        print(json.dumps(out))
        runs.append(out)
    print(json.dumps({"median_of_runs": {k: statistics.median(r[k] for r in runs) for k in (
        "settle_s", "outputs_s", "outputs_over_settle", "peak_rss_mb")} | {
        "per_format_s": {f: statistics.median(r["per_format_s"][f] for r in runs)
                         for f in runs[0]["per_format_s"]}, "runs": len(runs)}}))
    side = side_by_side()
    side["over_settle"] = round(side["wall_s"] / statistics.median(r["settle_s"] for r in runs),
                                2)
    print(json.dumps({"formats_side_by_side": side}))


if __name__ == "__main__":
    main()
