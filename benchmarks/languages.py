"""Benchmark: the Excel statements of one settled period rendered with every participant in
English (one batch per kind, as before languages) against a quarter of the participants in
other languages (one batch per language group) and everyone in Japanese. CPU-bound rendering
only (no outbox writes); the period is the fixtures' reference world, generated AWBs.

    .venv/bin/python benchmarks/languages.py [--awbs 50000] [--repeat 3]

Prints one line per case: median wall seconds of agent + airline statements, and the ratio
to all-English.
"""

from __future__ import annotations

import argparse
import hashlib
import statistics
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
from benchmarks._common import REPO


def settled_run(home: Path, n_awbs: int):
    import pyarrow as pa

    from casslink import registry, warehouse
    from casslink.app.synthetic.generator import generate_billing
    from casslink.db.engine import make_engine, upgrade
    from casslink.outputs.source import load_run
    from casslink.reference import ReferenceData, load_into_db, load_reference
    from casslink.settings import Settings
    from casslink.settlement.run import settle

    s = Settings(home=home, db_url=f"sqlite:///{home / 'casslink.db'}").ensure_dirs()
    upgrade(s.db_url)
    engine = make_engine(s.db_url)
    load_into_db(engine, REPO / "fixtures" / "reference")
    ref = ReferenceData.from_fixtures(REPO / "fixtures" / "reference")
    for i, f in enumerate(generate_billing(ref, "DE", ref.period("DE", "2026-11"), n_awbs,
                                           seed=5), start=1):
        sha = hashlib.sha256(f"bench-{i}".encode()).hexdigest()
        file_id = registry.record_stored(engine, sha, f"b{i}.hot", "DE", "2026-11")
        recs = f.records.set_column(f.records.schema.get_field_index("source_file"),
                                    "source_file", pa.array([sha] * f.records.num_rows))
        warehouse.store(s, "DE", "2026-11", file_id, recs, f.charges)
    result = settle(s, engine, "DE", "2026-11")
    engine.dispose()
    return lambda: load_run(s, Path(result.ledger_dir), load_reference(s))


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--awbs", type=int, default=50_000)
    ap.add_argument("--repeat", type=int, default=3)
    args = ap.parse_args()
    from casslink.outputs import excel

    with tempfile.TemporaryDirectory() as tmp:
        load = settled_run(Path(tmp) / "var", args.awbs)
        bills = load().ledger["bills"]
        agents = sorted(set(bills.column("agent_code").to_pylist()))
        airlines = sorted(set(bills.column("airline_prefix").to_pylist()))
        others = ("de", "fr", "es", "pt", "zh-Hans", "ja", "ko")
        cases = {
            "all English": {},
            "a quarter in 7 other languages": {
                c: others[i % len(others)] for i, c in enumerate((agents + airlines)[::4])},
            "all Japanese": dict.fromkeys(agents + airlines, "ja"),
        }
        times: dict[str, list[float]] = {name: [] for name in cases}
        for _ in range(args.repeat):
            for name, languages in cases.items():  # interleaved: noise hits every case
                run = load()
                t = time.perf_counter()
                excel.agent_reports(run, languages=languages)
                excel.airline_reports(run, languages=languages)
                times[name].append(time.perf_counter() - t)
        base = statistics.median(times["all English"])
        print(f"{args.awbs} AWBs, {len(agents)} agents, {len(airlines)} airlines, "
              f"{args.repeat} runs each")
        for name, ts in times.items():
            m = statistics.median(ts)
            print(f"{name:32s} {m:7.2f} s  x{m / base:.2f}  ({', '.join(f'{t:.2f}' for t in ts)})")


if __name__ == "__main__":
    main()
