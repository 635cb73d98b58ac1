"""``casslink disputes raise|list|show|decide|withdraw|comment|escalate|adjust``.

``--as LOGIN`` acts as that portal user with their rights checked; without it the command
acts as an operator.
"""

from __future__ import annotations

import datetime as dt
import json

import typer

from casslink.app.cli.database import opened

disputes_app = typer.Typer(help="Online corrections and disputes (docs/disputes.md).",
                           no_args_is_help=True)

AS = typer.Option(None, "--as", help="Act as this portal user (their rights are checked).")
JSON = typer.Option(False, "--json", help="Machine-readable output.")
TODAY = typer.Option(None, "--today", help="The calendar day to apply (default: today).")


def _day(text: str | None) -> dt.date | None:
    return dt.date.fromisoformat(text) if text else None


def _fail(exc: Exception) -> None:
    typer.echo(f"error: {exc}", err=True)
    raise typer.Exit(2 if isinstance(exc, PermissionError | LookupError) else 1)


def _errors():
    from casslink.app.disputes.adjust import AdjustmentFailed
    from casslink.app.disputes.deadlines import NoPeriodToAdjust
    from casslink.app.disputes.service import DisputeError, NotFound
    from casslink.app.disputes.states import IllegalTransition

    return (DisputeError, NotFound, IllegalTransition, PermissionError, AdjustmentFailed,
            NoPeriodToAdjust)


def _print(d: dict, as_json: bool) -> None:
    if as_json:
        typer.echo(json.dumps(d, indent=2, default=str))
        return
    typer.echo(f"dispute {d['id']} {d['status']} {d['kind']} {d['operation']} {d['period']} "
               f"agent {d['agent']} AWB {d['awb']} {d['reason']} claims {d['claimed']} "
               f"{d['currency']}" + (f" {d['instrument']} {d['dcm_number']} in {d['adjust_period']}"
                                     if d.get("dcm_number") else ""))
    for e in d.get("history", []):
        typer.echo(f"  {e['at'][:19]} {e['actor']:12} {e['action']:18} "
                   f"{e['to'] or ''} {json.dumps(e['detail'], sort_keys=True)}")


@disputes_app.command("raise")
def raise_cmd(agent: str = typer.Option(..., "--agent", help="Agent code (11 digits)."),
              airline: str = typer.Option(..., "--airline", help="Airline prefix."),
              awb: str = typer.Option(..., "--awb", help="AWB as 020-12345675."),
              reason: str = typer.Option(..., "--reason", help="Reason code."),
              amount: str = typer.Option(None, "--amount",
                                         help="Credit claimed, in the settlement currency."),
              component: str = typer.Option(None, "--component",
                                            help="Component credited (default: the reason's)."),
              remove: bool = typer.Option(False, "--remove", help="Remove the whole AWB."),
              text: str = typer.Option("", "--text", help="Free text."),
              correction: str = typer.Option(None, "--correction",
                                             help="The billed CCA/DCM number disputed."),
              as_login: str = AS, today: str = TODAY, as_json: bool = JSON):
    """Raise a dispute on a billed AWB; prints its id."""
    from casslink.app.disputes import service

    with opened() as (settings, engine):
        try:
            actor = service.actor_for(engine, as_login)
            new_id = service.raise_dispute(
                settings, engine, actor, agent=agent, airline=airline, awb=awb, reason=reason,
                amount=amount, component=component, remove=remove, text=text,
                correction_number=correction, today=_day(today))
            out = service.show(engine, actor, new_id)
        except _errors() as exc:
            _fail(exc)
    typer.echo(json.dumps(out, indent=2, default=str) if as_json else str(new_id))


@disputes_app.command("list")
def list_cmd(status: str = typer.Option(None, "--status"),
             agent: str = typer.Option(None, "--agent"),
             airline: str = typer.Option(None, "--airline"),
             operation: str = typer.Option(None, "--operation"),
             as_login: str = AS, as_json: bool = JSON):
    """The disputes you may see."""
    from casslink.app.disputes import service

    with opened() as (_, engine):
        try:
            rows = service.list_disputes(engine, service.actor_for(engine, as_login),
                                         status=status, agent=agent, airline=airline,
                                         operation=operation)
        except _errors() as exc:
            _fail(exc)
    if as_json:
        typer.echo(json.dumps(rows, indent=2, default=str))
        return
    for d in rows:
        _print(d, False)


@disputes_app.command("show")
def show_cmd(dispute_id: int = typer.Argument(...), as_login: str = AS,
             as_json: bool = JSON):
    """One dispute with its history."""
    from casslink.app.disputes import service

    with opened() as (_, engine):
        try:
            out = service.show(engine, service.actor_for(engine, as_login), dispute_id)
        except _errors() as exc:
            _fail(exc)
    _print(out, as_json)


@disputes_app.command("decide")
def decide_cmd(dispute_id: int = typer.Argument(...),
               accept: bool = typer.Option(False, "--accept"),
               reject: bool = typer.Option(False, "--reject"),
               amount: str = typer.Option(None, "--amount", help="Accept only this much."),
               text: str = typer.Option("", "--text"),
               as_login: str = AS, today: str = TODAY, as_json: bool = JSON):
    """Accept (fully or --amount) or reject; an acceptance bills the airline's CCA or DCM."""
    from casslink.app.disputes import service

    if accept == reject:
        _fail(service.DisputeError("give exactly one of --accept and --reject"))
    with opened() as (settings, engine):
        try:
            out = service.decide(settings, engine, service.actor_for(engine, as_login),
                                 dispute_id, accept=accept, amount=amount, text=text,
                                 today=_day(today))
        except _errors() as exc:
            _fail(exc)
    _print(out, as_json)


@disputes_app.command("withdraw")
def withdraw_cmd(dispute_id: int = typer.Argument(...), text: str = typer.Option("", "--text"),
                 as_login: str = AS, as_json: bool = JSON):
    """The agent withdraws an undecided dispute."""
    from casslink.app.disputes import service

    with opened() as (_, engine):
        try:
            out = service.withdraw(engine, service.actor_for(engine, as_login), dispute_id,
                                   text)
        except _errors() as exc:
            _fail(exc)
    _print(out, as_json)


@disputes_app.command("comment")
def comment_cmd(dispute_id: int = typer.Argument(...),
                text: str = typer.Option(..., "--text"), as_login: str = AS,
                as_json: bool = JSON):
    """Add a comment to the dispute's thread."""
    from casslink.app.disputes import service

    with opened() as (_, engine):
        try:
            out = service.comment(engine, service.actor_for(engine, as_login), dispute_id,
                                  text)
        except _errors() as exc:
            _fail(exc)
    _print(out, as_json)


@disputes_app.command("escalate")
def escalate_cmd(today: str = TODAY, as_json: bool = JSON):
    """Escalate disputes whose response deadline passed (the daily job runs this)."""
    from casslink.app.disputes import service

    with opened() as (_, engine):
        ids = service.escalate_overdue(engine, _day(today))
    typer.echo(json.dumps(ids) if as_json else f"escalated {len(ids)}: {ids}")


@disputes_app.command("adjust")
def adjust_cmd(as_json: bool = JSON):
    """Bill the CCA or DCM of every accepted dispute not billed yet (after a crash)."""
    from casslink.app.disputes.adjust import adjust, pending

    done, failed = [], {}
    with opened() as (settings, engine):
        for dispute_id in pending(engine):
            try:
                adjust(settings, engine, dispute_id)
                done.append(dispute_id)
            except _errors() as exc:
                failed[dispute_id] = str(exc)
    out = {"adjusted": done, "failed": failed}
    typer.echo(json.dumps(out) if as_json else f"adjusted {done}; failed {failed}")
    if failed:
        raise typer.Exit(1)


@disputes_app.command("report")
def report_cmd(operation: str = typer.Option(..., "--operation"),
               period: str = typer.Option(..., "--period"), as_json: bool = JSON):
    """Write each party's dispute report of the period (CSV and Excel) into its outbox."""
    from casslink.app.disputes.report import write_reports
    from casslink.reference import load_reference

    with opened() as (settings, engine):
        ref = load_reference(settings)
        op = operation.upper()
        if op not in ref.operations:
            _fail(LookupError(f"unknown operation {operation!r}"))
        out = write_reports(settings, engine, op, period, ref.operations[op].settlement_currency)
    files = {k: [str(p) for p in v] for k, v in out.items()}
    typer.echo(json.dumps(files, indent=2) if as_json else
               "\n".join(f"{k}: {', '.join(v)}" for k, v in files.items()))
