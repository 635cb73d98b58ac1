"""ISO 20022 payment initiation files, written with lxml and validated against the official
XSDs shipped in ``schemas/`` (see ``schemas/NOTICE.md``):

* ``pain.008.001.02`` (CustomerDirectDebitInitiationV02): the direct debits of the agents;
* ``pain.001.001.03`` (CustomerCreditTransferInitiationV03): the payouts to airlines, the
  credits to agents owed money and the payments of withheld tax.

One file per operation, currency and date. Amounts are written with the currency's own
decimals from int64 minor units (:func:`casslink.money.format_amount`); the end-to-end id of
each transaction is its payment reference. ``sepaxml`` is not used: it assumes cents and
IBANs (EUR/SEPA), while CASS operations pay in INR or USD to account numbers too.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from functools import cache
from pathlib import Path

from lxml import etree

from casslink.money import format_amount
from casslink.payments.terms import BankAccount

SCHEMAS = Path(__file__).resolve().parent / "schemas"
PAIN_008, PAIN_001 = "pain.008.001.02", "pain.001.001.03"


class PainError(ValueError):
    """A payment file does not validate against its XSD: it is never written."""


@dataclass(frozen=True)
class Transaction:
    end_to_end_id: str  # the payment reference
    amount: int  # minor units, > 0
    party: BankAccount  # the debtor of a debit, the creditor of a transfer
    info: str = ""  # unstructured remittance information
    mandate_id: str = ""  # direct debits only


@cache
def schema(message: str) -> etree.XMLSchema:
    return etree.XMLSchema(etree.parse(str(SCHEMAS / f"{message}.xsd")))


def validate(data: bytes, message: str) -> None:
    """Raise PainError unless ``data`` is a valid ``message`` document."""
    doc = etree.fromstring(data)
    xsd = schema(message)
    if not xsd.validate(doc):
        raise PainError(f"{message}: {xsd.error_log.last_error}")


def _sub(parent: etree._Element, tag: str, text: str | None = None, **attrs) -> etree._Element:
    el = etree.SubElement(parent, tag, attrs)
    if text is not None:
        el.text = text
    return el


def _path(parent: etree._Element, path: str, text: str) -> etree._Element:
    for tag in path.split("/"):
        parent = _sub(parent, tag)
    parent.text = text
    return parent


def _account(parent: etree._Element, tag: str, acct: BankAccount) -> None:
    ident = _sub(_sub(parent, tag), "Id")
    if acct.iban:
        _sub(ident, "IBAN", acct.iban)
    else:
        _path(ident, "Othr/Id", acct.account_number)


def _agent(parent: etree._Element, tag: str, acct: BankAccount) -> None:
    _path(_sub(parent, tag), "FinInstnId/BIC", acct.bic)


def _name(text: str) -> str:
    return text[:140]


def _document(message: str, body: str, msg_id: str, created: dt.datetime,
              txs: list[Transaction], currency: str,
              initiator: str) -> tuple[etree._Element, etree._Element]:
    """The ``Document`` of ``message`` and its ``body`` element, which holds the group
    header."""
    doc = etree.Element("Document", nsmap={None: f"urn:iso:std:iso:20022:tech:xsd:{message}"})
    root = _sub(doc, body)
    hdr = _sub(root, "GrpHdr")
    _sub(hdr, "MsgId", msg_id[:35])
    _sub(hdr, "CreDtTm", created.strftime("%Y-%m-%dT%H:%M:%S"))
    _sub(hdr, "NbOfTxs", str(len(txs)))
    _sub(hdr, "CtrlSum", format_amount(sum(t.amount for t in txs), currency))
    _path(hdr, "InitgPty/Nm", _name(initiator))
    return doc, root


def _payment_info(root: etree._Element, msg_id: str, method: str, txs: list[Transaction],
                  currency: str, date_tag: str, date: dt.date, role: str,
                  acct: BankAccount) -> etree._Element:
    """The ``PmtInf`` block: its totals, date and the hinge's party (``role`` ``Cdtr`` of a
    debit, ``Dbtr`` of a transfer): name, account, then bank."""
    pmt = _sub(root, "PmtInf")
    _sub(pmt, "PmtInfId", msg_id[:35])
    _sub(pmt, "PmtMtd", method)
    _sub(pmt, "NbOfTxs", str(len(txs)))
    _sub(pmt, "CtrlSum", format_amount(sum(t.amount for t in txs), currency))
    _sub(pmt, date_tag, date.isoformat())
    _path(pmt, f"{role}/Nm", _name(acct.holder))
    _account(pmt, f"{role}Acct", acct)
    _agent(pmt, f"{role}Agt", acct)
    return pmt


def _counterparty(tx: etree._Element, role: str, acct: BankAccount) -> None:
    """A transaction's party (``Dbtr`` of a debit, ``Cdtr`` of a transfer): bank, name, then
    account (the XSDs' order inside a transaction)."""
    _agent(tx, f"{role}Agt", acct)
    _path(tx, f"{role}/Nm", _name(acct.holder))
    _account(tx, f"{role}Acct", acct)


def _finish(doc: etree._Element, message: str) -> bytes:
    """The file's bytes, validated against ``message``'s XSD (else PainError)."""
    data = etree.tostring(doc, xml_declaration=True, encoding="UTF-8", pretty_print=True)
    validate(data, message)
    return data


def _remittance_info(parent: etree._Element, t: Transaction) -> None:
    rmt = _sub(parent, "RmtInf")
    _sub(rmt, "Ustrd", (t.info or t.end_to_end_id)[:140])


def _check(txs: list[Transaction]) -> None:
    if not txs:
        raise PainError("a payment file needs at least one transaction")
    for t in txs:
        if t.amount <= 0:
            raise PainError(f"{t.end_to_end_id}: amount {t.amount} must be positive")


def direct_debits(msg_id: str, created: dt.datetime, creditor: BankAccount,
                  collection_date: dt.date, currency: str, txs: list[Transaction]) -> bytes:
    """A validated pain.008.001.02 collecting ``txs`` into ``creditor`` (the hinge)."""
    _check(txs)
    doc, root = _document(PAIN_008, "CstmrDrctDbtInitn", msg_id, created, txs, currency,
                          creditor.holder)
    pmt = _payment_info(root, msg_id, "DD", txs, currency, "ReqdColltnDt", collection_date,
                        "Cdtr", creditor)
    for t in txs:
        tx = _sub(pmt, "DrctDbtTxInf")
        _path(tx, "PmtId/EndToEndId", t.end_to_end_id)
        _sub(tx, "InstdAmt", format_amount(t.amount, currency), Ccy=currency)
        mandate = _sub(_sub(tx, "DrctDbtTx"), "MndtRltdInf")
        _sub(mandate, "MndtId", t.mandate_id[:35])
        if t.party.mandate_date is not None:
            _sub(mandate, "DtOfSgntr", t.party.mandate_date.isoformat())
        _counterparty(tx, "Dbtr", t.party)
        _remittance_info(tx, t)
    return _finish(doc, PAIN_008)


def credit_transfers(msg_id: str, created: dt.datetime, debtor: BankAccount,
                     execution_date: dt.date, currency: str, txs: list[Transaction]) -> bytes:
    """A validated pain.001.001.03 paying ``txs`` from ``debtor`` (the hinge); charges are
    borne by the debtor (``DEBT``: IATA's "OUR")."""
    _check(txs)
    doc, root = _document(PAIN_001, "CstmrCdtTrfInitn", msg_id, created, txs, currency,
                          debtor.holder)
    pmt = _payment_info(root, msg_id, "TRF", txs, currency, "ReqdExctnDt", execution_date,
                        "Dbtr", debtor)
    _sub(pmt, "ChrgBr", "DEBT")
    for t in txs:
        tx = _sub(pmt, "CdtTrfTxInf")
        _path(tx, "PmtId/EndToEndId", t.end_to_end_id)
        _sub(_sub(tx, "Amt"), "InstdAmt", format_amount(t.amount, currency), Ccy=currency)
        _counterparty(tx, "Cdtr", t.party)
        _remittance_info(tx, t)
    return _finish(doc, PAIN_001)
