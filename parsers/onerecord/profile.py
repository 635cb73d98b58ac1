"""The casslink ONE Record XML profile, as data: namespaces, classes and their properties in
document order, value kinds. The writer, the reader, the XSD generator and the docs are all
driven by this table (docs/formats/xml.md).

A constrained RDF/XML: root ``rdf:RDF``; striped syntax only (node element -> property element
-> node element); every node has ``rdf:about``; literals are element text with ``rdf:datatype``
(full XSD IRI) except plain strings; code values are empty property elements with
``rdf:resource`` = the code-list individual's IRI; no other attributes, no blank nodes.
Element names are ONE Record IRIs (cargo, api) or terms of our extension namespace (cb), and
stripping every ``cb`` triple leaves a graph valid against the IATA ontology.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from functools import cache
from pathlib import Path

RDF = "http://www.w3.org/1999/02/22-rdf-syntax-ns#"
CARGO = "https://onerecord.iata.org/ns/cargo#"
API = "https://onerecord.iata.org/ns/api#"
CB = "https://w3id.org/casslink/ns/billing#"
CODES = "https://onerecord.iata.org/ns/code-lists/"
XSD = "http://www.w3.org/2001/XMLSchema#"
LO_BASE = "https://w3id.org/casslink/lo/"
NSMAP = {"rdf": RDF, "cargo": CARGO, "api": API, "cb": CB}
PREFIX = {v: k for k, v in NSMAP.items()}

LITERALS = ("string", "double", "integer", "nonNegativeInteger", "boolean", "dateTime", "date")


@dataclass(frozen=True)
class Prop:
    qname: str  # prefix:local
    kind: str  # a literal type, "code:<CodeList>", "ref" (an IRI) or "node:<Class>|<Class>"
    min: int = 0
    max: int = 1  # 0 = unbounded

    @property
    def clark(self) -> str:
        return clark(self.qname)

    @property
    def targets(self) -> tuple[str, ...]:
        return tuple(self.kind.removeprefix("node:").split("|")) if self.is_node else ()

    @property
    def is_node(self) -> bool:
        return self.kind.startswith("node:")

    @property
    def code_list(self) -> str:
        return self.kind.removeprefix("code:") if self.kind.startswith("code:") else ""


@cache
def clark(qname: str) -> str:
    prefix, local = qname.split(":")
    return f"{{{NSMAP[prefix]}}}{local}"


def qname_of(tag: str) -> str:
    ns, local = tag[1:].split("}")
    return f"{PREFIX.get(ns, '?')}:{local}"


P = Prop
PC = "code:PrepaidCollectIndicator"

CLASSES: dict[str, tuple[Prop, ...]] = {
    "cb:BatchHeader": (
        P("cb:fileFamily", "string", 1), P("cb:cassOperation", "string", 1),
        P("cb:billingParticipant", "string"), P("cb:agentCode", "string"),
        P("cb:branchIndicator", "string"), P("cb:periodStart", "date"),
        P("cb:periodEnd", "date"), P("cb:billingDate", "date"),
        P("cb:fileNumber", "integer"), P("cb:billingCurrency", "code:CurrencyCode"),
        P("cb:officeCode", "string"), P("cb:headerOf", "ref", 1)),
    "api:Collection": (
        P("api:hasItem", "node:cargo:BillingDetails", 0, 0),
        P("api:hasTotalItems", "nonNegativeInteger", 1)),
    "cargo:BillingDetails": (
        P("cargo:adjustments", "node:cargo:Adjustments"),
        P("cargo:awbAcceptanceDate", "dateTime"), P("cargo:awbExecutionDate", "dateTime"),
        P("cargo:awbUseIndicator", "code:AWBUseIndicator"),
        P("cargo:commission", "double"), P("cargo:commissionPercentage", "double"),
        P("cargo:detailedWaybill", "node:cargo:Waybill", 1),
        P("cargo:discount", "double"), P("cargo:exchangeRate", "double"),
        P("cargo:taxDueAgent", "node:cargo:CurrencyValue"),
        P("cargo:taxDueAirline", "node:cargo:CurrencyValue"),
        P("cargo:vatIndicator", "boolean"),
        P("cb:recordType", "string", 1), P("cb:currency", "code:CurrencyCode", 1),
        P("cb:amount", "node:cargo:Ratings", 0, 0),
        P("cb:valuationIndicator", PC), P("cb:taxesIndicator", PC),
        P("cb:agentChargesIndicator", PC), P("cb:vatIndicatorCode", "string"),
        P("cb:awbUseIndicatorCode", "string"), P("cb:weightUnitCode", "string"),
        P("cb:commissionIndicator", "string"), P("cb:invoiceIndicator", "string"),
        P("cb:branchIndicator", "string"), P("cb:lateIndicator", "string"),
        P("cb:agentReference", "string"), P("cb:netAmount", "double"),
        P("cb:reasonCode", "string"), P("cb:contract", "string"),
        P("cb:adjustmentRate", "string")),
    "cargo:Adjustments": (
        P("cargo:correctionSerialNumber", "string", 1),
        P("cargo:reasonsForAdjustments", "string")),
    "cargo:Waybill": (
        P("cargo:arrivalLocation", "node:cargo:Location"),
        P("cargo:departureLocation", "node:cargo:Location"),
        P("cargo:involvedParties", "node:cargo:Party", 0, 0),
        P("cargo:otherCharges", "node:cargo:OtherCharge", 0, 0),
        P("cargo:otherChargesIndicator", PC),
        P("cargo:shipment", "node:cargo:Shipment"),
        P("cargo:waybillNumber", "string", 1), P("cargo:waybillPrefix", "string", 1),
        P("cargo:weightValuationIndicator", PC)),
    "cargo:Location": (P("cargo:locationCodes", "node:cargo:CodeListElement", 1),),
    "cargo:CodeListElement": (P("cargo:code", "string", 1),
                              P("cargo:codeListName", "string")),
    "cargo:Party": (P("cargo:partyDetails", "node:cargo:Company|cargo:Carrier", 1),
                    P("cargo:partyRole", "code:ParticipantIdentifier", 1)),
    "cargo:Company": (P("cargo:iataCargoAgentCode", "string", 1),
                      P("cargo:iataCargoAgentLocationIdentifier", "string", 1)),
    "cargo:Carrier": (P("cargo:prefix", "string", 1),),
    "cargo:OtherCharge": (
        P("cargo:chargePaymentType", PC, 1), P("cargo:entitlement", "code:EntitlementCode", 1),
        P("cargo:otherChargeAmount", "node:cargo:CurrencyValue", 1),
        P("cargo:otherChargeCode", "code:OtherChargeCode", 1)),
    "cargo:CurrencyValue": (P("cargo:currencyUnit", "code:CurrencyCode", 1),
                            P("cargo:numericalValue", "double", 1)),
    "cargo:Shipment": (P("cargo:totalGrossWeight", "node:cargo:Value", 1),),
    "cargo:Value": (P("cargo:numericalValue", "double", 1),
                    P("cargo:unit", "code:MeasurementUnitCode", 1)),
    "cargo:Ratings": (
        P("cargo:billingChargeIdentifier", "code:ChargeIdentifier", 1),
        P("cargo:chargePaymentType", PC), P("cargo:subTotal", "double", 1)),
}
"""Class -> its properties in document order (the XSD's xs:sequence)."""

CLASSES.update({
    "cb:Acknowledgement": (
        P("cb:fileName", "string", 1), P("cb:fileId", "integer", 1), P("cb:sha256", "string", 1),
        P("cb:receivedAt", "dateTime", 1), P("cb:channel", "string", 1),
        P("cb:verdict", "string", 1), P("cb:late", "boolean"), P("cb:billedPeriod", "string"),
        P("cb:recordsReceived", "integer", 1),
        P("cb:recordsAccepted", "integer", 1), P("cb:recordsRejected", "integer", 1),
        P("cb:finding", "node:cb:Finding", 0, 0), P("cb:acceptedTotal", "node:cb:CurrencyTotal",
                                                     0, 0)),
    "cb:Finding": (
        P("cb:line", "integer"), P("cb:code", "string", 1), P("cb:severity", "string", 1),
        P("cb:recordType", "string"), P("cb:field", "string"), P("cb:rawValue", "string"),
        P("cb:message", "string", 1)),
    "cb:CurrencyTotal": (
        P("cb:currency", "code:CurrencyCode", 1), P("cb:recordCount", "integer", 1),
        P("cb:agentNet", "double", 1)),
})

PARTY = "node:cargo:Company|cargo:Carrier"
CLASSES.update({
    "cb:BillingStatement": (
        P("cb:statementType", "string", 1), P("cb:cassOperation", "string", 1),
        P("cb:billingPeriod", "string", 1), P("cb:periodStart", "date", 1),
        P("cb:periodEnd", "date", 1), P("cb:billingDate", "date", 1),
        P("cb:remittanceDate", "date", 1), P("cb:statementCurrency", "code:CurrencyCode", 1),
        P("cb:billedParty", PARTY, 1), P("cb:line", "node:cb:StatementLine", 0, 0),
        P("cb:total", "node:cargo:Ratings", 0, 0), P("cb:tax", "node:cb:TaxAmount", 0, 0),
        P("cb:disputedAwb", "node:cb:DisputedAwb", 0, 0), P("cb:remittanceDue", "double", 1)),
    "cb:DisputedAwb": (  # an AWB of the statement under dispute (docs/disputes.md)
        P("cb:awbNumber", "string", 1), P("cb:counterpartyCode", "string", 1),
        P("cb:disputeId", "integer", 1), P("cb:disputeStatus", "string", 1),
        P("cb:acceptedAmount", "double")),
    "cb:TaxAmount": (  # the statement's tax per code and rate (docs/tax.md)
        P("cb:taxCode", "string", 1), P("cb:taxName", "string", 1), P("cb:taxSide", "string", 1),
        P("cb:rateBasisPoints", "integer", 1), P("cb:taxBase", "double", 1),
        P("cb:taxAmount", "double", 1)),
    "cb:StatementLine": (
        P("cb:counterparty", PARTY, 1), P("cb:awbCount", "integer", 1),
        P("cb:ccaRecords", "integer", 1), P("cb:dcmRecords", "integer", 1),
        P("cb:amount", "node:cargo:Ratings", 0, 0), P("cb:netAmount", "double", 1)),
})

ROOT_CHILDREN = ("cb:BatchHeader", "api:Collection", "cb:Acknowledgement",
                 "cb:BillingStatement")

# canonical money components <-> (CASS charge identifier, P/C) of a cb:amount Ratings node
COMPONENT_RATINGS = {
    "weight_pp": ("WT", "P"), "weight_cc": ("WT", "C"),
    "valuation_pp": ("VC", "P"), "valuation_cc": ("VC", "C"),
    "oc_carrier_pp": ("OC", "P"), "oc_carrier_cc": ("OC", "C"),
    "oc_agent_pp": ("OA", "P"), "oc_agent_cc": ("OA", "C"),
    "taxes_pp": ("TX", "P"), "taxes_cc": ("TX", "C"),
}
RATINGS_COMPONENT = {v: k for k, v in COMPONENT_RATINGS.items()}

CODELIST_FILE = Path(__file__).with_name("codelists.json")


def code_iri(code_list: str, code: str) -> str:
    return f"{CODES}{code_list}#{code}"


def split_code_iri(iri: str) -> tuple[str, str]:
    """``.../code-lists/EntitlementCode#C`` -> (``EntitlementCode``, ``C``)."""
    if not iri.startswith(CODES) or "#" not in iri:
        return "", ""
    name, code = iri[len(CODES):].split("#", 1)
    return name, code


@cache
def code_lists() -> dict[str, frozenset[str]]:
    """Closed code lists from IATA's code-list ontology (derived file, see make_codelists)."""
    data = json.loads(CODELIST_FILE.read_text())
    return {k: frozenset(v) for k, v in data["lists"].items()}


def code_allowed(code_list: str, code: str) -> bool:
    if code_list == "CurrencyCode":  # open list "based on ISO 4217"
        from casslink.money import is_currency

        return is_currency(code)
    return code in code_lists().get(code_list, frozenset())
