"""A bank statement's import reads and writes the database a number of times that does not
grow with its entries (casslink.payments.import_state): counted at the driver, on SQLite and
PostgreSQL, for statements of every kind of entry, with the same outcome entry by entry."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

from sqlalchemy import event, select

from casslink.db.engine import make_engine, session_scope, upgrade
from casslink.db.models import PayEntry, PayIrregularity, PayPosting, PayRemittance
from casslink.payments import ledger, statements
from casslink.payments.dues import SettledPeriod, outstanding, post_dues
from casslink.payments.references import remittance_reference, wallet_reference
from casslink.payments.terms import load_terms
from tests.camt_files import credit, returned, statement

REPO = Path(__file__).resolve().parents[1]
TERMS = load_terms(REPO / "fixtures" / "reference")
R = dt.date(2026, 12, 28)  # the remittance date: payments on it are on time
DUE = 10_000


def _agents(n: int) -> list[str]:
    return [f"23{i:08d}0" for i in range(n)]


def _import(url: str, n: int) -> tuple[int, dict, dict[str, int], list[str]]:
    """Dues for 3n + 3 agents, then one statement of 5n + 7 entries: n paid by reference, n
    by amount (the agent code in the text), n overpaid, n wallet top-ups, n unmatched, one
    short payment, one collection returned within the same statement, one unknown return,
    one paid, returned and paid again (which cures its irregularity). (queries,
    classifications, outstanding per agent, classification per entry)."""
    upgrade(url)
    engine = make_engine(url)
    agents = _agents(3 * n + 3)
    settled = SettledPeriod("DE", "2026-11", "EUR", agents=dict.fromkeys(agents, DUE),
                            payable={"020": DUE * len(agents)}, withheld={"020": 0})
    with session_scope(engine) as s:
        post_dues(s, settled, TERMS.rule("DE"), R)
    ref = {a: remittance_reference("DE", "2026-11", a) for a in agents}
    by_ref, by_amount, over = agents[:n], agents[n:2 * n], agents[2 * n:3 * n]
    short, bounced, again = agents[3 * n], agents[3 * n + 1], agents[3 * n + 2]
    entries = [*(credit(DUE, R, e2e=ref[a]) for a in by_ref),
               *(credit(DUE, R, info=f"agent {a} november") for a in by_amount),
               *(credit(DUE + 1, R, ref=ref[a]) for a in over),
               *(credit(500, R, ref=wallet_reference("DE", a)) for a in by_ref),
               *(credit(123, R, info="no idea") for _ in range(n)),
               credit(DUE - 1, R, e2e=ref[short]),
               credit(DUE, R, e2e=ref[bounced]), returned(DUE, R, e2e=ref[bounced]),
               returned(77, R, e2e="RF00UNKNOWN"),
               credit(DUE, R, e2e=ref[again]), returned(DUE, R, e2e=ref[again]),
               credit(DUE, R, e2e=ref[again])]
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
        owed = {r.agent_code: outstanding(s, r) for r in s.scalars(select(PayRemittance))}
        kinds = list(s.scalars(select(PayEntry.classification).order_by(PayEntry.seq)))
        assert ledger.check(s, "DE", "EUR") == sum(e["amount"] if e["ind"] == "CRDT"
                                                   else -e["amount"] for e in entries)
        reversals = s.scalars(select(PayPosting).where(PayPosting.kind == "return")).all()
        assert [(p.credit_account, p.amount) for p in (
            s.get(PayPosting, x.reverses_id) for x in reversals)] == [
            (ledger.agent(bounced), DUE), (ledger.agent(again), DUE)]
        irregular = {(i.agent_code, i.kind): i.cured_on
                     for i in s.scalars(select(PayIrregularity))}
        assert irregular == {(short, "SHORT"): None, (bounced, "RETURNED"): None,
                             (again, "RETURNED"): R}
    engine.dispose()
    return len(queries), got["classifications"], owed, kinds


def test_statement_import_queries_do_not_grow_with_entries(db_url, tmp_path):
    url2 = f"sqlite:///{tmp_path / 'big.db'}" if db_url.startswith("sqlite") else None
    small = _import(db_url, 2)
    if url2 is None:  # a second fresh PostgreSQL database: drop the first one's tables
        from sqlalchemy import text

        engine = make_engine(db_url)
        with engine.begin() as conn:
            conn.execute(text("DROP SCHEMA public CASCADE; CREATE SCHEMA public"))
        engine.dispose()
        url2 = db_url
    big = _import(url2, 40)
    assert big[0] == small[0], f"{small[0]} queries for 17 entries, {big[0]} for 207"
    assert small[0] <= 80  # reads up front, one INSERT per table, three irregularities, checks
    for n, (_, classes, owed, kinds) in ((2, small), (40, big)):
        assert classes == {"PAID": 2 * n + 3, "OVER": n, "WALLET": n, "UNMATCHED": n + 1,
                           "SHORT": 1, "RETURNED": 2}
        agents = _agents(3 * n + 3)
        assert owed == {**dict.fromkeys(agents[:2 * n], 0), **dict.fromkeys(
            agents[2 * n:3 * n], -1), agents[3 * n]: 1, agents[3 * n + 1]: DUE,
            agents[3 * n + 2]: 0}
        assert kinds == ["PAID"] * 2 * n + ["OVER"] * n + ["WALLET"] * n + \
            ["UNMATCHED"] * n + ["SHORT", "PAID", "RETURNED", "UNMATCHED", "PAID", "RETURNED",
                                 "PAID"]
