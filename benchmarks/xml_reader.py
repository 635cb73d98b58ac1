"""Benchmark: parse + validate (XSD per record, code lists) a 100,000-AWB ONE Record XML
batch; records/s and peak RSS, and the HOT reader on the same records in the same run.

    .venv/bin/python benchmarks/xml_reader.py [--awbs 100000]
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
from pathlib import Path
data = Path(sys.argv[1]).read_bytes()
t0 = time.perf_counter()
if sys.argv[2] == "xml":
    from casslink.parsers.onerecord.reader import read_xml
    b = read_xml(data, "bench")
else:
    from casslink.parsers.hot import read_hot
    b = read_hot(data, "bench")
t1 = time.perf_counter()
print(json.dumps({"reader": sys.argv[2], "records": b.records.num_rows,
                  "charges": b.charges.num_rows, "problems": len(b.problems),
                  "parse_s": round(t1 - t0, 2), "file_mb": round(len(data) / 1e6, 1),
                  "records_per_s": round(b.records.num_rows / (t1 - t0))}))
"""


def files(n_awbs: int) -> tuple[Path, Path]:
    from casslink.app.synthetic.generator import generate_billing
    from casslink.parsers.hot import write_hot
    from casslink.parsers.onerecord.writer import write_xml
    from casslink.reference import ReferenceData

    hot, xml = OUT / f"xmlbench_{n_awbs}.hot", OUT / f"xmlbench_{n_awbs}.xml"
    if hot.exists() and xml.exists():
        return hot, xml
    OUT.mkdir(parents=True, exist_ok=True)
    ref = ReferenceData.from_fixtures(REPO / "fixtures" / "reference")
    solo = dataclasses.replace(ref, airlines={"020": ref.airlines["020"]})
    (f,) = generate_billing(solo, "DE", ref.period("DE", "2026-11"), n_awbs, seed=1)
    hot.write_bytes(write_hot(f.header, f.records, f.charges))
    xml.write_bytes(write_xml(f.header, f.records, f.charges))
    return hot, xml


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--awbs", type=int, default=100_000)
    args = ap.parse_args()
    hot, xml = files(args.awbs)
    x = run_child(CHILD, str(xml), "xml")
    print(json.dumps(x))
    h = run_child(CHILD, str(hot), "hot")
    print(json.dumps(h))
    print(json.dumps({"xml_records_per_s": x["records_per_s"],
                      "hot_records_per_s": h["records_per_s"],
                      "hot_over_xml": round(h["records_per_s"] / x["records_per_s"], 1),
                      "xml_peak_rss_mb": x["peak_rss_mb"], "xml_file_mb": x["file_mb"]}))


if __name__ == "__main__":
    main()
