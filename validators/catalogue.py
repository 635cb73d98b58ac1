"""The rule catalogue: every problem casslink reports has a stable code, a severity and a message.

Severities: ``file`` rejects the whole file; ``record`` rejects the record (and, for a
correction, its pair, and the charges that itemise it); ``warning`` is reported only.
Codes never change meaning; retired codes are not reused. ``docs/validation-rules.md`` is
generated from this table (``python -m casslink.validators.docs``).

Code scheme: ``<prefix>-<rule>``. The prefix names the format the finding was made in:

* ``HOT-`` CASS fixed-width files, ``XML-`` XML files (the ONE Record profile and Cargo-XML
  XFWB). A business rule (``E1xx``-``E6xx``, ``Wnnn``) checks the canonical tables, so it
  applies to every format and keeps its number across them: ``HOT-E602`` in a HOT file is
  ``XML-E602`` in an XML file. Syntax rules (``Snnn``) are the parser's own, numbered per format.
* ``FMT-`` before a format is known; ``ING-`` processing of the file by casslink itself.

Checks report a rule by its number (``col.add("E201", ...)``); the collector adds the prefix.
"""

from __future__ import annotations

from dataclasses import dataclass

FILE, RECORD, WARNING = "file", "record", "warning"
HOT, XML, FMT, ING = ("HOT",), ("XML",), ("FMT",), ("ING",)
BOTH = ("HOT", "XML")
PREFIX_OF_FORMAT = {"hot": "HOT", "xml": "XML", "xfwb": "XML"}


@dataclass(frozen=True)
class Rule:
    number: str  # S002, E201, W304 ...: the rule, the same in every format it applies to
    severity: str
    title: str
    message: str  # str.format template over the finding's field, raw and expected
    doc: str = ""
    prefixes: tuple[str, ...] = BOTH
    root: bool = False  # a root cause: the findings that follow from it are not listed

    @property
    def codes(self) -> tuple[str, ...]:
        return tuple(f"{p}-{self.number}" for p in self.prefixes)


RULES: tuple[Rule, ...] = (
    # --- syntax of CASS fixed-width files (raised by the HOT reader) ----------------------------
    # A record-level code raised on the header or trailer line counts as file-level.
    Rule("S001", FILE, "Empty file", "the file is empty", prefixes=HOT, root=True),
    Rule("S002", RECORD, "Not numeric", "{field} is not numeric: {raw!r}", prefixes=HOT),
    Rule("S003", RECORD, "Invalid date", "{field} is not a valid YYMMDD date: {raw!r}",
         prefixes=HOT),
    Rule("S004", RECORD, "Invalid rate", "{field} is not a rate nnnnn.nnnnn: {raw!r}",
         prefixes=HOT),
    Rule("S005", FILE, "Record type not allowed",
         "record type {raw!r} is not allowed in this file family",
         "Unknown record ids, or records of another family (e.g. AWM in a billing file).",
         prefixes=HOT),
    Rule("S006", RECORD, "Line too long", "line is {raw} bytes, expected {expected}",
         "The line's fields are not reported: they are shifted by the extra bytes.",
         prefixes=HOT),
    Rule("S007", RECORD, "Non-ASCII byte", "non-ASCII or control byte (e.g. Windows-1252)",
         prefixes=HOT),
    Rule("S008", FILE, "No header", "the file has no header record",
         "Nothing else is reported for a file without a header (its family, operation and "
         "period are unknown); the message counts the findings left out.", prefixes=HOT,
         root=True),
    Rule("S009", RECORD, "Line truncated", "line is {raw} bytes, expected {expected}",
         "A line shorter than its record width is read as if padded with blanks (right-trimmed "
         "lines are normal). When the padding breaks a field, the line was cut off: it gets "
         "this one finding instead of the field findings that follow from it.", prefixes=HOT),
    # --- syntax of XML files (the ONE Record profile reader and the XFWB reader) ---------------
    Rule("S001", FILE, "XML not well-formed", "the file is not well-formed XML", prefixes=XML,
         root=True),
    Rule("S002", FILE, "DTD or entities", "DTDs and entity declarations are not accepted",
         "The reader never loads DTDs, resolves entities or opens a network connection; the "
         "parser itself reports a document type declaration wherever it sits, and the file is "
         "refused before any element is read.", prefixes=XML, root=True),
    Rule("S003", RECORD, "XML schema violation",
         "the element is not valid against the casslink ONE Record profile XSD",
         "Each cargo:BillingDetails is validated on its own against the profile's XSDs "
         "(docs/formats/xml.md); an invalid one is rejected with its line.", prefixes=XML),
    Rule("S004", RECORD, "Unknown code", "{field}: {raw!r} is not in its code list",
         "Code values must be individuals of IATA's ONE Record code lists (currencies: ISO "
         "4217).", prefixes=XML),
    Rule("S005", FILE, "XML nested too deep", "elements are nested too deep", prefixes=XML,
         root=True),
    Rule("S006", FILE, "Not the casslink profile",
         "the root element is not rdf:RDF of the casslink ONE Record profile", prefixes=XML,
         root=True),
    Rule("S007", RECORD, "Invalid XML value", "{field} {raw!r} is not a valid value",
         prefixes=XML),
    Rule("S008", FILE, "No batch header", "the file has no cb:BatchHeader",
         "Replaces HOT-S008 for XML files.", prefixes=XML, root=True),
    # --- format and processing -------------------------------------------------------------------
    Rule("E001", FILE, "Format not accepted",
         "the file is {raw}, not a format casslink reads (CASS fixed-width, XML)",
         "Input formats are recognised from the content, never from the file name.",
         prefixes=FMT, root=True),
    Rule("E900", FILE, "Internal error",
         "internal error while reading the file; CASS operations have been alerted",
         "Something in the file made casslink itself fail: it is rejected and quarantined, "
         "never left half-processed, and nothing from it is billed. The details are in "
         "casslink's log for the operators, never in the acknowledgement.", prefixes=ING,
         root=True),
    # --- structure -----------------------------------------------------------------------------
    Rule("E101", FILE, "Header not first", "the header must be the first line", prefixes=HOT),
    Rule("E102", FILE, "Several headers", "exactly one header is allowed, found {raw}",
         prefixes=HOT),
    Rule("E103", FILE, "Trailer not last",
         "exactly one trailer, on the last line, is required", prefixes=HOT),
    Rule("E104", FILE, "Trailer count mismatch",
         "trailer {field} says {raw}, the file has {expected}",
         "XML: api:hasTotalItems counts every cargo:BillingDetails of the collection."),
    Rule("E105", FILE, "Hash total mismatch",
         "trailer hash total {raw} does not match the computed {expected}",
         "The billing-file hash total is the sum of the 8-digit serials of every AWB, CCO, CCR, "
         "DCO and DCR record modulo 10^12.", prefixes=HOT),
    Rule("W106", WARNING, "Hash total not supplied", "the trailer hash total is blank",
         prefixes=HOT),
    Rule("E107", FILE, "Wrong file family for the sender",
         "a {raw} file cannot be sent by {expected}",
         "Airlines send billing files; agents send adjustment files; hand-off files are "
         "produced by CASS only."),
    # --- identifiers ---------------------------------------------------------------------------
    Rule("E201", RECORD, "AWB check digit", "AWB {raw} fails the mod-7 check digit"),
    Rule("E202", RECORD, "Agent code invalid",
         "agent code {raw!r} is not 11 digits with a valid mod-7 check digit"),
    Rule("E203", RECORD, "Airline prefix differs",
         "airline prefix {raw} differs from the file's billing participant {expected}"),
    Rule("E204", RECORD, "Agent not registered",
         "agent {raw} is not registered in operation {expected}"),
    Rule("E205", RECORD, "Currency invalid", "currency {raw!r} is not an ISO 4217 code"),
    Rule("E206", RECORD, "Airport code malformed",
         "{field} {raw!r} is not an IATA 3-letter code"),
    Rule("E207", RECORD, "Indicator value", "{field} {raw!r} is not one of {expected}"),
    Rule("E208", FILE, "Billing participant unknown",
         "header airline {raw!r} is not the sender {expected} or not a CASS airline"),
    Rule("E209", FILE, "Unknown operation", "operation {raw!r} is not a CASS operation"),
    Rule("E210", FILE, "Operation not joined",
         "airline {raw} does not take part in operation {expected}"),
    # --- dates and periods ----------------------------------------------------------------------
    Rule("E301", FILE, "Period not in calendar",
         "header period {raw} is not a period of the {expected} calendar"),
    Rule("E302", RECORD, "Executed after period end",
         "execution date {raw} is after the period end {expected}"),
    Rule("E303", RECORD, "Accepted before executed",
         "acceptance date {raw} is before the execution date {expected}"),
    Rule("W304", WARNING, "Late file",
         "the file arrived on {raw}, after the period's billing date {expected}",
         "Late-file rule: a billing file for a period whose billing date has passed is "
         "accepted; its records are billed in the next open period (settlement assigns them "
         "and flags them as late). It is never rejected for lateness alone."),
    Rule("E305", RECORD, "Execution date missing", "the AWB execution date is missing"),
    # --- corrections ----------------------------------------------------------------------------
    Rule("E401", RECORD, "Correction pair incomplete",
         "{raw} {field} has no matching {expected} record",
         "Every CCO needs a CCR (and DCO a DCR) with the same AWB, agent and CCA/DCM number."),
    Rule("E402", RECORD, "Original differs from billed",
         "original values of {raw} differ from what was billed: {field} {expected}",
         "The O record must repeat the AWB's latest billed state (the AWB, or the last CCR/DCR "
         "before it), compared as far as the correction layout can express it: weight, "
         "valuation and other charges due agent/carrier are one amount each with a P/C "
         "indicator, so the billed prepaid + collect total is compared with that amount, and "
         "the indicator with the billed side when the billed amount is all on one side (a "
         "correction with amounts on both sides is refused by E405)."),
    Rule("W404", WARNING, "Charges both prepaid and collect",
         "{field} of AWB {raw} are partly prepaid and partly collect ({expected})",
         "IATA's CHGS rule: weight and valuation charges are all prepaid or all collect, and "
         "so are the other charges. A correction can carry only one P/C indicator per "
         "amount, so a later CCA/DCM of such an AWB cannot repeat it exactly."),
    Rule("E403", RECORD, "Reason missing", "DCM {raw} carries no reason for adjustment"),
    Rule("E405", RECORD, "Correction on both sides",
         "{field} holds {raw}: a correction carries it on one side only",
         "A CCA/DCM record carries weight, valuation and other charges due agent/carrier once "
         "each, on the side its P/C indicator names (the HOT layout has one amount field each). "
         "A record with amounts on both sides - possible in an XML file - is rejected: handed "
         "off as a CASS file, one side would be lost."),
    # --- arithmetic -----------------------------------------------------------------------------
    Rule("E501", RECORD, "Negative amount", "{field} is negative ({raw})"),
    Rule("W502", WARNING, "Commission vs percentage",
         "commission {raw} is not the stated percentage of the weight charge ({expected})",
         "Tolerance: one minor unit or 1 % of the expected commission, whichever is larger."),
    Rule("E503", RECORD, "Several currencies on one AWB",
         "AWB {raw} has records in {expected}"),
    Rule("W504", WARNING, "Itemised charges differ",
         "itemised {field} of AWB {raw} add up to {expected}"),
    # --- tax (docs/tax.md) ----------------------------------------------------------------------
    Rule("W701", WARNING, "Tax differs from the rules",
         "{field} {raw} differs from {expected}",
         "The operation's tax rules in ``verify`` mode compute each record's tax (the rule's "
         "base x rate, half-up to the record's currency) and compare it with the file's VAT "
         "field; a difference of more than one minor unit is reported with both figures and "
         "the rules (code, version). CASS bills its own figure (docs/tax.md)."),
    Rule("W702", WARNING, "Unknown airport",
         "{field} {raw} is not in the airport data set: the record is taxed as international",
         "Domestic or international (a tax rule's ``applies_to``) is decided by the countries "
         "of origin and destination from the ``airportsdata`` set; an airport it does not know "
         "makes the record international."),
    # --- duplicates -----------------------------------------------------------------------------
    Rule("E601", FILE, "Duplicate file", "the same file content was received before ({raw})"),
    Rule("E602", FILE, "Logical file already accepted",
         "file {raw} was already accepted for this participant, operation and period",
         "Replacement rule: a file with the same billing participant, operation, period and file "
         "number as an accepted one is rejected. To bill more, send the next file number; to "
         "correct billed AWBs, send CCA/DCM pairs. A file whose predecessor was rejected "
         "replaces it."),
    Rule("E603", RECORD, "AWB billed twice",
         "AWB {raw} is already billed ({expected})",
         "An AWB is billed once: a second AWB record for it, in the same file or after an "
         "earlier accepted file, is rejected; changes to a billed AWB come as CCA/DCM pairs."),
    # --- ingest (any format) --------------------------------------------------------------------
    Rule("E310", FILE, "No open period to bill",
         "period {raw} is {expected} and no later period of the calendar is open to bill it",
         "A file for a period already closed or billed is billed in the next open period of "
         "its operation (W304); when the calendar has none, the file is rejected - never "
         "billed into a closed period. Send it again once the calendar is extended.",
         prefixes=ING),
    Rule("E901", FILE, "File too large",
         "the file is {raw} bytes, more than the {expected} accepted",
         "Checked before the file is read.", prefixes=ING, root=True),
)

BY_CODE: dict[str, Rule] = {code: r for r in RULES for code in r.codes}


def rule(code: str) -> Rule:
    return BY_CODE[code]


def code_for(number_or_code: str, fmt: str) -> str:
    """The full code of a rule reported by number (``E201``) in a file of format ``fmt``;
    a full code (``HOT-S002``) is returned as it is."""
    if "-" in number_or_code:
        return number_or_code
    return f"{PREFIX_OF_FORMAT.get(fmt, 'HOT')}-{number_or_code}"


# Codes added with the scheme above (issue 21), and codes that changed: (old, new, where).
ADDED = ("HOT-S009", "XML-S008", "HOT-W404", "XML-W404", "HOT-E405", "XML-E405", "ING-E310",
         "ING-E900", "ING-E901")
RENAMED: tuple[tuple[str, str, str], ...] = (
    ("HOT-S008", "XML-S008", "XML files without a cb:BatchHeader"),
    ("HOT-E104", "XML-E104", "XML files (api:hasTotalItems)"),
    *((f"HOT-{r.number}", f"XML-{r.number}", "XML files") for r in RULES
      if r.prefixes == BOTH and r.number not in ("E104", "W404")),
)
