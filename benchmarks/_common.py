"""Helpers for benchmark scripts: build big generated files once, a settled period of many
agents, measure a child process."""

from __future__ import annotations

import json
import subprocess
import sys
import time
from pathlib import Path

OUT = Path(__file__).resolve().parent / "out"
# what casslink's entry points do first: allocator tuning (casslink.memory), before numpy loads
TUNE = "from casslink.memory import tune; tune()\n"
REPO = Path(__file__).resolve().parents[1]


def single_billing_file(n_awbs: int, seed: int = 1, operation: str = "DE",
                        period_id: str = "2026-11") -> Path:
    """One billing file holding every generated AWB (all airlines merged under one header)."""
    import pyarrow as pa

    from casslink.app.synthetic.generator import generate_billing
    from casslink.parsers.hot import write_hot
    from casslink.reference import ReferenceData

    path = OUT / f"billing_{operation}_{n_awbs}_{seed}.hot"
    if path.exists():
        return path
    OUT.mkdir(parents=True, exist_ok=True)
    ref = ReferenceData.from_fixtures(REPO / "fixtures" / "reference")
    files = generate_billing(ref, operation, ref.period(operation, period_id), n_awbs, seed)
    records = pa.concat_tables([f.records for f in files])
    charges = pa.concat_tables([f.charges for f in files])
    data = write_hot(files[0].header, records, charges)
    tmp = path.with_suffix(".tmp")
    tmp.write_bytes(data)
    tmp.rename(path)
    return path


def settled_period(n_agents: int):
    """A settled DE 2026-11 period in EUR: ``n_agents`` agents, each billed by ten airlines
    (1000 to 9999 minor units a bill); returns the agents' codes and the ``SettledPeriod``."""
    from casslink.payments.dues import SettledPeriod

    airlines = ["020", "057", "074", "125", "176", "160", "081", "098", "006", "618"]
    agents = [f"23{n:08d}0" for n in range(n_agents)]
    bills = {(a, p): 1000 + (i * 7 + j * 13) % 9000 for i, a in enumerate(agents)
             for j, p in enumerate(airlines)}
    settled = SettledPeriod("DE", "2026-11", "EUR")
    for (a, p), net in bills.items():
        settled.agents[a] = settled.agents.get(a, 0) + net
        settled.payable[p] = settled.payable.get(p, 0) + net
    settled.bills = bills
    return agents, settled


def run_child(code: str, *args: str) -> dict:
    """Run ``code`` in a fresh interpreter, tuned as casslink's entry points are (:data:`TUNE`);
    it must print one JSON line. Adds the child's own
    peak RSS (MB), measured by GNU time's %M (getrusage of children keeps the maximum of all
    children so far, which hides a smaller child)."""
    t0 = time.perf_counter()
    proc = subprocess.run(["/usr/bin/time", "-f", "PEAK_KB=%M", sys.executable, "-c", TUNE + code,
                           *args], capture_output=True, text=True, cwd=REPO, check=True)
    wall = time.perf_counter() - t0
    out = json.loads(proc.stdout.strip().splitlines()[-1])
    out["child_wall_s"] = round(wall, 2)
    peak = [int(x.split("=")[1]) for x in proc.stderr.splitlines() if x.startswith("PEAK_KB=")]
    out["peak_rss_mb"] = round(peak[-1] / 1024, 1) if peak else None
    return out
