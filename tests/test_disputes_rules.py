"""Deadlines (the day before, on the day, after), every illegal transition, IDOR, escalation
and the checks a claim must pass (tests/dispute_world.py's hand-made DE world)."""

from __future__ import annotations

import datetime as dt
import itertools

import pytest

from casslink import access
from casslink.app.disputes import deadlines, service, states
from casslink.dispute_rules import DisputeRule, load_rules, rule_for
from casslink.reference import ReferenceData
from tests.conftest import REPO
from tests.dispute_world import A1, A2, AWB1, AWB2, LH, build

D = dt.date
NOV = dict(agent=A1, airline=LH, awb=f"{LH}-{AWB1}", reason="rate", amount="120.00")


@pytest.fixture
def world(system, tmp_path):
    s, engine = system
    build(s, engine, tmp_path)
    return s, engine


def raise_(world, who="fw-admin", today=D(2026, 12, 4), **kw):
    s, engine = world
    return service.raise_dispute(s, engine, service.actor_for(engine, who),
                                 today=today, **{**NOV, **kw})


# --- deadlines: DE 2026-11 has its cut-off on 2026-12-05 and remittance on 2026-12-28 -----

@pytest.mark.parametrize(("today", "kind"), [
    (D(2026, 12, 4), "correction"), (D(2026, 12, 5), "correction"),      # before, on the day
    (D(2026, 12, 6), "pre_remittance"),                                  # after the cut-off
    (D(2026, 12, 24), "pre_remittance"), (D(2026, 12, 25), "pre_remittance"),  # 28 - 3 days
    (D(2026, 12, 26), None)])                                            # the day after
def test_kind_and_deadline_from_the_calendar(ref, today, kind):
    period = ref.period("DE", "2026-11")
    assert (period.correction_cutoff, period.remittance_date) == (D(2026, 12, 5),
                                                                  D(2026, 12, 28))
    rule = DisputeRule("DE")  # N = 3
    if kind is None:
        with pytest.raises(deadlines.TooLate, match="until 2026-12-25") as exc:
            deadlines.kind_on(period, rule, today)
        assert exc.value.deadline == D(2026, 12, 25)
    else:
        assert deadlines.kind_on(period, rule, today) == kind


def test_pre_remittance_days_are_per_operation(ref):
    period = ref.period("DE", "2026-11")
    assert deadlines.kind_on(period, DisputeRule("DE", pre_remittance_days=10),
                             D(2026, 12, 18)) == "pre_remittance"
    with pytest.raises(deadlines.TooLate, match="until 2026-12-18"):
        deadlines.kind_on(period, DisputeRule("DE", pre_remittance_days=10), D(2026, 12, 19))


def test_rules_table_and_defaults():
    rules = load_rules(REPO / "fixtures" / "reference")
    assert rule_for(rules, "US").payment_effect == "withhold_disputed"
    assert rule_for(rules, "DE").payment_effect == "pay_in_full"
    pk = rule_for(rules, "PK")  # not in the table: the documented defaults
    assert (pk.pre_remittance_days, pk.response_days, pk.payment_effect) == (3, 10,
                                                                             "pay_in_full")


def test_a_late_dispute_is_refused_naming_the_deadline(world):
    assert raise_(world, today=D(2026, 12, 25)) > 0  # the last day
    with pytest.raises(service.DisputeError, match=r"until 2026-12-25.*today is 2026-12-26"):
        raise_(world, today=D(2026, 12, 26))


def test_adjustment_period_current_or_next_open(ref):
    assert deadlines.adjustment_period(ref, "DE", D(2026, 12, 4)).period_id == "2026-12"
    closed = ReferenceData(operations=ref.operations, periods={
        k: (type(p)(**{**p.__dict__, "status": "billed"}) if p.period_id == "2026-12" else p)
        for k, p in ref.periods.items()})
    assert deadlines.adjustment_period(closed, "DE", D(2026, 12, 4)).period_id == "2027-01"


# --- transitions ---------------------------------------------------------------------------

def test_only_the_allowed_transitions_exist():
    allowed = {("RAISED", t) for t in ("ACCEPTED", "PARTLY_ACCEPTED", "REJECTED", "ESCALATED",
                                       "WITHDRAWN")}
    allowed |= {("ESCALATED", t) for t in ("ACCEPTED", "PARTLY_ACCEPTED", "REJECTED",
                                           "WITHDRAWN")}
    allowed |= {("ACCEPTED", "ADJUSTED"), ("PARTLY_ACCEPTED", "ADJUSTED")}
    for a, b in itertools.product(states.STATUSES, repeat=2):
        if (a, b) in allowed:
            states.check(a, b, 1)
        else:
            with pytest.raises(states.IllegalTransition):
                states.check(a, b, 1)


def test_illegal_steps_are_refused_and_change_nothing(world):
    s, engine = world
    airline, agent = (service.actor_for(engine, x) for x in ("lh-admin", "fw-admin"))
    rejected = raise_(world)
    service.decide(s, engine, airline, rejected, accept=False, text="rate is per contract")
    for step in (lambda: service.decide(s, engine, airline, rejected, accept=True),
                 lambda: service.decide(s, engine, airline, rejected, accept=False, text="x"),
                 lambda: service.withdraw(engine, agent, rejected)):
        with pytest.raises(states.IllegalTransition):
            step()
    adjusted = raise_(world)
    service.decide(s, engine, airline, adjusted, accept=True, today=D(2026, 12, 4))
    with pytest.raises(states.IllegalTransition):
        service.withdraw(engine, agent, adjusted)
    with pytest.raises(states.IllegalTransition):
        service.decide(s, engine, airline, adjusted, accept=False, text="changed my mind")
    withdrawn = raise_(world)
    service.withdraw(engine, agent, withdrawn, "sorry")
    with pytest.raises(states.IllegalTransition):
        service.decide(s, engine, airline, withdrawn, accept=True)
    got = {d["id"]: d["status"] for d in service.list_disputes(engine, service.OPERATOR)}
    assert got == {rejected: "REJECTED", adjusted: "ADJUSTED", withdrawn: "WITHDRAWN"}
    with pytest.raises(service.DisputeError, match="states its reason"):
        service.decide(s, engine, airline, raise_(world), accept=False)
    with pytest.raises(service.DisputeError, match="exceeds the claim"):
        service.decide(s, engine, airline, raise_(world), accept=True, amount="120.01")


# --- who may do what (IDOR) ------------------------------------------------------------------

def test_another_agent_cannot_see_or_decide(world):
    s, engine = world
    dispute_id = raise_(world)
    other, af = service.actor_for(engine, "other-agent"), service.actor_for(engine, "af-user")
    for who in (other, af):
        with pytest.raises(service.NotFound):
            service.show(engine, who, dispute_id)
        with pytest.raises(service.NotFound):
            service.decide(s, engine, who, dispute_id, accept=True)
        with pytest.raises(service.NotFound):
            service.comment(engine, who, dispute_id, "mine?")
        with pytest.raises(service.NotFound):
            service.withdraw(engine, who, dispute_id)
        assert service.list_disputes(engine, who) == []
    # another agent cannot raise on A1's behalf, nor on an AWB billed to someone else
    with pytest.raises(access.Forbidden):
        raise_(world, who="other-agent")
    with pytest.raises(service.DisputeError, match="not billed to agent"):
        raise_(world, awb=f"{LH}-{AWB2}")
    # the agent cannot decide its own dispute; the clerk without the right cannot either
    for who in ("fw-admin", "lh-clerk"):
        with pytest.raises(access.Forbidden):
            service.decide(s, engine, service.actor_for(engine, who), dispute_id, accept=True)
    assert service.show(engine, service.actor_for(engine, "lh-admin"),
                        dispute_id)["status"] == "RAISED"
    a2 = raise_(world, who="other-agent", agent=A2, awb=f"{LH}-{AWB2}", amount="10.00")
    assert [d["id"] for d in service.list_disputes(
        engine, service.actor_for(engine, "other-agent"))] == [a2]
    assert [d["id"] for d in service.list_disputes(
        engine, service.actor_for(engine, "lh-admin"))] == [dispute_id, a2]


def test_unanswered_disputes_escalate_to_operators(world):
    s, engine = world
    dispute_id = raise_(world)  # response due 2026-12-14
    assert service.escalate_overdue(engine, D(2026, 12, 14)) == []
    assert service.escalate_overdue(engine, D(2026, 12, 15)) == [dispute_id]
    assert service.escalate_overdue(engine, D(2026, 12, 16)) == []
    with pytest.raises(access.Forbidden, match="escalated"):
        service.decide(s, engine, service.actor_for(engine, "lh-admin"), dispute_id,
                       accept=True)
    out = service.decide(s, engine, service.actor_for(engine, "ops"), dispute_id,
                         accept=False, text="the rate is the contract's")
    assert [(h["from"], h["to"]) for h in out["history"]] == [
        (None, "RAISED"), ("RAISED", "ESCALATED"), ("ESCALATED", "REJECTED")]


def test_claims_are_checked_against_what_is_billed(world):
    with pytest.raises(service.DisputeError, match="cannot be lowered"):
        raise_(world, amount="1000.01")  # the weight charge is 1000.00
    with pytest.raises(service.DisputeError, match="unknown reason"):
        raise_(world, reason="mood")
    with pytest.raises(service.DisputeError, match="PPP-SSSSSSSS"):
        raise_(world, awb="02012345675")
    _, engine = world
    removal = raise_(world, reason="not_our_shipment", amount=None)
    d = service.show(engine, service.OPERATOR, removal)
    # the AWB's whole net as billed: 1000.00 + 50.00 - 50.00 - VAT on commission 9.50
    assert (d["remove_awb"], d["claimed_minor"]) == (True, 99050)
