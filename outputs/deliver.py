"""Render every output of a settlement run and deliver it atomically to the outboxes.

File names carry operation, period, participant code and kind::

    DE_2026-11_020_handoff.hot          airline hand-off file (HOT)
    DE_2026-11_020_settlement.xlsx      airline settlement statement (Excel)
    DE_2026-11_23156130152_billing.hot  agent HOT file
    DE_2026-11_23156130152_statement.xlsx  agent billing statement (Excel)
    DE_2026-11_020_settlement.xml / DE_2026-11_23156130152_statement.xml  the same statements
                                        as ONE Record XML

Which formats a participant receives is ``participants.output_formats`` (comma-separated
``hot``, ``xlsx``, ``xml``; empty = all). Each delivered file is a ``deliveries`` row (participant,
path, sha256, run id); delivering the same run again rewrites identical bytes and rows.
"""

from __future__ import annotations

import hashlib
from pathlib import Path

from sqlalchemy import Engine, delete, select

from casslink.db.engine import session_scope
from casslink.db.models import Delivery, Participant
from casslink.outbox import deliver
from casslink.reference import ReferenceData, load_reference
from casslink.settings import Settings
from outputs import excel, hot_files, xml_statements
from outputs.source import load_run

FORMATS = ("hot", "xlsx", "xml")
RENDERERS = {  # (participant kind, format): file label, extension, every participant's files
    ("airline", "hot"): ("handoff", "hot", hot_files.airline_handoff_all),
    ("airline", "xlsx"): ("settlement", "xlsx", excel.airline_reports),
    ("airline", "xml"): ("settlement", "xml", xml_statements.airline_statements),
    ("agent", "hot"): ("billing", "hot", hot_files.agent_hot_all),
    ("agent", "xlsx"): ("statement", "xlsx", excel.agent_reports),
    ("agent", "xml"): ("statement", "xml", xml_statements.agent_statements),
}


def _preferences(engine: Engine) -> dict[str, tuple[str, ...]]:
    with session_scope(engine) as s:
        rows = s.execute(select(Participant.code, Participant.output_formats)).all()
    return {code: tuple(f.strip() for f in (fmts or "").split(",") if f.strip()) or FORMATS
            for code, fmts in rows}


def deliver_run(settings: Settings, engine: Engine, run_id: int, folder: Path,
                reference: ReferenceData | None = None) -> list[dict]:
    """Render and deliver all outputs of a run; returns one dict per delivered file."""
    run = load_run(settings, folder, reference or load_reference(settings))
    prefs = _preferences(engine)
    bills = run.ledger["bills"]
    parties = {"airline": sorted(set(bills.column("airline_prefix").to_pylist())),
               "agent": sorted(set(bills.column("agent_code").to_pylist()))}
    out = []
    for (kind, fmt), (label, ext, render) in RENDERERS.items():
        # one format at a time: all its files are rendered together, delivered, then dropped
        codes = [c for c in parties[kind] if fmt in prefs.get(c, FORMATS)]
        if not codes:
            continue
        files = render(run)
        for code in codes:
            data = files[code]
            name = f"{run.operation}_{run.period_id}_{code}_{label}.{ext}"
            path = deliver(settings, code, name, data)
            out.append({"participant": code, "kind": f"{label}-{ext}", "path": str(path),
                        "sha256": hashlib.sha256(data).hexdigest(), "size": len(data)})
        del files
    with session_scope(engine) as s:
        s.execute(delete(Delivery).where(Delivery.run_id == run_id))
        for d in out:
            s.add(Delivery(run_id=run_id, participant_code=d["participant"], kind=d["kind"],
                           path=d["path"], sha256=d["sha256"], size=d["size"]))
    return out
