"""The payments pages and API over a settled, collected period (TestClient, SQLite and
PostgreSQL): DE 2026-11 of tests/test_payments_period.py (EUR, clearing 2 days, grace 3 days,
payout rule ``hold``), its figures computed by hand from the bills:

    A1 (fw-admin's agent)   owes 1500.00 = 1000.00 to LH + 500.00 to AF
    A2 (other-agent's)      owes  800.00 to LH           A3 600.00 to AF, A4 400.00 to LH
    A5                      owes  250.00 to AF           A6 is owed 300.00 (LH's collect AWB)
    LH is due 1000 + 800 + 400 - 300 = 1900.00

A1 moves its debit to a chosen date, A2 pays by transfer and pays 700.00 of 800.00 (SHORT);
a credit of 100.00 without a reference waits unmatched; A2 defaults at the review after its
cure date; the operator matches the 100.00 to A2 (PAID, the notice cured) and reinstates it.
"""

from __future__ import annotations

import datetime as dt
import json
from pathlib import Path

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import select

from casslink.db.engine import session_scope
from casslink.db.models import AuditEntry, PayEntry
from casslink.payments import collect as collect_mod
from casslink.payments import defaults, statements
from casslink.payments.references import remittance_reference, wallet_reference
from casslink.payments.terms import load_terms
from casslink.portal.app import create_app
from tests.camt_files import credit, statement
from tests.portal_world import csrf_of, populate, sign_in
from tests.test_payments_period import A1, A2, A3, A4, A5, LH, R, settle_period

REPO = Path(__file__).resolve().parents[1]
TODAY = dt.date(2026, 12, 11)
REF1, REF2 = (remittance_reference("DE", "2026-11", a) for a in (A1, A2))


def collected(settings, engine) -> None:
    """Settle and post DE 2026-11 (the remittances open on TODAY)."""
    settle_period(settings, engine)
    populate(engine)
    collect_mod.post_period(engine, load_terms(REPO / "fixtures" / "reference"), "DE",
                            "2026-11", TODAY)


def pay(settings, engine) -> None:
    """Collect (the debit files), the bank's statement, a payout round, the review."""
    terms = load_terms(REPO / "fixtures" / "reference")
    collect_mod.collect(settings, engine, terms, "DE", "2026-11", TODAY)
    hinge = terms.hinge("DE").iban
    s1 = statement("S1", [credit(150000, dt.date(2026, 12, 20), e2e=REF1),
                          credit(70000, R, ref=REF2),
                          credit(10000, R, info="payment november")], iban=hinge)
    assert statements.import_statement(settings, engine, s1, terms)["classifications"] == {
        "PAID": 1, "SHORT": 1, "UNMATCHED": 1}
    collect_mod.payout(settings, engine, terms, "DE", "2026-11", R + dt.timedelta(days=1))
    with session_scope(engine) as s:
        defaults.review(s, "DE", terms.rule("DE"), R + dt.timedelta(days=6),
                        defaults.Notifier(settings, statements.owed_airlines_reader(engine)))


@pytest.fixture
def world(system):
    settings, engine = system
    collected(settings, engine)
    app = create_app(settings, engine=engine)
    app.state.payments_today = lambda: TODAY
    return settings, engine, app


def client(app, login: str) -> TestClient:
    c = TestClient(app)
    assert sign_in(c, login).status_code == 303
    c.headers["X-CSRF-Token"] = csrf_of(c)
    return c


def test_agent_chooses_operator_matches_and_reinstates(world):
    settings, engine, app = world
    agent, agent2, ops = (client(app, x) for x in ("fw-admin", "other-agent", "ops"))
    # the agent's remittance: its reference, the operation's options and the window
    got = agent.get("/api/v1/payments", params={"participant": A1}).json()
    [r1] = got["remittances"]
    assert (r1["reference"], r1["due"], r1["paid"], r1["status"], r1["option"]) == (
        REF1, 150000, 0, "OPEN", "debit")
    assert r1["debit_date"] == R.isoformat()
    assert r1["choice"] == {"options": ["debit", "chosen_date", "transfer", "wallet"],
                            "earliest": "2026-12-13", "latest": "2026-12-28",
                            "changeable": True}
    assert got["wallets"] == [{"operation": "DE", "currency": "EUR", "balance": 0,
                               "reference": wallet_reference("DE", A1), "account": {
                                   "holder": "IATA CASS Germany Hinge Account",
                                   "iban": "DE02370400442667665991", "account_number": "",
                                   "bic": "COBADEFFXXX"}}]
    assert got["status"] == {"DE": "ACTIVE"} and got["irregularities"] == []
    # a date before today + 2 clearing days, and an option IN-only agents... are refused
    body = {"participant": A1, "operation": "DE", "period": "2026-11",
            "option": "chosen_date", "debit_date": "2026-12-12"}
    bad = agent.post("/api/v1/payments/options", json=body)
    assert bad.status_code == 409 and "2026-12-13" in bad.json()["detail"]
    bad = agent.post("/api/v1/payments/options", json={**body, "option": "cheque"})
    assert bad.status_code == 409 and "does not offer 'cheque'" in bad.json()["detail"]
    ok = agent.post("/api/v1/payments/options", json={**body, "debit_date": "2026-12-20"})
    assert ok.status_code == 200, ok.text
    assert (ok.json()["option"], ok.json()["debit_date"]) == ("chosen_date", "2026-12-20")
    same = agent.post("/api/v1/payments/options", json={**body, "debit_date": "2026-12-20"})
    assert same.status_code == 200  # the same choice again: not audited twice (below)
    # the other agent chooses a transfer with the page's form
    page = agent2.post("/payments/options", data={
        "agent": A2, "operation": "DE", "period": "2026-11", "option": "transfer",
        "csrf": agent2.headers["X-CSRF-Token"]}, follow_redirects=False)
    assert page.status_code == 303
    with session_scope(engine) as s:
        audit = [(a.actor_login, a.action, a.target, json.loads(a.detail)["to"])
                 for a in s.scalars(select(AuditEntry).where(
                     AuditEntry.action == "payments.option").order_by(AuditEntry.id))]
    assert audit == [("fw-admin", "payments.option", REF1, "chosen_date"),
                     ("other-agent", "payments.option", REF2, "transfer")]

    pay(settings, engine)
    # A1: debited on its date and paid; the option can no longer change
    [r1] = agent.get("/api/v1/payments", params={"participant": A1}).json()["remittances"]
    assert (r1["paid"], r1["outstanding"], r1["status"]) == (150000, 0, "PAID")
    late = agent.post("/api/v1/payments/options", json={**body, "debit_date": "2026-12-21"})
    assert late.status_code == 409 and "PAID" in late.json()["detail"]
    # A2: short by 100.00, its notice past the cure date: DEFAULTED
    got2 = agent2.get("/api/v1/payments").json()  # its only finance grant
    [r2] = got2["remittances"]
    assert (r2["due"], r2["paid"], r2["outstanding"], r2["status"]) == (
        80000, 70000, 10000, "SHORT")
    assert got2["status"] == {"DE": "DEFAULTED"}
    assert got2["irregularities"] == [{"operation": "DE", "period": "2026-11",
                                       "kind": "SHORT", "raised_on": "2026-12-28",
                                       "cure_by": "2026-12-31", "cured_on": None}]
    live = agent2.get("/payments/live").text
    assert f'data-reference="{REF2}" data-status="SHORT"' in live
    assert 'data-agent-status="DE">DE: DEFAULTED<' in live
    # LH: due 1900.00; A1's 1000.00 less A6's 300.00 credit paid out; A2's and A4's held
    lh = client(app, "lh-admin").get("/api/v1/payments", params={"participant": LH}).json()
    assert lh["periods"] == [{"operation": "DE", "period": "2026-11", "currency": "EUR",
                              "due": 190000, "paid_out": 70000, "held": 120000}]
    assert 'data-field="held">€1,200.00<' in client(app, "lh-admin").get("/payments").text

    # the operator: the unmatched 100.00, the debit files, A2 defaulted (owing 100.00)
    opage = ops.get("/payments").text
    with session_scope(engine) as s:
        entry_id = s.scalars(select(PayEntry.id).where(
            PayEntry.classification == "UNMATCHED")).one()
    assert f'data-entry="{entry_id}"' in opage
    for name in ("pain.008-DE-EUR-2026-12-20-2026-11.xml",
                 "pain.008-DE-EUR-2026-12-28-2026-11.xml"):
        assert f'data-file="{name}"' in opage
    assert f'data-agent="DE-{A2}" data-status="DEFAULTED"' in opage
    assert "Owes money: no reinstatement yet" in opage
    # not reinstated while it owes
    refused = ops.post("/payments/reinstate", data={
        "agent": A2, "operation": "DE", "reason": "too early",
        "csrf": ops.headers["X-CSRF-Token"]})
    assert refused.status_code == 409 and "still owes for 2026-11" in refused.text
    # agents may not match; the operator matches the entry to A2's reference
    assert agent2.post("/api/v1/payments/match", json={
        "entry_id": entry_id, "reference": REF2}).status_code == 403
    m = ops.post("/api/v1/payments/match", json={"entry_id": entry_id,
                                                  "reference": REF2.lower(),
                                                  "reason": "phoned"})
    assert m.status_code == 200 and m.json()["classification"] == "PAID"
    again = ops.post("/api/v1/payments/match", json={"entry_id": entry_id,
                                                      "reference": REF2})
    assert again.status_code == 409 and "not an unmatched credit" in again.json()["detail"]
    got2 = agent2.get("/api/v1/payments", params={"participant": A2}).json()
    assert (got2["remittances"][0]["paid"], got2["remittances"][0]["status"]) == (80000, "PAID")
    assert got2["irregularities"][0]["cured_on"] == "2026-12-28"
    # paid in full: the reinstatement decision
    done = ops.post("/payments/reinstate", data={
        "agent": A2, "operation": "DE", "reason": "paid in full",
        "csrf": ops.headers["X-CSRF-Token"]}, follow_redirects=False)
    assert done.status_code == 303
    status = agent2.get(f"/api/v1/agents/{A2}/status").json()
    assert status["status"] == {"DE": "REINSTATED"}
    assert [(e["action"], e["to_status"], e["actor"]) for e in status["events"]] == [
        ("status", "DEFAULTED", "system"), ("manual_match", "", "ops"),
        ("status", "REINSTATED", "ops")]
    with session_scope(engine) as s:
        audit = [(a.actor_login, a.action, a.target) for a in s.scalars(select(
            AuditEntry).where(AuditEntry.action.in_(("payments.match",
                                                     "payments.reinstate"))))]
    assert audit == [("ops", "payments.match", REF2), ("ops", "payments.reinstate", A2)]
    # the whole period for operators, as ``casslink payments show`` has it
    whole = ops.get("/api/v1/payments", params={"operation": "DE", "period": "2026-11"})
    assert {a["agent_code"]: a["status"] for a in whole.json()["agents"]}[A2] == "PAID"
    assert {A3, A4, A5} <= {a["agent_code"] for a in whole.json()["agents"]}


# --- authorization: another agent, another airline, no grant, no ``finance`` ---------------

ATTACKERS = ("other-agent", "af-user", "nogrant", "lh-clerk")


def _victim_requests(entry_id: int) -> list[tuple[str, str, dict]]:
    option = {"participant": A1, "operation": "DE", "period": "2026-11", "option": "transfer"}
    out = []
    for code in (A1, LH):
        out += [("GET", "/api/v1/payments", {"params": {"participant": code}}),
                ("GET", "/api/v1/payments", {"params": {"participant": code,
                                                        "operation": "DE"}}),
                ("GET", "/payments", {"params": {"participant": code}}),
                ("GET", "/payments/live", {"params": {"participant": code}})]
    return [
        *out,
        ("GET", f"/api/v1/agents/{A1}/status", {}),
        ("POST", "/api/v1/payments/options", {"json": option}),
        ("POST", "/api/v1/payments/match", {"json": {"entry_id": entry_id,
                                                     "reference": REF1}}),
        ("POST", "/payments/options", {"data": {"agent": A1, "operation": "DE",
                                                "period": "2026-11", "option": "transfer"}}),
        ("POST", "/payments/match", {"data": {"entry_id": entry_id, "reference": REF1}}),
        ("POST", "/payments/reinstate", {"data": {"agent": A2, "operation": "DE",
                                                  "reason": "x"}}),
    ]


def _state(engine) -> tuple:
    from casslink.db.models import PayAgentEvent, PayPosting, PayRemittance

    with session_scope(engine) as s:
        return (tuple(s.execute(select(PayRemittance.reference, PayRemittance.option,
                                       PayRemittance.debit_date, PayRemittance.status)
                                .order_by(PayRemittance.id)).all()),
                s.scalars(select(PayPosting.id).order_by(PayPosting.id.desc())).first(),
                tuple(s.scalars(select(PayEntry.classification).order_by(PayEntry.id))),
                tuple(s.scalars(select(PayAgentEvent.id))))


def test_nobody_else_sees_or_changes_an_agents_or_airlines_payments(world):
    settings, engine, app = world
    pay(settings, engine)
    with session_scope(engine) as s:
        entry_id = s.scalars(select(PayEntry.id).where(
            PayEntry.classification == "UNMATCHED")).one()
    before = _state(engine)
    # A1's reference and wallet reference, LH's figures (1900.00 due, 1200.00 held)
    markers = [REF1, wallet_reference("DE", A1), "190000", "120000", "1,900.00", "1,200.00"]
    for who in ATTACKERS:
        c = client(app, who)
        for method, url, req in _victim_requests(entry_id):
            req = dict(req)
            if "data" in req:
                req["data"] = {**req["data"], "csrf": c.headers["X-CSRF-Token"]}
            r = c.request(method, url, follow_redirects=False, **req)
            assert r.status_code in (403, 404), f"{who}: {method} {url} {req} -> {r.status_code}"
            for m in markers:
                assert m not in r.text, f"{who} saw {m!r} via {method} {url}"
        # their own page: nothing of A1's or LH's
        own = c.get("/payments")
        assert own.status_code == (403 if who in ("nogrant", "lh-clerk") else 200)
        assert not any(m in own.text for m in markers)
        nav = c.get("/me").text
        assert ('href="/payments"' in nav) == (who in ("other-agent", "af-user"))
    assert _state(engine) == before


def test_token_scopes_narrow_payments(world):
    app = world[2]
    agent, ops = client(app, "fw-admin"), client(app, "ops")
    view_only = agent.post("/api/v1/tokens", json={"name": "erp", "scopes": ["view"]}).json()
    finance = agent.post("/api/v1/tokens", json={"name": "erp2", "scopes": ["finance"]}).json()
    ops_view = ops.post("/api/v1/tokens", json={"name": "ops", "scopes": ["view"]}).json()
    bearer = lambda t: {"Authorization": f"Bearer {t['token']}"}
    api = TestClient(app)
    assert api.get("/api/v1/payments", params={"participant": A1},
                   headers=bearer(view_only)).status_code == 403
    got = api.get("/api/v1/payments", params={"participant": A1}, headers=bearer(finance))
    assert got.status_code == 200 and got.json()["remittances"][0]["reference"] == REF1
    assert api.post("/api/v1/payments/match", json={"entry_id": 1, "reference": REF1},
                    headers=bearer(ops_view)).status_code == 403
    assert api.get("/api/v1/payments", params={"operation": "DE", "period": "2026-11"},
                   headers=bearer(ops_view)).status_code == 403
    # an operator's finance token matches (its last-use write must not lock the match out)
    pay(world[0], world[1])
    ops_finance = ops.post("/api/v1/tokens", json={"name": "ops2", "scopes": ["finance"]}
                           ).json()
    with session_scope(world[1]) as s:
        entry_id = s.scalars(select(PayEntry.id).where(
            PayEntry.classification == "UNMATCHED")).one()
    m = api.post("/api/v1/payments/match", json={"entry_id": entry_id, "reference": REF2},
                 headers=bearer(ops_finance))
    assert m.status_code == 200 and m.json()["classification"] == "PAID"


def test_pages_speak_the_users_language(world):
    agent = client(world[2], "fw-admin")
    assert agent.post("/language", data={"language": "de", "next": "/payments",
                                         "csrf": agent.headers["X-CSRF-Token"]},
                      follow_redirects=False).status_code == 303
    page = agent.get("/payments").text
    assert ">Zahlungen</a>" in page and "Zahlungsweise" in page
    assert "Lastschrift zu einem Datum meiner Wahl" in page and "1.500,00" in page
    assert ">Zahlungen</a>" in agent.get("/me").text  # the navigation, portal catalog


def test_payment_options_show_as_labels_in_every_language(world):
    """The remittances table names each payment option in the user's language, never by its
    code (``debit``, ``chosen_date``): the payments catalog's label of it."""
    from casslink import i18n

    agent = client(world[2], "fw-admin")
    english = "Direct debit on the remittance date"  # DE's default option: ``debit``
    labels = set()
    for language in i18n.LANGUAGES:
        assert agent.post("/language", data={"language": language, "next": "/payments",
                                             "csrf": agent.headers["X-CSRF-Token"]},
                          follow_redirects=False).status_code == 303
        want = i18n.gettext(language, "payments", english)
        for path in ("/payments/live", "/payments"):
            page = agent.get(path).text
            cell = page.split(f'data-reference="{REF1}" data-status="OPEN"')[1]
            cell = cell.split('data-field="option"', 1)[1].split("</td>", 1)[0]
            assert cell.startswith(' data-option="debit">')
            shown = cell.removeprefix(' data-option="debit">')
            assert shown == f"{want} · {R.isoformat()}", (language, shown)
        labels.add(want)
    assert len(labels) == len(i18n.LANGUAGES)  # a real translation in each
