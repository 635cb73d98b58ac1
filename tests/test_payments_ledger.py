"""The payment ledger: the hinge balance holds over random sequences of payments (hypothesis),
postings are immutable, a ledger that does not hold fails loudly; the pain files of every
operation validate against the official XSDs."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import pytest
from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st
from lxml import etree
from sqlalchemy import create_engine, select
from sqlalchemy.pool import StaticPool

from casslink.db.engine import session_scope
from casslink.db.models import Base, PayMovement, PayPosting, PayRemittance
from casslink.payments import camt, ledger, pain, payouts, references, statements
from casslink.payments.dues import SettledPeriod, outstanding, post_dues
from casslink.payments.payouts import pay_out
from casslink.payments.references import remittance_reference, wallet_reference
from casslink.payments.terms import load_terms
from tests.camt_files import credit, returned, statement

REPO = Path(__file__).resolve().parents[1]
TERMS = load_terms(REPO / "fixtures" / "reference")
AGENTS = ("23156130152", "23658656000", "23848290012", "23292668512")
AIRLINES = ("020", "057")
R = dt.date(2026, 12, 28)


def memory_engine():
    engine = create_engine("sqlite://", poolclass=StaticPool,
                           connect_args={"check_same_thread": False})
    Base.metadata.create_all(engine)
    return engine


def settled_period(bills: dict[tuple[str, str], int]) -> SettledPeriod:
    agents, payable = {}, {}
    for (a, p), net in bills.items():
        agents[a] = agents.get(a, 0) + net
        payable[p] = payable.get(p, 0) + net
    return SettledPeriod("DE", "2026-11", "EUR", agents=agents, payable=payable,
                         withheld=dict.fromkeys(payable, 0), bills=dict(bills))


step = st.one_of(
    st.tuples(st.just("pay"), st.integers(0, 3), st.integers(1, 200000)),
    st.tuples(st.just("topup"), st.integers(0, 3), st.integers(1, 50000)),
    st.tuples(st.just("unmatched"), st.just(0), st.integers(1, 50000)),
    st.tuples(st.just("return"), st.integers(0, 3), st.just(0)),
    st.tuples(st.just("payout"), st.just(0), st.just(0)),
)


@settings(max_examples=30, deadline=None,
          suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(amounts=st.lists(st.integers(-50000, 150000), min_size=8, max_size=8),
       steps=st.lists(step, min_size=1, max_size=12))
# an agent owed a credit is paid out, then pays in again (found by hypothesis)
@example(amounts=[-1, 0, 0, 0, 0, 0, 1, 0], steps=[("pay", 3, 1), ("payout", 0, 0), ("pay", 0, 1)])
def test_hinge_balance_holds(tmp_path, amounts, steps):
    bills = {(a, p): amounts[i * 2 + j] for i, a in enumerate(AGENTS)
             for j, p in enumerate(AIRLINES)}
    settled = settled_period(bills)
    engine = memory_engine()
    iban = TERMS.hinge("DE").iban
    with session_scope(engine) as s:
        post_dues(s, settled, TERMS.rule("DE"), R)
    cash_in = cash_out = 0
    collected: list[tuple[str, int]] = []  # (agent, amount) of collections not yet returned
    refunded = dict.fromkeys(AGENTS, 0)  # paid out to agents whose remittance is a credit
    for n, (kind, who, amount) in enumerate(steps):
        agent = AGENTS[who]
        ref = remittance_reference("DE", "2026-11", agent)
        sid = f"P{n}"
        if kind == "pay":
            data = statement(sid, [credit(amount, R, e2e=ref)], iban=iban)
            cash_in += amount
            collected.append((agent, amount))
        elif kind == "topup":
            data = statement(sid, [credit(amount, R, ref=wallet_reference("DE", agent))],
                             iban=iban)
            cash_in += amount
        elif kind == "unmatched":
            data = statement(sid, [credit(amount, R, info="?")], iban=iban)
            cash_in += amount
        elif kind == "return":
            hit = next(((a, v) for a, v in collected if a == agent), None)
            if hit is None:
                continue
            collected.remove(hit)
            data = statement(sid, [returned(hit[1], R, e2e=ref)], iban=iban,
                             version="054.001.08")
            cash_out += hit[1]
        else:
            result = pay_out(None, engine, settled, TERMS, R, tmp_path / f"p{n}")
            paid = sum(result["paid"].values())
            for party, value in result["paid"].items():
                if party.startswith("agent:"):
                    refunded[party.removeprefix("agent:")] += value
            cash_out += paid
            if result["file"]:
                pain.validate(Path(result["file"]).read_bytes(), pain.PAIN_001)
            with session_scope(engine) as s:
                assert ledger.check(s, "DE", "EUR") == cash_in - cash_out
            continue
        statements.import_statement(None, engine, data, TERMS)
        with session_scope(engine) as s:
            # the independent model: what the test sent in minus what it took out
            assert ledger.check(s, "DE", "EUR") == cash_in - cash_out >= 0
            for r in s.scalars(select(PayRemittance)):
                assert outstanding(s, r) == r.due + refunded[r.agent_code] - sum(
                    v for a, v in collected if a == r.agent_code) - _wallet_paid(s, r)
    engine.dispose()


def _wallet_paid(s, r) -> int:
    return -ledger.balance(s, "DE", "EUR", ledger.agent(r.agent_code), r.period_id,
                           ("wallet",))


def test_postings_are_immutable():
    engine = memory_engine()
    with session_scope(engine) as s:
        ledger.post(s, "k1", "DE", "EUR", ledger.HINGE, ledger.SUSPENSE, 100, "unmatched", R)
        ledger.move(s, "k1", "DE", "EUR", "in", 100, "test", R)
    with pytest.raises(ledger.HingeError, match="immutable"), session_scope(engine) as s:
        s.scalars(select(PayPosting)).one().amount = 1000
    with pytest.raises(ledger.HingeError, match="immutable"), session_scope(engine) as s:
        s.delete(s.scalars(select(PayMovement)).one())
    with session_scope(engine) as s:  # a retry with the same key posts nothing
        assert ledger.post(s, "k1", "DE", "EUR", ledger.HINGE, ledger.SUSPENSE, 100,
                           "unmatched", R) is None
        assert ledger.check(s, "DE", "EUR") == 100


def test_hinge_check_fails_loudly():
    engine = memory_engine()
    with pytest.raises(ledger.HingeError, match="hinge balance 100 != cash in - out 0"), \
            session_scope(engine) as s:
        ledger.post(s, "k1", "DE", "EUR", ledger.HINGE, ledger.SUSPENSE, 100, "unmatched", R)
        ledger.check(s, "DE", "EUR")
    with session_scope(engine) as s:  # rolled back: nothing was committed
        assert s.scalars(select(PayPosting)).all() == []
    with pytest.raises(ledger.HingeError, match="negative"), session_scope(engine) as s:
        ledger.post(s, "k2", "DE", "EUR", "airline:020", ledger.HINGE, 100, "payout", R)
        ledger.move(s, "k2", "DE", "EUR", "out", 100, "test", R)
        ledger.check(s, "DE", "EUR")
    with pytest.raises(ledger.HingeError, match="settlement account not zero"), \
            session_scope(engine) as s:
        post_dues(s, SettledPeriod("DE", "2026-11", "EUR", agents={AGENTS[0]: 100},
                                   payable={"020": 99}), TERMS.rule("DE"), R)
        ledger.check(s, "DE", "EUR")


@pytest.mark.parametrize("op,ccy,agent,prefix", [
    ("DE", "EUR", "23156130152", "020"), ("IN", "INR", "14947790152", "098"),
    ("US", "USD", None, "006")])
def test_every_pain_file_validates(op, ccy, agent, prefix):
    agent = agent or next(p for (p, o) in TERMS.accounts if o == "US" and len(p) == 11)
    hinge, payer, payee = TERMS.hinge(op), TERMS.account(agent, op), TERMS.account(prefix, op)
    now = dt.datetime(2026, 12, 6, 9, 30)
    ref = remittance_reference(op, "2026-11", agent)
    d = pain.direct_debits("M-1", now, hinge, R, ccy, [
        pain.Transaction(ref, 123456, payer, mandate_id=f"CASS{op}{agent}")])
    c = pain.credit_transfers("M-2", now, hinge, R, ccy, [pain.Transaction(ref, 99, payee)])
    for data, message in ((d, pain.PAIN_008), (c, pain.PAIN_001)):
        pain.validate(data, message)
        doc = etree.fromstring(data)
        assert etree.QName(doc).namespace.endswith(message)
        assert doc.findtext(".//{*}EndToEndId") == ref
    assert f'<InstdAmt Ccy="{ccy}">1234.56</InstdAmt>'.encode() in d
    assert (b"<IBAN>" in c) == (op == "DE")  # IN and US accounts have no IBAN: Othr/Id


def test_an_invalid_pain_file_is_refused():
    broken = pain.credit_transfers("M", dt.datetime(2026, 12, 6), TERMS.hinge("DE"), R, "EUR",
                                   [pain.Transaction("RF", 1, TERMS.account("020", "DE"))])
    with pytest.raises(pain.PainError):
        pain.validate(broken.replace(b"<PmtMtd>TRF</PmtMtd>", b"<PmtMtd>XX</PmtMtd>"),
                      pain.PAIN_001)
    with pytest.raises(pain.PainError, match="positive"):
        pain.credit_transfers("M", dt.datetime(2026, 12, 6), TERMS.hinge("DE"), R, "EUR",
                              [pain.Transaction("RF", 0, TERMS.account("020", "DE"))])


def test_camt_versions_read_alike():
    ref = remittance_reference("DE", "2026-11", AGENTS[0])
    entries = [credit(150000, R, e2e=ref), credit(70000, R, ref=ref, iban="DE89370400440532013000")]
    a, b = (camt.parse(statement("S", entries, iban="DE02", version=v))
            for v in ("053.001.02", "053.001.08"))
    assert a.entries == b.entries and a.account_iban == "DE02"
    assert [(e.amount, e.references) for e in a.entries] == [(150000, (ref,)), (70000, (ref,))]
    assert a.entries[1].debtor_iban == "DE89370400440532013000"
    with pytest.raises(camt.StatementError):
        camt.parse(b"<Document xmlns='urn:other'/>")


def _write_ledger(folder: Path, with_tax: bool) -> None:
    """A settled ledger's tables as settlement writes them, with the tax helper's columns
    (``payable``, ``tax_withheld``, ``tax.parquet``) when ``with_tax``."""
    import pyarrow as pa
    import pyarrow.parquet as pq

    folder.mkdir(parents=True)
    a1, a2 = AGENTS[:2]
    pq.write_table(pa.table({"agent_code": [a1, a1, a2], "airline_prefix": ["020", "057", "020"],
                             "net": [100000, 50000, 20000]}), folder / "bills.parquet")
    pq.write_table(pa.table({"agent_code": [a1, a2], "net": [150000, 20000]}),
                   folder / "agents.parquet")
    airlines = {"airline_prefix": ["020", "057"], "net": [120000, 50000]}
    if with_tax:  # 10% withheld on LH's bills
        airlines.update(tax_withheld=[12000, 0], payable=[108000, 50000])
        pq.write_table(pa.table({
            "agent_code": [a1, a2], "airline_prefix": ["020", "020"], "code": ["WHT", "WHT"],
            "rate_bp": [1000, 1000], "base": [100000, 20000], "tax": [10000, 2000],
            "side": ["withheld", "withheld"]}), folder / "tax.parquet")
    pq.write_table(pa.table(airlines), folder / "airlines.parquet")
    pq.write_table(pa.table({"x": pa.array([], pa.int64())}), folder / "lines.parquet")


@pytest.mark.parametrize("with_tax", [False, True])
def test_withheld_tax_is_paid_to_the_tax_authority(tmp_path, with_tax):
    from casslink.payments.dues import read_settled

    _write_ledger(tmp_path / "ledger", with_tax)
    settled = read_settled(tmp_path / "ledger", "DE", "2026-11", "EUR")
    assert settled.payable == ({"020": 108000, "057": 50000} if with_tax
                               else {"020": 120000, "057": 50000})
    engine = memory_engine()
    with session_scope(engine) as s:
        post_dues(s, settled, TERMS.rule("DE"), R)
        assert ledger.check(s, "DE", "EUR") == 0
    iban = TERMS.hinge("DE").iban
    a1 = remittance_reference("DE", "2026-11", AGENTS[0])
    statements.import_statement(None, engine, statement("T1", [credit(150000, R, e2e=a1)],
                                                        iban=iban), TERMS)
    result = pay_out(None, engine, settled, TERMS, R, tmp_path / "out")
    # hold: only A1 has paid; LH gets A1's 1000.00 less 100.00 withheld, the tax authority 100
    assert result["paid"] == ({"airline:020": 90000, "airline:057": 50000, "tax:DE": 10000}
                              if with_tax else {"airline:020": 100000, "airline:057": 50000})
    assert result["held"] == {}
    data = Path(result["file"]).read_bytes()
    pain.validate(data, pain.PAIN_001)
    assert (TERMS.account("TAX-DE", "DE").iban.encode() in data) == with_tax


@pytest.mark.parametrize("module", [references, payouts])
def test_doctests(module):
    import doctest

    failures, _ = doctest.testmod(module)
    assert failures == 0


def test_references_check_digits():
    ref = remittance_reference("IN", "2026-11-2", "14947790152")
    assert references.is_valid(ref) and len(ref) <= 25
    assert references.find_references(f"pay {ref[:6]} {ref[6:]} thanks") == [ref]
    typo = ref[:-1] + ("3" if ref[-1] != "3" else "4")
    assert not references.is_valid(typo) and references.find_references(typo) == []


def test_a_credit_in_another_currency_is_not_matched():
    engine = memory_engine()
    settled = settled_period({(AGENTS[0], "020"): 1000})
    with session_scope(engine) as s:
        post_dues(s, settled, TERMS.rule("DE"), R)
    ref = remittance_reference("DE", "2026-11", AGENTS[0])
    data = statement("FX", [credit(1000, R, e2e=ref, ccy="USD")], iban=TERMS.hinge("DE").iban)
    assert statements.import_statement(None, engine, data, TERMS)["classifications"] == {
        "UNMATCHED": 1}
    with session_scope(engine) as s:
        assert ledger.check(s, "DE", "USD") == 1000 and ledger.check(s, "DE", "EUR") == 0
