"""HOT reader/writer benchmark: our vectorised reader vs pandas.read_fwf on the same file.

    .venv/bin/python benchmarks/hot_reader.py [--awbs 1000000]

Each reader runs in its own process (peak RSS = ru_maxrss of that child, which includes the
interpreter and imports). read_fwf gets the AWB record's field list (colspecs) and reads every
line with it - it cannot switch layouts per record type, so it does less work than ours.
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
from benchmarks._common import run_child, single_billing_file

OURS = """
import json, sys, time
t0 = time.perf_counter()
from casslink.parsers.hot import read_hot_file
t1 = time.perf_counter()
b = read_hot_file(sys.argv[1], source_file="bench")
t2 = time.perf_counter()
print(json.dumps({"reader": "casslink", "parse_s": round(t2 - t1, 2),
                  "import_s": round(t1 - t0, 2), "records": b.records.num_rows,
                  "charges": b.charges.num_rows, "problems": len(b.problems)}))
"""

WRITE = """
import json, sys, time
from casslink.parsers.hot import read_hot_file, write_hot
b = read_hot_file(sys.argv[1], source_file="bench")
t2 = time.perf_counter()
data = write_hot(b.header, b.records, b.charges)
t3 = time.perf_counter()
same = data == open(sys.argv[1], "rb").read()
print(json.dumps({"writer": "casslink", "write_s": round(t3 - t2, 2),
                  "write_mb_s": round(len(data) / 1e6 / (t3 - t2), 1),
                  "roundtrip_identical": same}))
"""

FWF = """
import json, sys, time
t0 = time.perf_counter()
import pandas as pd
from casslink.parsers.hot.layouts import BILLING_AWB
fields = [f for f in BILLING_AWB.fields if f.kind not in ("filler", "sign") and f.name]
colspecs = [(f.start - 1, f.end) for f in fields]
names = [f"{f.name}_{i}" for i, f in enumerate(fields)]
t1 = time.perf_counter()
df = pd.read_fwf(sys.argv[1], colspecs=colspecs, names=names, header=None, dtype=str)
t2 = time.perf_counter()
print(json.dumps({"reader": "pandas.read_fwf", "parse_s": round(t2 - t1, 2),
                  "import_s": round(t1 - t0, 2), "rows": len(df)}))
"""


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--awbs", type=int, default=1_000_000)
    ap.add_argument("--skip-fwf", action="store_true")
    ap.add_argument("--skip-write", action="store_true")
    args = ap.parse_args()
    path = single_billing_file(args.awbs)
    size_mb = path.stat().st_size / 1e6
    print(f"file: {path.name} {size_mb:.1f} MB")
    ours = run_child(OURS, str(path))
    print(json.dumps(ours))
    result = {"file_mb": round(size_mb, 1), "ours": ours}
    if not args.skip_write:
        result["writer"] = run_child(WRITE, str(path))
        print(json.dumps(result["writer"]))
    if not args.skip_fwf:
        fwf = run_child(FWF, str(path))
        print(json.dumps(fwf))
        result["read_fwf"] = fwf
        result["speedup"] = round(fwf["parse_s"] / ours["parse_s"], 1)
    result["rss_over_file"] = round(ours["peak_rss_mb"] / size_mb, 2) if ours["peak_rss_mb"] \
        else None
    print(json.dumps(result))


if __name__ == "__main__":
    main()
