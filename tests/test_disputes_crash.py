"""kill -9 while an accepted dispute bills its DCM, then a retry: the DCM is billed exactly
once (``CASSLINK_FAULT=<area>:<step>`` kills ``casslink disputes decide`` at that step;
``casslink disputes adjust`` then finishes what is pending)."""

from __future__ import annotations

import datetime as dt
import json
import os
import signal
import subprocess
import sys
from pathlib import Path

import pytest
from sqlalchemy import select

from casslink.app.disputes import service
from casslink.db.engine import session_scope
from casslink.db.models import Dispute, DisputeFile, LandedFile
from casslink.settlement.run import read_ledger, settle
from tests.conftest import reference_root
from tests.dispute_world import A1, AWB1, LH, build

STEPS = ("dispute:decided", "dispute:written", "dispute:linked", "ingest:parsed",
         "ingest:stored", "ingest:recorded", "dispute:ingested")


def _cli(settings, args: list[str], fault: str | None = None) -> subprocess.CompletedProcess:
    env = {**os.environ, "CASSLINK_HOME": str(settings.home), "CASSLINK_DB_URL": settings.db_url}
    env.pop("CASSLINK_FAULT", None)
    if fault:
        env["CASSLINK_FAULT"] = fault
    exe = Path(sys.executable).parent / "casslink"
    return subprocess.run([str(exe), "disputes", *args], capture_output=True, text=True,
                          env=env, timeout=300)


@pytest.mark.parametrize("step", STEPS)
def test_killed_adjustment_is_billed_exactly_once(tmp_path, step):
    s, engine = reference_root(tmp_path / "var")
    try:
        build(s, engine, tmp_path)
        dispute_id = service.raise_dispute(
            s, engine, service.OPERATOR, agent=A1, airline=LH, awb=f"{LH}-{AWB1}",
            reason="rate", amount="120.00", today=dt.date(2026, 12, 4))
        died = _cli(s, ["decide", str(dispute_id), "--accept", "--amount", "80.00",
                        "--today", "2026-12-04"], fault=step)
        assert died.returncode == -signal.SIGKILL, died.stderr
        retry = _cli(s, ["adjust", "--json"])
        assert retry.returncode == 0, retry.stderr
        assert json.loads(retry.stdout) == {"adjusted": [dispute_id], "failed": {}}
        again = _cli(s, ["adjust", "--json"])  # nothing left to do
        assert json.loads(again.stdout) == {"adjusted": [], "failed": {}}
        with session_scope(engine) as ses:
            files = ses.scalars(select(LandedFile).where(LandedFile.channel == "dispute")).all()
            assert [(f.state, f.accepted_count) for f in files] == [("archived", 2)]
            d = ses.get(Dispute, dispute_id)
            assert (d.status, d.file_id, d.dcm_number) == ("ADJUSTED", files[0].id, "CP0001")
            assert len(ses.scalars(select(DisputeFile)).all()) == 1
        ledger = read_ledger(Path(settle(s, engine, "DE", "2026-12").ledger_dir))
        assert {a["agent_code"]: a["net"] for a in ledger["agents"].to_pylist()} == {
            A1: 30000 - 8000}
    finally:
        engine.dispose()
