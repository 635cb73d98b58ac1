"""Legal identities for invoices and the per-operation invoice rules, as reference data.

``fixtures/reference/parties.csv``: one row per (kind, code, operation): the legal name,
address, country, tax scheme and tax id of an airline (per operation: where it is registered)
or an agent, and the language its documents are written in. Tax ids are checked with
python-stdnum: an EU VAT number (``VAT``), an Indian GSTIN (``GST``), a Japanese qualified
invoice issuer registration number (``JCT``: ``T`` + the 13-digit corporate number), a US EIN,
a Korean business registration number (``BRN``), a Chinese unified social credit code
(``USCC``) and a Pakistani NTN (``NTN``: python-stdnum has no validator for it, so only its
format, 7 digits, a dash and a check digit, is checked).

``fixtures/reference/invoice_rules.csv``: per operation, which documents are issued, whether
the agent's commission is self-billed, bilingual wording, the exemption wording and VAT
category of the untaxed part, the numbering format, and the JP / IN requirements
(docs/invoices.md cites the law of each rule).
"""

from __future__ import annotations

import csv
import re
from dataclasses import dataclass, field
from pathlib import Path

from stdnum.cn import uscc
from stdnum.eu import vat as eu_vat
from stdnum.in_ import gstin
from stdnum.jp import cn as jp_cn
from stdnum.kr import brn as kr_brn
from stdnum.us import ein

from casslink.exchange_rates import ExchangeRates
from casslink.money import is_currency

PARTIES_FILE = "parties.csv"
RULES_FILE = "invoice_rules.csv"
DOCUMENT_KINDS = ("invoice", "credit_note", "self_billed")
TAX_SCHEMES = ("VAT", "GST", "JCT", "EIN", "BRN", "USCC", "NTN", "")
PK_NTN = re.compile(r"\d{7}-\d")


class LegalDataError(ValueError):
    """The parties or invoice rules are malformed (bad tax id, unknown document kind...)."""


@dataclass(frozen=True)
class LegalParty:
    kind: str  # airline | agent
    code: str
    operation: str
    legal_name: str
    street: str
    postcode: str
    city: str
    country: str  # ISO 3166-1 alpha-2
    tax_scheme: str  # VAT | GST | JCT | EIN | BRN | USCC | NTN | ""
    tax_id: str
    language: str


@dataclass(frozen=True)
class InvoiceRules:
    operation: str
    documents: tuple[str, ...]
    self_billing: bool
    bilingual: str  # "" or the second language (``en``) printed beside the recipient's
    tax_currency: str  # "" or the national currency the tax must also be stated in, when
    # the invoice is in another (Directive 2006/112/EC Art. 230)
    exempt_category: str  # UNCL5305 VAT category of the untaxed part: E (exempt), O, Z, G
    exemption_code: str  # VATEX code ("" = the wording alone)
    exemption_key: str  # the wording's key in outputs/invoices/layout.py
    number_format: str  # str.format with operation, issuer, year, seq
    qualified_invoice: bool  # Japan: T + 13 digits, tax rounded once per rate per invoice
    gst_invoice: bool  # India: GSTIN of both parties, SAC code, place of supply
    service_code: str  # India: SAC of the service
    tax_rounding: str  # sum (the ledger's tax per rate) | once_per_rate
    source: str

    def number(self, issuer: str, year: int, seq: int, series: str = "") -> str:
        """The printed number of ``seq`` in a series (``PT-406-005711``)."""
        base = self.number_format.format(operation=self.operation, issuer=issuer, year=year,
                                         seq=seq)
        if not series:
            return base
        head, _, tail = base.rpartition("-")
        return f"{head}-{series}{tail}" if head else f"{series}{tail}"


@dataclass
class LegalData:
    """Parties by (kind, code, operation), rules by operation, and the reference rates of
    exchange for tax stated in a national currency (``tax_currency``)."""

    parties: dict[tuple[str, str, str], LegalParty] = field(default_factory=dict)
    rules: dict[str, InvoiceRules] = field(default_factory=dict)
    rates: ExchangeRates = field(default_factory=ExchangeRates)

    def party(self, kind: str, code: str, operation: str) -> LegalParty | None:
        return self.parties.get((kind, code, operation))

    @classmethod
    def from_fixtures(cls, directory: Path) -> LegalData:
        data = cls(rates=ExchangeRates.from_fixtures(directory))
        for r in _rows(directory / PARTIES_FILE):
            p = LegalParty(**{k: (r.get(k) or "").strip() for k in LegalParty.__annotations__})
            data.parties[(p.kind, p.code, p.operation)] = p
        for r in _rows(directory / RULES_FILE):
            docs = tuple(d for d in r["documents"].split(";") if d)
            data.rules[r["operation"]] = InvoiceRules(
                r["operation"], docs, r["self_billing"] == "yes", r["bilingual"].strip(),
                r["tax_currency"].strip(), r["exempt_category"].strip() or "E",
                r["exemption_code"].strip(), r["exemption_key"].strip(),
                r["number_format"].strip(), r["qualified_invoice"] == "yes",
                r["gst_invoice"] == "yes", r["service_code"].strip(),
                r["tax_rounding"].strip() or "sum", r["source"].strip())
        problems = check(data)
        if problems:
            raise LegalDataError("; ".join(problems[:20]))
        return data


def _rows(path: Path) -> list[dict[str, str]]:
    if not path.exists():
        return []
    with open(path, newline="", encoding="utf-8") as fh:
        return list(csv.DictReader(fh))


def tax_id_problem(scheme: str, tax_id: str) -> str | None:
    """Why ``tax_id`` is not a valid id of ``scheme`` (None: valid)."""
    try:
        if scheme == "VAT":
            eu_vat.validate(tax_id)
        elif scheme == "GST":
            gstin.validate(tax_id)
        elif scheme == "JCT":
            if not (tax_id.startswith("T") and len(tax_id) == 14):
                return f"{tax_id!r} is not T + 13 digits"
            jp_cn.validate(tax_id[1:])
        elif scheme == "EIN":
            ein.validate(tax_id)
        elif scheme == "BRN":
            kr_brn.validate(tax_id)
        elif scheme == "USCC":
            uscc.validate(tax_id)
        elif scheme == "NTN":
            if not PK_NTN.fullmatch(tax_id):
                return f"{tax_id!r} is not a Pakistani NTN (7 digits, '-', a check digit)"
        elif scheme or tax_id:
            return f"unknown tax scheme {scheme!r}"
    except Exception as exc:  # stdnum's ValidationError family
        return f"{tax_id!r} is not a valid {scheme} id ({exc})"
    return None


def check(data: LegalData) -> list[str]:
    """Problems of the legal reference data (empty list = fine)."""
    problems = []
    for p in data.parties.values():
        why = tax_id_problem(p.tax_scheme, p.tax_id)
        if why:
            problems.append(f"{p.kind} {p.code} in {p.operation}: {why}")
        if len(p.country) != 2:
            problems.append(f"{p.kind} {p.code} in {p.operation}: country {p.country!r}")
    for r in data.rules.values():
        unknown = set(r.documents) - set(DOCUMENT_KINDS)
        if unknown:
            problems.append(f"invoice rules {r.operation}: unknown documents {sorted(unknown)}")
        if r.self_billing != ("self_billed" in r.documents):
            problems.append(f"invoice rules {r.operation}: self_billing and documents differ")
        if r.tax_currency and not is_currency(r.tax_currency):
            problems.append(f"invoice rules {r.operation}: tax_currency {r.tax_currency!r}")
        if r.tax_rounding not in ("sum", "once_per_rate"):
            problems.append(f"invoice rules {r.operation}: tax_rounding {r.tax_rounding!r}")
        try:
            r.number("020", 2026, 1)
        except (KeyError, ValueError, IndexError) as exc:
            problems.append(f"invoice rules {r.operation}: number_format ({exc})")
    return problems
