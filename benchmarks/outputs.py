"""Benchmark: render every output of the 1,000,000-AWB period of benchmarks/settlement.py
(5,000 agents, 50 airlines): time per format and in total, against the settlement time of
the same period measured in the same run. Every participant's files of a format are rendered
in one batch, in memory (as delivery renders them, without writing to the outboxes).

    .venv/bin/python benchmarks/settlement.py      # builds the period once
    .venv/bin/python benchmarks/outputs.py [--awbs 1000000]
"""

from __future__ import annotations

import argparse
import json
import os
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
from benchmarks._common import OUT, run_child

CHILD = """
import json, sys, time
from pathlib import Path
from casslink.settings import get_settings
from benchmarks.settlement import big_world
from settlement.ledger import DICTIONARY_COLUMNS, INPUT_COLUMNS
from settlement.run import settle_records
from casslink import warehouse
from casslink.storage import sha256_file
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
            "inputs": [{"part": f.name, "part_sha256": sha256_file(f)}
                       for f in warehouse.parts(s, "DE", "2026-11")]}
(folder / "manifest.json").write_text(json.dumps(manifest))
t1 = time.perf_counter()
from outputs.source import load_run
from outputs import excel, hot_files, xml_statements
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
print(json.dumps({"settle_s": round(t1 - t0, 2), "load_run_s": round(t2 - t1, 2),
                  "outputs_s": round(t3 - t1, 2), "per_format_s": timing,
                  "agents": agents.num_rows, "airlines": airlines.num_rows,
                  "output": sizes}))
"""


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--awbs", type=int, default=1_000_000)
    args = ap.parse_args()
    home = OUT / f"settle_home_{args.awbs}"
    if not (home / "warehouse").exists():
        raise SystemExit("run benchmarks/settlement.py first (it builds the period)")
    os.environ["CASSLINK_HOME"] = str(home)
    out = run_child(CHILD)
    out["outputs_over_settle"] = round(out["outputs_s"] / out["settle_s"], 2)
    print(json.dumps(out))


if __name__ == "__main__":
    main()
