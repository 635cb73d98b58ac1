"""Render issued documents and deliver them to the outboxes, chunk by chunk.

Each document goes to both parties (the agent and the airline), in the formats each asked
for in ``participants.output_formats``: ``pdf`` (PDF/A-3 with the CII XML embedded) and
``ubl`` (UBL 2.1 / Peppol BIS 3.0 XML); naming neither (or nothing) = both: invoices are
legal documents, every party receives them. Before anything is delivered
both XMLs pass their XSD and BR-CO-10..17 (a failure stops the chunk loudly). A chunk is a
list of invoice numbers: Airflow maps one task over each (``casslink.app.tasks``), so
rendering runs in parallel; delivering a chunk again rewrites the same files and rows.

File names: ``<op>_<period>_<participant>_<doc number>.pdf`` / ``..._ubl.xml``.
"""

from __future__ import annotations

import os
import tempfile
from collections.abc import Sequence
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

from sqlalchemy import Engine, delete, insert, select

from casslink import faults
from casslink.db.engine import session_scope
from casslink.db.models import Delivery, Invoice, Participant
from casslink.outbox import home_of, safe_name
from casslink.outputs.formats import INVOICE_FORMATS
from casslink.outputs.invoices.documents import Document
from casslink.outputs.invoices.pdf import render_pdf
from casslink.outputs.invoices.validation import validate
from casslink.outputs.invoices.xml_cii import cii_xml
from casslink.outputs.invoices.xml_ubl import ubl_xml
from casslink.settings import Settings
from casslink.storage import fsync_dir, sha256_of

KINDS = {"pdf": "invoice-pdf", "ubl": "invoice-ubl"}
CHUNK = 500


def render(doc: Document) -> dict[str, bytes]:
    """The validated files of one document: ``pdf`` and ``ubl``."""
    cii, ubl = cii_xml(doc), ubl_xml(doc)
    validate(cii)
    validate(ubl)
    return {"pdf": render_pdf(doc, cii), "ubl": ubl}


def chunks(engine: Engine, operation: str, period_id: str, size: int = CHUNK
           ) -> list[list[str]]:
    """The period's document numbers in chunks of ``size`` (issue order)."""
    with session_scope(engine) as s:
        numbers = list(s.scalars(select(Invoice.number).where(
            Invoice.operation_code == operation.upper(), Invoice.period_id == period_id
        ).order_by(Invoice.id)))
    return [numbers[i:i + size] for i in range(0, len(numbers), size)]


def _wanted(engine: Engine) -> dict[str, tuple[str, ...]]:
    """Participant code -> its invoice formats; both where its settings name none (saved
    without them, or before those choices existed)."""
    with session_scope(engine) as s:
        rows = s.execute(select(Participant.code, Participant.output_formats)).all()
    out = {}
    for code, fmts in rows:
        chosen = {f.strip() for f in (fmts or "").split(",")}
        out[code] = tuple(f for f in INVOICE_FORMATS if f in chosen) or INVOICE_FORMATS
    return out


def write_batch(items: list[tuple[Path, bytes]], threads: int = 8) -> None:
    """Write every (path, data) as the outbox does - a hidden temp file, synced, renamed -
    but the syncs of a chunk run side by side (one journal commit serves many files; one
    after the other they cost more than typesetting), then every rename, then one sync per
    folder. A reader never sees half a file; after a crash a file is whole or absent."""
    temps = []
    try:
        for path, data in items:
            fd, tmp = tempfile.mkstemp(prefix=f".{path.name[:200]}.", suffix=".tmp",
                                       dir=path.parent)
            temps.append(tmp)
            with os.fdopen(fd, "wb") as fh:
                fh.write(data)
        with ThreadPoolExecutor(threads) as pool:
            list(pool.map(_fsync, temps))
        for (path, _), tmp in zip(items, temps, strict=True):
            os.chmod(tmp, 0o644)
            os.replace(tmp, path)
    except BaseException:
        for tmp in temps:
            Path(tmp).unlink(missing_ok=True)
        raise
    for folder in sorted({path.parent for path, _ in items}):
        fsync_dir(folder)


def _fsync(path: str) -> None:
    fd = os.open(path, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def deliver_chunk(settings: Settings, engine: Engine, numbers: Sequence[str]) -> list[dict]:
    """Render and deliver the documents ``numbers``; one dict per delivered file."""
    with session_scope(engine) as s:
        rows = s.execute(select(Invoice.number, Invoice.content, Invoice.run_id).where(
            Invoice.number.in_(list(numbers)))).all()
    wanted = _wanted(engine)
    outboxes: dict[str, Path] = {}  # home_of creates the folders: once per party and chunk
    out, batch = [], []
    for number, content, run_id in sorted(rows):
        doc = Document.from_json(content)
        files = render(doc)
        for code in (doc.agent_code, doc.airline_prefix):
            for fmt in wanted.get(code, INVOICE_FORMATS):
                ext = "pdf" if fmt == "pdf" else "xml"
                name = f"{doc.operation}_{doc.period_id}_{code}_{number}" + (
                    "" if fmt == "pdf" else "_ubl") + f".{ext}"
                if code not in outboxes:
                    outboxes[code] = home_of(settings, code) / "outbox"
                path = outboxes[code] / safe_name(name)
                batch.append((path, files[fmt]))
                out.append({"participant": code, "kind": KINDS[fmt], "path": str(path),
                            "sha256": sha256_of(files[fmt]), "size": len(files[fmt]),
                            "run_id": run_id, "number": number})
    write_batch(batch)
    faults.checkpoint("invoices", "files-written")
    with session_scope(engine) as s:
        paths = [d["path"] for d in out]
        if paths:  # one statement each, not an ORM object per file
            s.execute(delete(Delivery).where(Delivery.path.in_(paths)))
            s.execute(insert(Delivery), [
                {"run_id": d["run_id"], "participant_code": d["participant"],
                 "kind": d["kind"], "path": d["path"], "sha256": d["sha256"],
                 "size": d["size"]} for d in out])
    return out
