"""Benchmark: parse + validate a generated 1,000,000-AWB billing file of one airline.

Reports parse time, rule-engine time and the share of each, and peak RSS; the file holds the
whole period of one airline (AWB, CCA/DCM pairs, AW1/CC3/DC3), as an airline would send it.

    .venv/bin/python benchmarks/validation.py [--awbs 1000000]
"""

from __future__ import annotations

import argparse
import dataclasses
import json
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
from benchmarks._common import OUT, REPO, run_child

CHILD = """
import json, sys, time
from casslink.reference import ReferenceData
from casslink.parsers.hot import read_hot_file
from casslink.validators.context import ValidationContext
from casslink.validators.engine import validate
ref = ReferenceData.from_fixtures(__import__("pathlib").Path("fixtures/reference"))
t0 = time.perf_counter()
batch = read_hot_file(sys.argv[1], source_file="bench")
t1 = time.perf_counter()
verdict = validate(batch, ValidationContext(reference=ref, sender_kind="airline",
                                            sender_code=sys.argv[2]))
t2 = time.perf_counter()
print(json.dumps({"records": batch.records.num_rows, "charges": batch.charges.num_rows,
                  "parse_s": round(t1 - t0, 2), "validate_s": round(t2 - t1, 2),
                  "validation_share": round((t2 - t1) / (t2 - t0), 2),
                  "verdict": verdict.verdict, "findings": len(verdict.findings)}))
"""


def one_airline_file(n_awbs: int, prefix: str = "020") -> Path:
    from casslink.app.synthetic.generator import generate_billing
    from casslink.parsers.hot import write_hot
    from casslink.reference import ReferenceData

    path = OUT / f"billing_DE_{prefix}_{n_awbs}.hot"
    if path.exists():
        return path
    OUT.mkdir(parents=True, exist_ok=True)
    ref = ReferenceData.from_fixtures(REPO / "fixtures" / "reference")
    solo = dataclasses.replace(ref, airlines={prefix: ref.airlines[prefix]})
    (f,) = generate_billing(solo, "DE", ref.period("DE", "2026-11"), n_awbs, seed=1)
    tmp = path.with_suffix(".tmp")
    tmp.write_bytes(write_hot(f.header, f.records, f.charges))
    tmp.rename(path)
    return path


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--awbs", type=int, default=1_000_000)
    args = ap.parse_args()
    path = one_airline_file(args.awbs)
    print(f"file: {path.name} {path.stat().st_size / 1e6:.1f} MB")
    print(json.dumps(run_child(CHILD, str(path), "020")))


if __name__ == "__main__":
    main()
