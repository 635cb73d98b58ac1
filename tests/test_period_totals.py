"""casslink.period_totals: the real-time totals are the accepted records summed per (airline,
agent, currency), added in the ingest commit - so a kill -9 at any ingest step, then a retry,
counts each file exactly once - and concurrent additions never lose one (SQLite and
PostgreSQL)."""

from __future__ import annotations

import datetime as dt
import signal
import threading
from collections import Counter, defaultdict

import pyarrow as pa
from sqlalchemy import select

from casslink import period_totals
from casslink.app.ingest import land_and_ingest
from casslink.canonical import NET_TERMS, agent_net, empty_records
from casslink.db.engine import session_scope
from casslink.db.models import ParticipantTotal, PeriodTotal
from casslink.participants import resolve
from casslink.portal import views
from casslink.portal.routes import periods
from tests.test_ingest_crash import _cli, billing_files  # noqa: F401 - the fixture

CRASH_STEPS = ("ingest:pinned", "ingest:stored", "ingest:acked", "ingest:moved",
               "ingest:recorded")


def _by_hand(tables) -> dict[tuple, dict]:
    """Per (airline, agent, currency): records, each component and the net, row by row."""
    out: dict[tuple, dict] = defaultdict(lambda: {"records": 0, "net": 0,
                                                  **dict.fromkeys(NET_TERMS, 0)})
    for t in tables:
        for r in t.to_pylist():
            sign = -1 if r["record_type"] in ("CCO", "DCO") else 1  # revised - original
            acc = out[(r["airline_prefix"], r["agent_code"], r["currency"])]
            acc["records"] += 1
            acc["net"] += sign * agent_net(r)
            for c in NET_TERMS:
                acc[c] += sign * int(r[c] or 0)
    return dict(out)


def _stored(engine) -> dict[tuple, dict]:
    with session_scope(engine) as s:
        return {(t.airline_prefix, t.agent_code, t.currency): {
            "records": t.records, "net": t.net, **{c: getattr(t, c) for c in NET_TERMS}}
            for t in s.scalars(select(PeriodTotal).where(PeriodTotal.period_id == "2026-11"))}


def test_of_records_matches_sums_by_hand() -> None:
    cols = {n: [] for n in empty_records().schema.names}
    rows = [("020", "1", "EUR", 1000, None, 50, "AWB"), ("020", "1", "EUR", 2000, 7, -25, "AWB"),
            ("020", "1", "EUR", 400, 0, 0, "CCO"), ("020", "1", "EUR", 450, 0, 0, "CCR"),
            ("020", "1", "USD", 300, 0, 0, None), ("057", "2", "EUR", 5, 0, 0, "AWB")]
    for prefix, agent, cur, weight, commission, discount, rtype in rows:
        for n in cols:
            cols[n].append(None)
        cols["record_type"][-1] = rtype
        cols["airline_prefix"][-1], cols["agent_code"][-1] = prefix, agent
        cols["currency"][-1], cols["weight_pp"][-1] = cur, weight
        cols["commission"][-1], cols["discount"][-1] = commission, discount
    table = pa.table(cols, schema=empty_records().schema)
    got = {(r["airline_prefix"], r["agent_code"], r["currency"]): r
           for r in period_totals.of_records(table)}
    assert got[("020", "1", "EUR")]["records"] == 4
    # weight - commission - discount; the correction bills revised - original (+50)
    assert got[("020", "1", "EUR")]["net"] == 1000 - 50 + 2000 - 7 + 25 - 400 + 450
    assert got[("020", "1", "USD")]["net"] == 300 and got[("057", "2", "EUR")]["net"] == 5
    want = _by_hand([table])
    assert {k: {c: v[c] for c in want[k]} for k, v in got.items()} == want
    assert period_totals.of_records(empty_records()) == []


def test_kill_9_at_every_step_counts_each_file_once(system, billing_files) -> None:  # noqa: F811
    settings, engine = system
    files, _ = billing_files
    for (path, gen), fault in zip(files, CRASH_STEPS, strict=False):
        crashed = _cli(settings, path, gen.airline_prefix, fault)
        assert crashed.returncode == -signal.SIGKILL, (fault, crashed.stderr)
        if fault != "ingest:recorded":  # committed before the kill: totals are in already
            assert not any(k[0] == gen.airline_prefix for k in _stored(engine)), fault
        land_and_ingest(settings, engine, path, resolve(engine, gen.airline_prefix))
    done = [g.records for _, g in files[:len(CRASH_STEPS)]]
    assert _stored(engine) == _by_hand(done)


def test_concurrent_additions_are_never_lost(system) -> None:
    _, engine = system
    row = {"airline_prefix": "020", "agent_code": "23156130152", "currency": "EUR",
           "records": 1, **dict.fromkeys(NET_TERMS, 0), "weight_pp": 3, "net": 3}
    errors = []

    def worker() -> None:
        try:
            for _ in range(10):
                with session_scope(engine) as s:
                    period_totals.add(s, "DE", "2026-11", [row])
        except Exception as exc:  # pragma: no cover - reported below
            errors.append(exc)

    threads = [threading.Thread(target=worker) for _ in range(6)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert errors == []
    with session_scope(engine) as s:
        t = s.scalars(select(PeriodTotal)).one()
        assert (t.files, t.records, t.weight_pp, t.net) == (60, 60, 180, 180)
        totals = {(t.side, t.code): (t.records, t.weight_pp, t.net)
                  for t in s.scalars(select(ParticipantTotal))}
        assert totals == {("airline", "020"): (60, 180, 180),
                          ("agent", "23156130152"): (60, 180, 180)}


def _participants_by_hand(tables) -> dict[tuple, dict]:
    """Per (side, code, currency): each airline's and each agent's records, components and
    net, row by row from the records (independently of casslink.period_totals)."""
    out: dict[tuple, dict] = defaultdict(lambda: {"records": 0, "net": 0,
                                                  **dict.fromkeys(NET_TERMS, 0)})
    for t in tables:
        for r in t.to_pylist():
            sign = -1 if r["record_type"] in ("CCO", "DCO") else 1
            for key in (("airline", r["airline_prefix"], r["currency"]),
                        ("agent", r["agent_code"], r["currency"])):
                acc = out[key]
                acc["records"] += 1
                acc["net"] += sign * agent_net(r)
                for c in NET_TERMS:
                    acc[c] += sign * int(r[c] or 0)
    return dict(out)


def test_participant_totals_equal_the_records_after_each_ingest(system,
                                                               billing_files) -> None:  # noqa: F811
    """The per-participant totals kept at ingest (what the portal's period and consolidated
    views read) equal the records summed by hand after each of several ingests; the period
    view of an agent in all of the files shows them per currency, and its rows (kept between
    requests while the totals are unchanged) follow each ingest."""
    settings, engine = system
    files, _ = billing_files
    chosen = files[:4]
    seen = Counter(a for _, g in chosen for a in set(g.records.column("agent_code").to_pylist()))
    agent, in_files = seen.most_common(1)[0]
    assert in_files >= 2
    day = dt.date(2026, 11, 15)
    done = []
    for path, gen in chosen:
        land_and_ingest(settings, engine, path, resolve(engine, gen.airline_prefix))
        done.append(gen.records)
        want = _participants_by_hand(done)
        with session_scope(engine) as s:
            stored = {(t.side, t.code, t.currency): {
                "records": t.records, "net": t.net, **{c: getattr(t, c) for c in NET_TERMS}}
                for t in s.scalars(select(ParticipantTotal).where(
                    ParticipantTotal.operation_code == "DE",
                    ParticipantTotal.period_id == "2026-11"))}
            assert stored == want
            [per] = [p for p in periods.current_periods(s, views.participant(s, agent), "DE", day)
                     if p["period"] == "2026-11"]
        pairs = {(k[0], k[2]): v for k, v in _by_hand(done).items() if k[1] == agent}
        assert [(r["counterpart"], r["currency"]) for r in per["rows"]] == sorted(
            pairs, key=lambda k: (k[1], k[0]))
        assert {(r["counterpart"], r["currency"]): {c: r[c] for c in ("records", "net",
                                                                       *NET_TERMS)}
                for r in per["rows"]} == pairs
        assert per["totals"] == [
            {"currency": cur, "records": v["records"], **{c: v[c] for c in periods.MONEY}}
            for (side, code, cur), v in sorted(want.items()) if (side, code) == ("agent", agent)]
    assert len({k[1] for k in stored if k[0] == "airline"}) == 4
    with session_scope(engine) as s:
        for code in (chosen[0][1].airline_prefix, agent):
            part = views.participant(s, code)
            [per] = [p for p in periods.open_periods(s, part, "DE", day)
                     if p["period"] == "2026-11"]
            rows = period_totals.for_participant(s, part.kind, code, "DE", "2026-11")
            assert periods.currency_totals(rows) == per["totals"]
            assert period_totals.count_for_participant(s, part.kind, code, "DE",
                                                       "2026-11") == len(rows)
            top = period_totals.for_participant(s, part.kind, code, "DE", "2026-11", 3)
            assert top == sorted(rows, key=lambda r: -abs(r["net"]))[:3]


def test_revision_0014_sums_the_existing_pairs_per_participant(db_url) -> None:
    """A database whose period totals predate ``participant_totals`` gets them summed per
    airline and per agent by the migration, and ingest adds to them from there on."""
    from sqlalchemy import text

    from casslink.db.engine import engine_for, upgrade

    upgrade(db_url, "0013_immutable_postings")
    pairs = [("020", "A1", "EUR", 2, 1000, 30, "2026-11-03 10:00:00"),
             ("020", "A2", "EUR", 1, -400, 0, "2026-11-05 10:00:00"),
             ("020", "A2", "USD", 1, 70, 5, "2026-11-04 10:00:00"),
             ("057", "A1", "EUR", 3, 9, 1, "2026-11-02 10:00:00")]
    with engine_for(db_url) as engine, engine.begin() as conn:
        for prefix, agent, cur, records, weight, commission, at in pairs:
            conn.execute(text(
                "INSERT INTO period_totals (operation_code, period_id, airline_prefix,"
                " agent_code, currency, files, records, weight_pp, commission, net, updated_at)"
                " VALUES ('DE', '2026-11', :p, :a, :c, 1, :r, :w, :k, :n, :t)"),
                {"p": prefix, "a": agent, "c": cur, "r": records, "w": weight,
                 "k": commission, "n": weight - commission, "t": at})
    upgrade(db_url)
    with engine_for(db_url) as engine, session_scope(engine) as s:
        got = {(t.side, t.code, t.currency): (t.records, t.weight_pp, t.commission, t.net,
                                              str(t.updated_at)[:19])
               for t in s.scalars(select(ParticipantTotal))}
        assert got == {
            ("airline", "020", "EUR"): (3, 600, 30, 570, "2026-11-05 10:00:00"),
            ("airline", "020", "USD"): (1, 70, 5, 65, "2026-11-04 10:00:00"),
            ("airline", "057", "EUR"): (3, 9, 1, 8, "2026-11-02 10:00:00"),
            ("agent", "A1", "EUR"): (5, 1009, 31, 978, "2026-11-03 10:00:00"),
            ("agent", "A2", "EUR"): (1, -400, 0, -400, "2026-11-05 10:00:00"),
            ("agent", "A2", "USD"): (1, 70, 5, 65, "2026-11-04 10:00:00")}
        row = {"airline_prefix": "057", "agent_code": "A2", "currency": "EUR", "records": 1,
               **dict.fromkeys(NET_TERMS, 0), "weight_pp": 11, "net": 11}
        period_totals.add(s, "DE", "2026-11", [row])
    with engine_for(db_url) as engine, session_scope(engine) as s:
        a2 = s.get(ParticipantTotal, ("agent", "A2", "DE", "2026-11", "EUR"))
        assert (a2.records, a2.weight_pp, a2.net) == (2, -389, -389)
        assert s.get(ParticipantTotal, ("airline", "057", "DE", "2026-11", "EUR")).net == 19


def test_concurrent_files_sharing_participants_all_count(system) -> None:
    """Files listing the same airlines and agents in opposite orders, added concurrently:
    every addition counts, per pair and per participant (rows are upserted in key order, so
    two ingests never wait on each other's rows crosswise)."""
    _, engine = system

    def pair(prefix: str, agent: str, weight: int) -> dict:
        return {"airline_prefix": prefix, "agent_code": agent, "currency": "EUR",
                "records": 1, **dict.fromkeys(NET_TERMS, 0), "weight_pp": weight,
                "net": weight}

    rows = [pair("020", "23156130152", 5), pair("057", "23156130163", 7),
            pair("057", "23156130152", 11)]
    errors = []

    def worker(batch: list[dict]) -> None:
        try:
            for _ in range(10):
                with session_scope(engine) as s:
                    period_totals.add(s, "DE", "2026-11", batch)
        except Exception as exc:  # pragma: no cover - reported below
            errors.append(exc)

    threads = [threading.Thread(target=worker, args=(rows if k % 2 else rows[::-1],))
               for k in range(6)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert errors == []
    with session_scope(engine) as s:
        got = {(t.side, t.code): (t.records, t.net) for t in s.scalars(select(ParticipantTotal))}
    assert got == {("airline", "020"): (60, 300), ("airline", "057"): (120, 1080),
                   ("agent", "23156130152"): (120, 960), ("agent", "23156130163"): (60, 420)}
