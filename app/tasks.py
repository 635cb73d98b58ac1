"""What the Airflow tasks do, as plain functions (tested without Airflow).

The DAG files in ``dags/`` only wire these together. Every function takes ids and returns a
small JSON-able dict (XCom carries ids and paths, never data) and logs what happened in
business terms: records accepted, totals per currency, agents billed.
"""

from __future__ import annotations

import datetime as dt
import logging
from pathlib import Path

from casslink.app.cli.text import counts_text, plural
from casslink.db.engine import engine_for
from casslink.money import format_amount
from casslink.reference import load_reference
from casslink.settings import Settings, get_settings

log = logging.getLogger("casslink.app.tasks")




# --- ingest --------------------------------------------------------------------------------

def ingest(file_id: int, settings: Settings | None = None) -> dict:
    """Parse, validate, store, acknowledge, archive/quarantine one landed file."""
    from casslink import registry
    from casslink.app.ingest import ingest_file
    from casslink.validators.ack import accepted_totals

    settings = settings or get_settings()
    with engine_for(settings.db_url) as engine:
        row = registry.get(engine, int(file_id))
        log.info("file %s: %r (%s bytes, sha256 %s) from %s via %s", file_id, row.original_name,
                 row.size, row.sha256[:12], row.user_login or "-", row.channel)
        result = ingest_file(settings, engine, int(file_id))
    c = result.counts
    log.info("file %s: %s - %s of %s records accepted, %s rejected; problems: %s",
             file_id, result.verdict.upper(), c.get("accepted"), c.get("records"),
             c.get("rejected"), ", ".join(result.codes) or "none")
    if result.stored:
        import pyarrow.parquet as pq

        totals = accepted_totals(pq.read_table(result.stored[0]))
        for cur, t in sorted(totals.items()):
            log.info("file %s: accepted %s %s agent net (%s records) into %s %s", file_id,
                     t["agent_net"], cur, t["count"], result.operation,
                     result.billed_period_id)
    for ack in result.acks:
        log.info("acknowledgement delivered: %s", ack)
    return {"file_id": int(file_id), "verdict": result.verdict, "state": result.state,
            "participant": result.participant, "channel": result.channel,
            "codes": result.codes, "counts": result.counts, "operation": result.operation,
            "period": result.period_id, "billed_period": result.billed_period_id,
            "name": row.original_name, "already_done": result.already_done}


REJECTED = "rejected"


def verdict_check(summary: dict) -> dict:
    """The business outcome of an ingested file, for the DAG run's note and its branch:
    ``{"rejected": bool, "note": text}``. A rejection is an outcome, not a failure: the file
    was processed, quarantined and acknowledged to its sender, so the run succeeds (red is
    for technical failures only)."""
    rejected = summary["verdict"] == REJECTED
    codes = f" ({', '.join(summary['codes'])})" if summary["codes"] else ""
    label = summary["verdict"].upper().replace("_", " ") if summary["verdict"] else "UNKNOWN"
    note = (f"{label}: file {summary['file_id']} {summary['name']} from "
            f"{summary['participant'] or '-'}{codes}")
    if rejected:
        note += " - nothing billed; see the acknowledgement in the sender's outbox"
    elif summary.get("channel") == "sandbox":
        note += " - sandbox: validated only, never billed"
    elif summary.get("billed_period"):
        note += f" - billed in {summary.get('operation')} {summary['billed_period']}"
    return {"rejected": rejected, "note": note[:1000]}


def record_verdict(summary: dict, dag_id: str, run_id: str) -> bool:
    """The ingest DAG's ``verdict`` task: the outcome in the run's note and the log; True for
    a rejected file (the DAG then runs its ``rejected`` branch)."""
    from casslink.sftp_gateway.notify import annotate_run

    outcome = verdict_check(summary)
    annotate_run(dag_id, run_id, outcome["note"])
    log.info("%s", outcome["note"])
    return outcome["rejected"]


def pending_files(min_age_s: float = 20.0, settings: Settings | None = None) -> list[int]:
    """Files landed but not yet ingested, older than ``min_age_s`` (the sweep's work list)."""
    from sqlalchemy import select

    from casslink.db.engine import session_scope
    from casslink.db.models import LandedFile

    settings = settings or get_settings()
    cutoff = dt.datetime.now(dt.UTC) - dt.timedelta(seconds=min_age_s)
    with engine_for(settings.db_url) as engine, session_scope(engine) as s:
        rows = s.execute(select(LandedFile.id, LandedFile.landed_at).where(
            LandedFile.state == "landed").order_by(LandedFile.id)).all()
    return [i for i, when in rows if _aware(when) <= cutoff]


def drain(min_age_s: float = 20.0, settings: Settings | None = None) -> dict:
    """Ingest every pending file here and now, one after another, without Airflow
    (``casslink ingest --pending``): the sweep's work list, each file through the ingest
    DAG's own function. A file that fails technically is reported and the rest go on."""
    settings = settings or get_settings()
    ids = pending_files(min_age_s, settings)
    done, failed = [], []
    for file_id in ids:
        try:
            done.append(ingest(file_id, settings))
        except Exception as exc:
            log.exception("file %s: ingest failed", file_id)
            failed.append({"file_id": file_id, "error": f"{type(exc).__name__}: {exc}"})
    younger = len(pending_files(0.0, settings)) - len(pending_files(min_age_s, settings)) \
        if min_age_s > 0 else 0
    return {"files": done, "failed": failed, "left_younger": max(younger, 0)}


def _aware(when: dt.datetime) -> dt.datetime:
    return when if when.tzinfo else when.replace(tzinfo=dt.UTC)


def sweep(settings: Settings | None = None) -> list[int]:
    """Trigger an ingest run for every pending file (one run id per file: no duplicates)."""
    from casslink.sftp_gateway.notify import INGEST_DAG, AirflowClient, ingest_run_id

    settings = settings or get_settings()
    ids = pending_files(settings=settings)
    if not ids:
        log.info("sweep: no landed file waits for ingestion")
        return []
    client = AirflowClient.for_install(settings)
    if client is None:
        raise RuntimeError("no Airflow admin password in the data root's secrets")
    for file_id in ids:
        client.trigger(INGEST_DAG, {"file_id": file_id}, ingest_run_id(file_id))
        log.info("sweep: ingest of file %s triggered", file_id)
    return ids


# --- settlement -------------------------------------------------------------------------------

def manual_period(ref, conf: dict, day: dt.date) -> tuple[str, str] | None:
    """The (operation, period id) a manual DAG run's ``conf`` names: its ``period`` (an id or
    a date inside it), else the one holding ``day``; None when it names no operation."""
    if not conf.get("operation"):
        return None
    op = str(conf["operation"]).upper()
    period = ref.resolve_period(op, str(conf.get("period") or day.isoformat()))
    if period is None:
        raise ValueError(f"no period {conf.get('period')!r} in the {op} calendar")
    return op, period.period_id


def periods_due(day: dt.date, conf: dict | None = None,
                settings: Settings | None = None) -> list[dict]:
    """The (operation, period) pairs to settle: the manual run's conf, or every operation
    whose calendar has a billing date on ``day``."""
    settings = settings or get_settings()
    ref = load_reference(settings)
    conf = conf or {}
    if manual := manual_period(ref, conf, day):
        items = [{"operation": manual[0], "period": manual[1],
                  "rebill": bool(conf.get("rebill"))}]
        log.info("manual settlement requested: %s", items[0])
        return items
    items = [{"operation": p.operation, "period": p.period_id, "rebill": False}
             for (_, _), p in sorted(ref.periods.items()) if p.billing_date == day]
    log.info("billing date %s: %s", day, ", ".join(f"{i['operation']} {i['period']}"
                                                   for i in items) or "nothing due")
    return items


def settle(item: dict, settings: Settings | None = None) -> dict:
    """Close, settle and check one (operation, period); returns the run id and ledger path."""
    from casslink.memory import tune
    from casslink.settlement.run import settle as run_settle

    tune()  # large tables: ordinary pages, Arrow on the C library's allocator
    settings = settings or get_settings()
    with engine_for(settings.db_url) as engine:
        r = run_settle(settings, engine, item["operation"], item["period"],
                       rebill=bool(item.get("rebill")))
    log.info("%s %s settled (%s): %s from %s; %s billed by %s; remittances = settlements = "
             "%s %s; conservation holds", r.operation, r.period_id, r.kind,
             plural(r.records, "record"), plural(r.input_files, "file"),
             plural(r.agents, "agent"), plural(r.airlines, "airline"),
             format_amount(r.total, r.currency), r.currency)
    return {"operation": r.operation, "period": r.period_id, "run_id": r.run_id,
            "ledger": r.ledger_dir, "kind": r.kind, "total": r.total, "currency": r.currency}


def deliver_outputs(settled: dict, fmt: str | None = None,
                    settings: Settings | None = None) -> dict:
    """Render the outputs of one settlement run and deliver them to every participant's
    outbox (``fmt``: only that format - hot, xlsx or xml); with the Excel run, each party's
    dispute report of the period (CSV and Excel, docs/disputes.md)."""
    from casslink.app.disputes.report import write_reports as dispute_reports
    from casslink.memory import tune
    from casslink.outputs.deliver import FORMATS, deliver_run

    tune()
    settings = settings or get_settings()
    with engine_for(settings.db_url) as engine:
        out = deliver_run(settings, engine, int(settled["run_id"]), Path(settled["ledger"]),
                          formats=(fmt,) if fmt else FORMATS)
        if fmt in (None, "xlsx"):  # the period's dispute report goes with the Excel run
            disputes = dispute_reports(settings, engine, settled["operation"],
                                       settled["period"], settled["currency"])
            out += [{"participant": code} for code in disputes]
    parties = sorted({d["participant"] for d in out})
    log.info("%s %s: %s delivered to %s", settled["operation"], settled["period"],
             plural(len(out), f"{fmt or 'output'} file"),
             plural(len(parties), "participant's outbox", many="participants' outboxes"))
    return {"operation": settled["operation"], "period": settled["period"],
            "format": fmt or "all", "files": len(out), "participants": len(parties)}


# --- reference data --------------------------------------------------------------------------

def load_reference_world(settings: Settings | None = None) -> dict[str, int]:
    """The reference-sync DAG's daily task. A project database with no reference world yet
    gets the fixtures' (operations, calendar rules, airlines, agents: a first install); one
    that has it keeps it - operators' data is never overwritten from the fixtures - and only
    its calendars are published further ahead from their rules. Returns the counts."""
    from sqlalchemy import func, select

    from casslink import calendars
    from casslink.db.engine import upgrade
    from casslink.db.models import Operation
    from casslink.reference import load_into_db

    settings = settings or get_settings()
    upgrade(settings.db_url)
    with engine_for(settings.db_url) as engine:
        with engine.connect() as conn:
            installed = conn.execute(select(func.count()).select_from(Operation)).scalar()
        if not installed:
            counts = load_into_db(engine, settings.fixtures_dir / "reference")
            log.info("reference loaded: %s", counts_text(counts))
            return counts
        extended = calendars.extend(engine, calendars.today())
    for op, ext in extended.items():
        log.info("%s: %s added, %s updated; published through %s", op,
                 plural(ext.added, "period"), plural(ext.updated, "period"), ext.calendar_end)
        for text in ext.conflicts:
            log.warning("%s: %s", op, text)
    return {"periods": sum(ext.added for ext in extended.values())}


# --- invoices (issue 26) -----------------------------------------------------------------------

def settled_event(settled: dict) -> dict:
    """The extra of a ``PERIOD_SETTLED`` asset event: which period, which run (ids only)."""
    return {k: settled[k] for k in ("operation", "period", "run_id")}


def invoice_periods(conf: dict, events: list[dict], settings: Settings | None = None
                    ) -> list[dict]:
    """The periods an invoices run issues: a manual run's conf (``operation``, ``period``),
    else the settlement events that triggered it, once each (in the order settled); periods
    of operations without invoice rules are left out (logged)."""
    from casslink.legal_parties import LegalData

    if conf.get("operation") and conf.get("period"):
        wanted = [{"operation": str(conf["operation"]).upper(), "period": str(conf["period"])}]
    else:
        wanted = []
        for e in events:
            item = {"operation": str(e["operation"]).upper(), "period": str(e["period"])}
            if item not in wanted:
                wanted.append(item)
    settings = settings or get_settings()
    rules = LegalData.from_fixtures(settings.fixtures_dir / "reference").rules
    for item in wanted:
        if item["operation"] not in rules:
            log.warning("%s %s: no invoice rules, no invoices", item["operation"],
                        item["period"])
    found = [item for item in wanted if item["operation"] in rules]
    log.info("invoices to issue: %s", ", ".join(f"{i['operation']} {i['period']}"
                                                 for i in found) or "none")
    return found


def issue_invoices(settled: dict, settings: Settings | None = None, reference=None,
                   legal=None) -> list[list[str]]:
    """Issue the legal documents of a settled period (numbers committed with their documents;
    a re-bill cancels with credit notes) and return the document numbers in chunks: the
    invoices DAG maps one render task over each chunk. ``reference`` and ``legal`` default
    to this install's (a benchmark passes its generated world's)."""
    from casslink.outputs.invoices.deliver import chunks
    from casslink.outputs.invoices.issue import issue_period

    settings = settings or get_settings()
    with engine_for(settings.db_url) as engine:
        r = issue_period(settings, engine, settled["operation"], settled["period"],
                         reference=reference, legal=legal)
        parts = chunks(engine, r.operation, r.period_id)
    log.info("%s %s invoices: %s issued, %s kept, %s cancelled", r.operation, r.period_id,
             len(r.issued), len(r.kept), len(r.cancelled))
    return parts


def render_invoices(numbers: list[str], settings: Settings | None = None) -> dict:
    """Render (PDF/A-3 + CII, UBL; both validated) and deliver one chunk of documents."""
    from casslink.outputs.invoices.deliver import deliver_chunk

    settings = settings or get_settings()
    with engine_for(settings.db_url) as engine:
        out = deliver_chunk(settings, engine, numbers)
    return {"documents": len(numbers), "files": len(out)}


def invoice_register(settled: dict, settings: Settings | None = None) -> dict:
    """The period's invoice register (CSV + Excel) into the operator's outbox; fails when a
    number series has a gap."""
    from casslink.outbox import write_to_outbox
    from casslink.outputs.invoices import register

    settings = settings or get_settings()
    op, period = settled["operation"], settled["period"]
    with engine_for(settings.db_url) as engine:
        rows = register.rows(engine, op, period)
        holes = register.gaps(engine, op)
    if holes:
        raise RuntimeError(f"{op} invoice series have gaps: {holes}")
    for name, data in ((f"{op}_{period}_invoice_register.csv", register.to_csv(rows)),
                       (f"{op}_{period}_invoice_register.xlsx",
                        register.to_xlsx(rows, f"{op} {period}"))):
        write_to_outbox(settings, "cass", name, data)
    return {"operation": op, "period": period, "documents": len(rows)}

# --- disputes --------------------------------------------------------------------------------

def escalate_disputes(settings: Settings | None = None) -> dict[str, list[int]]:
    """The reference-sync DAG's daily task: disputes whose airline response deadline passed
    are ESCALATED to operators (``casslink disputes escalate``)."""
    from casslink.app.disputes.service import escalate_overdue

    settings = settings or get_settings()
    with engine_for(settings.db_url) as engine:
        ids = escalate_overdue(engine)
    if ids:
        log.warning("disputes escalated to operators: %s", ids)
    return {"escalated": ids}
