"""``casslink validate``, ``casslink ingest`` and ``casslink files list``."""

from __future__ import annotations

import json
from pathlib import Path

import typer

from casslink.app.cli.database import migrated, opened
from casslink.app.cli.text import plural, table
from casslink.settings import get_settings

files_app = typer.Typer(help="The file registry: every file that landed and where it ended.",
                        no_args_is_help=True)

EXIT = {"accepted": 0, "rejected": 1, "accepted_with_rejections": 2}


def _participant(engine, code: str):
    from casslink.participants import UnknownParticipant, resolve

    try:
        return resolve(engine, code)
    except UnknownParticipant as exc:
        raise typer.BadParameter(str(exc), param_hint="--participant") from exc


def history_engine(settings):
    """The data root's database when it has one at the current schema (read only here), else
    None: ``casslink validate`` then skips the history checks."""
    from sqlalchemy import inspect
    from sqlalchemy.exc import SQLAlchemyError

    from casslink.db.engine import make_engine

    url = settings.db_url
    if url.startswith("sqlite:///") and not Path(url.removeprefix("sqlite:///")).is_file():
        return None
    engine = make_engine(url)
    try:
        with engine.connect() as conn:
            insp = inspect(conn)
            if insp.has_table("files") and "part_name" in {
                    c["name"] for c in insp.get_columns("files")}:
                return engine
    except SQLAlchemyError:
        pass
    engine.dispose()
    return None


def validate(
    file: Path = typer.Argument(..., exists=True, dir_okay=False, help="File to check."),
    operation: str = typer.Option("", "--operation",
                                  help="CASS operation, when the file's header has none."),
    participant: str = typer.Option("", "--participant",
                                    help="Check as sent by this airline (prefix or designator) "
                                         "or agent (11-digit code)."),
    as_json: bool = typer.Option(False, "--json", help="Machine-readable output."),
):
    """Validate a billing file with the ingest rules; nothing is stored or sent.

    Exit code: 0 accepted, 1 rejected, 2 accepted with rejected records.
    With a data root that has a database (CASSLINK_HOME), the history checks run too, reading
    only: duplicate files (HOT-E601/E602), AWBs billed before (HOT-E603), late files and the
    calendar's open periods. Without one, the output says they were not run.
    """
    import datetime as dt

    from casslink.app.ingest import validate_file
    from casslink.reference import load_reference
    from casslink.validators.context import ValidationContext

    settings = get_settings()
    ref = load_reference(settings)
    kind, code = "", ""
    if participant:
        a = ref.airline(participant)
        if a is not None:
            kind, code = "airline", a.prefix
        elif participant in ref.agents:
            kind, code = "agent", participant
        else:
            raise typer.BadParameter(f"unknown participant {participant!r}",
                                     param_hint="--participant")
    engine = history_engine(settings)
    ctx = ValidationContext(reference=ref, sender_kind=kind, sender_code=code,
                            operation=operation.upper(),
                            received_on=dt.datetime.now(dt.UTC).date() if engine is not None
                            else None)
    try:
        report = validate_file(settings, file, ctx, engine)
    finally:
        if engine is not None:
            engine.dispose()
    batch, verdict = report.batch, report.verdict
    history = ("run against the data root's registry (read only)" if report.history_checked
               else "NOT run - no data root with a database (duplicates of earlier files and "
               "AWBs billed before are checked at ingest)")
    if as_json:
        typer.echo(json.dumps({"file": str(file), "verdict": verdict.verdict,
                               "family": batch.header.family, "operation": verdict.operation,
                               "period": verdict.period_id, "billed_period": report.billed_period,
                               "late": report.late, "history_checked": report.history_checked,
                               "counts": verdict.counts,
                               "findings": [f.as_dict() for f in verdict.findings]}, indent=2))
    else:
        from casslink.validators.ack import render_text

        info = {"name": file.name, "file_id": 0, "size": report.size, "sha256": report.sha256,
                "received": "(check only)", "channel": "offline", "sender": code or "-",
                "family": batch.header.family, "operation": verdict.operation,
                "period": verdict.period_id, "late": report.late,
                "billed_period": report.billed_period}
        typer.echo(render_text(info, verdict).decode())
        typer.echo(f"History checks: {history}")
    raise typer.Exit(EXIT[verdict.verdict])


def ingest(
    file: Path | None = typer.Argument(None, exists=True, dir_okay=False,
                                       help="File to ingest."),
    participant: str = typer.Option("", "--participant",
                                    help="Sender: airline prefix or designator, or agent code."),
    sandbox: bool = typer.Option(False, "--sandbox",
                                 help="Validate and acknowledge only; never billed."),
    pending: bool = typer.Option(False, "--pending",
                                 help="Instead of FILE: ingest every landed file not yet "
                                      "processed (the sweep's work, without Airflow)."),
    min_age: float = typer.Option(20.0, "--min-age", help="With --pending: only files landed "
                                  "at least this many seconds ago (younger ones are being "
                                  "ingested by the pipeline)."),
    as_json: bool = typer.Option(False, "--json", help="Machine-readable output."),
):
    """Ingest a file received by another channel, exactly as the ingest DAG does: land and
    register it, parse, validate, store accepted records, acknowledge to the sender's outbox,
    archive or quarantine. Exit code: 0 accepted, 1 rejected, 2 accepted with rejections.

    ``--pending`` drains the queue by hand: every landed file, through the same function.
    Exit code 0, or 3 when a file could not be processed (a technical failure)."""
    if pending:
        if file is not None or participant:
            raise typer.BadParameter("--pending takes no FILE and no --participant")
        _ingest_pending(min_age, as_json)
        return
    if file is None or not participant:
        raise typer.BadParameter("give FILE and --participant (or --pending)")
    from casslink.app.ingest import land_and_ingest

    with opened() as (settings, engine):
        who = _participant(engine, participant)
        result = land_and_ingest(settings, engine, file, who, sandbox=sandbox)
    if as_json:
        typer.echo(json.dumps(result.as_dict(), indent=2))
    else:
        typer.echo(f"file {result.file_id}: {result.verdict} ({result.state}); "
                   f"{result.counts.get('accepted', 0)} of {result.counts.get('records', 0)} "
                   f"records accepted; problems: {', '.join(result.codes) or 'none'}"
                   + (f"; LATE, billed in period {result.billed_period_id}"
                      if result.late else ""))
        for path in result.acks:
            typer.echo(f"ack   {path}")
    raise typer.Exit(EXIT.get(result.verdict, 1))


def _ingest_pending(min_age: float, as_json: bool) -> None:
    from casslink.app.tasks import drain

    out = drain(min_age, migrated())
    if as_json:
        typer.echo(json.dumps(out, indent=2))
    else:
        for f in out["files"]:
            typer.echo(f"{f['file_id']:>6}  {f['verdict']:<24} {f['participant']:<11} "
                       f"{f['name']}")
        for f in out["failed"]:
            typer.echo(f"{f['file_id']:>6}  {'FAILED':<24} {f['error']}")
        verdicts = [f["verdict"] for f in out["files"]]
        summary = ", ".join(f"{verdicts.count(v)} {v}" for v in EXIT if v in verdicts)
        typer.echo(f"{len(out['files'])} files ingested" + (f" ({summary})" if summary else "")
                   + f"; {len(out['failed'])} failed"
                   + (f"; {out['left_younger']} landed less than {min_age:g} s ago left for "
                      "the pipeline (--min-age 0 takes them too)" if out["left_younger"]
                      else ""))
    raise typer.Exit(3 if out["failed"] else 0)


@files_app.command("list")
def files_list(
    participant: str = typer.Option("", "--participant", help="Only this participant's files."),
    as_json: bool = typer.Option(False, "--json", help="Machine-readable output."),
):
    """List the registry: id, participant, name, size, sha256, landed time, channel, state
    and verdict, with a header line; then the count of files per verdict (rejected files
    counted on their own)."""
    from casslink import registry
    from casslink.participants import by_id

    with opened() as (_, engine):
        pid = _participant(engine, participant).id if participant else None
        rows = registry.rows(engine, pid)
        codes = {r.participant_id: by_id(engine, r.participant_id).code
                 for r in rows if r.participant_id}
    out = [{"id": r.id, "participant": codes.get(r.participant_id, ""), "user": r.user_login,
            "name": r.original_name, "size": r.size, "sha256": r.sha256,
            "landed_at": r.landed_at.isoformat(), "channel": r.channel, "state": r.state,
            "verdict": r.verdict, "operation": r.operation_code, "period": r.period_id,
            "billed_period": r.billed_period_id} for r in rows]
    if as_json:
        typer.echo(json.dumps(out, indent=2))
        return
    for line in table(
            ("ID", "PARTICIPANT", "NAME", "SIZE", "SHA256", "LANDED (UTC)", "CHANNEL", "STATE",
             "VERDICT"),
            ([r["id"], r["participant"], r["name"][:40], r["size"], r["sha256"][:12],
              r["landed_at"][:19], r["channel"], r["state"], r["verdict"] or ""]
             for r in out), right=(0, 3)):
        typer.echo(line)
    typer.echo(verdict_summary(out))


def verdict_summary(files: list[dict]) -> str:
    """``12 files: 9 accepted, 1 accepted with rejections, 2 rejected, 0 not yet ingested``:
    a rejected file is a business outcome counted on its own, not a failure."""
    counts = dict.fromkeys(("accepted", "accepted_with_rejections", "rejected"), 0)
    for f in files:
        counts[f["verdict"] or ""] = counts.get(f["verdict"] or "", 0) + 1
    pending = counts.pop("", 0)
    return (f"{plural(len(files), 'file')}: "
            + ", ".join(f"{n} {v.replace('_', ' ')}" for v, n in counts.items())
            + f", {pending} not yet ingested")
