"""``casslink tax``: tax rules (load, list) and the tax report of a settled period."""

from __future__ import annotations

import json
from pathlib import Path

import typer

from casslink.app.cli.database import opened
from casslink.app.cli.text import table
from casslink.money import format_amount

tax_app = typer.Typer(help="Tax rules per operation and the tax report of a period.",
                      no_args_is_help=True)
rules_app = typer.Typer(help="Effective-dated tax rules (reference data).", no_args_is_help=True)
tax_app.add_typer(rules_app, name="rules")


@rules_app.command("load")
def load(
    file: Path = typer.Argument(..., exists=True, dir_okay=False, help="Rules CSV file."),
    as_json: bool = typer.Option(False, "--json", help="Machine-readable output."),
):
    """Replace the rule set of every operation FILE names (a new version each). Every row is
    checked first; one bad row refuses the whole file, each problem with its line. Columns:
    operation,code,name,side,base,rate_bp,applies_to,valid_from,valid_to,rounding,mode."""
    from casslink.reference import load_reference
    from casslink.tax_rules import TaxRulesError, parse_rules, store_rules

    with opened() as (settings, engine):
        try:
            rules = parse_rules(file.read_text(encoding="utf-8"),
                                load_reference(settings).operations)
        except (TaxRulesError, UnicodeDecodeError) as exc:
            errors = getattr(exc, "errors", [str(exc)])
            if as_json:
                typer.echo(json.dumps({"loaded": False, "errors": errors}, indent=2))
            else:
                typer.echo(f"{file.name} refused, nothing loaded:", err=True)
                for e in errors:
                    typer.echo(f"  {e}", err=True)
            raise typer.Exit(1) from exc
        versions = store_rules(engine, rules, str(file))
    if as_json:
        typer.echo(json.dumps({"loaded": True, "rules": len(rules), "versions": versions},
                              indent=2))
        return
    for op, version in versions.items():
        n = sum(1 for r in rules if r.operation == op)
        typer.echo(f"{op}: {n} rule{'s' if n != 1 else ''} loaded as version {version}")


@rules_app.command("list")
def list_rules(
    operation: str = typer.Option(..., "--operation", help="CASS operation (DE, IN, ...)."),
    as_json: bool = typer.Option(False, "--json", help="Machine-readable output."),
):
    """The operation's rules in force (its latest version), oldest first per code."""
    from casslink.reference import load_reference

    with opened() as (settings, _):
        ref = load_reference(settings)
    op = operation.upper()
    if op not in ref.operations:
        raise typer.BadParameter(f"unknown operation {operation!r}", param_hint="--operation")
    rules = ref.tax_rules.get(op, ())
    if as_json:
        typer.echo(json.dumps([r.as_dict() for r in rules], indent=2))
        return
    if not rules:
        typer.echo(f"{op}: no tax rules (the files' tax figures stand)")
        return
    typer.echo(f"{op}: rule set version {rules[0].version}")
    for line in table(("code", "side", "base", "rate %", "applies to", "from", "to",
                       "rounding", "mode", "name"),
                      ((r.code, r.side, "+".join(r.base), format_amount(r.rate_bp, "EUR"),
                        r.applies_to, r.valid_from, r.valid_to or "", r.rounding, r.mode,
                        r.name) for r in rules), right=(3,)):
        typer.echo(f"  {line}")


@tax_app.command("report")
def report(
    operation: str = typer.Option(..., "--operation", help="CASS operation."),
    period: str = typer.Option(..., "--period", help="Period id or a date inside it."),
    as_json: bool = typer.Option(False, "--json", help="Machine-readable output."),
):
    """The tax report of the period's latest settlement: per tax code and rate, base and
    tax; per airline; per agent (amounts in the settlement currency)."""
    from casslink.app.cli.settle_cmds import _period_id
    from casslink.outputs.excel import labels
    from casslink.outputs.tax_report import SECTIONS, SHEET_TITLES
    from casslink.outputs.tax_report import report as make_report
    from casslink.settlement.run import LedgerTables, SettlementError, latest_run

    with opened() as (settings, engine):
        try:
            pid = _period_id(settings, operation, period)
            _, folder = latest_run(engine, operation.upper(), pid)
        except SettlementError as exc:
            raise typer.BadParameter(str(exc)) from exc
    manifest = json.loads((folder / "manifest.json").read_text())
    cur = manifest["settlement_currency"]
    data = make_report(LedgerTables(folder)["tax"], operation.upper(), pid, cur)
    if as_json:
        typer.echo(json.dumps(data, indent=2))
        return
    typer.echo(f"Tax report {data['operation']} {pid} ({cur})")
    L = labels()
    for section, columns in SECTIONS.items():
        typer.echo(f"{L[SHEET_TITLES[section]]}:")
        rows = data["sections"][section]
        if not rows:
            typer.echo("  (no tax)")
            continue
        shown = [[format_amount(r[c.name], cur) if c.kind == "money" else
                  format_amount(r[c.name], "EUR") if c.kind == "rate" else r[c.name]
                  for c in columns] for r in rows]
        right = [i for i, c in enumerate(columns) if c.kind != "text"]
        for line in table([L[c.label] for c in columns], shown, right=right):
            typer.echo(f"  {line}")
