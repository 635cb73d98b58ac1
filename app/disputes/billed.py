"""What is billed for an AWB: its AWB record and its latest state (the last revised record
of a CCA/DCM, else the AWB), read from the parts settlement reads."""

from __future__ import annotations

from dataclasses import dataclass

import pyarrow.compute as pc
from sqlalchemy import Engine

from casslink import registry
from casslink.settings import Settings


class NotBilled(LookupError):
    """No billed AWB of that airline, serial and agent."""


@dataclass(frozen=True)
class BilledAwb:
    operation: str
    period_id: str  # where the AWB record is billed
    awb: dict  # the AWB record
    state: dict  # the latest billed state (AWB or last CCR/DCR)
    corrections: tuple[str, ...]  # CCA/DCM numbers billed on it

    @property
    def currency(self) -> str:
        return self.state["currency"]


def billed_awb(settings: Settings, engine: Engine, operation: str, airline_prefix: str,
               awb_serial: str, agent_code: str) -> BilledAwb:
    """The billed AWB, or NotBilled (another agent's AWB is not billed to this agent)."""
    rows = registry.accepted_records(settings, engine, operation,
                                     airline_prefix=airline_prefix, with_period=True)
    rows = rows.filter(pc.equal(rows.column("awb_serial"), awb_serial)).to_pylist()
    awb = next((r for r in rows if r["record_type"] == "AWB"), None)
    if awb is None or awb["agent_code"] != agent_code:
        raise NotBilled(f"AWB {airline_prefix}-{awb_serial} is not billed to agent "
                        f"{agent_code} in {operation}")
    revised = [r for r in rows if r["record_type"] in ("CCR", "DCR")]
    numbers = tuple(dict.fromkeys(r["correction_number"] for r in rows
                                  if r["correction_number"]))
    return BilledAwb(operation, awb["period_id"], awb, revised[-1] if revised else awb,
                     numbers)
