"""The functions the payments DAGs call (``dags/casslink_payments.py``,
``dags/casslink_statements.py``): each takes and returns small dicts (XCom carries ids, never
data) and is safe to retry."""

from __future__ import annotations

import datetime as dt
import logging
from pathlib import Path

from casslink.app.tasks import manual_period
from casslink.db.engine import engine_for
from casslink.reference import load_reference
from casslink.settings import Settings, get_settings

log = logging.getLogger(__name__)
STATEMENT_SUFFIXES = (".xml", ".camt", ".053", ".054")


def _terms(settings: Settings):
    from casslink.payments.terms import load_terms

    return load_terms(settings.fixtures_dir / "reference")


def periods_to_collect(day: dt.date, conf: dict | None = None,
                       settings: Settings | None = None) -> list[dict]:
    """The manual run's (operation, period), or every billed period whose remittance is
    being collected on ``day``: from its billing date to its remittance date plus grace."""
    settings = settings or get_settings()
    ref, terms = load_reference(settings), _terms(settings)
    if manual := manual_period(ref, conf or {}, day):
        return [{"operation": manual[0], "period": manual[1]}]
    items = []
    for (op, _), p in sorted(ref.periods.items()):
        if op not in terms.rules or p.status != "billed":
            continue
        grace = dt.timedelta(days=terms.rule(op).grace_days)
        if p.billing_date <= day <= p.remittance_date + grace:
            items.append({"operation": op, "period": p.period_id})
    log.info("payments on %s: %s", day, ", ".join(f"{i['operation']} {i['period']}"
                                                    for i in items) or "nothing to collect")
    return items


def collect(item: dict, day: dt.date, settings: Settings | None = None) -> dict:
    """Post the period's dues and write its direct debits (each remittance debited once)."""
    from casslink.payments.collect import collect as run

    settings = settings or get_settings()
    with engine_for(settings.db_url) as engine:
        r = run(settings, engine, _terms(settings), item["operation"], item["period"], day)
    log.info("%s %s: %d debits (%d minor units) in %s", r["operation"], r["period_id"],
             r["debits"], r["debited"], r["debit_files"] or "no file")
    return {"operation": r["operation"], "period": r["period_id"],
            "debit_files": r["debit_files"], "payout_file": r["payout"]["file"]}


def payout(item: dict, day: dt.date, settings: Settings | None = None) -> dict:
    """A payout round of what the statements show has cleared."""
    from casslink.payments.collect import payout as run

    settings = settings or get_settings()
    with engine_for(settings.db_url) as engine:
        r = run(settings, engine, _terms(settings), item["operation"], item["period"], day)
    log.info("%s %s payout: %s; held %s", item["operation"], item["period"], r["paid"],
             r["held"])
    return {"operation": item["operation"], "period": item["period"], "file": r["file"]}


def review_defaults(day: dt.date, settings: Settings | None = None) -> dict[str, dict]:
    """The daily irregularity sweep of every operation."""
    from casslink.db.engine import session_scope
    from casslink.payments import defaults
    from casslink.payments.statements import owed_airlines_reader

    settings = settings or get_settings()
    terms = _terms(settings)
    out = {}
    with engine_for(settings.db_url) as engine:
        notifier = defaults.Notifier(settings, owed_airlines_reader(engine))
        for op, rule in sorted(terms.rules.items()):
            with session_scope(engine) as s:
                out[op] = defaults.review(s, op, rule, day, notifier)
    return out


def statement_inbox(settings: Settings) -> Path:
    """Where the clearing banks' statements land: the CASS operator's SFTP inbox."""
    from casslink.outbox import home_of

    return home_of(settings, "cass") / "inbox"


def import_statements(paths: list[str] | None = None,
                      settings: Settings | None = None) -> list[dict]:
    """Import the given statement files, or every one in the operator's inbox; an imported
    file moves to ``payments/statements/`` (a second import of it would change nothing)."""
    from casslink.payments.statements import import_statement

    settings = settings or get_settings()
    terms = _terms(settings)
    files = [Path(p) for p in paths] if paths else sorted(
        p for p in statement_inbox(settings).iterdir()
        if p.is_file() and not p.name.startswith(".") and p.suffix.lower() in STATEMENT_SUFFIXES)
    done = []
    archive = settings.home / "payments" / "statements"
    archive.mkdir(parents=True, exist_ok=True)
    with engine_for(settings.db_url) as engine:
        for path in files:
            result = import_statement(settings, engine, path.read_bytes(), terms)
            if not paths:
                path.replace(archive / path.name)
            log.info("statement %s (%s): %s", result["statement_id"], path.name,
                     result["classifications"] if result["imported"] else "already imported")
            done.append({"statement_id": result["statement_id"], "file": path.name,
                         "imported": result["imported"]})
    return done
