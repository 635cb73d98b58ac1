"""Render docs/validation-rules.md from the rule catalogue (a test keeps the file current)."""

from __future__ import annotations

from pathlib import Path

from casslink.validators.ack import ACK_LAYOUT
from casslink.validators.catalogue import ADDED, RENAMED, RULES

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
        "A file all of whose records are rejected is rejected.",
        "",
        "## Codes",
        "",
        "A code is `<prefix>-<rule>`. The prefix names the format the finding was made in: "
        "`HOT-` for CASS fixed-width files, `XML-` for XML files (the ONE Record profile and "
        "Cargo-XML XFWB), `FMT-` before a format is known, `ING-` for casslink's own "
        "processing of the file. Syntax rules (`S...`) are the parsers' own, numbered per "
        "format (`HOT-S001` and `XML-S001` are different rules). Business rules (`E1xx`-`E6xx`, "
        "`W...`) run on the canonical Arrow tables, so they apply to every input format and keep "
        "their number across formats: `HOT-E602` in a HOT file is `XML-E602` in an XML file.",
        "",
        "**Root causes first.** When a file has no header, is not well-formed, or its header "
        "line cannot be read (rules marked *root* below, and any syntax finding on the header "
        "line, or in an XML header), the acknowledgement lists only that cause, and the file is "
        "rejected; its message counts the findings that "
        "follow from it and are not listed. A line of the wrong length gets its length finding "
        "(`HOT-S006`, `HOT-S009`) and none of the field findings that follow from it.",
        "",
        "| code | severity | rule | message |",
        "|---|---|---|---|",
    ]
    for r in RULES:
        codes = " ".join(f"`{c}`" for c in r.codes)
        root = " (root)" if r.root else ""
        out.append(f"| {codes} | {SEVERITY_TEXT[r.severity]}{root} | {r.title} | "
                   f"{r.message.replace('|', '/')} |")
    out += ["", "## Rules in detail", ""]
    for r in RULES:
        if r.doc:
            out += [f"* **{' / '.join(r.codes)} {r.title}.** {r.doc}"]
    out += ["", "## Codes that changed", "",
            "Before issue 21, XML files were given `HOT-` codes. HOT files keep every code they "
            "had. The codes below changed (where: the files concerned):", "",
            "| old code | new code | where |", "|---|---|---|"]
    out += [f"| `{old}` | `{new}` | {where} |" for old, new, where in RENAMED]
    out += ["", "New codes: " + ", ".join(f"`{c}`" for c in ADDED) + ". `HOT-E402` compares "
            "only what a correction record can express (see its rule above); it no longer "
            "rejects a correction of an AWB whose other charges mix prepaid and collect (that "
            "AWB gets `HOT-W404`)."]
    out += [
        "",
        "## Duplicates, replacement and sandbox",
        "",
        "* The same bytes (sha256) as a file accepted before from the inbox -> `HOT-E601` "
        "(`XML-E601`), and "
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
