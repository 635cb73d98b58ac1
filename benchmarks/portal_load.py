"""Benchmark: the portal under 20 concurrent users on the 1,000,000-AWB benchmark period
(DE 2026-11 over 5,000 agents and 50 airlines, as benchmarks/settlement.py builds it).

The period's totals are precomputed as ingest does (``casslink.period_totals.of_records`` per
file, added in one transaction per file), the 50 files registered as accepted. Then
``casslink portal`` runs as its own process (uvicorn, one worker) and 20 virtual users - half
of airline 020's company, half of agent 23156130152's - each call every API endpoint and page
in turn (httpx, async, a bounded number of rounds), signed in with a session cookie (pages)
or a bearer token (API). Before that, one airline user calls each endpoint ``--sequential``
times one after the other (the single-request latency, free of queueing). Prints the
sequential median and p50/p95/max under load per endpoint (ms), with the load average
before and after, and writes them to benchmarks/out/portal_load.json.

    .venv/bin/python benchmarks/portal_load.py [--awbs 1000000] [--users 20] [--rounds 10]
        [--sequential 50] [--workers 1]
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import os
import re
import socket
import statistics
import subprocess
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
from benchmarks._common import OUT
from benchmarks.settlement import big_world

AIRLINE, AGENT = "020", "23156130152"
PASSWORD = "benchmark-password-1"
API = ["/api/v1/me", "/api/v1/files?participant={p}", "/api/v1/periods/current?participant={p}",
       "/api/v1/statements?participant={p}", "/api/v1/consolidated",
       "/api/v1/settings?participant={p}"]
PAGES = ["/me", "/files", "/periods/current", "/statements", "/consolidated", "/settings"]


def build(n_awbs: int, home: Path) -> None:
    """A data root with the period's files registered and their totals added."""
    from casslink import period_totals, registry
    from casslink.app.synthetic.generator import generate_billing
    from casslink.db.engine import make_engine, session_scope, upgrade
    from casslink.reference import load_into_db
    from casslink.settings import get_settings

    s = get_settings().with_home(home).ensure_dirs()
    upgrade(s.db_url)
    engine = make_engine(s.db_url)
    load_into_db(engine, s.fixtures_dir / "reference")
    ref = big_world()
    t0 = time.perf_counter()
    files = generate_billing(ref, "DE", ref.period("DE", "2026-11"), n_awbs, seed=1)
    for i, f in enumerate(files, start=1):
        fid = registry.record_stored(engine, f"{i:064x}", f"bench-{i}.hot", "DE", "2026-11")
        with session_scope(engine) as sess:
            period_totals.add(sess, "DE", "2026-11", period_totals.of_records(f.records))
        assert fid
    print(json.dumps({"built": n_awbs, "files": len(files),
                      "seconds": round(time.perf_counter() - t0, 1)}))
    engine.dispose()


def users(home: Path, n: int) -> list[tuple[str, str, str]]:
    """(login, participant, token) for n users: half of 020, half of the agent."""
    from sqlalchemy import select

    from casslink import access
    from casslink.db.engine import make_engine, session_scope, upgrade
    from casslink.db.models import User
    from casslink.participants import resolve
    from casslink.settings import get_settings
    from casslink.sftp_gateway import accounts

    s = get_settings().with_home(home)
    upgrade(s.db_url)  # a world built by an earlier version
    engine = make_engine(s.db_url)
    out = []
    for k in range(n):
        code = AIRLINE if k % 2 == 0 else AGENT
        login = f"bench-{k:02d}"
        with contextlib.suppress(accounts.AccountError):  # from an earlier run
            accounts.add_user(engine, login, resolve(engine, code), "user", PASSWORD)
        with session_scope(engine) as sess:
            user = sess.scalars(select(User).where(User.login == login)).one()
            token = access.issue_token(sess, user, ["view"], "bench")
        out.append((login, code, token))
    engine.dispose()
    return out


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def _cpu_seconds(portal_pid: int) -> dict[str, float]:
    """CPU seconds used so far by this process (the load's clients), the portal's parent
    and each of its workers (``worker-<pid>``): they share the machine's cores. A worker
    that started or ended between two readings is counted from 0 or not at all."""
    import psutil

    def used(p: psutil.Process) -> float | None:
        try:
            return sum(p.cpu_times()[:2])
        except psutil.Error:  # it ended
            return None

    portal = psutil.Process(portal_pid)
    out = {"client": used(psutil.Process()), "portal": used(portal)}
    for p in portal.children(recursive=True):
        with contextlib.suppress(psutil.Error):
            if "resource_tracker" not in " ".join(p.cmdline()):
                out[f"worker-{p.pid}"] = used(p)
    return {k: v for k, v in out.items() if v is not None}


async def one_user(base: str, login: str, code: str, token: str, rounds: int,
                   times: dict[str, list[float]], ready: asyncio.Barrier) -> None:
    import httpx

    async with httpx.AsyncClient(base_url=base, timeout=60) as c:
        page = await c.get("/login")
        csrf = re.search(r'name="csrf" value="([^"]+)"', page.text).group(1)
        r = await c.post("/login", data={"login": login, "password": PASSWORD, "csrf": csrf})
        assert r.status_code in (200, 303), r.status_code
        h = {"Authorization": f"Bearer {token}"}
        for path in API:  # warm-up, not measured: caches, a token's first-use write
            await c.get(path.format(p=code), headers=h)
        await ready.wait()  # every user signed in (argon2) before the clock runs
        for _ in range(rounds):
            for path in API:
                t0 = time.perf_counter()
                r = await c.get(path.format(p=code), headers=h)
                times.setdefault(path.split("?")[0], []).append(time.perf_counter() - t0)
                assert r.status_code == 200, (path, r.status_code)
            for path in PAGES:
                t0 = time.perf_counter()
                r = await c.get(path)
                times.setdefault(path, []).append(time.perf_counter() - t0)
                assert r.status_code == 200, (path, r.status_code)


async def sequential(base: str, login: str, code: str, token: str, n: int) -> dict[str, float]:
    """The median of ``n`` requests in a row to each endpoint by one user (ms)."""
    import httpx

    out = {}
    async with httpx.AsyncClient(base_url=base, timeout=60) as c:
        page = await c.get("/login")
        csrf = re.search(r'name="csrf" value="([^"]+)"', page.text).group(1)
        await c.post("/login", data={"login": login, "password": PASSWORD, "csrf": csrf})
        h = {"Authorization": f"Bearer {token}"}
        for path, headers in [(p, h) for p in API] + [(p, {}) for p in PAGES]:
            ts = []
            for _ in range(n + 1):  # the first one warms up
                t0 = time.perf_counter()
                r = await c.get(path.format(p=code), headers=headers)
                ts.append(time.perf_counter() - t0)
                assert r.status_code == 200, (path, r.status_code)
            out[path.split("?")[0]] = round(statistics.median(ts[1:]) * 1000, 1)
    return out


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--awbs", type=int, default=1_000_000)
    ap.add_argument("--users", type=int, default=20)
    ap.add_argument("--rounds", type=int, default=10)
    ap.add_argument("--workers", type=int, default=1, help="uvicorn workers of the portal")
    ap.add_argument("--sequential", type=int, default=50,
                    help="requests in a row per endpoint by one user (0: skip)")
    args = ap.parse_args()
    home = OUT / f"portal_home_{args.awbs}"
    if not (home / "casslink.db").exists():
        build(args.awbs, home)
    accounts_ = users(home, args.users)
    port = _free_port()
    env = dict(os.environ, CASSLINK_HOME=str(home), CASSLINK_PORTAL_LOGIN_RATE="1000")
    env.pop("CASSLINK_DB_URL", None)
    proc = subprocess.Popen([str(Path(sys.executable).parent / "casslink"), "portal",
                             "--port", str(port), "--workers", str(args.workers)],
                            env=env, stdout=subprocess.DEVNULL, stderr=subprocess.STDOUT)
    try:
        import httpx

        deadline = time.monotonic() + 60
        while True:
            try:
                httpx.get(f"http://127.0.0.1:{port}/login", timeout=2)
                break
            except httpx.HTTPError:
                if time.monotonic() > deadline or proc.poll() is not None:
                    raise SystemExit("the portal did not start") from None
                time.sleep(0.3)
        load_before = os.getloadavg()[0]
        single = asyncio.run(sequential(f"http://127.0.0.1:{port}", *accounts_[0],
                                        args.sequential)) if args.sequential else {}
        times: dict[str, list[float]] = {}
        started: list[float] = []
        cpu_before: dict[str, float] = {}

        async def everyone() -> None:
            ready = asyncio.Barrier(len(accounts_) + 1)
            users_ = [asyncio.create_task(one_user(f"http://127.0.0.1:{port}", login, code,
                                                   token, args.rounds, times, ready))
                      for login, code, token in accounts_]
            await ready.wait()
            started.append(time.perf_counter())
            cpu_before.update(_cpu_seconds(proc.pid))
            await asyncio.gather(*users_)

        asyncio.run(everyone())
        wall = time.perf_counter() - started[0]
        cpu = {k: round(v - cpu_before.get(k, 0), 1) for k, v in _cpu_seconds(proc.pid).items()}
    finally:
        proc.terminate()
        proc.wait(timeout=20)
    rows = []
    for path, ts in sorted(times.items()):
        ts = sorted(ts)
        rows.append({"endpoint": path, "n": len(ts), "single_ms": single.get(path),
                     "p50_ms": round(statistics.median(ts) * 1000, 1),
                     "p95_ms": round(ts[int(0.95 * (len(ts) - 1))] * 1000, 1),
                     "max_ms": round(ts[-1] * 1000, 1)})
    n = sum(r["n"] for r in rows)
    summary = {"awbs": args.awbs, "users": args.users, "rounds": args.rounds,
               "workers": args.workers, "sequential": args.sequential,
               "load_avg_1m_before": load_before, "load_avg_1m": os.getloadavg()[0],
               "requests": n, "seconds": round(wall, 1), "rps": round(n / wall, 1),
               "cores": os.cpu_count(), "cpu_seconds": cpu, "endpoints": rows}
    print(f"{'endpoint':28} {'single':>7} {'n':>5} {'p50 ms':>8} {'p95 ms':>8} {'max ms':>8}")
    for r in rows:
        print(f"{r['endpoint']:28} {r['single_ms'] or '':>7} {r['n']:>5} {r['p50_ms']:>8} "
              f"{r['p95_ms']:>8} {r['max_ms']:>8}")
    print(json.dumps({k: v for k, v in summary.items() if k != "endpoints"}))
    OUT.mkdir(parents=True, exist_ok=True)
    (OUT / "portal_load.json").write_text(json.dumps(summary, indent=1))


if __name__ == "__main__":
    main()
