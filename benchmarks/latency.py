"""Benchmark: drop-to-ack latency with `casslink run` up.

Uploads N generated billing files one after another by SFTP (as the demo LH user, to its
sandbox: validated and acknowledged like inbox files, never billed), and measures for each
the time from the end of the upload (rename done) to its acknowledgement appearing in the
outbox, polled by SFTP every 0.2 s. Prints every latency, the median and the max.

    bin/casslink run &                      # wait for "running"
    .venv/bin/python benchmarks/latency.py [--home var] [--sftp-port 2222] [--files 20]
"""

from __future__ import annotations

import argparse
import io
import json
import statistics
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
from benchmarks._common import REPO


def main() -> None:
    import paramiko

    from casslink.app.synthetic.generator import generate_billing, today_period
    from casslink.parsers.hot import write_hot
    from casslink.reference import ReferenceData

    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--home", default=str(REPO / "var"))
    ap.add_argument("--sftp-port", type=int, default=2222)
    ap.add_argument("--files", type=int, default=20)
    args = ap.parse_args()
    password = json.loads((Path(args.home) / "secrets" / "demo-users.json").read_text())[
        "demo-lh"]
    ref = ReferenceData.from_fixtures(REPO / "fixtures" / "reference")
    period = today_period(ref, "DE")
    t = paramiko.Transport(("127.0.0.1", args.sftp_port))
    t.connect(username="demo-lh", password=password)
    s = paramiko.SFTPClient.from_transport(t)
    latencies = []
    for i in range(args.files):
        f = next(x for x in generate_billing(ref, "DE", period, 300, seed=1000 + i,
                                             file_number=50 + i)
                 if x.airline_prefix == "020")
        name = f"LAT_{int(time.time())}_{i:02d}.hot"
        s.putfo(io.BytesIO(write_hot(f.header, f.records, f.charges)),
                f"/sandbox/{name}.part", confirm=False)
        s.rename(f"/sandbox/{name}.part", f"/sandbox/{name}")
        t0 = time.perf_counter()
        while not any(n.startswith(name + ".f") and n.endswith(".ack")
                      for n in s.listdir("/outbox")):
            if time.perf_counter() - t0 > 120:
                raise SystemExit(f"no ack for {name} after 120 s")
            time.sleep(0.2)
        latencies.append(time.perf_counter() - t0)
        print(f"{name}: ack after {latencies[-1]:.1f} s", flush=True)
    t.close()
    print(json.dumps({"files": len(latencies),
                      "median_s": round(statistics.median(latencies), 2),
                      "max_s": round(max(latencies), 2),
                      "min_s": round(min(latencies), 2)}))


if __name__ == "__main__":
    main()
