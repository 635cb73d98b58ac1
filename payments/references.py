"""The unique payment reference of an agent's remittance: an ISO 11649 structured creditor
reference (``RF`` + two check digits + up to 21 letters and digits).

The body is the operation, the period id without dashes and the agent code, so one agent
and period has exactly one reference, and the check digits catch a mistyped transfer:

>>> remittance_reference('DE', '2026-11', '23156130152')
'RF10DE20261123156130152'
>>> is_valid('RF10DE20261123156130152'), is_valid('RF11DE20261123156130152')
(True, False)
>>> wallet_reference('DE', '23156130152')
'RF25DEW23156130152'
"""

from __future__ import annotations

import re

from stdnum import iso11649
from stdnum.iso7064 import mod_97_10

FIND = re.compile(r"RF\d\d[0-9A-Z]{1,21}")


def creditor_reference(body: str) -> str:
    """``RF`` + check digits + ``body`` (ISO 11649)."""
    body = body.upper()
    if not (body.isalnum() and 1 <= len(body) <= 21):
        raise ValueError(f"creditor reference body {body!r}: 1-21 letters or digits")
    return iso11649.validate("RF" + mod_97_10.calc_check_digits(body + "RF") + body)


def remittance_reference(operation: str, period_id: str, agent_code: str) -> str:
    return creditor_reference(f"{operation}{period_id.replace('-', '')}{agent_code}")


def wallet_reference(operation: str, agent_code: str) -> str:
    """The reference an agent quotes to top up its prepayment wallet."""
    return creditor_reference(f"{operation}W{agent_code}")


def is_valid(reference: str) -> bool:
    return iso11649.is_valid(reference)


def find_references(text: str) -> list[str]:
    """The valid creditor references in free text (a transfer's remittance information),
    also when printed in groups (``RF18 5390 0754 7034``): runs of whole words from one that
    starts with ``RF``, the longest valid run first."""
    words = re.findall(r"[0-9A-Z]+", text.upper())
    found = []
    for i, word in enumerate(words):
        if not word.startswith("RF"):
            continue
        run, candidates = "", []
        for w in words[i:]:
            run += w
            if len(run) > 25:
                break
            candidates.append(run)
        hit = next((c for c in reversed(candidates) if FIND.fullmatch(c) and is_valid(c)), None)
        if hit and hit not in found:
            found.append(hit)
    return found
