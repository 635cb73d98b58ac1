"""Benchmark: the portal's drill-down of one agent x airline (``/lines``,
portal/routes/lines.py) on the 1,000,000-AWB benchmark period (DE 2026-11 over 5,000 agents
and 50 airlines, one part per airline, as benchmarks/settlement.py builds it), against
reading the whole period and filtering it (what a page that scanned everything would pay).

Times ``pair_lines`` (the airline's and agent's rows, filtered by the Parquet reader) for the
busiest agent of airline 020 cold (``pair_ms``: its memo cleared, the parts read) and warm
(``poll_ms``: what the page's 3-second polls pay while no new file is accepted), and the
dispute marks' query, each the median of --repeat runs after one warm-up. Prints one JSON
line and writes benchmarks/out/lines.json.

    .venv/bin/python benchmarks/lines.py [--awbs 1000000] [--repeat 20]
"""

from __future__ import annotations

import argparse
import json
import statistics
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
from benchmarks._common import OUT
from benchmarks.settlement import big_world

AIRLINE = "020"


def build(n_awbs: int, home: Path) -> None:
    """The period's parts, each registered as an accepted file."""
    import pyarrow as pa

    from casslink import registry, warehouse
    from casslink.app.synthetic.generator import generate_billing
    from casslink.db.engine import make_engine, upgrade
    from casslink.reference import load_into_db
    from casslink.settings import get_settings

    s = get_settings().with_home(home).ensure_dirs()
    upgrade(s.db_url)
    engine = make_engine(s.db_url)
    load_into_db(engine, s.fixtures_dir / "reference")
    ref = big_world()
    for i, f in enumerate(generate_billing(ref, "DE", ref.period("DE", "2026-11"), n_awbs,
                                           seed=1), start=1):
        fid = registry.record_stored(engine, f"{i:064x}", f"bench-{i}.hot", "DE", "2026-11")
        recs = f.records.set_column(f.records.schema.get_field_index("source_line"),
                                    "source_line", pa.array(range(1, f.records.num_rows + 1),
                                                            pa.int32()))
        warehouse.store(s, "DE", "2026-11", fid, recs, f.charges)
    engine.dispose()


def _median(call, repeat: int) -> float:
    call()  # warm-up: imports, the OS cache
    times = []
    for _ in range(repeat):
        t0 = time.perf_counter()
        call()
        times.append(time.perf_counter() - t0)
    return statistics.median(times)


def main() -> None:
    import pyarrow.compute as pc

    from casslink import dispute_marks, registry
    from casslink.db.engine import make_engine
    from casslink.portal.routes.lines import pair_lines, read_pair
    from casslink.settings import get_settings

    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--awbs", type=int, default=1_000_000)
    ap.add_argument("--repeat", type=int, default=20)
    args = ap.parse_args()
    home = OUT / f"lines_home_{args.awbs}"
    if not (home / "casslink.db").exists():
        build(args.awbs, home)
    s = get_settings().with_home(home)
    engine = make_engine(s.db_url)
    mine = registry.accepted_records(s, engine, "DE", "2026-11", airline_prefix=AIRLINE,
                                     columns=["agent_code"])
    counts = pc.value_counts(mine.column("agent_code")).to_pylist()
    agent = max(counts, key=lambda c: c["counts"])["values"]

    def pair():  # cold: the parts read (the first view of a pair, or after a new file)
        read_pair.cache_clear()
        return pair_lines(s, engine, "DE", "2026-11", AIRLINE, agent)

    def poll():  # warm: what the page's polls pay while nothing new was accepted
        return pair_lines(s, engine, "DE", "2026-11", AIRLINE, agent)

    def scan():  # every line of the period, then the pair
        t = registry.accepted_records(s, engine, "DE", "2026-11")
        return t.filter(pc.and_(pc.equal(t.column("airline_prefix"), AIRLINE),
                                pc.equal(t.column("agent_code"), agent)))

    lines = pair().num_rows
    assert lines == scan().num_rows
    out = {"awbs": args.awbs, "airline": AIRLINE, "agent": agent, "pair_lines": lines,
           "pair_ms": round(_median(pair, args.repeat) * 1000, 1),
           "poll_ms": round(_median(poll, args.repeat) * 1000, 2),
           "scan_ms": round(_median(scan, max(3, args.repeat // 5)) * 1000, 1),
           "marks_ms": round(_median(lambda: dispute_marks.marks(
               engine, "DE", "2026-11", agent=agent, airline=AIRLINE), args.repeat) * 1000, 2)}
    out["speedup"] = round(out["scan_ms"] / out["pair_ms"], 1)
    print(json.dumps(out))
    OUT.mkdir(parents=True, exist_ok=True)
    (OUT / "lines.json").write_text(json.dumps(out, indent=2) + "\n")
    engine.dispose()


if __name__ == "__main__":
    main()
