"""Render docs/formats/xml.md from the profile table (a test keeps the file current).

    .venv/bin/python -m casslink.parsers.onerecord.docs
"""

from __future__ import annotations

from pathlib import Path

from casslink.parsers.onerecord.profile import (
    CB,
    CLASSES,
    CODES,
    COMPONENT_RATINGS,
    LO_BASE,
    NSMAP,
    ROOT_CHILDREN,
)

DOC_PATH = "docs/formats/xml.md"


def _kind(kind: str) -> str:
    if kind.startswith("node:"):
        return " or ".join(f"`{t}` node" for t in kind[5:].split("|"))
    if kind.startswith("code:"):
        return f"code `{kind[5:]}`"
    if kind == "ref":
        return "IRI reference"
    return f"xsd:{kind}"


def render() -> str:
    out = [
        "# ONE Record XML (casslink profile)",
        "",
        "_Generated from `parsers/onerecord/profile.py` by "
        "`python -m casslink.parsers.onerecord.docs`; do not edit by hand (a test checks it "
        "is current)._",
        "",
        "IATA's New CASSLink promises an XML format that is ONE Record compliant; IATA never "
        "published it, so casslink defines one that is **provably** compliant: a constrained "
        "RDF/XML whose element names are ONE Record IRIs. Parse any casslink XML file as RDF, "
        "drop the triples of our extension namespace, and what remains is a graph whose every "
        "class, property, datatype and code exists in IATA's ONE Record ontology (data model "
        "3.2, code lists, API ontology) - the test suite checks exactly that with rdflib "
        "against the ontology files. The same graph is available as JSON-LD "
        "(`casslink convert FILE --to jsonld`).",
        "",
        "## Namespaces",
        "",
        "| prefix | IRI |",
        "|---|---|",
        *(f"| `{p}` | `{u}` |" for p, u in NSMAP.items()),
        f"| code lists | `{CODES}<List>#<code>` |",
        "",
        f"`cb` (`{CB}`) is casslink's extension namespace, a persistent identifier under "
        "w3id.org reserved for the project; logistics-object IRIs are minted under "
        f"`{LO_BASE}`.",
        "",
        "## Rules of the profile",
        "",
        "1. Root `rdf:RDF` declaring exactly the four prefixes above; its children are "
        + ", ".join(f"`{c}`" for c in ROOT_CHILDREN) + ".",
        "2. Striped syntax only: node element -> property element -> node element. Every node "
        "element carries `rdf:about` (no blank nodes, no `rdf:ID`, `rdf:nodeID`, "
        "`rdf:parseType`, property attributes or `xml:lang`).",
        "3. Literals are element text; non-string literals carry `rdf:datatype` with the full "
        "XSD IRI; strings carry none. Datetimes are UTC (`Z`); amounts use the currency's "
        "decimals (`3950.80`, JPY `1200`) - a valid `xsd:double` lexical form, read into "
        "integer minor units, never floats.",
        "4. Code values are empty property elements with `rdf:resource` = the code-list "
        "individual's IRI (`.../EntitlementCode#C`). Closed lists are checked against IATA's "
        "code-list ontology (`parsers/onerecord/codelists.json`, derived from it); "
        "`CurrencyCode` is an open list based on ISO 4217.",
        "5. Properties appear in the order of the tables below (the XSDs' `xs:sequence`); "
        "multi-valued ones repeat.",
        "6. Documents with a document type declaration (DTD, entity declarations) are refused "
        "(`XML-S002`): the parser itself reports the declaration, wherever it sits in the "
        "prolog, before any element is read; no DTD loading, no network access, no entity "
        "expansion, nesting depth at most 40. Amounts must fit a 12-digit HOT amount field.",
        "",
        "XSDs (one per namespace, generated from the same table): "
        "`parsers/onerecord/schemas/{rdf,cargo,api,cb}.xsd`. XSD 1.0 cannot tie a datatype or "
        "a code list to one property; the reader checks those pairings.",
        "",
        "## Billing input (airline -> CASS)",
        "",
        "A file is one `cb:BatchHeader` (operation, billing participant, period, file number) "
        "and one `api:Collection` whose `api:hasItem`s are `cargo:BillingDetails`, one per "
        "canonical record, and whose `api:hasTotalItems` counts them. The reader streams "
        "(`lxml.etree.iterparse`): each `cargo:BillingDetails` is validated against the XSD on "
        "its own, converted, then freed, so memory stays constant; it produces exactly the "
        "canonical tables of the HOT reader (`source_line` = the element's line).",
        "",
        "**Corrections** are explicit original/revised pairs (one of the two designs the "
        "issue allowed, chosen because it maps one to one onto CCO/CCR and DCO/DCR): one "
        "`cargo:BillingDetails` per record with `cb:recordType` CCO/CCR/DCO/DCR and "
        "`cargo:adjustments/cargo:Adjustments` carrying the CCA/DCM number "
        "(`correctionSerialNumber`) and the reason (`reasonsForAdjustments`). Settlement bills "
        "revised - original, as for HOT.",
        "",
        "**Money components** of a record are `cb:amount` -> `cargo:Ratings` keyed by the CASS "
        "charge identifier and P/C: "
        + ", ".join(f"`{c}` = {i}/{p}" for c, (i, p) in COMPONENT_RATINGS.items())
        + "; commission, discount and the exchange rate are `cargo:commission`, "
        "`cargo:discount`, `cargo:exchangeRate`; VAT due agent/airline "
        "`cargo:taxDueAgent`/`cargo:taxDueAirline` (CurrencyValue). Itemised other charges are "
        "`cargo:Waybill/cargo:otherCharges` (code + entitlement + P/C + amount). The agent is "
        "`cargo:involvedParties` with role AGT and a `cargo:Company` (7-digit "
        "`iataCargoAgentCode` + 4-digit `iataCargoAgentLocationIdentifier` = the 11-digit CASS "
        "code). A money column the HOT layout of the record has no field for stays empty, so "
        "HOT -> XML -> canonical is lossless (tested).",
        "",
        "Example: `fixtures/xml/billing-batch-example.xml`.",
        "",
        "## Outputs",
        "",
        "* `cb:Acknowledgement` - the ack XML senders receive (`<file>.f<id>.ack.xml`).",
        "* `cb:BillingStatement` - `statementType` AgentBillingStatement (lines per airline) "
        "or AirlineSettlementStatement (lines per agent), totals as `cargo:Ratings` keyed by "
        "the CASS charge identifiers WT, VC, OC, OA, TX (with P/C), CO, SI, TX (net VAT), CN "
        "(net of the AWB billings), NI (net invoice amount, incl. CCA/DCM), `remittanceDue` "
        "and `remittanceDate`. Examples: `fixtures/xml/agent-statement-example.xml`, "
        "`fixtures/xml/airline-statement-example.xml`.",
        "",
        "## XFWB adapter",
        "",
        "A Cargo-XML XFWB e-AWB message (`iata:waybill:1`) is accepted as a billing input for "
        "one AWB (see `parsers/onerecord/xfwb.py` for the mapping: weight/valuation/other "
        "charges by prepaid/collect, other charges as code + entitlement, the agent from "
        "`FreightForwarderParty`).",
        "",
        "## Classes and properties",
        "",
    ]
    for cls, props in CLASSES.items():
        out += [f"### `{cls}`", "", "| property | value | occurs |", "|---|---|---|"]
        for p in props:
            occurs = f"{p.min}..{'n' if p.max == 0 else p.max}"
            out.append(f"| `{p.qname}` | {_kind(p.kind)} | {occurs} |")
        out.append("")
    return "\n".join(out)


if __name__ == "__main__":
    Path(__file__).resolve().parents[2].joinpath(DOC_PATH).write_text(render())
    print(f"wrote {DOC_PATH}")
