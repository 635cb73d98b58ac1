"""Render docs/validation-rules.md from the rule catalogue (a test keeps the file current)."""

from __future__ import annotations

from pathlib import Path

from casslink.validators.ack import ACK_LAYOUT
from casslink.validators.catalogue import RULES

SEVERITY_TEXT = {"file": "file rejected", "record": "record rejected", "warning": "warning"}
DOC_PATH = "docs/validation-rules.md"


def render() -> str:
    out = [
        "# Validation rules",
        "",
        "_Generated from `validators/catalogue.py` by `python -m casslink.validators.docs`; "
        "do not edit by hand (a test checks it is current)._",
        "",
        "Every problem casslink reports on an input file has a stable code. Codes never change "
        "meaning and retired codes are not reused. Severities:",
        "",
        "* **file rejected** - nothing from the file is billed; the original is quarantined.",
        "* **record rejected** - the record is not billed; for a correction, its O/R partner "
        "and the AW1/CC3/DC3 records that itemise them go with it. The rest of the file is "
        "billed (verdict *accepted with rejected records*). A record-level code raised on the "
        "header or trailer line counts as file-level.",
        "* **warning** - reported only.",
        "",
        "A file all of whose records are rejected is rejected. `HOT-S...` codes come from the "
        "parser (syntax), the others from the rule engine, which runs on the canonical Arrow "
        "tables and so applies to every input format.",
        "",
        "| code | severity | rule | message |",
        "|---|---|---|---|",
    ]
    for r in RULES:
        out.append(f"| `{r.code}` | {SEVERITY_TEXT[r.severity]} | {r.title} | "
                   f"{r.message.replace('|', '/')} |")
    out += ["", "## Rules in detail", ""]
    for r in RULES:
        if r.doc:
            out += [f"* **{r.code} {r.title}.** {r.doc}"]
    out += [
        "",
        "## Duplicates, replacement and sandbox",
        "",
        "* The same bytes (sha256) as a file accepted before from the inbox -> `HOT-E601`, and "
        "no record report. A file that was rejected before may be sent again unchanged (its "
        "rejection may have had an outside cause, e.g. an agent registered since).",
        "* Files dropped into `sandbox/` are parsed, validated and acknowledged exactly like "
        "inbox files, never stored in the warehouse, and never count as history: the same file "
        "may be sent to the inbox afterwards.",
        "",
        "## Acknowledgements",
        "",
        "For every processed file the sender's `outbox/` receives `<file name>.f<id>.ack` "
        "(fixed width, for programs) and `<file name>.f<id>.ack.txt` (for people). The fixed-"
        "width ack is casslink-defined: 250-column CRLF lines, record id in columns 1-3.",
        "",
        "| record | field | positions | kind |",
        "|---|---|---|---|",
    ]
    for rid, fields in ACK_LAYOUT.items():
        for name, start, length, kind in fields:
            out.append(f"| `{rid}` | {name} | {start}-{start + length - 1} | "
                       f"{'digits, zero-filled' if kind == 'N' else 'text, left-aligned'} |")
    out += ["", "`ACH` header (one), `ACE` one per finding, `ACT` one per currency of accepted "
            "records (agent net in minor units, `-` in column 35 for a credit), `ACZ` trailer "
            "(counts of ACE and ACT).", ""]
    return "\n".join(out)


if __name__ == "__main__":
    Path(__file__).resolve().parents[1].joinpath(DOC_PATH).write_text(render())
    print(f"wrote {DOC_PATH}")
