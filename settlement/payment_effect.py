"""The payment effect of open disputes: a separate step after the ledger.

Per operation (``fixtures/reference/dispute_rules.csv``, casslink.dispute_rules):

- ``pay_in_full`` (IATA CASS, the default): what is disputed stays due; payable = net;
- ``withhold_disputed`` (CNS "Agent Adjustments", cass-business.md §3.2, S7): each bill's
  payable is its net less what open (RAISED or ESCALATED) disputes of AWBs billed in the
  period claim, capped at the bill's net when positive (never below zero by withholding);
  the agent's remittance and the airline's settlement are both lowered by it.

The ledger (lines, bills, totals) is never changed: this step writes ``payable.parquet``
(one row per bill: net, withheld, payable) and ``payment.json`` beside it, after its own
conservation check - Σ agents' payable = Σ airlines' payable = Σ bills' payable, and each
party's payable = its net - its withheld, recomputed from the bills.
"""

from __future__ import annotations

import json
from collections import defaultdict
from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq
from sqlalchemy import Engine, func, select

from casslink.db.engine import session_scope
from casslink.db.models import Dispute
from casslink.dispute_rules import DisputeRule
from casslink.storage import atomic_write_bytes

OPEN = ("RAISED", "ESCALATED")


class PaymentConservationError(RuntimeError):
    """Withholding lost or made money; the message says where."""


def disputed(engine: Engine, operation: str, period_id: str) -> dict[tuple[str, str], int]:
    """(agent, airline) -> amount claimed by the open disputes of the period's AWBs."""
    with session_scope(engine) as s:
        rows = s.execute(select(Dispute.agent_code, Dispute.airline_prefix,
                                func.sum(Dispute.claimed_minor))
                         .where(Dispute.operation_code == operation,
                                Dispute.period_id == period_id, Dispute.status.in_(OPEN))
                         .group_by(Dispute.agent_code, Dispute.airline_prefix)).all()
    return {(a, b): int(v) for a, b, v in rows}


def payable(bills: pa.Table, claims: dict[tuple[str, str], int], rule: DisputeRule
            ) -> pa.Table:
    """One row per bill: agent, airline, net, withheld, payable."""
    agents, airlines = bills.column("agent_code").to_pylist(), bills.column(
        "airline_prefix").to_pylist()
    nets = [int(v) for v in bills.column("net").to_pylist()]
    withheld = [min(claims.get((a, b), 0), max(n, 0))
                if rule.payment_effect == "withhold_disputed" else 0
                for a, b, n in zip(agents, airlines, nets, strict=True)]
    return pa.table({"agent_code": agents, "airline_prefix": airlines,
                     "net": pa.array(nets, pa.int64()),
                     "withheld": pa.array(withheld, pa.int64()),
                     "payable": pa.array([n - w for n, w in zip(nets, withheld, strict=True)],
                                         pa.int64())})


def party_totals(table: pa.Table, key: str) -> dict[str, dict[str, int]]:
    out: dict[str, dict[str, int]] = defaultdict(lambda: {"net": 0, "withheld": 0,
                                                          "payable": 0})
    for r in table.to_pylist():
        for k in ("net", "withheld", "payable"):
            out[r[key]][k] += r[k]
    return dict(out)


def check(table: pa.Table, agents: pa.Table, airlines: pa.Table) -> dict:
    """Conservation of the step; returns the totals. Raises PaymentConservationError."""
    problems = []
    by_agent, by_airline = party_totals(table, "agent_code"), party_totals(table,
                                                                           "airline_prefix")
    for label, parties, ledger, key in (("agent", by_agent, agents, "agent_code"),
                                        ("airline", by_airline, airlines, "airline_prefix")):
        ledger_net = dict(zip(ledger.column(key).to_pylist(), ledger.column("net").to_pylist(),
                              strict=True))
        for code, t in parties.items():
            if t["net"] != ledger_net.get(code) or t["payable"] != t["net"] - t["withheld"]:
                problems.append(f"{label} {code}: net {t['net']} (ledger {ledger_net.get(code)})"
                                f", withheld {t['withheld']}, payable {t['payable']}")
    sums = {name: sum(t[k] for t in parties.values())
            for name, parties in (("agents", by_agent), ("airlines", by_airline))
            for k in ("payable",)}
    total_payable = sum(table.column("payable").to_pylist())
    if not sums["agents"] == sums["airlines"] == total_payable:
        problems.append(f"payable: agents {sums['agents']}, airlines {sums['airlines']}, "
                        f"bills {total_payable}")
    if problems:
        raise PaymentConservationError("withholding does not conserve: " + "; ".join(problems))
    return {"withheld": sum(table.column("withheld").to_pylist()), "payable": total_payable,
            "net": sum(table.column("net").to_pylist())}


def apply(engine: Engine, operation: str, period_id: str, folder: Path,
          rule: DisputeRule) -> dict:
    """Write the payment effect of a settled period's ledger in ``folder``; its totals."""
    bills = pq.read_table(folder / "bills.parquet")
    table = payable(bills, disputed(engine, operation, period_id), rule)
    totals = check(table, pq.read_table(folder / "agents.parquet"),
                   pq.read_table(folder / "airlines.parquet"))
    sink = pa.BufferOutputStream()
    pq.write_table(table, sink, compression="zstd")
    atomic_write_bytes(folder / "payable.parquet", sink.getvalue().to_pybytes())
    summary = {"operation": operation, "period": period_id,
               "payment_effect": rule.payment_effect, **totals}
    atomic_write_bytes(folder / "payment.json",
                       json.dumps(summary, indent=1, sort_keys=True).encode())
    return summary
