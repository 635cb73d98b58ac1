"""The DCM an accepted dispute bills: a DCO record repeating the AWB's billed state and a
DCR record with the accepted credit applied, and the HOT billing file that carries them.

The credit lands on the component the claim names (the reason's default, e.g. the prepaid
weight charge for ``rate``); "remove the AWB" revises every amount to zero. The pair is
checked before it is written: revised minus original must lower the agent's net by exactly
the accepted amount (``casslink.canonical.agent_net``), else :class:`DcmError`.
"""

from __future__ import annotations

import pyarrow as pa

from casslink.calendars import PeriodInfo
from casslink.canonical import NET_TERMS, RECORDS_SCHEMA, FileHeader, agent_net, empty_charges
from casslink.parsers.hot import write_hot
from casslink.reference import OperationInfo

from .billed import BilledAwb

SPLIT = ("weight", "valuation", "oc_carrier", "oc_agent", "taxes")
SINGLE = ("commission", "discount", "tax_airline", "tax_agent")
REASON_WIDTH = 50


class DcmError(ValueError):
    """The credit cannot be expressed on that AWB (e.g. more than the component billed)."""


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


def _credit(row: dict, component: str, amount: int) -> None:
    """Lower the agent's net of ``row`` by ``amount`` through ``component``."""
    if NET_TERMS[component] > 0:  # a charge the agent pays: revised lower
        if row[component] < amount:
            raise DcmError(f"{component} is billed {row[component]} on this AWB: it cannot "
                           f"be lowered by {amount}")
        row[component] -= amount
    else:  # a credit to the agent (commission, VAT on it, collect charges due agent): higher
        if component == "oc_agent_cc":
            if row["oc_agent_pp"]:
                raise DcmError("other charges due agent are billed prepaid on this AWB")
            row["oc_agent_pc"] = "C"
        row[component] += amount


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


def dcm_rows(billed: BilledAwb, claims: dict[str, int], remove: bool, accepted: int,
             number: str, reason: str) -> list[dict]:
    """The DCO/DCR pair crediting ``accepted`` (minor units of the AWB's currency)."""
    original = _original(billed, number, reason)
    revised = {**original, "record_type": "DCR"}
    if remove:
        for c in SPLIT:
            revised[f"{c}_pp"] = revised[f"{c}_cc"] = 0
        for c in SINGLE:
            revised[c] = 0
    else:
        for comp, amount in allocate(claims, accepted).items():
            _credit(revised, comp, amount)
    effect = agent_net(revised) - agent_net(original)
    if effect != -accepted:
        raise DcmError(f"the DCM would change the agent's net by {effect}, not by "
                       f"{-accepted}")
    return [original, revised]


def dcm_file(rows: list[dict], operation: OperationInfo, period: PeriodInfo,
             airline_prefix: str) -> bytes:
    """A HOT billing file of the airline for ``period`` holding the DCM pair (file number 0:
    casslink's own files never take an airline's number, see docs/disputes.md)."""
    header = FileHeader(family="billing", record_id="ALS", operation=operation.code,
                        airline_prefix=airline_prefix, period_start=period.start_date,
                        period_end=period.end_date, billing_date=period.billing_date,
                        file_number=0, currency=operation.settlement_currency,
                        office_code=operation.office_code)
    return write_hot(header, pa.Table.from_pylist(rows, RECORDS_SCHEMA), empty_charges())
