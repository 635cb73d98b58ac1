"""The legal documents of a settled period, built from its bills and tax lines.

Per bill (agent x airline) of the ledger (docs/invoices.md):

* an **invoice** from the airline (supplier; CASS issues it on the airline's behalf) to the
  agent for the airline's supply: prepaid weight + valuation + other charges due carrier -
  collect charges due agent - discount (- the commission where it is not self-billed), plus
  the airline-side tax; a **credit note** instead where that total is negative;
* a **self-billed commission invoice** where the operation's rules self-bill the commission:
  the agent is the supplier of its agency service, the airline (the customer) issues it:
  commission + the agent-side tax ("VAT due agent"); a self-billed credit note if negative.

So for every bill: invoice payable - self-billed payable = the bill's net (spec 4.5). The
builder checks this, and that the documents' taxes equal the bills' tax columns, and raises
:class:`InvoiceError` on any difference: money is never lost between ledger and documents.

Lines follow the tax: one line per tax rate of the side (amount = the taxable base, VAT
category S) and one line for the rest of the supply in the operation's untaxed category (E
exempt / O not subject) with its exemption wording. Amounts are int minor units of the
settlement currency; a credit note states them with the opposite sign of the ledger.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import json
from dataclasses import asdict, dataclass, field

from casslink.exchange_rates import Rate, RateMissing
from casslink.legal_parties import InvoiceRules, LegalData, LegalParty
from casslink.money import minor_unit
from casslink.outputs.invoices.tax_lines import tax_of

TYPE_CODES = {("invoice", 1): "380", ("invoice", -1): "381",  # UNTDID 1001
              ("self_billed", 1): "389", ("self_billed", -1): "261"}
SUPPLY_TERMS = {"weight_pp": 1, "valuation_pp": 1, "oc_carrier_pp": 1, "oc_agent_cc": -1,
                "discount": -1}
"""The airline's supply on an invoice (component -> sign); the commission joins it with -1
where it is not self-billed."""


def component(bill: dict, name: str) -> int:
    """A bill's whole component: its billing part plus its CCA and DCM corrections (the
    bills hold them apart)."""
    return sum(int(bill.get(k) or 0) for k in (name, f"cca_{name}", f"dcm_{name}"))


NATIONAL_FIELDS = ("tax_currency", "tax_total_national", "tax_rate", "tax_rate_date",
                   "tax_rate_source")


class InvoiceError(ValueError):
    """Documents and ledger disagree, or the reference data cannot make a legal document."""


@dataclass(frozen=True)
class Party:
    code: str
    name: str
    street: str
    postcode: str
    city: str
    country: str
    tax_scheme: str
    tax_id: str

    @classmethod
    def of(cls, p: LegalParty) -> Party:
        return cls(p.code, p.legal_name, p.street, p.postcode, p.city, p.country,
                   p.tax_scheme, p.tax_id)


@dataclass(frozen=True)
class Line:
    line_id: int
    item: str  # layout key of the description
    amount: int
    category: str  # UNCL5305: S, E, O, Z
    rate_bp: int


@dataclass(frozen=True)
class TaxLine:
    category: str
    rate_bp: int
    base: int
    tax: int
    codes: str  # the tax codes combined in this rate (``CGST+SGST``), "" for untaxed
    exemption_key: str = ""
    exemption_code: str = ""


@dataclass
class Document:
    """One legal document, language-independent (labels are resolved when rendered)."""

    doc_type: str  # invoice | self_billed (a credit note is a type code 381 / 261)
    type_code: str
    operation: str
    period_id: str
    period_start: str
    period_end: str
    run_id: int
    agent_code: str
    airline_prefix: str
    issuer: str  # whose series numbers it: the airline (both kinds: it issues them)
    series: str  # "" or "SB"
    supplier: Party
    customer: Party
    currency: str
    language: str
    bilingual: str
    issue_date: str
    tax_point: str
    due_date: str
    lines: list[Line]
    taxes: list[TaxLine]
    components: dict[str, int]  # the charges behind the lines (add up to line_total)
    counts: dict[str, int]
    line_total: int
    tax_total: int
    payable: int
    sign: int  # +1: amounts as in the ledger, -1: a credit note's reversed amounts
    qualified_invoice: bool = False
    service_code: str = ""
    number: str = ""
    cancels: str = ""
    notes: list[str] = field(default_factory=list)
    # the VAT total in the national currency (Directive 2006/112/EC Art. 230; EN 16931 BT-6,
    # BT-111) where the invoice is in another: amount (minor units, signed as tax_total),
    # the rate used (units of tax_currency per 1 currency), its publication date and source
    tax_currency: str = ""
    tax_total_national: int = 0
    tax_rate: str = ""
    tax_rate_date: str = ""
    tax_rate_source: str = ""

    @property
    def bill_key(self) -> str:
        return f"{self.agent_code}/{self.airline_prefix}/{self.doc_type}"

    @property
    def is_credit(self) -> bool:
        return self.type_code in ("381", "261")

    @property
    def ledger_payable(self) -> int:
        """What the document moves in ledger terms (agent owes airline > 0)."""
        return self.sign * self.payable * (1 if self.doc_type == "invoice" else -1)

    def to_json(self) -> str:
        return json.dumps(asdict(self), sort_keys=True, ensure_ascii=False)

    @classmethod
    def from_json(cls, text: str) -> Document:
        d = json.loads(text)
        d["supplier"], d["customer"] = Party(**d["supplier"]), Party(**d["customer"])
        d["lines"] = [Line(**x) for x in d["lines"]]
        d["taxes"] = [TaxLine(**x) for x in d["taxes"]]
        return cls(**d)

    def content_digest(self) -> str:
        """What a re-settlement compares: the amounts and parties - not the number, the
        dates of issue, the run or the language (a recipient choosing another language gets
        no credit note)."""
        d = asdict(self)
        for k in ("number", "cancels", "issue_date", "run_id", "notes", "language",
                  "bilingual"):
            d.pop(k)
        if not self.tax_currency:  # documents issued before BT-111 existed keep their digest
            for k in NATIONAL_FIELDS:
                d.pop(k)
        return hashlib.sha256(json.dumps(d, sort_keys=True).encode()).hexdigest()


@dataclass(frozen=True)
class PeriodContext:
    operation: str
    period_id: str
    period_start: dt.date
    period_end: dt.date
    due_date: dt.date
    currency: str
    run_id: int
    issue_date: dt.date


def _groups(rows: list[dict]) -> list[TaxLine]:
    """Tax rows of one bill side -> one taxed line per base: codes levied on the same base
    (CGST + SGST) combine into one rate; rows at rate 0 are left to the untaxed line."""
    by_base: dict[int, list[dict]] = {}
    for r in rows:
        if int(r["rate_bp"]) > 0:
            by_base.setdefault(int(r["base"]), []).append(r)
    out = []
    for base, group in sorted(by_base.items(), key=lambda kv: kv[0]):
        rate = sum(int(r["rate_bp"]) for r in group)
        out.append(TaxLine("S", rate, base, sum(int(r["tax"]) for r in group),
                           "+".join(sorted(str(r["code"]) for r in group))))
    return out


def _check_rounding(g: TaxLine, rules: InvoiceRules, currency: str) -> None:
    """An invoice states tax = base x rate (EN 16931 BR-CO-17): a qualified invoice exactly
    (rounded once per rate), any other less than one unit of the currency off, as CEN's
    schematron allows. Checked before a number is issued: a tax rule with ``line`` rounding sums per
    record, and on a large bill that sum drifts past the tolerance (docs/invoices.md)."""
    expected = tax_of(g.base, g.rate_bp)
    if rules.tax_rounding == "once_per_rate" and expected != g.tax:
        raise InvoiceError(
            f"qualified invoice: tax {g.tax} at {g.rate_bp} bp on {g.base} is not rounded "
            f"once per rate ({expected})")
    if abs(abs(g.tax) - abs(expected)) >= 10 ** minor_unit(currency):
        raise InvoiceError(
            f"{rules.operation}: tax {g.tax} at {g.rate_bp} bp on {g.base} is one {currency} "
            f"or more from base x rate ({expected}, BR-CO-17): the operation's tax rules "
            "must round per bill to be invoiced (docs/invoices.md)")


def _lines_and_taxes(supply: int, groups: list[TaxLine], rules: InvoiceRules, item: str,
                     currency: str) -> tuple[list[Line], list[TaxLine]]:
    lines, taxes = [], []
    for g in groups:
        _check_rounding(g, rules, currency)
        lines.append(Line(len(lines) + 1, f"{item}_taxable", g.base, "S", g.rate_bp))
        taxes.append(g)
    rest = supply - sum(g.base for g in groups)
    if rest or not lines:
        lines.append(Line(len(lines) + 1, f"{item}_untaxed", rest, rules.exempt_category, 0))
        taxes.append(TaxLine(rules.exempt_category, 0, rest, 0, "", rules.exemption_key,
                             rules.exemption_code))
    return lines, taxes


def _document(kind: str, ctx: PeriodContext, bill: dict, rules: InvoiceRules,
              supplier: LegalParty, customer: LegalParty, language: str, supply: int,
              groups: list[TaxLine], components: dict[str, int], item: str,
              fx: Rate | None = None) -> Document:
    lines, taxes = _lines_and_taxes(supply, groups, rules, item, ctx.currency)
    tax_total = sum(t.tax for t in taxes)
    payable = supply + tax_total
    sign = -1 if payable < 0 else 1
    if sign < 0:
        lines = [Line(x.line_id, x.item, -x.amount, x.category, x.rate_bp) for x in lines]
        taxes = [TaxLine(t.category, t.rate_bp, -t.base, -t.tax, t.codes, t.exemption_key,
                         t.exemption_code) for t in taxes]
        components = {k: -v for k, v in components.items()}
    return Document(
        doc_type=kind, type_code=TYPE_CODES[(kind, sign)], operation=ctx.operation,
        period_id=ctx.period_id, period_start=ctx.period_start.isoformat(),
        period_end=ctx.period_end.isoformat(), run_id=ctx.run_id,
        agent_code=bill["agent_code"], airline_prefix=bill["airline_prefix"],
        issuer=bill["airline_prefix"], series="SB" if kind == "self_billed" else "",
        supplier=Party.of(supplier), customer=Party.of(customer), currency=ctx.currency,
        language=language, bilingual=rules.bilingual if rules.bilingual != language else "",
        issue_date=ctx.issue_date.isoformat(), tax_point=ctx.period_end.isoformat(),
        due_date=ctx.due_date.isoformat(), lines=lines, taxes=taxes, components=components,
        counts={k: int(bill[k]) for k in ("awb_count", "cca_records", "dcm_records")},
        line_total=sign * supply, tax_total=sign * tax_total, payable=sign * payable,
        sign=sign, qualified_invoice=rules.qualified_invoice,
        service_code=rules.service_code if rules.gst_invoice else "",
        **(national_tax(sign * tax_total, fx) if fx is not None else {}))


def national_tax(tax_total: int, fx: Rate) -> dict:
    """The document fields stating ``tax_total`` in the national currency by ``fx``."""
    return {"tax_currency": fx.to_code, "tax_total_national": fx.convert(tax_total),
            "tax_rate": str(fx.rate), "tax_rate_date": fx.date.isoformat(),
            "tax_rate_source": fx.source}


def tax_rate_of(ctx: PeriodContext, rules: InvoiceRules, legal: LegalData) -> Rate | None:
    """The rate for stating the tax in the national currency: where the rules ask for it and
    the invoice is in another currency, the latest reference rate at the tax point (the
    period's last day; Art. 91(2)); None where no national figure is due. Looked up only when
    some document of the period has VAT (:func:`build_documents`): a period without VAT
    states none, so needs no rate."""
    if not rules.tax_currency or rules.tax_currency == ctx.currency:
        return None
    try:
        return legal.rates.rate(ctx.currency, rules.tax_currency, ctx.period_end)
    except RateMissing as exc:
        raise InvoiceError(f"{ctx.operation}: tax in {rules.tax_currency} needs a rate: {exc}"
                           ) from exc


def build_documents(ctx: PeriodContext, bills: list[dict], tax_rows: list[dict],
                    legal: LegalData, languages: dict[str, str] | None = None
                    ) -> list[Document]:
    """Every document of the period, unnumbered, in (agent, airline, kind) order; checked
    against the bills (raises InvoiceError naming the bill that does not add up). Each is in
    its agent's chosen language (``languages``), else its legal party's, else English."""
    rules = legal.rules.get(ctx.operation)
    if rules is None:
        raise InvoiceError(f"no invoice rules for operation {ctx.operation}")
    taxes: dict[tuple[str, str, str], list[dict]] = {}
    for r in tax_rows:
        if r["side"] in ("airline", "agent"):
            taxes.setdefault((r["agent_code"], r["airline_prefix"], r["side"]), []).append(r)
    taxed = any(int(r["tax"]) for rows in taxes.values() for r in rows)
    fx = tax_rate_of(ctx, rules, legal) if taxed else None
    docs = []
    for b in bills:
        agent, airline = b["agent_code"], b["airline_prefix"]
        a_party = legal.party("agent", agent, ctx.operation)
        l_party = legal.party("airline", airline, ctx.operation)
        if a_party is None or l_party is None:
            raise InvoiceError(f"{ctx.operation}: no legal party for "
                               f"{'agent ' + agent if a_party is None else 'airline ' + airline}")
        language = (languages or {}).get(agent) or a_party.language or "en"
        airline_rows = taxes.get((agent, airline, "airline"), [])
        agent_rows = taxes.get((agent, airline, "agent"), [])
        for side_rows, column in ((airline_rows, "tax_airline"), (agent_rows, "tax_agent")):
            if sum(int(r["tax"]) for r in side_rows) != component(b, column):
                raise InvoiceError(f"bill {agent}/{airline}: tax lines add up to "
                                   f"{sum(int(r['tax']) for r in side_rows)}, the bill's "
                                   f"{column} is {component(b, column)}")
        components = {k: s * component(b, k) for k, s in SUPPLY_TERMS.items()}
        commission = component(b, "commission")
        if not rules.self_billing:
            if component(b, "tax_agent"):
                raise InvoiceError(f"bill {agent}/{airline}: tax due agent "
                                   f"{component(b, 'tax_agent')} but {ctx.operation} does not "
                                   "self-bill the commission")
            components["commission"] = -commission
        supply = sum(components.values())
        made = []
        if supply or airline_rows:
            made.append(_document("invoice", ctx, b, rules, l_party, a_party, language,
                                  supply, _groups(airline_rows), components, "transport", fx))
        if rules.self_billing and (commission or agent_rows):
            made.append(_document("self_billed", ctx, b, rules, a_party, l_party, language,
                                  commission, _groups(agent_rows),
                                  {"commission": commission}, "commission", fx))
        moved = sum(d.ledger_payable for d in made)
        if moved != int(b["net"]):
            raise InvoiceError(f"bill {agent}/{airline}: documents move {moved}, the bill's "
                               f"net is {b['net']}")
        docs.extend(made)
    return docs
