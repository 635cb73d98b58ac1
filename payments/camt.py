"""Read bank statements: ``camt.053`` (BankToCustomerStatement) and ``camt.054``
(BankToCustomerDebitCreditNotification), versions ``001.02`` to ``001.08`` as banks send them.

The versions differ in details this reader tolerates by looking elements up by local name:
the entry status is ``<Sts>BOOK</Sts>`` (001.02) or ``<Sts><Cd>BOOK</Cd></Sts>`` (001.08); a
related party is ``<Dbtr><Nm>`` or ``<Dbtr><Pty><Nm>``. Each transaction detail of an entry
becomes one :class:`Entry` (a batch booking of direct debits lists one per debit); an entry
without details is one :class:`Entry` itself. Amounts become int64 minor units.
"""

from __future__ import annotations

import datetime as dt
import re
from dataclasses import dataclass

from lxml import etree

from casslink.money import to_minor

MESSAGE = re.compile(r"urn:iso:std:iso:20022:tech:xsd:(camt\.05[34]\.001\.\d\d)")
RETURN_SUBFAMILIES = frozenset({"UPDD", "RCDD", "PRDD", "ARET"})  # ISO bank transaction codes


class StatementError(ValueError):
    """Not a camt.053/camt.054 this reader understands."""


@dataclass(frozen=True)
class Entry:
    seq: int
    amount: int  # minor units, > 0
    currency: str
    direction: str  # CRDT | DBIT
    value_date: dt.date
    end_to_end_id: str
    references: tuple[str, ...]  # creditor references (structured) and free-text info
    info: str
    debtor_iban: str
    returned: bool  # a returned or reversed direct debit (R-transaction)
    return_reason: str


@dataclass(frozen=True)
class Statement:
    statement_id: str
    message: str
    account_iban: str
    account_other: str
    currency: str
    entries: tuple[Entry, ...]


def _local(el: etree._Element, path: str) -> list[etree._Element]:
    xp = "./" + "/".join(f"*[local-name()='{p}']" for p in path.split("/"))
    return el.xpath(xp)


def _text(el: etree._Element, *paths: str) -> str:
    for path in paths:
        found = _local(el, path)
        if found and (found[0].text or "").strip():
            return found[0].text.strip()
    return ""


def _date(el: etree._Element, path: str) -> dt.date | None:
    text = _text(el, f"{path}/Dt", f"{path}/DtTm")
    return dt.date.fromisoformat(text[:10]) if text else None


def parse(data: bytes) -> Statement:
    """The statement (or notification) in ``data``."""
    try:
        doc = etree.fromstring(data, etree.XMLParser(resolve_entities=False, no_network=True))
    except etree.XMLSyntaxError as exc:
        raise StatementError(f"not XML: {exc}") from None
    m = MESSAGE.fullmatch(etree.QName(doc).namespace or "")
    if m is None:
        raise StatementError(f"not a camt.053/camt.054 document: {etree.QName(doc).namespace}")
    message = m.group(1)
    body = _local(doc, "BkToCstmrStmt/Stmt") or _local(doc, "BkToCstmrDbtCdtNtfctn/Ntfctn")
    if len(body) != 1:
        raise StatementError(f"{message}: expected one statement, found {len(body)}")
    stmt = body[0]
    statement_id = _text(stmt, "Id")
    if not statement_id:
        raise StatementError(f"{message}: statement without Id")
    entries: list[Entry] = []
    for ntry in _local(stmt, "Ntry"):
        status = _text(ntry, "Sts/Cd", "Sts")
        if status and status != "BOOK":
            continue  # pending or informational: not money yet
        amt = _local(ntry, "Amt")[0]
        ccy = amt.get("Ccy")
        direction = _text(ntry, "CdtDbtInd")
        reversal = _text(ntry, "RvslInd").lower() == "true"
        value_date = _date(ntry, "ValDt") or _date(ntry, "BookgDt")
        if value_date is None:
            raise StatementError(f"{message} {statement_id}: entry without a date")
        subfamily = _text(ntry, "BkTxCd/Domn/Fmly/SubFmlyCd")
        details = _local(ntry, "NtryDtls/TxDtls") or [None]
        for tx in details:
            src = tx if tx is not None else ntry
            tx_amt = (_local(src, "Amt") or _local(src, "AmtDtls/TxAmt/Amt")) if tx is not None \
                else [amt]
            tx_amt = tx_amt[0] if tx_amt else amt
            refs = [r for r in (_text(src, "RmtInf/Strd/CdtrRefInf/Ref"),
                                _text(src, "Refs/EndToEndId")) if r and r != "NOTPROVIDED"]
            info = " ".join(u.text or "" for u in _local(src, "RmtInf/Ustrd")).strip()
            reason = _text(src, "RtrInf/Rsn/Cd")
            entries.append(Entry(
                seq=len(entries) + 1, amount=to_minor(tx_amt.text.strip(), tx_amt.get("Ccy")),
                currency=tx_amt.get("Ccy") or ccy, direction=direction, value_date=value_date,
                end_to_end_id=_text(src, "Refs/EndToEndId"), references=tuple(refs), info=info,
                debtor_iban=_text(src, "RltdPties/DbtrAcct/Id/IBAN"),
                returned=direction == "DBIT" and (reversal or bool(reason)
                                                   or subfamily in RETURN_SUBFAMILIES),
                return_reason=reason))
    return Statement(statement_id, message, _text(stmt, "Acct/Id/IBAN"),
                     _text(stmt, "Acct/Id/Othr/Id"), _text(stmt, "Acct/Ccy"), tuple(entries))
