"""Render every output of a settlement run and deliver it atomically to the outboxes.

File names carry operation, period, participant code and kind::

    DE_2026-11_020_handoff.hot          airline hand-off file (HOT)
    DE_2026-11_020_settlement.xlsx      airline settlement statement (Excel)
    DE_2026-11_23156130152_billing.hot  agent HOT file
    DE_2026-11_23156130152_statement.xlsx  agent billing statement (Excel)
    DE_2026-11_020_settlement.xml / DE_2026-11_23156130152_statement.xml  the same statements
                                        as ONE Record XML

Which formats a participant receives is ``participants.output_formats`` (comma-separated
``hot``, ``xlsx``, ``xml``; empty = all); the labels of its Excel statements are in its
``participants.language`` (English where none). Each delivered file is a ``deliveries`` row
(participant, path, sha256, run id); delivering the same run again rewrites identical bytes
and rows.
"""

from __future__ import annotations

import logging
from collections.abc import Iterator, Sequence
from pathlib import Path

from sqlalchemy import Engine, delete, select

from casslink import dispute_marks
from casslink.db.engine import session_scope
from casslink.db.models import Delivery, Participant
from casslink.i18n import DEFAULT_LANGUAGE, LANGUAGES
from casslink.outbox import write_to_outbox
from casslink.outputs import excel, hot_files, tax_report, xml_statements
from casslink.outputs.formats import FILES, FORMATS, KEYS, KINDS
from casslink.outputs.source import RunData, load_run
from casslink.reference import ReferenceData, load_reference
from casslink.settings import Settings
from casslink.storage import Data, sha256_of

__all__ = ["FORMATS", "deliver_run"]
log = logging.getLogger(__name__)

BATCHES = {  # every participant's file of a kind and format (HOT: see _rendered)
    ("airline", "xlsx"): excel.airline_reports, ("agent", "xlsx"): excel.agent_reports,
    ("airline", "xml"): xml_statements.airline_statements,
    ("agent", "xml"): xml_statements.agent_statements,
}


def _rendered(run: RunData, fmt: str, kinds: list[str], languages: dict[str, str]
              ) -> Iterator[dict[str, Data]]:
    """Every participant's file of ``fmt``, one kind after the other (HOT: both kinds from
    one rendering of the records' lines); Excel in each participant's ``languages``."""
    if fmt == "hot":
        yield from hot_files.hot_all(run, tuple(KEYS[k] for k in kinds))
        return
    for kind in kinds:
        render = BATCHES[(kind, fmt)]
        yield render(run, languages=languages) if fmt == "xlsx" else render(run)


def _preferences(engine: Engine) -> dict[str, tuple[str, ...]]:
    with session_scope(engine) as s:
        rows = s.execute(select(Participant.code, Participant.output_formats)).all()
    return {code: tuple(f.strip() for f in (fmts or "").split(",") if f.strip()) or FORMATS
            for code, fmts in rows}


def _languages(engine: Engine) -> dict[str, str]:
    """Participant code -> the language of its documents, where set and not English; a
    value that is not one of :data:`casslink.i18n.LANGUAGES` is logged and left out."""
    with session_scope(engine) as s:
        rows = s.execute(select(Participant.code, Participant.language).where(
            Participant.language.is_not(None))).all()
    out = {}
    for code, language in rows:
        if language not in LANGUAGES:
            log.warning("participant %s: unknown document language %r, English used", code,
                        language)
        elif language != DEFAULT_LANGUAGE:
            out[code] = language
    return out


def deliver_run(settings: Settings, engine: Engine, run_id: int, folder: Path,
                reference: ReferenceData | None = None,
                formats: Sequence[str] = FORMATS) -> list[dict]:
    """Render and deliver the outputs of a run in ``formats`` (default: all; one call per
    format can run in parallel); returns one dict per delivered file. The run's delivery
    records of these formats are replaced."""
    unknown = set(formats) - set(FORMATS)
    if unknown:
        raise ValueError(f"unknown output formats: {sorted(unknown)}")
    run = load_run(settings, folder, reference or load_reference(settings))
    run.dispute_marks = dispute_marks.marks(engine, run.operation, run.period_id)
    prefs, languages = _preferences(engine), _languages(engine)
    bills = run.ledger["bills"]
    parties = {kind: sorted(set(bills.column(KEYS[kind]).to_pylist())) for kind in KINDS}
    out = []
    for fmt in (f for f in FORMATS if f in formats):  # one format at a time: rendered for
        # everyone, delivered, dropped
        wanted = {k: [c for c in parties[k] if fmt in prefs.get(c, FORMATS)] for k in KINDS}
        kinds = [k for k in KINDS if wanted[k]]
        for kind, files in zip(kinds, _rendered(run, fmt, kinds, languages), strict=True):
            label, ext = FILES[(kind, fmt)]
            for code in wanted[kind]:
                data = files[code]
                name = f"{run.operation}_{run.period_id}_{code}_{label}.{ext}"
                path = write_to_outbox(settings, code, name, data)
                out.append({"participant": code, "kind": f"{label}-{ext}", "path": str(path),
                            "sha256": sha256_of(data), "size": len(data)})
    with session_scope(engine) as s:
        kinds = [f"{label}-{ext}" for (_, fmt), (label, ext) in FILES.items() if fmt in formats]
        s.execute(delete(Delivery).where(Delivery.run_id == run_id, Delivery.kind.in_(kinds)))
        for d in out:
            s.add(Delivery(run_id=run_id, participant_code=d["participant"], kind=d["kind"],
                           path=d["path"], sha256=d["sha256"], size=d["size"]))
    if "xlsx" in formats:  # the tax report (Excel and CSV) goes with the Excel statements
        out += tax_report.deliver(settings, engine, run_id, folder, run.ledger["tax"],
                                  run.manifest, languages,
                                  wanted=lambda code: "xlsx" in prefs.get(code, FORMATS))
    return out
