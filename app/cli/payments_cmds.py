"""``casslink payments ...`` (collect, payout, reference, import, match, show, review,
reinstate) and ``casslink agents status``."""

from __future__ import annotations

import datetime as dt
import json
from pathlib import Path
from typing import NoReturn

import typer

from casslink.app.cli.database import opened
from casslink.app.cli.text import table
from casslink.money import format_amount

payments_app = typer.Typer(help="Payments: collect remittances, import bank statements, pay "
                                "airlines from cleared funds.", no_args_is_help=True)
agents_app = typer.Typer(help="Agents: payment status (ACTIVE, DEFAULTED, REINSTATED).",
                         no_args_is_help=True)

OPERATION = typer.Option(..., "--operation", help="CASS operation (DE, IN, US).")
PERIOD = typer.Option(..., "--period", help="Period id (2026-11) or any date inside it.")
JSON = typer.Option(False, "--json", help="Machine-readable output.")
TODAY = typer.Option(None, "--date", help="The business date (default: today, UTC).")


def _terms(settings):
    from casslink.payments.terms import load_terms

    return load_terms(settings.fixtures_dir / "reference")


def _day(text: str | None) -> dt.date:
    return dt.date.fromisoformat(text) if text else dt.datetime.now(dt.UTC).date()


def _fail(exc: Exception) -> NoReturn:
    typer.echo(f"error: {exc}", err=True)
    raise typer.Exit(1)


def _period_run(run, operation: str, period: str, day: str | None, out: Path | None) -> dict:
    """``run`` (collect or payout) for the operation's period on ``day``, its files into
    ``out``; a refusal is the command's error."""
    with opened() as (settings, engine):
        try:
            return run(settings, engine, _terms(settings), operation.upper(), period, _day(day),
                       out)
        except (ValueError, RuntimeError) as exc:
            _fail(exc)


@payments_app.command("collect")
def collect(operation: str = OPERATION, period: str = PERIOD,
            out: Path | None = typer.Option(None, "--out", help="Folder for the files "
                                            "(default: the operator folder of the period)."),
            day: str | None = TODAY, as_json: bool = JSON):
    """Post the period's dues, pay from wallets, write the direct debits (pain.008) and pay
    out what has cleared (pain.001). A remittance is debited once."""
    from casslink.payments.collect import collect as run

    r = _period_run(run, operation, period, day, out)
    if as_json:
        typer.echo(json.dumps(r, indent=2, default=str))
        return
    typer.echo(f"{r['operation']} {r['period_id']}: {r['debits']} direct debits, "
               f"{format_amount(r['debited'], r['currency'])} {r['currency']}")
    for f in [*r["debit_files"], *([r["payout"]["file"]] if r["payout"]["file"] else [])]:
        typer.echo(f"  {f}")
    if r["no_bank_details"]:
        typer.echo(f"  no bank details (not debited): {', '.join(r['no_bank_details'])}")


@payments_app.command("payout")
def payout(operation: str = OPERATION, period: str = PERIOD,
           out: Path | None = typer.Option(None, "--out", help="Folder for the pain.001."),
           day: str | None = TODAY, as_json: bool = JSON):
    """A payout round: pay airlines, withheld tax and agents' credits from cleared funds."""
    from casslink.payments.collect import payout as run

    r = _period_run(run, operation, period, day, out)
    typer.echo(json.dumps(r, indent=2) if as_json else
               f"paid {r['paid']}; held {r['held']}; file {r['file']}")


@payments_app.command("reference")
def reference(agent: str = typer.Option(..., "--agent", help="11-digit agent code."),
              operation: str = OPERATION, period: str = PERIOD):
    """Print the agent's unique payment reference for the period (ISO 11649 RF)."""
    from casslink.payments.references import remittance_reference
    from casslink.reference import load_reference
    from casslink.settings import get_settings

    ref = load_reference(get_settings())
    p = ref.resolve_period(operation.upper(), period)
    if p is None or agent not in ref.agents:
        _fail(ValueError(f"unknown period {period} or agent {agent}"))
    typer.echo(remittance_reference(operation.upper(), p.period_id, agent))


@payments_app.command("import")
def import_file(file: Path = typer.Argument(..., exists=True, dir_okay=False,
                                            help="camt.053 or camt.054 XML."),
                as_json: bool = JSON):
    """Import a bank statement of a hinge account (idempotent per statement id)."""
    from casslink.payments.statements import import_statement

    with opened() as (settings, engine):
        try:
            r = import_statement(settings, engine, file.read_bytes(), _terms(settings))
        except (ValueError, RuntimeError) as exc:
            _fail(exc)
    if as_json:
        typer.echo(json.dumps(r, indent=2))
    elif not r["imported"]:
        typer.echo(f"statement {r['statement_id']} was imported before: nothing changed")
    else:
        typer.echo(f"statement {r['statement_id']} ({r['message']}, {r['operation']}): "
                   + ", ".join(f"{n} {k}" for k, n in sorted(r["classifications"].items())))


@payments_app.command("match")
def match(entry: int = typer.Option(..., "--entry", help="Id of an UNMATCHED entry."),
          reference: str = typer.Option(..., "--reference", help="The remittance's RF."),
          actor: str = typer.Option(..., "--by", help="The operator (audited)."),
          reason: str = typer.Option("", "--reason", help="Why (audited).")):
    """Match an unmatched statement entry to a remittance by hand (audited)."""
    from casslink.payments.statements import match_entry

    with opened() as (settings, engine):
        try:
            typer.echo(match_entry(settings, engine, _terms(settings), entry, reference, actor,
                                   reason))
        except (ValueError, RuntimeError) as exc:
            _fail(exc)


@payments_app.command("show")
def show(operation: str = OPERATION, period: str = PERIOD, as_json: bool = JSON):
    """Each agent's due, paid and status; each payee's due, paid out and held."""
    from casslink.payments.show import AGENT_COLUMNS, PAYEE_COLUMNS
    from casslink.payments.show import show as run
    from casslink.reference import load_reference

    with opened() as (settings, engine):
        p = load_reference(settings).resolve_period(operation.upper(), period)
        try:
            r = run(engine, operation.upper(), p.period_id if p else period)
        except (ValueError, RuntimeError) as exc:
            _fail(exc)
    if as_json:
        typer.echo(json.dumps(r, indent=2))
        return
    ccy = r["currency"]
    money = {"due", "paid", "outstanding", "paid_out", "held"}

    def cells(row, cols):
        return [format_amount(row[c], ccy) if c in money else row[c] for c in cols]
    for line in table(AGENT_COLUMNS, (cells(a, AGENT_COLUMNS) for a in r["agents"]),
                      right=(3, 4, 5)):
        typer.echo(line)
    typer.echo("")
    for line in table(PAYEE_COLUMNS, (cells(a, PAYEE_COLUMNS) for a in r["payees"]),
                      right=(1, 2, 3)):
        typer.echo(line)
    typer.echo(f"\nhinge {format_amount(r['hinge'], ccy)} {ccy}")


@payments_app.command("review")
def review(day: str | None = TODAY, as_json: bool = JSON):
    """The irregularity sweep: unpaid remittances past grace, uncured notices -> default."""
    from casslink.app.payment_tasks import review_defaults

    with opened() as (settings, _engine):
        r = review_defaults(_day(day), settings)
    typer.echo(json.dumps(r, indent=2) if as_json else
               "\n".join(f"{op}: {v['raised']} raised, {v['defaulted']} defaulted"
                         for op, v in r.items()))


@payments_app.command("reinstate")
def reinstate(agent: str = typer.Option(..., "--agent"), operation: str = OPERATION,
              actor: str = typer.Option(..., "--by", help="The operator (audited)."),
              reason: str = typer.Option(..., "--reason")):
    """Reinstate a defaulted agent that owes nothing (the operator's decision, audited)."""
    from casslink.db.engine import session_scope
    from casslink.payments import defaults

    with opened() as (_settings, engine):
        try:
            with session_scope(engine) as s:
                defaults.reinstate(s, operation.upper(), agent, actor, reason)
        except ValueError as exc:
            _fail(exc)
    typer.echo(f"{agent}: REINSTATED")


@agents_app.command("status")
def status(code: str = typer.Argument(..., help="11-digit agent code."), as_json: bool = JSON):
    """The agent's payment status per operation, its transitions and irregularities."""
    from casslink.payments.defaults import agent_status

    with opened() as (_settings, engine):
        r = agent_status(engine, code)
    if as_json:
        typer.echo(json.dumps(r, indent=2))
        return
    for op, st in r["status"].items():
        typer.echo(f"{code} {op}: {st}")
    for line in table(("operation", "period_id", "kind", "raised_on", "cure_by", "cured_on"),
                      ([i["operation"], i["period_id"], i["kind"], i["raised_on"], i["cure_by"],
                        i["cured_on"] or ""] for i in r["irregularities"])):
        typer.echo(line)
    for e in r["events"]:
        typer.echo(f"{e['at']} {e['action']} {e['from_status']}->{e['to_status']} "
                   f"by {e['actor']}: {e['reason']}")
