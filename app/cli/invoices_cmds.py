"""``casslink invoices``: issue, list, show and deliver the legal documents of a period."""

from __future__ import annotations

import json
from pathlib import Path

import typer

from casslink.app.cli.database import opened
from casslink.money import format_amount

invoices_app = typer.Typer(help="Legal invoices and credit notes of settled periods.",
                           no_args_is_help=True)

OPERATION = typer.Option(..., "--operation", help="CASS operation (DE, IN, US).")
PERIOD = typer.Option(..., "--period", help="Period id (2026-11) or any date inside it.")


def _period_id(settings, operation: str, period: str) -> str:
    from casslink.reference import load_reference
    from casslink.settlement.run import SettlementError, resolve_period

    try:
        return resolve_period(load_reference(settings), operation.upper(), period).period_id
    except SettlementError as exc:
        raise typer.BadParameter(str(exc)) from exc


@invoices_app.command("issue")
def issue(operation: str = OPERATION, period: str = PERIOD,
          preview: bool = typer.Option(False, "--preview",
                                       help="Build the documents and show them; issue "
                                            "nothing (no number is taken)."),
          deliver: bool = typer.Option(True, "--deliver/--no-deliver",
                                       help="Render and deliver them to the outboxes."),
          as_json: bool = typer.Option(False, "--json", help="Machine-readable output.")):
    """Issue the documents of a settled period: number new ones, keep unchanged ones, cancel
    changed ones with credit notes referencing them (re-bill). Exit code 1 on failure."""
    from casslink.outputs.invoices.deliver import chunks, deliver_chunk
    from casslink.outputs.invoices.documents import InvoiceError
    from casslink.outputs.invoices.issue import issue_period
    from casslink.settlement.run import SettlementError

    with opened() as (settings, engine):
        try:
            result = issue_period(settings, engine, operation, period, preview=preview)
        except (InvoiceError, SettlementError) as exc:
            typer.echo(f"invoices failed: {exc}", err=True)
            raise typer.Exit(1) from exc
        delivered = []
        if deliver and not preview:
            for chunk in chunks(engine, result.operation, result.period_id):
                delivered.extend(deliver_chunk(settings, engine, chunk))
    data = result.as_dict() | {"delivered": len(delivered)}
    if as_json:
        typer.echo(json.dumps(data, indent=2))
        return
    if preview:
        typer.echo(f"PREVIEW {result.operation} {result.period_id}: "
                   f"{len(result.documents)} documents would be issued; nothing issued")
        for d in result.documents:
            typer.echo(f"  {d.type_code} {d.agent_code}/{d.airline_prefix} "
                       f"{format_amount(d.payable, d.currency)} {d.currency}")
        return
    typer.echo(f"{result.operation} {result.period_id}: issued {len(result.issued)}, "
               f"kept {len(result.kept)}, cancelled {len(result.cancelled)}; "
               f"{len(delivered)} files delivered")


@invoices_app.command("list")
def list_(operation: str = OPERATION, period: str = PERIOD,
          as_json: bool = typer.Option(False, "--json", help="Machine-readable output."),
          csv_out: Path | None = typer.Option(None, "--csv", help="Write the register CSV."),
          xlsx_out: Path | None = typer.Option(None, "--xlsx",
                                               help="Write the register as Excel.")):
    """The invoice register of a period: every number issued, cancelled or credited, in
    series order; a gap in any series is reported (exit code 1)."""
    from casslink.outputs.invoices import register

    with opened() as (settings, engine):
        period_id = _period_id(settings, operation, period)
        regs = register.rows(engine, operation, period_id)
        holes = register.gaps(engine, operation)
    if csv_out:
        csv_out.write_bytes(register.to_csv(regs))
    if xlsx_out:
        xlsx_out.write_bytes(register.to_xlsx(regs, f"{operation.upper()} {period_id}"))
    if as_json:
        typer.echo(json.dumps({"operation": operation.upper(), "period": period_id,
                               "documents": regs, "gaps": [g.__dict__ for g in holes]},
                              indent=2, default=list))
    else:
        for r in regs:
            typer.echo(f"{r['number']:24} {r['type_code']} {r['status']:9} "
                       f"{r['agent_code']}/{r['airline_prefix']} "
                       f"{format_amount(r['payable'], r['currency']):>14} {r['currency']}"
                       + (f"  cancels {r['cancels']}" if r["cancels"] else "")
                       + (f"  cancelled by {r['cancelled_by']}" if r["cancelled_by"] else ""))
        typer.echo(f"{len(regs)} documents; "
                   + ("no gaps" if not holes else f"GAPS: {[g.__dict__ for g in holes]}"))
    if holes:
        raise typer.Exit(1)


@invoices_app.command("show")
def show(number: str = typer.Argument(..., help="The document number."),
         language: str = typer.Option("", "--language", help="Print in this language "
                                      "(default: the recipient's)."),
         as_json: bool = typer.Option(False, "--json", help="The stored content as JSON.")):
    """Print the content of one document (its page, as text)."""
    import dataclasses

    from casslink.outputs.invoices import register
    from casslink.outputs.invoices.documents import Document
    from casslink.outputs.invoices.layout import page_model

    with opened() as (_settings, engine):
        found = register.rows(engine, number=number, content=True)
    if not found:
        typer.echo(f"no document {number}", err=True)
        raise typer.Exit(1)
    row = found[0]
    if as_json:
        typer.echo(json.dumps({**{k: v for k, v in row.items() if k != "content"},
                               "content": json.loads(row["content"])}, indent=2,
                              ensure_ascii=False))
        return
    doc = Document.from_json(row["content"])
    if language:
        doc = dataclasses.replace(doc, language=language)
    typer.echo(f"[{row['status']}]" + (f" cancelled by {row['cancelled_by']}"
                                        if row["cancelled_by"] else ""))
    for block in page_model(doc)["blocks"]:
        typer.echo(_block_text(block))


def _block_text(block: dict) -> str:
    kind = block["kind"]
    if kind == "title":
        return f"{block['title']}  {block['label']} {block['number']}\n"
    if kind == "parties":
        return "\n".join(f"{p['label']}: {p['name']}, {', '.join(p['address'])}; {p['tax']}"
                         for p in block["parties"]) + "\n"
    if kind in ("facts", "totals"):
        return "\n".join(f"{a:28} {b}" for a, b in block["rows"]) + "\n"
    if kind == "table":
        lines = [" | ".join(block["header"])]
        lines += [" | ".join(r) for r in block["rows"]]
        return "\n".join(lines) + "\n"
    return "\n".join(block.get("texts", []))
