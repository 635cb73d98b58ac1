"""The CCA or DCM an accepted dispute bills: an original record (CCO/DCO) repeating the AWB's
billed state and a revised one (CCR/DCR) with the accepted credit applied, and the HOT
billing file that carries them. Which instrument: the reason's (``dispute_reasons.csv``).

The credit lands on the component the claim names (the reason's default, e.g. the prepaid
weight charge for ``rate``); "remove the AWB" revises every amount to zero. The accepted
amount is in the settlement currency; an AWB billed in another currency is revised in its
own currency by the amount whose conversion (the ledger's rule, the record's rate) is
exactly the accepted amount - an amount no AWB-currency amount converts to is refused with
the nearest ones. The pair is checked before it is written: revised minus original, both
converted, must lower the agent's net by exactly the accepted amount, else
:class:`DcmError`.
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np
import pyarrow as pa

from casslink.calendars import PeriodInfo
from casslink.canonical import NET_TERMS, RECORDS_SCHEMA, FileHeader, empty_charges
from casslink.money import minor_unit, to_decimal
from casslink.parsers.hot import write_hot
from casslink.reference import OperationInfo
from casslink.settlement.ledger import convert

from .billed import BilledAwb

SPLIT = ("weight", "valuation", "oc_carrier", "oc_agent", "taxes")
SINGLE = ("commission", "discount", "tax_airline", "tax_agent")
REASON_WIDTH = 50
RECORD_TYPES = {"CCA": ("CCO", "CCR"), "DCM": ("DCO", "DCR")}


class DcmError(ValueError):
    """The credit cannot be expressed on that AWB (e.g. more than the component billed)."""


def converter(billed: BilledAwb, settlement_currency: str) -> Callable[[int], int]:
    """Minor units of the AWB's currency -> the settlement currency's, as the ledger converts
    them (the identity when the AWB is billed in the settlement currency)."""
    currency = billed.currency
    if currency == settlement_currency:
        return int
    rate = int(billed.state.get("exchange_rate_e5") or 0)
    if rate <= 0:
        raise DcmError(f"the AWB is billed in {currency} with no rate of exchange")
    digits = minor_unit(currency), minor_unit(settlement_currency)

    def conv(value: int) -> int:
        return int(convert(np.array([value], np.int64), np.array([rate], np.int64), *digits)[0])
    return conv


def net_in(row: dict, conv: Callable[[int], int]) -> int:
    """The agent's net of a record in the settlement currency (components converted one by
    one, as the ledger does)."""
    return sum(sign * conv(int(row.get(c) or 0)) for c, sign in NET_TERMS.items())


def _local(conv: Callable[[int], int], value: int, amount: int, lower: bool,
           settlement_currency: str) -> int:
    """The AWB-currency change of a component billed ``value`` whose converted effect is
    exactly ``amount``: lowering it (a charge) or raising it (a credit to the agent)."""
    if conv is int:
        return amount
    base = conv(value)

    def effect(x: int) -> int:
        return base - conv(value - x) if lower else conv(value + x) - base
    hi = value if lower else 1
    while not lower and effect(hi) < amount:
        hi *= 2
    if effect(hi) < amount:
        raise DcmError(f"that component is billed {to_decimal(base, settlement_currency)} "
                       f"{settlement_currency} on this AWB: it cannot be lowered by "
                       f"{to_decimal(amount, settlement_currency)}")
    lo = 0
    while lo < hi:  # the smallest change whose effect reaches the amount
        mid = (lo + hi) // 2
        lo, hi = (mid + 1, hi) if effect(mid) < amount else (lo, mid)
    if effect(lo) != amount:
        near = ", ".join(str(to_decimal(v, settlement_currency))
                         for v in (effect(lo - 1), effect(lo)))
        raise DcmError(f"{to_decimal(amount, settlement_currency)} {settlement_currency} is "
                       f"no whole amount of the AWB's currency at its rate of exchange; the "
                       f"nearest are {near}")
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


def _credit(row: dict, component: str, amount: int, conv: Callable[[int], int],
            settlement_currency: str) -> None:
    """Lower the agent's net of ``row`` by ``amount`` (settlement currency) through
    ``component``."""
    amount = _local(conv, row[component], amount, NET_TERMS[component] > 0,
                    settlement_currency)
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
             number: str, reason: str, *, settlement_currency: str,
             instrument: str = "DCM") -> list[dict]:
    """The CCO/CCR or DCO/DCR pair crediting ``accepted`` (minor units of the settlement
    currency)."""
    conv = converter(billed, settlement_currency)
    o_type, r_type = RECORD_TYPES[instrument]
    original = {**_original(billed, number, reason), "record_type": o_type}
    revised = {**original, "record_type": r_type}
    if remove:
        for c in SPLIT:
            revised[f"{c}_pp"] = revised[f"{c}_cc"] = 0
        for c in SINGLE:
            revised[c] = 0
    else:
        for comp, amount in allocate(claims, accepted).items():
            _credit(revised, comp, amount, conv, settlement_currency)
    effect = net_in(revised, conv) - net_in(original, conv)
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
