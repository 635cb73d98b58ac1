"""The rule catalogue: every problem casslink reports has a stable code, a severity and a message.

Severities: ``file`` rejects the whole file; ``record`` rejects the record (and, for a
correction, its pair, and the charges that itemise it); ``warning`` is reported only.
Codes never change meaning; retired codes are not reused. ``docs/validation-rules.md`` is
generated from this table (``python -m casslink.validators.docs``).
"""

from __future__ import annotations

from dataclasses import dataclass

FILE, RECORD, WARNING = "file", "record", "warning"


@dataclass(frozen=True)
class Rule:
    code: str
    severity: str
    title: str
    message: str  # str.format template over the problem's fields
    doc: str = ""


RULES: tuple[Rule, ...] = (
    # --- syntax (raised by the parsers; severity becomes "file" on a header/trailer line) ----
    Rule("HOT-S001", FILE, "Empty file", "the file is empty"),
    Rule("HOT-S002", RECORD, "Not numeric", "{field} is not numeric: {raw!r}"),
    Rule("HOT-S003", RECORD, "Invalid date", "{field} is not a valid YYMMDD date: {raw!r}"),
    Rule("HOT-S004", RECORD, "Invalid rate", "{field} is not a rate nnnnn.nnnnn: {raw!r}"),
    Rule("HOT-S005", FILE, "Record type not allowed",
         "record type {raw!r} is not allowed in this file family",
         "Unknown record ids, or records of another family (e.g. AWM in a billing file)."),
    Rule("HOT-S006", RECORD, "Line too long", "line longer than its record width"),
    Rule("HOT-S007", RECORD, "Non-ASCII byte", "non-ASCII or control byte (e.g. Windows-1252)"),
    Rule("HOT-S008", FILE, "No header", "the file has no header record"),
    Rule("XML-S001", FILE, "XML not well-formed", "the file is not well-formed XML"),
    Rule("XML-S002", FILE, "DTD or entities", "DTDs and entity declarations are not accepted",
         "The reader never loads DTDs, resolves entities or opens a network connection; a "
         "document that declares any is refused before parsing."),
    Rule("XML-S003", RECORD, "XML schema violation",
         "the element is not valid against the casslink ONE Record profile XSD",
         "Each cargo:BillingDetails is validated on its own against the profile's XSDs "
         "(docs/formats/xml.md); an invalid one is rejected with its line."),
    Rule("XML-S004", RECORD, "Unknown code", "{field}: {raw!r} is not in its code list",
         "Code values must be individuals of IATA's ONE Record code lists (currencies: ISO "
         "4217)."),
    Rule("XML-S005", FILE, "XML nested too deep", "elements are nested too deep"),
    Rule("XML-S006", FILE, "Not the casslink profile",
         "the root element is not rdf:RDF of the casslink ONE Record profile"),
    Rule("XML-S007", RECORD, "Invalid XML value", "{field} {raw!r} is not a valid value"),
    Rule("FMT-E001", FILE, "Format not accepted",
         "the file is {raw}, not a CASS fixed-width (HOT) file",
         "Input formats are recognised from the content, never from the file name."),
    # --- structure -----------------------------------------------------------------------------
    Rule("HOT-E101", FILE, "Header not first", "the header must be the first line"),
    Rule("HOT-E102", FILE, "Several headers", "exactly one header is allowed, found {raw}"),
    Rule("HOT-E103", FILE, "Trailer not last",
         "exactly one trailer, on the last line, is required"),
    Rule("HOT-E104", FILE, "Trailer count mismatch",
         "trailer {field} says {raw}, the file has {expected}"),
    Rule("HOT-E105", FILE, "Hash total mismatch",
         "trailer hash total {raw} does not match the computed {expected}",
         "The billing-file hash total is the sum of the 8-digit serials of every AWB, CCO, CCR, "
         "DCO and DCR record modulo 10^12."),
    Rule("HOT-W106", WARNING, "Hash total not supplied", "the trailer hash total is blank"),
    Rule("HOT-E107", FILE, "Wrong file family for the sender",
         "a {raw} file cannot be sent by {expected}",
         "Airlines send billing files; agents send adjustment files; hand-off files are "
         "produced by CASS only."),
    # --- identifiers ---------------------------------------------------------------------------
    Rule("HOT-E201", RECORD, "AWB check digit", "AWB {raw} fails the mod-7 check digit"),
    Rule("HOT-E202", RECORD, "Agent code invalid",
         "agent code {raw!r} is not 11 digits with a valid mod-7 check digit"),
    Rule("HOT-E203", RECORD, "Airline prefix differs",
         "airline prefix {raw} differs from the file's billing participant {expected}"),
    Rule("HOT-E204", RECORD, "Agent not registered",
         "agent {raw} is not registered in operation {expected}"),
    Rule("HOT-E205", RECORD, "Currency invalid", "currency {raw!r} is not an ISO 4217 code"),
    Rule("HOT-E206", RECORD, "Airport code malformed",
         "{field} {raw!r} is not an IATA 3-letter code"),
    Rule("HOT-E207", RECORD, "Indicator value", "{field} {raw!r} is not one of {expected}"),
    Rule("HOT-E208", FILE, "Billing participant unknown",
         "header airline {raw!r} is not the sender {expected} or not a CASS airline"),
    Rule("HOT-E209", FILE, "Unknown operation", "operation {raw!r} is not a CASS operation"),
    Rule("HOT-E210", FILE, "Operation not joined",
         "airline {raw} does not take part in operation {expected}"),
    # --- dates and periods ----------------------------------------------------------------------
    Rule("HOT-E301", FILE, "Period not in calendar",
         "header period {raw} is not a period of the {expected} calendar"),
    Rule("HOT-E302", RECORD, "Executed after period end",
         "execution date {raw} is after the period end {expected}"),
    Rule("HOT-E303", RECORD, "Accepted before executed",
         "acceptance date {raw} is before the execution date {expected}"),
    Rule("HOT-W304", WARNING, "Late file",
         "the file arrived on {raw}, after the period's billing date {expected}",
         "Late-file rule: a billing file for a period whose billing date has passed is "
         "accepted; its records are billed in the next open period (settlement assigns them "
         "and flags them as late). It is never rejected for lateness alone."),
    Rule("HOT-E305", RECORD, "Execution date missing", "the AWB execution date is missing"),
    # --- corrections ----------------------------------------------------------------------------
    Rule("HOT-E401", RECORD, "Correction pair incomplete",
         "{raw} {field} has no matching {expected} record",
         "Every CCO needs a CCR (and DCO a DCR) with the same AWB, agent and CCA/DCM number."),
    Rule("HOT-E402", RECORD, "Original differs from billed",
         "original values of {raw} differ from what was billed: {field} {expected}"),
    Rule("HOT-E403", RECORD, "Reason missing", "DCM {raw} carries no reason for adjustment"),
    # --- arithmetic -----------------------------------------------------------------------------
    Rule("HOT-E501", RECORD, "Negative amount", "{field} is negative ({raw})"),
    Rule("HOT-W502", WARNING, "Commission vs percentage",
         "commission {raw} is not the stated percentage of the weight charge ({expected})",
         "Tolerance: one minor unit or 1 % of the expected commission, whichever is larger."),
    Rule("HOT-E503", RECORD, "Several currencies on one AWB",
         "AWB {raw} has records in {expected}"),
    Rule("HOT-W504", WARNING, "Itemised charges differ",
         "itemised {field} of AWB {raw} add up to {expected}"),
    # --- duplicates -----------------------------------------------------------------------------
    Rule("HOT-E601", FILE, "Duplicate file", "the same file content was received before ({raw})"),
    Rule("HOT-E602", FILE, "Logical file already accepted",
         "file {raw} was already accepted for this participant, operation and period",
         "Replacement rule: a file with the same billing participant, operation, period and file "
         "number as an accepted one is rejected. To bill more, send the next file number; to "
         "correct billed AWBs, send CCA/DCM pairs. A file whose predecessor was rejected "
         "replaces it."),
    Rule("HOT-E603", RECORD, "AWB billed twice",
         "AWB {raw} is already billed ({expected})",
         "An AWB is billed once: a second AWB record for it, in the same file or after an "
         "earlier accepted file, is rejected; changes to a billed AWB come as CCA/DCM pairs."),
)

BY_CODE: dict[str, Rule] = {r.code: r for r in RULES}


def rule(code: str) -> Rule:
    return BY_CODE[code]
