"""What validation needs to know beyond the file: who sent it, the reference world, history."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field

import pyarrow as pa

from casslink.reference import ReferenceData


@dataclass
class History:
    """What was received before (from the registry and the warehouse). Empty offline."""

    sha256_seen: dict[str, int] = field(default_factory=dict)  # sha256 -> earlier file id
    accepted_logical: set[tuple] = field(default_factory=set)  # (participant, op, period, no)
    billed: pa.Table | None = None  # accepted AWB rows (canonical) of this participant


@dataclass
class ValidationContext:
    reference: ReferenceData
    sender_kind: str = ""  # airline | agent | operator | "" (offline: not checked)
    sender_code: str = ""  # airline prefix or agent code
    received_on: dt.date | None = None
    sha256: str = ""
    history: History = field(default_factory=History)
    operation: str = ""  # offline override (casslink validate --operation)
