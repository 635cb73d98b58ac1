"""Payment terms as per-operation data: the options an operation offers, clearing and grace
days, the irregularity window and threshold, the payout rule, and everyone's bank details.

Read from ``fixtures/reference/payment_rules.csv`` and ``bank_accounts.csv`` (the reference
folder of the install). IBANs and BICs are validated with ``schwifty`` on load: a bad one
fails loudly instead of reaching a payment file.
"""

from __future__ import annotations

import csv
import datetime as dt
from dataclasses import dataclass, field
from pathlib import Path

from schwifty import BIC, IBAN

OPTIONS = ("debit", "chosen_date", "transfer", "wallet")
PAYOUT_RULES = ("hold", "pro_rata")


class TermsError(ValueError):
    """The payment reference data is inconsistent (bad IBAN/BIC, unknown option...)."""


@dataclass(frozen=True)
class PaymentRule:
    operation: str
    options: tuple[str, ...]
    default_option: str
    clearing_days: int
    grace_days: int
    window_months: int
    threshold: int
    payout_rule: str  # hold | pro_rata
    hinge_account: str  # participant key in bank_accounts.csv
    tax_account: str


@dataclass(frozen=True)
class BankAccount:
    participant: str
    operation: str
    iban: str  # "" where the country has no IBAN (then account_number)
    account_number: str
    bic: str
    holder: str
    mandate_date: dt.date | None


@dataclass
class PaymentTerms:
    rules: dict[str, PaymentRule] = field(default_factory=dict)
    accounts: dict[tuple[str, str], BankAccount] = field(default_factory=dict)

    def rule(self, operation: str) -> PaymentRule:
        try:
            return self.rules[operation]
        except KeyError:
            raise TermsError(f"no payment rules for operation {operation}") from None

    def account(self, participant: str, operation: str) -> BankAccount | None:
        return self.accounts.get((participant, operation))

    def hinge(self, operation: str) -> BankAccount:
        acct = self.account(self.rule(operation).hinge_account, operation)
        if acct is None:
            raise TermsError(f"operation {operation}: no bank account for its hinge account")
        return acct


def load_terms(directory: Path) -> PaymentTerms:
    """The payment terms of the reference folder ``directory``, validated."""
    terms = PaymentTerms()
    with open(directory / "payment_rules.csv", newline="", encoding="utf-8") as fh:
        for r in csv.DictReader(fh):
            options = tuple(r["options"].split(";"))
            rule = PaymentRule(r["operation"], options, r["default_option"],
                               int(r["clearing_days"]), int(r["grace_days"]),
                               int(r["window_months"]), int(r["threshold"]), r["payout_rule"],
                               r["hinge_account"], r["tax_account"])
            if not set(options) <= set(OPTIONS) or rule.default_option not in options:
                raise TermsError(f"{rule.operation}: options {options}, default "
                                 f"{rule.default_option}")
            if rule.payout_rule not in PAYOUT_RULES or rule.threshold < 1:
                raise TermsError(f"{rule.operation}: payout rule {rule.payout_rule}, "
                                 f"threshold {rule.threshold}")
            terms.rules[rule.operation] = rule
    with open(directory / "bank_accounts.csv", newline="", encoding="utf-8") as fh:
        for r in csv.DictReader(fh):
            acct = BankAccount(r["participant"], r["operation"], r["iban"].replace(" ", ""),
                               r["account_number"].strip(), r["bic"].strip(), r["holder"],
                               dt.date.fromisoformat(r["mandate_date"])
                               if r.get("mandate_date") else None)
            check_account(acct)
            terms.accounts[(acct.participant, acct.operation)] = acct
    return terms


def check_account(acct: BankAccount) -> None:
    """Raise TermsError unless the IBAN (or the account number) and the BIC are valid."""
    try:
        BIC(acct.bic)
        if acct.iban:
            IBAN(acct.iban)
        elif not (acct.account_number.isalnum() and len(acct.account_number) <= 34):
            raise ValueError(f"account number {acct.account_number!r}")
    except ValueError as exc:
        raise TermsError(f"bank account of {acct.participant} ({acct.operation}): {exc}"
                         ) from None
