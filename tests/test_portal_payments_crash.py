"""kill -9 in the portal (``casslink portal`` under uvicorn) while an agent's payment option
changes, after the change and its audit entry are written but before the request commits:
nothing changed; the retry changes it once, audited once (SQLite and PostgreSQL)."""

from __future__ import annotations

import json
import signal
import subprocess
import time

import httpx
from sqlalchemy import select

from casslink.db.engine import session_scope
from casslink.db.models import AuditEntry, PayRemittance
from tests.crash_cli import EXE, fault_env
from tests.portal_world import csrf_of, free_port, sign_in
from tests.test_payments_period import A1
from tests.test_portal_payments import REF1, collected

BODY = {"participant": A1, "operation": "DE", "period": "2026-11", "option": "transfer"}


def _serve(settings, fault: str | None) -> tuple[subprocess.Popen, str]:
    port = free_port()
    proc = subprocess.Popen([str(EXE), "portal", "--port", str(port)],
                            env=fault_env(settings, fault), stdout=subprocess.DEVNULL,
                            stderr=subprocess.DEVNULL)
    base = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        try:
            if httpx.get(f"{base}/login", timeout=2).status_code == 200:
                return proc, base
        except httpx.HTTPError:
            assert proc.poll() is None, "the portal exited"
            time.sleep(0.2)
    proc.kill()
    raise AssertionError("the portal did not answer")


def _agent(base: str) -> httpx.Client:
    c = httpx.Client(base_url=base, timeout=30)
    assert sign_in(c, "fw-admin").status_code == 303
    c.headers["X-CSRF-Token"] = csrf_of(c)
    return c


def _state(engine) -> tuple:
    with session_scope(engine) as s:
        r = s.scalars(select(PayRemittance).where(PayRemittance.reference == REF1)).one()
        audits = [json.loads(a.detail)["to"] for a in s.scalars(select(AuditEntry).where(
            AuditEntry.action == "payments.option"))]
        return r.option, r.debit_date, audits


def test_kill9_while_an_option_changes_then_retry(system):
    settings, engine = system
    collected(settings, engine)
    before = _state(engine)
    assert before[0] == "debit" and before[2] == []
    proc, base = _serve(settings, "payments:portal-option-before-commit")
    try:
        c = _agent(base)
        try:
            c.post("/api/v1/payments/options", json=BODY)
            raise AssertionError("the portal answered instead of dying")
        except httpx.HTTPError:
            pass
        assert proc.wait(timeout=30) == -signal.SIGKILL
    finally:
        if proc.poll() is None:
            proc.kill()
    assert _state(engine) == before  # nothing half-done: neither the option nor its audit
    proc, base = _serve(settings, None)
    try:
        c = _agent(base)
        r = c.post("/api/v1/payments/options", json=BODY)
        assert r.status_code == 200 and r.json()["option"] == "transfer", r.text
    finally:
        proc.terminate()
        proc.wait(timeout=20)
    assert _state(engine) == ("transfer", None, ["transfer"])
