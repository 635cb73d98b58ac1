"""The CCA or DCM an accepted dispute bills: an original record (CCO/DCO) repeating the AWB's
billed state and a revised one (CCR/DCR) with the accepted credit applied, and the HOT
billing file that carries them. Which instrument: the reason's (``dispute_reasons.csv``).

The credit lands on the component the claim names (the reason's default, e.g. the prepaid
weight charge for ``rate``); "remove the AWB" revises every amount to zero, or, accepted for
a part, lowers the charges the agent pays (:data:`REMOVAL_ORDER`) by that part. The accepted
amount is in the settlement currency and is what the pair bills: revised minus original as
the ledger settles them (:class:`Billing`: each amount converted with the AWB's rate of
exchange, the operation's tax rules applied), so the component changes by the smallest
amount of the AWB's own currency whose billed effect is exactly the accepted amount - less
where a computed VAT follows it, e.g. 100.00 of a domestic DE weight charge with its 19 %
VAT for 119.00. An amount no whole change reaches is refused naming the nearest ones. The
pair is checked before it is written, else :class:`DcmError`.
"""

from __future__ import annotations

import datetime as dt

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from casslink.calendars import PeriodInfo
from casslink.canonical import NET_TERMS, RECORDS_SCHEMA, FileHeader, empty_charges
from casslink.money import to_decimal
from casslink.parsers.hot import write_hot
from casslink.reference import OperationInfo, ReferenceData
from casslink.settlement.ledger import MissingRate, ledger_lines
from casslink.settlement.tax import apply_tax
from casslink.tax_rules import TaxRule

from .billed import BilledAwb

SPLIT = ("weight", "valuation", "oc_carrier", "oc_agent", "taxes")
SINGLE = ("commission", "discount", "tax_airline", "tax_agent")
REASON_WIDTH = 50
RECORD_TYPES = {"CCA": ("CCO", "CCR"), "DCM": ("DCO", "DCR")}
MAX_CHANGE = 2**40  # minor units: a credit is searched up to this


class DcmError(ValueError):
    """The credit cannot be expressed on that AWB (e.g. more than the component billed)."""


class Billing:
    """What the ledger bills for records of an operation: the agent's net in the settlement
    currency, converted and taxed as ``casslink.settlement`` does (line-rounded rules)."""

    def __init__(self, operation: str, currency: str, rules: tuple[TaxRule, ...] = (),
                 period_end: dt.date | None = None) -> None:
        self.operation, self.currency, self.rules = operation, currency, tuple(rules)
        self.fallback = np.datetime64(period_end or dt.date(1970, 1, 1), "D")

    def net(self, rows: list[dict]) -> int:
        """The agent's net the ledger bills for ``rows`` (a correction's original with -1)."""
        records = pa.Table.from_pylist(
            [{**r, "source_file": "dispute", "source_line": i} for i, r in enumerate(rows)],
            RECORDS_SCHEMA)
        try:
            lines = ledger_lines(records, self.operation, "", self.currency)
        except MissingRate as exc:
            raise DcmError(str(exc)) from exc
        lines = apply_tax(lines, records, self.rules, self.operation, self.currency,
                          self.fallback).lines
        return int(pc.sum(lines.column("net")).as_py() or 0)


def billing_for(ref: ReferenceData, operation: str, period_id: str) -> Billing:
    """The operation's billing as its settlement of ``period_id`` would do it."""
    period = ref.period(operation, period_id)
    return Billing(operation, ref.operations[operation].settlement_currency,
                   ref.tax_rules.get(operation, ()), period.end_date if period else None)


def _change(billing: Billing, original: dict, revised: dict, component: str, target: int,
            ) -> int:
    """The change of ``revised[component]`` (its own currency) after which the pair bills
    exactly ``target``: lowering a charge the agent pays, raising a credit to it."""
    lower = NET_TERMS[component] > 0
    value = revised[component]

    def billed(x: int) -> int:  # what the pair bills off the agent's net, growing with x
        return -billing.net([original, {**revised, component: value - x if lower
                                        else value + x}])
    guess = min(target, value) if lower else target  # exact when no conversion nor tax
    if billed(guess) == target and billed(guess - 1) < target:
        return guess
    hi = value if lower else guess
    while not lower and billed(hi) < target and hi < MAX_CHANGE:
        hi *= 2
    if billed(hi) < target:
        if billed(hi) == billed(0):
            raise DcmError(f"{component} does not change what is billed (the operation's "
                           "tax rules compute it)")
        raise DcmError(f"{component} is billed {to_decimal(value, revised['currency'])} "
                       f"{revised['currency']} on this AWB: it cannot be lowered by "
                       f"{to_decimal(target - billed(0), billing.currency)} "
                       f"{billing.currency}")
    lo = 0
    while lo < hi:  # the smallest change that bills the target or more
        mid = (lo + hi) // 2
        lo, hi = (mid + 1, hi) if billed(mid) < target else (lo, mid)
    if billed(lo) != target:
        near = ", ".join(str(to_decimal(v, billing.currency))
                         for v in (billed(lo - 1), billed(lo)))
        raise DcmError(f"{to_decimal(target, billing.currency)} {billing.currency} is no "
                       f"whole change of {component} on this AWB (its currency, rate and "
                       f"tax); the nearest are {near}")
    return lo


def _original(billed: BilledAwb, number: str, reason: str) -> dict:
    s = billed.state
    row = {name: None for name in RECORDS_SCHEMA.names}
    for k in ("airline_prefix", "awb_serial", "agent_code", "origin", "destination",
              "execution_date", "currency", "exchange_rate_e5", "weight_tenths", "weight_unit"):
        row[k] = s.get(k) if s.get(k) is not None else billed.awb.get(k)
    row.update(record_type="DCO", correction_number=number, reason=reason[:REASON_WIDTH])
    for c in SPLIT:
        pp, cc = int(s.get(f"{c}_pp") or 0), int(s.get(f"{c}_cc") or 0)
        if pp and cc:
            raise DcmError(f"{c} of AWB {s['airline_prefix']}-{s['awb_serial']} is billed both "
                           "prepaid and collect: a DCM cannot repeat it (HOT-E405)")
        row[f"{c}_pp"], row[f"{c}_cc"] = pp, cc
        row[f"{c}_pc"] = "C" if cc else "P"
    for c in SINGLE:
        row[c] = int(s.get(c) or 0)
    return row


def _credit(row: dict, component: str, change: int) -> None:
    """Apply a change of ``component`` (the AWB's currency) that lowers the agent's net."""
    if NET_TERMS[component] > 0:  # a charge the agent pays: revised lower
        row[component] -= change
    else:  # a credit to the agent (commission, VAT on it, collect charges due agent): higher
        if component == "oc_agent_cc":
            if row["oc_agent_pp"]:
                raise DcmError("other charges due agent are billed prepaid on this AWB")
            row["oc_agent_pc"] = "C"
        row[component] += change


def allocate(claims: dict[str, int], amount: int) -> dict[str, int]:
    """``amount`` spread over the claimed components in the claim's order, each up to its
    claim (a partial acceptance credits the first components first)."""
    out, left = {}, amount
    for comp, claimed in claims.items():
        take = min(left, claimed)
        if take:
            out[comp] = take
        left -= take
    if left:
        raise DcmError(f"accepted {amount} exceeds the claim {sum(claims.values())}")
    return out


REMOVAL_ORDER = ("weight_pp", "valuation_pp", "oc_carrier_pp", "tax_airline")
"""The charges a partly accepted removal lowers, in this order, each down to zero at most."""


def _part_of_removal(billing: Billing, original: dict, revised: dict, accepted: int) -> None:
    """A removal accepted for ``accepted`` only (less than the AWB's net): the charges the
    agent pays are lowered in :data:`REMOVAL_ORDER`, each as far as needed; commission and
    the other credits stay as billed."""
    done = 0
    for comp in REMOVAL_ORDER:
        if done == accepted:
            break
        if not revised[comp]:
            continue
        whole = -billing.net([original, {**revised, comp: 0}])  # the charge removed
        target = min(accepted, whole)
        if target > done:
            _credit(revised, comp, _change(billing, original, revised, comp, target))
            done = target
    if done != accepted:
        raise DcmError(f"the AWB's charges bill {to_decimal(done, billing.currency)} "
                       f"{billing.currency} at most: {to_decimal(accepted, billing.currency)} "
                       "cannot be credited")


def removal(billing: Billing, billed: BilledAwb) -> int:
    """What removing the AWB credits: its net as billed now (converted, taxed)."""
    return billing.net([billed.state])


def dcm_rows(billed: BilledAwb, claims: dict[str, int], remove: bool, accepted: int,
             number: str, reason: str, *, billing: Billing,
             instrument: str = "DCM") -> list[dict]:
    """The CCO/CCR or DCO/DCR pair billing ``-accepted`` (minor units of the settlement
    currency) off the agent's net."""
    o_type, r_type = RECORD_TYPES[instrument]
    original = {**_original(billed, number, reason), "record_type": o_type}
    revised = {**original, "record_type": r_type}
    if remove and accepted == billing.net([billed.state]):
        for c in SPLIT:
            revised[f"{c}_pp"] = revised[f"{c}_cc"] = 0
        for c in SINGLE:
            revised[c] = 0
    elif remove:
        _part_of_removal(billing, original, revised, accepted)
    else:
        done = 0
        for comp, amount in allocate(claims, accepted).items():
            done += amount
            _credit(revised, comp, _change(billing, original, revised, comp, done))
    effect = billing.net([original, revised])
    if effect != -accepted:
        raise DcmError(f"the {instrument} would change the agent's net by {effect}, not by "
                       f"{-accepted}")
    return [original, revised]


def dcm_file(rows: list[dict], operation: OperationInfo, period: PeriodInfo,
             airline_prefix: str) -> bytes:
    """A HOT billing file of the airline for ``period`` holding the pair (file number 0:
    casslink's own files never take an airline's number, see docs/disputes.md)."""
    header = FileHeader(family="billing", record_id="ALS", operation=operation.code,
                        airline_prefix=airline_prefix, period_start=period.start_date,
                        period_end=period.end_date, billing_date=period.billing_date,
                        file_number=0, currency=operation.settlement_currency,
                        office_code=operation.office_code)
    return write_hot(header, pa.Table.from_pylist(rows, RECORDS_SCHEMA), empty_charges())
