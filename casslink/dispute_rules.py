"""Dispute reference data as tables: the reason codes (``dispute_reasons.csv``: the component a
credit lands on and the instrument an accepted correction bills, CCA or DCM) and each
operation's dispute rules (``dispute_rules.csv``): days before the remittance date for a
pre-remittance dispute, the airline's response days and the payment effect.

An operation missing from the rules file gets :data:`DEFAULT`: pre-remittance disputes up to
3 days before the remittance date (cass-business.md §3.2 item 3, source S10), 10 days to
respond, and ``pay_in_full`` (IATA CASS: the billed amount stays due, §3.2 item 4).
"""

from __future__ import annotations

import csv
from dataclasses import dataclass
from pathlib import Path

PAYMENT_EFFECTS = ("pay_in_full", "withhold_disputed")
COMPONENTS = ("weight_pp", "valuation_pp", "oc_carrier_pp", "oc_agent_cc", "commission",
              "tax_airline", "tax_agent")
"""Components a claim may name: the money columns of the agent-net formula
(``casslink.canonical.NET_TERMS``) but the signed discount; ``remove`` claims the whole AWB."""


INSTRUMENTS = ("CCA", "DCM")
"""CCA: the AWB's charges change (rate, weight, prepaid/collect); DCM: a money adjustment not
expressed as a changed AWB (cass-business.md §3.1)."""


@dataclass(frozen=True)
class Reason:
    code: str
    component: str  # a COMPONENTS entry, or "remove" (the whole AWB)
    label: str
    instrument: str = "DCM"  # what an accepted *correction* bills (INSTRUMENTS)

    def instrument_for(self, kind: str) -> str:
        """The instrument a dispute of this reason and kind bills: a pre-remittance dispute
        is settled by a DCM whatever its reason (§3.2 item 5)."""
        return self.instrument if kind == "correction" else "DCM"


@dataclass(frozen=True)
class DisputeRule:
    operation: str
    pre_remittance_days: int = 3
    response_days: int = 10
    payment_effect: str = "pay_in_full"
    source: str = "default (docs/disputes.md)"


DEFAULT = DisputeRule("")


def _rows(path: Path) -> list[dict[str, str]]:
    with open(path, newline="", encoding="utf-8") as fh:
        return list(csv.DictReader(fh))


def load_reasons(reference_dir: Path) -> dict[str, Reason]:
    """The reason codes, by code; ValueError for a component casslink cannot bill or an
    unknown instrument."""
    out = {}
    for r in _rows(reference_dir / "dispute_reasons.csv"):
        if r["component"] not in (*COMPONENTS, "remove"):
            raise ValueError(f"dispute reason {r['code']}: unknown component {r['component']}")
        if r["instrument"] not in INSTRUMENTS:
            raise ValueError(f"dispute reason {r['code']}: instrument {r['instrument']!r} is "
                             f"not one of {INSTRUMENTS}")
        out[r["code"]] = Reason(r["code"], r["component"], r["label"], r["instrument"])
    return out


def load_rules(reference_dir: Path) -> dict[str, DisputeRule]:
    """Each operation's dispute rules, by operation code."""
    out = {}
    for r in _rows(reference_dir / "dispute_rules.csv"):
        if r["payment_effect"] not in PAYMENT_EFFECTS:
            raise ValueError(f"dispute rules {r['operation']}: payment effect "
                             f"{r['payment_effect']!r} is not one of {PAYMENT_EFFECTS}")
        out[r["operation"]] = DisputeRule(r["operation"], int(r["pre_remittance_days"]),
                                          int(r["response_days"]), r["payment_effect"],
                                          r.get("source", ""))
    return out


def rule_for(rules: dict[str, DisputeRule], operation: str) -> DisputeRule:
    """The operation's rules, or the documented defaults."""
    return rules.get(operation) or DisputeRule(operation)
