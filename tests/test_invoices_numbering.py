"""Invoice numbers: gap-free series per issuer, operation, year and letter; unique under 20
concurrent allocations (PostgreSQL and SQLite); a rolled-back or killed transaction gives its
number back; issuing again keeps every number; a re-bill cancels with referencing credit
notes; a preview issues nothing."""

from __future__ import annotations

import os
import sqlite3
import subprocess
import sys
import threading
from pathlib import Path

import pytest
from sqlalchemy import func, select
from sqlalchemy.exc import OperationalError

from casslink import invoice_numbers
from casslink.db.engine import make_engine, session_scope, upgrade
from casslink.db.models import Invoice, InvoiceSeries
from casslink.outputs.invoices import register
from casslink.outputs.invoices.issue import BATCH, issue_period
from casslink.reference import ReferenceData
from casslink.settlement.run import settle
from tests.conftest import REPO
from tests.invoice_world import settled_root, store_generated


def _allocate_in_threads(url: str, n: int) -> list[int]:
    """``n`` threads, each its own connection, allocate from one series at once."""
    engine = make_engine(url)
    barrier = threading.Barrier(n)
    got: list[int] = []
    errors: list[BaseException] = []
    lock = threading.Lock()

    def work() -> None:
        try:
            barrier.wait()
            with session_scope(engine) as s:
                _, seq = invoice_numbers.allocate(s, "020", "DE", 2026)
            with lock:
                got.append(seq)
        except BaseException as exc:  # reported below
            errors.append(exc)

    threads = [threading.Thread(target=work) for _ in range(n)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    engine.dispose()
    assert not errors, errors
    return got


@pytest.mark.postgres
def test_20_concurrent_allocations_on_postgres(pg_url):
    upgrade(pg_url)
    got = _allocate_in_threads(pg_url, 20)
    assert sorted(got) == list(range(1, 21))  # unique and gap-free
    engine = make_engine(pg_url)
    with session_scope(engine) as s:
        assert invoice_numbers.last_number(s, "020", "DE", 2026) == 20
        assert s.scalar(select(func.count()).select_from(InvoiceSeries)) == 1
    engine.dispose()


def test_20_concurrent_allocations_on_sqlite(sqlite_url):
    upgrade(sqlite_url)
    assert sorted(_allocate_in_threads(sqlite_url, 20)) == list(range(1, 21))


def test_series_are_separate_and_a_rollback_returns_the_number(db_url):
    upgrade(db_url)
    engine = make_engine(db_url)
    try:
        with session_scope(engine) as s:
            assert invoice_numbers.allocate(s, "020", "DE", 2026)[1] == 1
            assert invoice_numbers.allocate(s, "020", "DE", 2026)[1] == 2
            assert invoice_numbers.allocate(s, "020", "DE", 2026, "SB")[1] == 1
            assert invoice_numbers.allocate(s, "057", "DE", 2026)[1] == 1
            assert invoice_numbers.allocate(s, "020", "DE", 2027)[1] == 1
            assert invoice_numbers.allocate(s, "020", "IN", 2026)[1] == 1
        with pytest.raises(RuntimeError), session_scope(engine) as s:
            assert invoice_numbers.allocate(s, "020", "DE", 2026)[1] == 3
            raise RuntimeError("the document could not be stored")
        with session_scope(engine) as s:  # 3 was never issued: it is given again
            assert invoice_numbers.allocate(s, "020", "DE", 2026)[1] == 3
    finally:
        engine.dispose()


def _counts(engine) -> tuple[int, int]:
    with session_scope(engine) as s:
        return (s.scalar(select(func.count()).select_from(Invoice)),
                s.scalar(select(func.count()).select_from(InvoiceSeries)))


def test_preview_issues_nothing_then_issue_then_reissue_keeps_numbers(tmp_path):
    s, engine, _ = settled_root(tmp_path / "var", awbs=120, seed=3)
    try:
        preview = issue_period(s, engine, "DE", "2026-11", preview=True)
        assert preview.documents and not preview.issued
        assert _counts(engine) == (0, 0)  # no document, not even a series row
        first = issue_period(s, engine, "DE", "2026-11")
        assert len(first.issued) == len(preview.documents)
        assert len(set(first.issued)) == len(first.issued)
        again = issue_period(s, engine, "DE", "2026-11")
        assert again.issued == [] and sorted(again.kept) == sorted(first.issued)
        # the same inputs settled again (a repeat run): no number changes
        settle(s, engine, "DE", "2026-11")
        third = issue_period(s, engine, "DE", "2026-11")
        assert third.issued == [] and third.cancelled == []
        assert register.gaps(engine) == []
    finally:
        engine.dispose()


def test_rebill_cancels_with_referencing_credit_notes_then_issues_new(db_url, tmp_path):
    s, engine, _ = settled_root(tmp_path / "var", db_url=db_url, awbs=120, seed=3)
    try:
        first = issue_period(s, engine, "DE", "2026-11")
        before = {r["number"]: r for r in register.rows(engine, "DE", "2026-11")}
        ref = ReferenceData.from_fixtures(REPO / "fixtures" / "reference")
        store_generated(s, engine, ref, "DE", "2026-11", 40, seed=11, tag="late")
        settle(s, engine, "DE", "2026-11", rebill=True)
        second = issue_period(s, engine, "DE", "2026-11")
        rows = {r["number"]: r for r in register.rows(engine, "DE", "2026-11")}
        assert second.cancelled, "the extra AWBs changed some bills"
        for number in second.cancelled:
            old = rows[number]
            assert old["status"] == "cancelled"
            reversal = rows[old["cancelled_by"]]
            assert reversal["cancels"] == number
            # the reversal states the same amounts under the opposite type code
            assert (reversal["payable"], reversal["tax_total"]) == (
                before[number]["payable"], before[number]["tax_total"])
            assert {old["type_code"], reversal["type_code"]} in (
                {"380", "381"}, {"389", "261"})
        kept = set(first.issued) - set(second.cancelled)
        assert set(second.kept) == kept  # untouched bills keep their documents
        assert all(rows[n]["status"] == "issued" for n in kept)
        assert len(second.issued) >= 2 * len(second.cancelled)  # reversal + new each
        assert register.gaps(engine) == []
        # every series runs 1..n with nothing missing
        by_series: dict[tuple, list[int]] = {}
        for r in rows.values():
            by_series.setdefault((r["issuer"], r["series"], r["year"]), []).append(r["seq"])
        for seqs in by_series.values():
            assert sorted(seqs) == list(range(1, len(seqs) + 1))
    finally:
        engine.dispose()


def _cli(home: Path, db_url: str, fault: str | None) -> subprocess.CompletedProcess:
    env = {**os.environ, "CASSLINK_HOME": str(home), "CASSLINK_DB_URL": db_url}
    env.pop("CASSLINK_FAULT", None)
    if fault:
        env["CASSLINK_FAULT"] = fault
    exe = Path(sys.executable).with_name("casslink")
    return subprocess.run([str(exe), "invoices", "issue", "--operation", "DE", "--period",
                           "2026-11", "--json"], env=env, capture_output=True, text=True,
                          timeout=600)


@pytest.mark.parametrize("fault", ["invoices:numbered", "invoices:before-commit",
                                   "invoices:committed", "invoices:files-written"])
def test_kill_9_while_issuing_then_retry_leaves_no_gap(tmp_path, fault):
    home = tmp_path / "var"
    s, engine, _ = settled_root(home, awbs=40, seed=5)
    try:
        died = _cli(home, s.db_url, fault)
        assert died.returncode == -9, died.stderr
        if fault == "invoices:committed":  # the first transaction: up to BATCH documents
            total = len(issue_period(s, engine, "DE", "2026-11", preview=True).documents)
            assert _counts(engine)[0] == min(BATCH, total)
        if fault in ("invoices:numbered", "invoices:before-commit"):
            assert _counts(engine)[0] == 0  # the killed transaction took nothing
        retry = _cli(home, s.db_url, None)
        assert retry.returncode == 0, retry.stderr
        assert register.gaps(engine) == []
        rows = register.rows(engine, "DE", "2026-11")
        preview = issue_period(s, engine, "DE", "2026-11", preview=True).documents
        assert len(rows) == len(preview)  # every document once, none twice
        outbox = home / "homes" / preview[0].agent_code / "outbox"
        assert any(p.suffix == ".pdf" for p in outbox.iterdir())
    finally:
        engine.dispose()


def test_two_processes_issuing_one_period_at_once_issue_each_document_once(db_url, tmp_path):
    """Two issuers race over the same period: each bill's document is issued exactly once
    (the state is checked again under the series lock) and no number is skipped."""
    s, engine, _ = settled_root(tmp_path / "var", db_url=db_url, awbs=60, seed=12)
    try:
        results, errors = [], []
        barrier = threading.Barrier(2)

        def run() -> None:
            try:
                barrier.wait()
                results.append(issue_period(s, engine, "DE", "2026-11"))
            except BaseException as exc:  # reported below
                errors.append(exc)

        threads = [threading.Thread(target=run) for _ in range(2)]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
        assert not errors, errors
        rows = register.rows(engine, "DE", "2026-11")
        keys = [(r["agent_code"], r["airline_prefix"], r["doc_type"]) for r in rows]
        assert len(keys) == len(set(keys))  # no document twice
        assert sorted(results[0].issued + results[1].issued) == sorted(r["number"]
                                                                       for r in rows)
        assert register.gaps(engine) == []
    finally:
        engine.dispose()


def _conflict_on_third_number(monkeypatch, error: Exception) -> list[str]:
    """Record the issuer's checkpoints; the third number taken (mid-batch) fails with
    ``error``, as a deadlock or a lock wait would. The steps list is returned."""
    from casslink import faults

    steps: list[str] = []

    def checkpoint(area: str, step: str) -> None:
        steps.append(step)
        if step == "numbered" and steps.count("numbered") == 3:
            raise OperationalError("UPDATE invoice_series ...", {}, error)

    monkeypatch.setattr(faults, "checkpoint", checkpoint)
    return steps


def _series_are_whole(engine) -> list[str]:
    """Every series runs 1..n; each bill's document is there once: the numbers."""
    rows = register.rows(engine, "DE", "2026-11")
    by_series: dict[tuple, list[int]] = {}
    for r in rows:
        by_series.setdefault((r["issuer"], r["series"], r["year"]), []).append(r["seq"])
    assert all(sorted(v) == list(range(1, len(v) + 1)) for v in by_series.values())
    keys = [(r["agent_code"], r["airline_prefix"], r["doc_type"]) for r in rows]
    assert len(keys) == len(set(keys))
    numbers = [r["number"] for r in rows]
    assert len(numbers) == len(set(numbers)) and register.gaps(engine) == []
    return numbers


def test_a_conflict_mid_batch_falls_back_to_one_document_at_a_time(db_url, tmp_path,
                                                                   monkeypatch):
    """The batch rolls back (its numbers with it) and each document is issued in its own
    transaction, through the same ``before-commit`` checkpoint: no gap, no number twice."""
    s, engine, _ = settled_root(tmp_path / "var", db_url=db_url, awbs=60, seed=12)
    try:
        wanted = len(issue_period(s, engine, "DE", "2026-11", preview=True).documents)
        assert 3 < wanted <= BATCH  # one batch, the conflict in its middle
        steps = _conflict_on_third_number(monkeypatch, Exception("deadlock detected"))
        result = issue_period(s, engine, "DE", "2026-11")
        assert steps[:3] == ["numbered"] * 3  # the batch: two documents, then the conflict
        assert steps[3:] == ["numbered", "before-commit"] * wanted + ["committed"]
        assert sorted(_series_are_whole(engine)) == sorted(result.issued)
        assert len(result.issued) == wanted
    finally:
        engine.dispose()


def test_a_lock_timeout_is_raised_not_retried_per_document(tmp_path, monkeypatch):
    s, engine, _ = settled_root(tmp_path / "var", awbs=60, seed=12)
    try:
        steps = _conflict_on_third_number(
            monkeypatch, sqlite3.OperationalError("database is locked"))
        with pytest.raises(OperationalError, match="database is locked"):
            issue_period(s, engine, "DE", "2026-11")
        assert steps == ["numbered"] * 3  # no document tried on its own
        assert _counts(engine)[0] == 0  # the batch rolled back
        monkeypatch.undo()
        again = issue_period(s, engine, "DE", "2026-11")
        assert sorted(_series_are_whole(engine)) == sorted(again.issued)
    finally:
        engine.dispose()
