"""Payments over a hand-made settled period (DE 2026-11, EUR, payout rule ``hold``, grace 3
days), on SQLite and PostgreSQL: one agent pays in full by debit, one short by transfer, one
late, one has its debit returned, one pays from its wallet, one is owed a credit. Every
expected figure below is computed by hand from the bills."""

from __future__ import annotations

import datetime as dt
import json
from pathlib import Path

import pytest
from sqlalchemy import func, select

from casslink.db.engine import session_scope
from casslink.db.models import PayAgentEvent, PayEntry, PayIrregularity, PayPosting, PayRemittance
from casslink.payments import collect as collect_mod
from casslink.payments import defaults, ledger, pain, statements
from casslink.payments.camt import StatementError
from casslink.payments.dues import choose_option
from casslink.payments.references import remittance_reference, wallet_reference
from casslink.payments.show import show
from casslink.payments.terms import load_terms
from casslink.settlement.run import settle
from tests.camt_files import credit, returned, statement
from tests.test_settlement import rec, store

REPO = Path(__file__).resolve().parents[1]
A1, A2, A3, A4, A5, A6 = ("23156130152", "23658656000", "23848290012", "23292668512",
                          "23814596002", "23551308513")
LH, AF = "020", "057"
R = dt.date(2026, 12, 28)  # DE 2026-11 remittance date (fixtures/reference/calendar_2026.csv)


def serial(n: int) -> str:
    s7 = f"{n:07d}"
    return s7 + str(int(s7) % 7)


# (agent, airline, prepaid weight charge) in cents; A6: a collect AWB whose other charges due
# agent (300.00) are credited to it
BILLS = [(A1, LH, 100000), (A1, AF, 50000), (A2, LH, 80000), (A3, AF, 60000),
         (A4, LH, 40000), (A5, AF, 25000)]
DUE = {A1: 150000, A2: 80000, A3: 60000, A4: 40000, A5: 25000, A6: -30000}


def settle_period(settings, engine) -> None:
    rows = {LH: [], AF: []}
    for i, (agent, prefix, amount) in enumerate(BILLS):
        rows[prefix].append(rec("AWB", prefix, serial(1000 + i), agent, line=i + 2,
                                weight_pp=amount))
    rows[LH].append(rec("AWB", LH, serial(2000), A6, line=20, weight_cc=100000,
                        oc_agent_cc=30000))
    store(settings, 1, rows[LH])
    store(settings, 2, rows[AF])
    settle(settings, engine, "DE", "2026-11")


@pytest.fixture
def world(system):
    settings, engine = system
    settle_period(settings, engine)
    return settings, engine, load_terms(REPO / "fixtures" / "reference")


def imp(settings, engine, terms, data):
    return statements.import_statement(settings, engine, data, terms)


def test_hand_made_period(world, tmp_path):
    settings, engine, terms = world
    hinge = terms.hinge("DE").iban
    out = tmp_path / "files"
    # the wallet is topped up before the period is collected
    s0 = statement("S0", [credit(30000, dt.date(2026, 12, 1), ref=wallet_reference("DE", A5))],
                   iban=hinge)
    assert imp(settings, engine, terms, s0)["classifications"] == {"WALLET": 1}
    collect_mod.post_period(engine, terms, "DE", "2026-11", dt.date(2026, 12, 11))
    with session_scope(engine) as s:
        rule = terms.rule("DE")
        for agent in (A2, A3):
            r = s.scalars(select(PayRemittance).where(PayRemittance.agent_code == agent)).one()
            choose_option(s, r, rule, "transfer", dt.date(2026, 12, 11))
    result = collect_mod.collect(settings, engine, terms, "DE", "2026-11",
                                 dt.date(2026, 12, 11), out)
    # debits for A1 and A4 on the remittance date; A5 paid from its wallet
    assert (result["debits"], result["debited"]) == (2, 150000 + 40000)
    [debit_file] = result["debit_files"]
    assert Path(debit_file).name == "pain.008-DE-EUR-2026-12-28-2026-11.xml"
    pain.validate(Path(debit_file).read_bytes(), pain.PAIN_008)
    text = Path(debit_file).read_text()
    assert "<EndToEndId>" + remittance_reference("DE", "2026-11", A1) in text
    assert "<CtrlSum>1900.00</CtrlSum>" in text
    # payout round 1: only A5 has paid (from its wallet): AF gets its 250.00; A6's credit
    # waits, LH has collected nothing to fund it
    p1 = result["payout"]
    assert p1["paid"] == {"airline:057": 25000}
    pain.validate(Path(p1["file"]).read_bytes(), pain.PAIN_001)

    a1, a2, a3, a4 = (remittance_reference("DE", "2026-11", a) for a in (A1, A2, A3, A4))
    s1 = statement("S1", [credit(150000, R, e2e=a1), credit(40000, R, e2e=a4),
                          credit(70000, R, ref=a2)], iban=hinge, version="053.001.02")
    assert imp(settings, engine, terms, s1)["classifications"] == {"PAID": 2, "SHORT": 1}
    before = _snapshot(engine)
    assert imp(settings, engine, terms, s1)["imported"] is False  # twice changes nothing
    assert _snapshot(engine) == before
    s2 = statement("S2", [returned(40000, R + dt.timedelta(days=2), e2e=a4)], iban=hinge,
                   version="054.001.08")
    assert imp(settings, engine, terms, s2)["classifications"] == {"RETURNED": 1}
    late = R + dt.timedelta(days=5)  # after the remittance date + 3 days' grace
    s3 = statement("S3", [credit(60000, late, info=f"CASS remittance {a3}"),
                          credit(12345, late, info="no reference")], iban=hinge)
    assert imp(settings, engine, terms, s3)["classifications"] == {"LATE": 1, "UNMATCHED": 1}

    # payout round 2: A1, A3, A5 have paid in full; A6's credit is funded by LH's A1 bill
    p2 = collect_mod.payout(settings, engine, terms, "DE", "2026-11", late, out)
    assert p2["paid"] == {"airline:020": 100000 - 30000, "airline:057": 50000 + 60000,
                          f"agent:{A6}": 30000}
    assert p2["held"] == {}
    pain.validate(Path(p2["file"]).read_bytes(), pain.PAIN_001)
    # the daily review after the cure dates: A2 (short) and A4 (returned) default
    with session_scope(engine) as s:
        assert defaults.review(s, "DE", terms.rule("DE"), R + dt.timedelta(days=6),
                               defaults.Notifier(settings, statements.owed_airlines_reader(
                                   engine))) == {"raised": 0, "defaulted": 2}

    view = show(engine, "DE", "2026-11")
    agents = {a["agent_code"]: a for a in view["agents"]}
    assert {k: (a["due"], a["paid"], a["status"], a["agent_status"]) for k, a in agents.items()
            } == {A1: (150000, 150000, "PAID", "ACTIVE"),
                  A2: (80000, 70000, "SHORT", "DEFAULTED"),
                  A3: (60000, 60000, "LATE", "ACTIVE"),
                  A4: (40000, 0, "RETURNED", "DEFAULTED"),
                  A5: (25000, 25000, "PAID", "ACTIVE"),
                  A6: (-30000, -30000, "CREDIT", "ACTIVE")}
    payees = {p["payee"]: (p["due"], p["paid_out"], p["held"]) for p in view["payees"]}
    # LH: 1000 + 800 + 400 - 300 = 1900.00 due, 700.00 paid out, A2's and A4's bills held
    # A6's credit is a payee too: paid in full
    assert payees == {"airline:020": (190000, 70000, 120000),
                      "airline:057": (135000, 135000, 0), f"agent:{A6}": (30000, 30000, 0)}
    # in: 300 + 1500 + 400 + 700 + 600 + 123.45; out: 400 (return) + 250 + 700 + 1100 + 300
    assert view["hinge"] == 30000 + 150000 + 40000 + 70000 + 60000 + 12345 - 40000 - 25000 \
        - 70000 - 110000 - 30000 == 87345
    # what stays in the hinge: A2's 700.00 (its airline waits), A5's wallet 50.00, 123.45
    with session_scope(engine) as s:
        assert -ledger.balance(s, "DE", "EUR", ledger.wallet(A5)) == 5000
        assert -ledger.balance(s, "DE", "EUR", ledger.SUSPENSE) == 12345
        irr = {(i.agent_code, i.kind, i.cured_on is not None)
               for i in s.scalars(select(PayIrregularity))}
        assert irr == {(A2, "SHORT", False), (A4, "RETURNED", False), (A3, "LATE", True)}
    # notices: the agent and the airlines it owes
    outbox = lambda code: sorted(p.name for p in (settings.homes_dir / code / "outbox").glob(
        "*.csv"))
    assert outbox(A2) == ["default-DE-23658656000-2027-01-03.csv",
                          "irregularity-DE-2026-11-23658656000-SHORT.csv"]
    assert "irregularity-DE-2026-11-23848290012-LATE.csv" in outbox(AF)
    assert "irregularity-DE-2026-11-23292668512-RETURNED.csv" in outbox(LH)
    assert "irregularity-DE-2026-11-23848290012-LATE.csv" not in outbox(LH)
    status = defaults.agent_status(engine, A2)
    assert status["status"] == {"DE": "DEFAULTED"}
    assert [e["to_status"] for e in status["events"]] == ["DEFAULTED"]


def _snapshot(engine) -> tuple:
    with session_scope(engine) as s:
        counts = [s.scalar(select(func.count()).select_from(t)) for t in (
            PayPosting, PayEntry, PayIrregularity, PayAgentEvent)]
        return (*counts, ledger.check(s, "DE", "EUR"),
                tuple(s.scalars(select(PayRemittance.status).order_by(PayRemittance.id))))


def test_manual_match_is_audited(world):
    settings, engine, terms = world
    collect_mod.post_period(engine, terms, "DE", "2026-11", dt.date(2026, 12, 11))
    s1 = statement("M1", [credit(80000, R, info="payment for november")],
                   iban=terms.hinge("DE").iban)
    assert imp(settings, engine, terms, s1)["classifications"] == {"UNMATCHED": 1}
    with session_scope(engine) as s:
        entry_id = s.scalars(select(PayEntry.id)).one()
    ref = remittance_reference("DE", "2026-11", A2)
    assert statements.match_entry(settings, engine, terms, entry_id, ref, "op-anna",
                                  "phone call") == "PAID"
    with pytest.raises(ValueError, match="not an unmatched credit"):
        statements.match_entry(settings, engine, terms, entry_id, ref, "op-anna")
    with session_scope(engine) as s:
        [event] = s.scalars(select(PayAgentEvent)).all()
        assert (event.action, event.actor, event.agent_code) == ("manual_match", "op-anna", A2)
        assert ref in event.reason and "phone call" in event.reason
        assert ledger.balance(s, "DE", "EUR", ledger.SUSPENSE) == 0
        assert ledger.check(s, "DE", "EUR") == 80000


def test_same_statement_id_other_content_fails_loudly(world):
    settings, engine, terms = world
    hinge = terms.hinge("DE").iban
    imp(settings, engine, terms, statement("X1", [credit(100, R)], iban=hinge))
    with pytest.raises(Exception, match="other content"):
        imp(settings, engine, terms, statement("X1", [credit(200, R)], iban=hinge))


def test_chosen_date_is_bounded(world):
    _, engine, terms = world
    collect_mod.post_period(engine, terms, "DE", "2026-11", dt.date(2026, 12, 11))
    rule = terms.rule("DE")
    with session_scope(engine) as s:
        r = s.scalars(select(PayRemittance).where(PayRemittance.agent_code == A1)).one()
        today = dt.date(2026, 12, 20)
        for bad in (dt.date(2026, 12, 21), R + dt.timedelta(days=1), None):
            with pytest.raises(ValueError, match="between 2026-12-22"):
                choose_option(s, r, rule, "chosen_date", today, bad)
        assert choose_option(s, r, rule, "chosen_date", today, dt.date(2026, 12, 22)
                             ).debit_date == dt.date(2026, 12, 22)
    with session_scope(engine) as s:
        r = s.scalars(select(PayRemittance).where(PayRemittance.agent_code == A1)).one()
        with pytest.raises(ValueError, match="does not offer"):
            choose_option(s, r, terms.rule("IN"), "debit", today)


def test_show_json_round_trips(world):
    _, engine, terms = world
    collect_mod.post_period(engine, terms, "DE", "2026-11", dt.date(2026, 12, 11))
    view = json.loads(json.dumps(show(engine, "DE", "2026-11")))
    assert sum(a["due"] for a in view["agents"]) == sum(DUE.values()) == 325000


def pain002(msg_id: str, rejected: list[tuple[str, str]]) -> bytes:
    """A pain.002.001.03 rejecting the direct debits with these end-to-end ids."""
    txs = "".join(f"<TxInfAndSts><OrgnlEndToEndId>{e2e}</OrgnlEndToEndId><TxSts>RJCT</TxSts>"
                  f"<StsRsnInf><Rsn><Cd>{reason}</Cd></Rsn></StsRsnInf></TxInfAndSts>"
                  for e2e, reason in rejected)
    return (f'<?xml version="1.0" encoding="UTF-8"?><Document xmlns="urn:iso:std:iso:20022:'
            f'tech:xsd:pain.002.001.03"><CstmrPmtStsRpt><GrpHdr><MsgId>{msg_id}</MsgId>'
            f"<CreDtTm>2026-12-29T08:00:00</CreDtTm></GrpHdr><OrgnlGrpInfAndSts><OrgnlMsgId>X"
            f"</OrgnlMsgId><OrgnlMsgNmId>pain.008.001.02</OrgnlMsgNmId></OrgnlGrpInfAndSts>"
            f"<OrgnlPmtInfAndSts><OrgnlPmtInfId>X</OrgnlPmtInfId>{txs}</OrgnlPmtInfAndSts>"
            f"</CstmrPmtStsRpt></Document>").encode()


def test_pain002_rejected_debit_reopens(world, tmp_path):
    settings, engine, terms = world
    collect_mod.collect(settings, engine, terms, "DE", "2026-11", dt.date(2026, 12, 11),
                        tmp_path)
    a1 = remittance_reference("DE", "2026-11", A1)
    data = pain002("RPT-1", [(a1, "AM04"), ("RF00UNKNOWN", "AC01")])
    assert imp(settings, engine, terms, data)["classifications"] == {
        "RETURNED": 1, "IGNORED": 1}
    before = _snapshot(engine)
    assert imp(settings, engine, terms, data)["imported"] is False
    with pytest.raises(StatementError, match="status report RPT-1 was imported with other"):
        imp(settings, engine, terms, pain002("RPT-1", [(a1, "AC01")]))
    assert _snapshot(engine) == before
    with session_scope(engine) as s:
        r = s.scalars(select(PayRemittance).where(PayRemittance.agent_code == A1)).one()
        assert (r.status, ledger.check(s, "DE", "EUR")) == ("RETURNED", 0)  # no money moved
        [irr] = s.scalars(select(PayIrregularity)).all()
        assert (irr.agent_code, irr.kind, irr.raised_on) == (A1, "RETURNED",
                                                               dt.date(2026, 12, 29))
    again = collect_mod.collect(settings, engine, terms, "DE", "2026-11",
                                dt.date(2026, 12, 29), tmp_path)
    assert again["debits"] == 0  # not debited again: the agent pays by transfer now
