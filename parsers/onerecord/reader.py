"""Profile XML -> the canonical tables of the HOT reader, streaming and safe.

``lxml.etree.iterparse`` reads one ``cargo:BillingDetails`` at a time: each is validated
against the profile XSD on its own (constant memory), converted to canonical rows, then freed.
DTDs and entities are refused before parsing (no network, no entity expansion), depth is
limited, and every problem carries the line of the element. Never raises on bad input.

DTDs are refused by the parser itself: a document type declaration, wherever it sits in the
prolog, is in the document's ``docinfo`` when the root element starts, and the reader stops
there (``XML-S002``) before any element is validated or converted. Entities are never
resolved, no DTD is loaded, and no network is used.
"""

from __future__ import annotations

import datetime as dt
import io
from decimal import Decimal, InvalidOperation
from functools import cache

import pyarrow as pa
from lxml import etree

from casslink.canonical import (
    AMOUNT_COLUMNS,
    CHARGES_SCHEMA,
    RECORDS_SCHEMA,
    BillingBatch,
    FileHeader,
    Finding,
)
from casslink.identifiers import InvalidComponent, InvalidFormat
from casslink.money import is_currency, to_minor
from casslink.parsers.onerecord.profile import (
    CLASSES,
    RATINGS_COMPONENT,
    RDF,
    XSD,
    clark,
    code_allowed,
    split_code_iri,
)

X_NOT_WELL_FORMED = "XML-S001"
X_FORBIDDEN = "XML-S002"
X_SCHEMA = "XML-S003"
X_CODE = "XML-S004"
X_TOO_DEEP = "XML-S005"
X_NOT_PROFILE = "XML-S006"
X_VALUE = "XML-S007"
X_NO_HEADER = "XML-S008"

MAX_DEPTH = 40
CHUNK_ROWS = 5000
MAX_PROBLEMS = 1000
ABOUT, RESOURCE, DATATYPE = f"{{{RDF}}}about", f"{{{RDF}}}resource", f"{{{RDF}}}datatype"
BILLING_DETAILS, HEADER = clark("cargo:BillingDetails"), clark("cb:BatchHeader")
TOTAL = clark("api:hasTotalItems")
MAX_AMOUNT = 10 ** 12  # minor units: what a 12-digit HOT amount field holds
_KINDS = {p.clark: p for props in CLASSES.values() for p in props}


@cache
def _schema():
    from casslink.parsers.onerecord.xsd import schema

    return schema()


class _Bad(Exception):
    def __init__(self, code: str, message: str, line: int | None, raw: str = "", field=""):
        super().__init__(message)
        self.problem = Finding(code, message=message, line=line, field=field, raw=raw[:60])


def read_xml(data: bytes, source_file: str = "") -> BillingBatch:
    problems: list[Finding] = []
    header = FileHeader(family="billing", record_id="cb:BatchHeader")
    rows: list[dict] = []
    charges: list[dict] = []
    trailer: dict = {}

    done_tables: list[pa.Table] = []
    done_charges: list[pa.Table] = []
    counts: dict[str, int] = {}

    def flush() -> None:
        """Rows to Arrow in chunks: a million dicts would cost far more than the tables."""
        for r in rows:
            counts[r["record_type"]] = counts.get(r["record_type"], 0) + 1
        done_tables.append(pa.Table.from_pylist(rows, schema=RECORDS_SCHEMA))
        done_charges.append(pa.Table.from_pylist(charges, schema=CHARGES_SCHEMA))
        rows.clear()
        charges.clear()

    def done() -> BillingBatch:
        flush()
        recs = pa.concat_tables(done_tables).combine_chunks()
        chs = pa.concat_tables(done_charges).combine_chunks()
        return BillingBatch(header, recs, chs, trailer, problems, source_file,
                            data.count(b"\n") + 1, counts, format="xml")

    depth, seen_root = 0, False
    parser = etree.iterparse(io.BytesIO(data), events=("start", "end"), load_dtd=False,
                             dtd_validation=False, resolve_entities=False, no_network=True,
                             huge_tree=False, remove_comments=True, remove_pis=True)
    try:
        for event, elem in parser:
            if event == "start":
                depth += 1
                if depth > MAX_DEPTH:
                    problems.append(Finding(X_TOO_DEEP, message=f"elements nested deeper "
                                            f"than {MAX_DEPTH}", line=elem.sourceline))
                    return done()
                if not seen_root:
                    seen_root = True
                    refused = refuse_doctype(elem)
                    if refused is not None:
                        problems.append(refused)
                        return done()
                    if elem.tag != f"{{{RDF}}}RDF":
                        problems.append(Finding(X_NOT_PROFILE, message="the root element is "
                                                "not rdf:RDF of the casslink ONE Record "
                                                "profile", line=elem.sourceline,
                                                raw=str(elem.tag)[:60]))
                        return done()
                continue
            depth -= 1
            if elem.tag == BILLING_DETAILS and depth == 3:
                if not _take(elem, rows, charges, problems, source_file, header.family):
                    header.extra["dropped"] = header.extra.get("dropped", 0) + 1
                if len(rows) >= CHUNK_ROWS:
                    flush()
                _free(elem)
            elif elem.tag == HEADER and depth == 1:
                header = _header(elem, problems)
                _free(elem)
            elif elem.tag == TOTAL and depth == 2:
                trailer = {"total_count": _int(elem.text), "source_line": elem.sourceline}
    except etree.XMLSyntaxError as exc:
        problems.append(Finding(X_NOT_WELL_FORMED, message=f"not well-formed XML: {exc.msg}",
                                line=exc.lineno))
    if not seen_root:
        problems.append(Finding(X_NOT_WELL_FORMED, message="no XML document found", line=1))
    elif header.source_line is None:
        problems.append(Finding(X_NO_HEADER, message="no cb:BatchHeader", line=1))
    elif not trailer and not any(p.code == X_NOT_WELL_FORMED for p in problems):
        problems.append(Finding(X_SCHEMA, message="api:Collection has no api:hasTotalItems"))
    return done()


def refuse_doctype(root) -> Finding | None:
    """``XML-S002`` when the parser met a document type declaration (internal subset, external
    id or just a name) before ``root``: read from the parser's docinfo, not from the bytes."""
    info = root.getroottree().docinfo
    if info.doctype or info.internalDTD is not None or info.externalDTD is not None or \
            info.system_url or info.public_id:
        return Finding(X_FORBIDDEN, message="DTDs and entity declarations are not accepted",
                       line=1, raw=(info.doctype or "")[:60])
    return None


def _free(elem) -> None:
    elem.clear()
    parent = elem.getparent()
    if parent is not None:
        while elem.getprevious() is not None:
            del parent[0]


def _int(text) -> int | None:
    """A count or number (None unless a whole number below 2**31, what the registry holds)."""
    try:
        value = int((text or "").strip())
    except ValueError:
        return None
    return value if 0 <= value < 2 ** 31 else None


def _validate(elem, problems: list[Finding], record_type: str = "") -> bool:
    schema = _schema()
    if schema.validate(elem):
        return True
    for err in list(schema.error_log)[:20]:
        if len(problems) < MAX_PROBLEMS:
            problems.append(Finding(X_SCHEMA, message=f"not valid against the profile XSD: "
                                    f"{err.message}", line=err.line, record_type=record_type))
    return False


class _Node:
    """Property access on one node element (children grouped by property)."""

    def __init__(self, elem) -> None:
        self.elem = elem
        self.props: dict[str, list] = {}
        for child in elem:
            self.props.setdefault(child.tag, []).append(child)

    def all(self, qname: str) -> list:
        return self.props.get(clark(qname), [])

    def one(self, qname: str):
        found = self.all(qname)
        return found[0] if found else None

    def node(self, qname: str) -> _Node | None:
        p = self.one(qname)
        return _Node(p[0]) if p is not None and len(p) else None

    def nodes(self, qname: str) -> list[_Node]:
        return [_Node(p[0]) for p in self.all(qname) if len(p)]

    def text(self, qname: str) -> str | None:
        p = self.one(qname)
        if p is None:
            return None
        expected = _KINDS[p.tag].kind
        got = p.get(DATATYPE)
        if expected != "string" and got != f"{XSD}{expected}":
            raise _Bad(X_SCHEMA, f"{qname} needs rdf:datatype {XSD}{expected}", p.sourceline,
                       got or "", qname)
        return (p.text or "").strip() if expected != "string" else (p.text or "")

    def code(self, qname: str) -> str | None:
        p = self.one(qname)
        if p is None:
            return None
        prop = _KINDS[p.tag]
        name, code = split_code_iri(p.get(RESOURCE, ""))
        if name != prop.code_list or not code_allowed(name, code):
            raise _Bad(X_CODE, f"{qname}: {p.get(RESOURCE)!r} is not a code of "
                       f"{prop.code_list}", p.sourceline, p.get(RESOURCE, ""), qname)
        return code


def _minor(text: str | None, currency: str, what: str, line) -> int | None:
    if text is None:
        return None
    try:
        value = to_minor(text, currency)
    except (ArithmeticError, InvalidFormat, InvalidComponent, ValueError, KeyError) as exc:
        raise _Bad(X_VALUE, f"{what} {text!r}: {exc}", line, text, what) from None
    if abs(value) >= MAX_AMOUNT:
        raise _Bad(X_VALUE, f"{what} {text!r} is out of range", line, text, what)
    return value


def _scaled(text: str | None, places: int, what: str, line, digits: int = 12) -> int | None:
    """Decimal text as an integer of ``places`` implied decimals, of at most ``digits`` digits
    (what the HOT field holds)."""
    if text is None:
        return None
    try:
        value = Decimal(text).scaleb(places)
        whole = value == value.to_integral_value()
    except InvalidOperation:
        raise _Bad(X_VALUE, f"{what} {text!r} is not a number", line, text, what) from None
    if not value.is_finite() or abs(value) >= 10 ** digits:
        raise _Bad(X_VALUE, f"{what} {text!r} is out of range", line, text, what)
    if not whole:
        raise _Bad(X_VALUE, f"{what} {text!r} has more than {places} decimals", line, text,
                   what)
    return int(value)


def _date(text: str | None, what: str, line) -> dt.date | None:
    if text is None:
        return None
    try:
        return dt.date.fromisoformat(text[:10])
    except ValueError:
        raise _Bad(X_VALUE, f"{what} {text!r} is not a date", line, text, what) from None


def _money_node(n: _Node | None, what: str) -> tuple[int, str] | None:
    if n is None:
        return None
    cur = n.code("cargo:currencyUnit")
    return _minor(n.text("cargo:numericalValue"), cur, what, n.elem.sourceline), cur


def _take(elem, rows: list[dict], charges: list[dict], problems: list[Finding],
          source_file: str, family: str) -> bool:
    line = elem.sourceline
    if not _validate(elem, problems):
        return False
    try:
        row, chs = _record(_Node(elem), line, source_file, family)
    except _Bad as bad:
        if len(problems) < MAX_PROBLEMS:
            problems.append(bad.problem)
        return False
    rows.append(row)
    charges.extend(chs)
    return True


@cache
def _amounts_of(family: str, record_type: str) -> tuple[str, ...]:
    """The money columns the HOT layout of this record carries (absent: null, not 0), so a
    HOT -> XML -> canonical round trip gives back exactly the same table."""
    from casslink.parsers.hot.layouts import FAMILIES

    fam = FAMILIES.get(family) or FAMILIES["billing"]
    try:
        layout = fam.layout_for(record_type)
    except StopIteration:
        return AMOUNT_COLUMNS
    names = set()
    for f in layout.fields:
        if f.split:
            names |= {f"{f.name}_pp", f"{f.name}_cc"}
        elif f.name in AMOUNT_COLUMNS:
            names.add(f.name)
    return tuple(c for c in AMOUNT_COLUMNS if c in names)


def _record(n: _Node, line: int, source_file: str, family: str) -> tuple[dict, list[dict]]:
    r = {name: None for name in RECORDS_SCHEMA.names}
    r["source_file"], r["source_line"] = source_file, line
    r["record_type"] = n.text("cb:recordType")
    r.update({c: 0 for c in _amounts_of(family, r["record_type"] or "AWB")})
    cur = n.code("cb:currency")
    r["currency"] = cur
    adj = n.node("cargo:adjustments")
    if adj is not None:
        r["correction_number"] = adj.text("cargo:correctionSerialNumber") or None
        r["reason"] = adj.text("cargo:reasonsForAdjustments")
    r["acceptance_date"] = _date(n.text("cargo:awbAcceptanceDate"), "awbAcceptanceDate", line)
    r["execution_date"] = _date(n.text("cargo:awbExecutionDate"), "awbExecutionDate", line)
    r["awb_use_indicator"] = n.code("cargo:awbUseIndicator") or n.text(
        "cb:awbUseIndicatorCode")
    r["commission"] = _minor(n.text("cargo:commission"), cur, "commission", line) or \
        r["commission"]
    r["commission_pct_e2"] = _scaled(n.text("cargo:commissionPercentage"), 2,
                                     "commissionPercentage", line, 4)
    r["discount"] = _minor(n.text("cargo:discount"), cur, "discount", line) or r["discount"]
    r["exchange_rate_e5"] = _scaled(n.text("cargo:exchangeRate"), 5, "exchangeRate", line, 10)
    for prop, col in (("cargo:taxDueAgent", "tax_agent"), ("cargo:taxDueAirline",
                                                             "tax_airline")):
        money = _money_node(n.node(prop), prop)
        if money is not None:
            r[col] = money[0]
    vat = n.text("cargo:vatIndicator")
    r["vat_indicator"] = {"true": "Y", "false": "N", "1": "Y", "0": "N"}.get(vat) if vat \
        else n.text("cb:vatIndicatorCode")
    for rating in n.nodes("cb:amount"):
        key = (rating.code("cargo:billingChargeIdentifier"),
               rating.code("cargo:chargePaymentType"))
        comp = RATINGS_COMPONENT.get(key)
        if comp is None:
            raise _Bad(X_CODE, f"cb:amount {key[0]}/{key[1]} is not a billing component",
                       rating.elem.sourceline, f"{key[0]}/{key[1]}", "cb:amount")
        r[comp] = _minor(rating.text("cargo:subTotal"), cur, comp, rating.elem.sourceline)
    r["valuation_pc"] = n.code("cb:valuationIndicator")
    r["taxes_pc"] = n.code("cb:taxesIndicator")
    r["oc_agent_pc"] = n.code("cb:agentChargesIndicator")
    for prop, col in (("cb:commissionIndicator", "commission_indicator"),
                      ("cb:invoiceIndicator", "invoice_indicator"),
                      ("cb:branchIndicator", "branch_indicator"),
                      ("cb:lateIndicator", "late_indicator"),
                      ("cb:agentReference", "agent_reference"), ("cb:reasonCode", "reason_code"),
                      ("cb:contract", "contract"), ("cb:adjustmentRate", "adjustment_rate")):
        r[col] = n.text(prop)
    r["net_amount"] = _minor(n.text("cb:netAmount"), cur, "netAmount", line)
    w = n.node("cargo:detailedWaybill")
    r["awb_serial"] = w.text("cargo:waybillNumber")
    r["airline_prefix"] = w.text("cargo:waybillPrefix")
    for prop, col in (("cargo:arrivalLocation", "destination"),
                      ("cargo:departureLocation", "origin")):
        loc = w.node(prop)
        if loc is not None:
            r[col] = loc.node("cargo:locationCodes").text("cargo:code")
    for party in w.nodes("cargo:involvedParties"):
        if party.code("cargo:partyRole") == "AGT":
            company = party.node("cargo:partyDetails")
            r["agent_code"] = (company.text("cargo:iataCargoAgentCode") or "") + (
                company.text("cargo:iataCargoAgentLocationIdentifier") or "")
    r["oc_carrier_pc"] = w.code("cargo:otherChargesIndicator")
    r["weight_pc"] = w.code("cargo:weightValuationIndicator")
    shipment = w.node("cargo:shipment")
    if shipment is not None:
        value = shipment.node("cargo:totalGrossWeight")
        r["weight_tenths"] = _scaled(value.text("cargo:numericalValue"), 1, "weight", line, 7)
        r["weight_unit"] = {"KGM": "K", "LBR": "L"}.get(value.code("cargo:unit"))
    unit = n.text("cb:weightUnitCode")
    if unit is not None:
        r["weight_unit"] = unit or None
    chs = []
    for i, oc in enumerate(w.nodes("cargo:otherCharges")):
        amount, ccur = _money_node(oc.node("cargo:otherChargeAmount"), "otherChargeAmount")
        chs.append({"source_file": source_file, "source_line": oc.elem.sourceline,
                    "slot": i % 10 + 1, "parent_type": r["record_type"],
                    "airline_prefix": r["airline_prefix"], "awb_serial": r["awb_serial"],
                    "correction_number": r["correction_number"], "currency": ccur,
                    "charge_code": oc.code("cargo:otherChargeCode"),
                    "entitlement": oc.code("cargo:entitlement"),
                    "pc": oc.code("cargo:chargePaymentType"), "amount": amount})
    if r["record_type"] not in ("AWB", "CCO", "CCR", "DCO", "DCR"):
        raise _Bad(X_VALUE, f"cb:recordType {r['record_type']!r} is not AWB, CCO, CCR, DCO or "
                   "DCR", line, r["record_type"] or "", "cb:recordType")
    if not is_currency(cur or ""):
        raise _Bad(X_CODE, f"currency {cur!r} is not ISO 4217", line, cur or "", "cb:currency")
    return r, chs


def _header(elem, problems: list[Finding]) -> FileHeader:
    h = FileHeader(family="billing", record_id="cb:BatchHeader", source_line=elem.sourceline)
    if not _validate(elem, problems, h.record_id):
        return h
    n = _Node(elem)
    try:
        h.family = n.text("cb:fileFamily") or "billing"
        h.operation = n.text("cb:cassOperation") or ""
        h.airline_prefix = n.text("cb:billingParticipant") or ""
        h.agent_code = n.text("cb:agentCode") or ""
        h.branch_indicator = n.text("cb:branchIndicator") or ""
        h.office_code = n.text("cb:officeCode") or ""
        h.period_start = _date(n.text("cb:periodStart"), "periodStart", elem.sourceline)
        h.period_end = _date(n.text("cb:periodEnd"), "periodEnd", elem.sourceline)
        h.billing_date = _date(n.text("cb:billingDate"), "billingDate", elem.sourceline)
        h.file_number = _int(n.text("cb:fileNumber"))
        h.currency = n.code("cb:billingCurrency") or ""
    except _Bad as bad:
        bad.problem.record_type = h.record_id
        problems.append(bad.problem)
    if h.family not in ("billing", "handoff", "adjustment"):
        problems.append(Finding(X_VALUE, message=f"cb:fileFamily {h.family!r} is unknown",
                                line=elem.sourceline, record_type=h.record_id, raw=h.family))
        h.family = "billing"
    return h

