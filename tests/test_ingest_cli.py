"""``casslink validate`` with and without a data root (issue 21 item 13) and ``casslink ingest
--pending`` (item 8), through the real command line."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from casslink import registry
from casslink.app.synthetic.generator import corrupt_bytes, generate_billing
from casslink.db.engine import make_engine
from casslink.parsers.hot import write_hot
from casslink.participants import resolve
from casslink.settings import get_settings
from casslink.sftp_gateway.landing import land_path

EXE = Path(sys.executable).parent / "casslink"


def run(*args: str) -> subprocess.CompletedProcess:
    return subprocess.run([str(EXE), *args], capture_output=True, text=True, timeout=300,
                          env={**os.environ})


@pytest.fixture(scope="module")
def files(ref, tmp_path_factory):
    out = tmp_path_factory.mktemp("cli")
    gen = generate_billing(ref, "DE", ref.period("DE", "2026-11"), 60, seed=11)[:2]
    paths = []
    for f in gen:
        p = out / f"{f.airline_prefix}_DE_2026-11_01.hot"
        p.write_bytes(write_hot(f.header, f.records, f.charges))
        paths.append((p, f.airline_prefix))
    bad = out / "bad.hot"
    bad.write_bytes(corrupt_bytes(paths[0][0].read_bytes(), [{"kind": "wrong_trailer_count"}]))
    return paths, bad


def _snapshot(home: Path) -> dict:
    return {str(p.relative_to(home)): p.stat().st_size for p in home.rglob("*")
            if p.is_file() and not p.name.startswith("casslink.db")}


def test_validate_runs_the_history_checks_with_a_data_root(home, files):
    path, prefix = files[0][0]
    offline = run("validate", str(path), "--participant", prefix)
    assert offline.returncode == 0 and "History checks: NOT run" in offline.stdout
    assert not home.exists() or not (home / "casslink.db").exists()  # nothing made
    run("reference", "load").check_returncode()
    assert run("ingest", str(path), "--participant", prefix).returncode == 0
    engine = make_engine(get_settings().db_url)
    try:
        rows_before = [(r.id, r.state) for r in registry.rows(engine)]
        files_before = _snapshot(home)
        again = run("validate", str(path), "--participant", prefix, "--json")
        assert again.returncode == 1, again.stdout + again.stderr
        out = json.loads(again.stdout)
        assert out["verdict"] == "rejected" and out["history_checked"] is True
        assert "HOT-E601" in {f["code"] for f in out["findings"]}
        text = run("validate", str(path), "--participant", prefix)
        assert "History checks: run" in text.stdout and "HOT-E601" in text.stdout
        # read only: no row, no file written
        assert [(r.id, r.state) for r in registry.rows(engine)] == rows_before
        assert _snapshot(home) == files_before
    finally:
        engine.dispose()


def test_ingest_pending_drains_the_landed_files(home, files):
    (good, prefix), (other, prefix2) = files[0]
    bad = files[1]
    run("reference", "load").check_returncode()
    settings = get_settings()
    engine = make_engine(settings.db_url)
    try:
        landed = [land_path(settings, engine, src, resolve(engine, who).id, None, src.name,
                            "inbox").file_id
                  for src, who in ((good, prefix), (bad, prefix), (other, prefix2))]
        young = run("ingest", "--pending")
        assert young.returncode == 0 and "0 files ingested" in young.stdout
        assert "3 landed less than 20 s ago" in young.stdout
        assert registry.pending(engine) == landed
        drained = run("ingest", "--pending", "--min-age", "0")
        assert drained.returncode == 0, drained.stdout + drained.stderr
        lines = drained.stdout.splitlines()
        for file_id, name, verdict in zip(landed, (good.name, bad.name, other.name),
                                          ("accepted", "rejected", "accepted"), strict=True):
            mine = [x for x in lines[:-1] if x.split()[0] == str(file_id)]
            assert len(mine) == 1, drained.stdout
            line = mine[0]
            assert verdict in line.split() and name in line
        assert lines[-1].startswith("3 files ingested (2 accepted, 1 rejected); 0 failed")
        assert registry.pending(engine) == []
        states = {r.id: r.state for r in registry.rows(engine)}
        assert [states[i] for i in landed] == ["archived", "quarantined", "archived"]
        # --json, and nothing left to do
        again = run("ingest", "--pending", "--min-age", "0", "--json")
        assert again.returncode == 0
        assert json.loads(again.stdout) == {"files": [], "failed": [], "left_younger": 0}
    finally:
        engine.dispose()
