"""A bank statement's import reads and writes the database a number of times that does not
grow with its entries (casslink.payments.import_state): counted at the driver, on SQLite and
PostgreSQL, for statements of every kind of entry - irregularities and a default included -
with the outcome the entries' rules give (the code before the batching gave the same)."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

from sqlalchemy import event, select, text

from casslink.db.engine import make_engine, session_scope, upgrade
from casslink.db.models import PayAgentEvent, PayEntry, PayIrregularity, PayPosting, PayRemittance
from casslink.payments import ledger, statements
from casslink.payments.dues import SettledPeriod, outstanding, post_dues
from casslink.payments.references import remittance_reference, wallet_reference
from casslink.payments.terms import load_terms
from tests.camt_files import credit, returned, statement

REPO = Path(__file__).resolve().parents[1]
TERMS = load_terms(REPO / "fixtures" / "reference")
R = dt.date(2026, 12, 28)  # the remittance date: payments on it are on time
LATE = R + dt.timedelta(days=TERMS.rule("DE").grace_days + 1)
DUE = 10_000
PERIODS = ("2026-09", "2026-10", "2026-11")  # the defaulter owes for three periods


def _agents(n: int) -> list[str]:
    return [f"23{i:08d}0" for i in range(n)]


def _import(url: str, n: int) -> dict:
    """Dues of 2026-11 for 5n + 3 agents (and of 2026-09 and 2026-10 for the last), then one
    statement of 7n + 9 entries: n paid by reference, n by amount (the agent code in the
    text), n overpaid, n short, n late, n wallet top-ups, n unmatched, one collection
    returned within the same statement, one unknown return, one paid, returned and paid
    again (curing its irregularity), three short payments of one agent (its third
    irregularity within the window defaults it)."""
    upgrade(url)
    engine = make_engine(url)
    agents = _agents(5 * n + 3)
    bounced, again, defaulter = agents[5 * n:]
    with session_scope(engine) as s:
        for period in PERIODS:
            owing = agents if period == PERIODS[-1] else [defaulter]
            post_dues(s, SettledPeriod("DE", period, "EUR", agents=dict.fromkeys(owing, DUE),
                                       payable={"020": DUE * len(owing)}, withheld={"020": 0}),
                      TERMS.rule("DE"), R)
    ref = {a: remittance_reference("DE", PERIODS[-1], a) for a in agents}
    group = [agents[i * n:(i + 1) * n] for i in range(5)]  # by ref, amount, over, short, late
    entries = [*(credit(DUE, R, e2e=ref[a]) for a in group[0]),
               *(credit(DUE, R, info=f"agent {a} november") for a in group[1]),
               *(credit(DUE + 1, R, ref=ref[a]) for a in group[2]),
               *(credit(DUE - 1, R, e2e=ref[a]) for a in group[3]),
               *(credit(DUE, LATE, e2e=ref[a]) for a in group[4]),
               *(credit(500, R, ref=wallet_reference("DE", a)) for a in group[0]),
               *(credit(123, R, info="no idea") for _ in range(n)),
               credit(DUE, R, e2e=ref[bounced]), returned(DUE, R, e2e=ref[bounced]),
               returned(77, R, e2e="RF00UNKNOWN"),
               credit(DUE, R, e2e=ref[again]), returned(DUE, R, e2e=ref[again]),
               credit(DUE, R, e2e=ref[again]),
               *(credit(DUE - 5, R, e2e=remittance_reference("DE", p, defaulter))
                 for p in PERIODS)]
    data = statement(f"Q{n}", entries, iban=TERMS.hinge("DE").iban)
    queries = []

    def count(*_args) -> None:
        queries.append(1)

    event.listen(engine, "before_cursor_execute", count)
    try:
        got = statements.import_statement(None, engine, data, TERMS)
    finally:
        event.remove(engine, "before_cursor_execute", count)
    with session_scope(engine) as s:
        owed = {(r.agent_code, r.period_id): outstanding(s, r)
                for r in s.scalars(select(PayRemittance))}
        kinds = list(s.scalars(select(PayEntry.classification).order_by(PayEntry.seq)))
        assert ledger.check(s, "DE", "EUR") == sum(e["amount"] if e["ind"] == "CRDT"
                                                   else -e["amount"] for e in entries)
        reversals = s.scalars(select(PayPosting).where(PayPosting.kind == "return")).all()
        reversed_ = [(p.credit_account, p.amount) for p in (
            s.get(PayPosting, x.reverses_id) for x in reversals)]
        irregular = {(i.agent_code, i.period_id, i.kind): i.cured_on
                     for i in s.scalars(select(PayIrregularity))}
        events = [(e.agent_code, e.from_status, e.to_status, e.reason)
                  for e in s.scalars(select(PayAgentEvent))]
    engine.dispose()
    return {"queries": len(queries), "classes": got["classifications"], "owed": owed,
            "kinds": kinds, "reversed": reversed_, "irregular": irregular, "events": events}


def _expected(n: int) -> dict:
    """What the entries' rules give, worked out by hand for ``_import(n)``."""
    agents = _agents(5 * n + 3)
    bounced, again, defaulter = agents[5 * n:]
    group = [agents[i * n:(i + 1) * n] for i in range(5)]
    nov = PERIODS[-1]
    late = R + dt.timedelta(days=TERMS.rule("DE").grace_days + 1)
    return {
        "classes": {"PAID": 2 * n + 3, "OVER": n, "SHORT": n + 3, "LATE": n, "WALLET": n,
                    "UNMATCHED": n + 1, "RETURNED": 2},
        "owed": {**{(a, nov): 0 for a in group[0] + group[1] + group[4] + [again]},
                 **{(a, nov): -1 for a in group[2]}, **{(a, nov): 1 for a in group[3]},
                 (bounced, nov): DUE, **{(defaulter, p): 5 for p in PERIODS}},
        "kinds": ["PAID"] * 2 * n + ["OVER"] * n + ["SHORT"] * n + ["LATE"] * n
        + ["WALLET"] * n + ["UNMATCHED"] * n
        + ["PAID", "RETURNED", "UNMATCHED", "PAID", "RETURNED", "PAID"] + ["SHORT"] * 3,
        "reversed": [(ledger.agent(bounced), DUE), (ledger.agent(again), DUE)],
        "irregular": {**{(a, nov, "SHORT"): None for a in group[3]},
                      **{(a, nov, "LATE"): late for a in group[4]},  # paid in full: cured
                      (bounced, nov, "RETURNED"): None, (again, nov, "RETURNED"): R,
                      **{(defaulter, p, "SHORT"): None for p in PERIODS}},
        "events": [(defaulter, "ACTIVE", "DEFAULTED",
                    "3 irregularities within 12 months (threshold 3)")],
    }


def test_statement_import_queries_do_not_grow_with_entries(db_url, tmp_path):
    small = _import(db_url, 2)
    if db_url.startswith("sqlite"):
        big_url = f"sqlite:///{tmp_path / 'big.db'}"
    else:  # the same PostgreSQL database, emptied
        engine = make_engine(db_url)
        with engine.begin() as conn:
            conn.execute(text("DROP SCHEMA public CASCADE; CREATE SCHEMA public"))
        engine.dispose()
        big_url = db_url
    big = _import(big_url, 40)
    assert big["queries"] == small["queries"], \
        f"{small['queries']} queries for 23 entries, {big['queries']} for 289"
    assert small["queries"] <= 50  # reads up front, one INSERT per table, the hinge check
    for n, got in ((2, small), (40, big)):
        want = _expected(n)
        assert {k: got[k] for k in want} == want
