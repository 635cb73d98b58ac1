"""``casslink calendar show|extend|correct``: the published CASS calendars and their rules."""

from __future__ import annotations

import datetime as dt
import json

import typer

from casslink import calendars
from casslink.app.cli.database import opened
from casslink.settings import get_settings

calendar_app = typer.Typer(help="CASS calendars: billing periods published from rules "
                                "(docs/calendars.md).", no_args_is_help=True)


def _date(value: str, option: str) -> dt.date | None:
    if not value:
        return None
    try:
        return dt.date.fromisoformat(value)
    except ValueError as exc:
        raise typer.BadParameter(f"{value!r} is not a date (YYYY-MM-DD)",
                                 param_hint=option) from exc


def _period_dict(p: calendars.PeriodInfo) -> dict:
    return {"period": p.period_id, "start": p.start_date.isoformat(),
            "end": p.end_date.isoformat(), "correction_cutoff": p.correction_cutoff.isoformat(),
            "billing_date": p.billing_date.isoformat(),
            "remittance_date": p.remittance_date.isoformat(), "status": p.status,
            "source": p.source, "note": p.note}


def _rule_text(r: calendars.CalendarRule) -> str:
    return (f"from {r.valid_from}: {r.frequency}; cut-off +{r.cutoff_days}, billing "
            f"+{r.billing_days}, remittance +{r.remittance_days} days after the period end; "
            f"weekend {calendars.format_weekend(r.weekend)}; public holidays "
            f"{r.holidays or 'none'}{'-' + r.holiday_subdivision if r.holiday_subdivision else ''}")


@calendar_app.command("show")
def show(
    operation: str = typer.Option(..., "--operation", help="CASS operation, e.g. DE."),
    as_json: bool = typer.Option(False, "--json", help="Machine-readable output."),
):
    """The operation's published calendar (project database, else the fixtures), its rules and
    how many days of it remain."""
    from casslink.reference import load_reference

    ref = load_reference(get_settings())
    op = operation.upper()
    if op not in ref.operations:
        raise typer.BadParameter(f"unknown operation {operation!r}", param_hint="--operation")
    today = calendars.today()
    end = ref.calendar_end(op)
    periods = ref.periods_of(op)
    alerts = [a for a in calendars.coverage_alerts(ref, today) if a.startswith(f"{op}:")]
    if as_json:
        typer.echo(json.dumps({
            "operation": op, "today": today.isoformat(),
            "calendar_end": end.isoformat() if end else None,
            "days_left": (end - today).days if end else None, "alerts": alerts,
            "rules": [calendars.rule_to_row(r) for r in ref.rules.get(op, ())],
            "periods": [_period_dict(p) for p in periods]}, indent=2))
        return
    typer.echo(f"{op} {ref.operations[op].name}: published through {end or '-'}"
               + (f" ({(end - today).days} days from {today})" if end else ""))
    for r in ref.rules.get(op, ()):
        typer.echo(f"rule     {_rule_text(r)}")
    typer.echo(f"{'period':10} {'start':10} {'end':10} {'cut-off':10} {'billing':10} "
               f"{'remittance':10} {'status':6} {'source':9} note")
    for p in periods:
        typer.echo(f"{p.period_id:10} {p.start_date} {p.end_date} {p.correction_cutoff} "
                   f"{p.billing_date} {p.remittance_date} {p.status:6} {p.source:9} "
                   f"{p.note}".rstrip())
    for a in alerts:
        typer.echo(f"WARNING  {a}", err=True)


@calendar_app.command("extend")
def extend(
    months: int = typer.Option(calendars.HORIZON_MONTHS, "--months", min=1, max=120,
                               help="Publish periods through this many months from today."),
):
    """Publish every operation's calendar from its rules through MONTHS ahead (adds missing
    periods; corrected, published and billed periods stay as they are)."""
    with opened() as (_, engine):
        result = calendars.extend(engine, calendars.today(), months)
    if not result:
        typer.echo("no calendar rules in the project database: run `casslink reference load`",
                   err=True)
        raise typer.Exit(1)
    for op, ext in result.items():
        typer.echo(f"{op}: {ext.added} periods added, {ext.updated} updated; published "
                   f"through {ext.calendar_end}")
        for text in ext.conflicts:
            typer.echo(f"WARNING  {text}", err=True)
    if any(ext.conflicts for ext in result.values()):
        raise typer.Exit(1)


@calendar_app.command("correct")
def correct(
    operation: str = typer.Option(..., "--operation", help="CASS operation, e.g. DE."),
    period: str = typer.Option(..., "--period", help="Period id, e.g. 2026-11."),
    note: str = typer.Option(..., "--note", help="Why (kept with the period)."),
    cutoff: str = typer.Option("", "--cutoff", help="New correction cut-off (YYYY-MM-DD)."),
    billing_date: str = typer.Option("", "--billing-date", help="New billing date."),
    remittance_date: str = typer.Option("", "--remittance-date", help="New remittance date."),
):
    """Correct a published period's dates. The period is marked corrected: regeneration and
    `reference load` never overwrite it."""
    from casslink.reference import ReferenceData

    dates = {"cutoff": _date(cutoff, "--cutoff"),
             "billing": _date(billing_date, "--billing-date"),
             "remittance": _date(remittance_date, "--remittance-date")}
    if not any(dates.values()):
        raise typer.BadParameter("give at least one of --cutoff, --billing-date, "
                                 "--remittance-date")
    with opened() as (_, engine):
        try:
            p = calendars.correct(engine, operation, period, note, **dates)
            rules = ReferenceData.from_db(engine).rules.get(p.operation, ())
        except calendars.CalendarError as exc:
            typer.echo(f"error: {exc}", err=True)
            raise typer.Exit(1) from None
    typer.echo(f"{p.operation} {p.period_id} corrected: cut-off {p.correction_cutoff}, billing "
               f"{p.billing_date}, remittance {p.remittance_date} ({p.note})")
    for w in calendars.non_business_dates(p, rules):
        typer.echo(f"WARNING  {p.operation} {p.period_id}: {w}", err=True)
