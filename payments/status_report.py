"""Read a ``pain.002`` (CustomerPaymentStatusReport, 001.03 to 001.10): the bank's answer to
a pain.008. A direct debit it rejects (``TxSts`` ``RJCT``, the R-transaction before
settlement) never brought money, so nothing is posted: the remittance reopens as
``RETURNED`` and an irregularity is raised. A return after settlement comes as a debit in
camt.053/camt.054 (:mod:`casslink.payments.statements`).
"""

from __future__ import annotations

import datetime as dt
import re
from dataclasses import dataclass

from lxml import etree

from casslink.payments.camt import StatementError, _local, _text

MESSAGE = re.compile(r"urn:iso:std:iso:20022:tech:xsd:(pain\.002\.001\.\d\d)")


@dataclass(frozen=True)
class Rejection:
    end_to_end_id: str
    reason: str


@dataclass(frozen=True)
class StatusReport:
    message_id: str
    message: str
    created: dt.date
    rejections: tuple[Rejection, ...]


def is_status_report(data: bytes) -> bool:
    return b"urn:iso:std:iso:20022:tech:xsd:pain.002." in data[:2000]


def parse(data: bytes) -> StatusReport:
    doc = etree.fromstring(data, etree.XMLParser(resolve_entities=False, no_network=True))
    m = MESSAGE.fullmatch(etree.QName(doc).namespace or "")
    if m is None:
        raise StatementError("not a pain.002 document")
    rpt = _local(doc, "CstmrPmtStsRpt")
    if len(rpt) != 1:
        raise StatementError(f"{m.group(1)}: no CstmrPmtStsRpt")
    msg_id = _text(rpt[0], "GrpHdr/MsgId")
    created = _text(rpt[0], "GrpHdr/CreDtTm")
    if not msg_id or not created:
        raise StatementError(f"{m.group(1)}: GrpHdr without MsgId or CreDtTm")
    rejections = tuple(
        Rejection(_text(tx, "OrgnlEndToEndId"), _text(tx, "StsRsnInf/Rsn/Cd"))
        for tx in _local(rpt[0], "OrgnlPmtInfAndSts/TxInfAndSts")
        if _text(tx, "TxSts") == "RJCT")
    return StatusReport(msg_id, m.group(1), dt.date.fromisoformat(created[:10]), rejections)
