"""Bank statements for the payments tests: camt.053 (001.02, 001.08) and camt.054 (001.08)
of a hinge account, built from plain entry dicts with lxml (as banks lay them out)."""

from __future__ import annotations

import datetime as dt

from lxml import etree

from casslink.money import format_amount


def _sub(parent, tag, text=None, **attrs):
    el = etree.SubElement(parent, tag, attrs)
    if text is not None:
        el.text = text
    return el


def _path(parent, path, text=None):
    for tag in path.split("/"):
        parent = _sub(parent, tag)
    if text is not None:
        parent.text = text
    return parent


def credit(amount: int, value: dt.date, ref: str = "", info: str = "", e2e: str = "",
           iban: str = "", ccy: str = "EUR") -> dict:
    return dict(amount=amount, value=value, ref=ref, info=info, e2e=e2e, iban=iban, ccy=ccy,
                ind="CRDT", reason="")


def returned(amount: int, value: dt.date, e2e: str, reason: str = "AM04",
             ccy: str = "EUR") -> dict:
    return dict(amount=amount, value=value, ref="", info="", e2e=e2e, iban="", ccy=ccy,
                ind="DBIT", reason=reason)


def statement(statement_id: str, entries: list[dict], iban: str = "", account: str = "",
              version: str = "053.001.08", day: dt.date = dt.date(2026, 12, 10)) -> bytes:
    """A camt.053 (``053.001.02``/``053.001.08``) or camt.054 (``054.001.08``) document."""
    ns = f"urn:iso:std:iso:20022:tech:xsd:camt.{version}"
    new = not version.endswith("001.02")
    doc = etree.Element("Document", nsmap={None: ns})
    if version.startswith("054"):
        root = _sub(doc, "BkToCstmrDbtCdtNtfctn")
        body_tag = "Ntfctn"
    else:
        root = _sub(doc, "BkToCstmrStmt")
        body_tag = "Stmt"
    hdr = _sub(root, "GrpHdr")
    _sub(hdr, "MsgId", f"MSG-{statement_id}")
    _sub(hdr, "CreDtTm", f"{day.isoformat()}T18:00:00")
    stmt = _sub(root, body_tag)
    _sub(stmt, "Id", statement_id)
    _sub(stmt, "CreDtTm", f"{day.isoformat()}T18:00:00")
    acct = _sub(stmt, "Acct")
    ident = _sub(acct, "Id")
    if iban:
        _sub(ident, "IBAN", iban)
    else:
        _path(ident, "Othr/Id", account)
    for i, e in enumerate(entries, 1):
        ntry = _sub(stmt, "Ntry")
        _sub(ntry, "NtryRef", str(i))
        amount = format_amount(e["amount"], e["ccy"])
        _sub(ntry, "Amt", amount, Ccy=e["ccy"])
        _sub(ntry, "CdtDbtInd", e["ind"])
        if e["reason"]:
            _sub(ntry, "RvslInd", "true")
        if new:
            _path(ntry, "Sts/Cd", "BOOK")
        else:
            _sub(ntry, "Sts", "BOOK")
        _path(ntry, "BookgDt/Dt", e["value"].isoformat())
        _path(ntry, "ValDt/Dt", e["value"].isoformat())
        _sub(ntry, "AcctSvcrRef", f"{statement_id}-{i}")
        btc = _path(ntry, "BkTxCd/Domn")
        _sub(btc, "Cd", "PMNT")
        fam = _sub(btc, "Fmly")
        _sub(fam, "Cd", "IDDT" if e["e2e"] else "RCDT")
        _sub(fam, "SubFmlyCd", "UPDD" if e["reason"] else ("ESCT" if not e["e2e"] else "BBDD"))
        tx = _path(ntry, "NtryDtls/TxDtls")
        if e["e2e"]:
            _path(tx, "Refs/EndToEndId", e["e2e"])
        if new:
            _sub(tx, "Amt", amount, Ccy=e["ccy"])
        else:
            _sub(_path(tx, "AmtDtls/TxAmt"), "Amt", amount, Ccy=e["ccy"])
        if e["iban"]:
            parties = _sub(tx, "RltdPties")
            _path(parties, "Dbtr/Pty/Nm" if new else "Dbtr/Nm", "Agent")
            _path(parties, "DbtrAcct/Id/IBAN", e["iban"])
        if e["ref"] or e["info"]:
            rmt = _sub(tx, "RmtInf")
            if e["info"]:
                _sub(rmt, "Ustrd", e["info"])
            if e["ref"]:
                cri = _path(rmt, "Strd/CdtrRefInf")
                _path(cri, "Tp/CdOrPrtry/Cd", "SCOR")
                _sub(cri, "Ref", e["ref"])
        if e["reason"]:
            _path(tx, "RtrInf/Rsn/Cd", e["reason"])
    return etree.tostring(doc, xml_declaration=True, encoding="UTF-8", pretty_print=True)
