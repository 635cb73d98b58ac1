"""Legal parties for a generated benchmark world, as data for the benchmark only.

The 1M-AWB world (``benchmarks.settlement.big_world``) adds thousands of agents and dozens of
airlines that ``fixtures/reference/parties.csv`` does not know, so their invoices could not
be issued. :func:`legal_data` returns the fixtures' legal data (parties, invoice rules,
exchange rates) plus a party for every agent and airline of the operation that has none:
made-up names and addresses and tax ids with valid check digits, computed as
``scripts/make_invoice_parties.py`` computes the fixtures' (same functions, same seeds:
deterministic), agents' languages cycling through all eight as the DE fixture agents do.
Nothing is written to ``fixtures/``.
"""

from __future__ import annotations

import dataclasses

from benchmarks._common import REPO
from casslink.legal_parties import LegalData, LegalDataError, LegalParty, check
from casslink.reference import ReferenceData
from scripts.make_invoice_parties import ADDRESS, LANGS, OP_LANGUAGE, tax_id


def party(kind: str, code: str, name: str, operation: str, n: int, language: str) -> LegalParty:
    """The generated legal identity of participant ``code`` registered in ``operation``."""
    street, postcode, city, country, _ = ADDRESS[operation]
    scheme, tid = tax_id(operation, f"{kind}{code}{operation if kind == 'airline' else ''}")
    return LegalParty(
        kind,
        code,
        operation,
        name,
        street.format(n=n),
        postcode,
        city,
        country,
        scheme,
        tid,
        language,
    )


def legal_data(ref: ReferenceData, operation: str = "DE") -> LegalData:
    """The fixtures' legal data plus a checked party for every agent and airline of
    ``operation`` in ``ref`` that has none (raises LegalDataError on an invalid tax id)."""
    fixtures = LegalData.from_fixtures(REPO / "fixtures" / "reference")
    parties = dict(fixtures.parties)
    added = LegalData(rules=fixtures.rules, rates=fixtures.rates)
    for n, a in enumerate(sorted(ref.airlines.values(), key=lambda a: a.prefix), start=1):
        if operation in a.operations and ("airline", a.prefix, operation) not in parties:
            p = party("airline", a.prefix, a.name, operation, 500 + n, OP_LANGUAGE[operation])
            added.parties[("airline", a.prefix, operation)] = p
    agents = sorted(g.code for g in ref.agents.values() if g.operation == operation)
    for n, code in enumerate(agents, start=1):
        if ("agent", code, operation) not in parties:
            language = LANGS[(n - 1) % len(LANGS)] if operation == "DE" else OP_LANGUAGE[operation]
            p = party("agent", code, ref.agents[code].name, operation, 1000 + n, language)
            added.parties[("agent", code, operation)] = p
    problems = check(added)
    if problems:
        raise LegalDataError("; ".join(problems[:20]))
    return dataclasses.replace(added, parties={**parties, **added.parties})
