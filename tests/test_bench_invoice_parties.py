"""The legal parties generated for the 1M-AWB invoice benchmark (benchmarks/invoice_parties.py):
one per generated agent and airline, valid tax ids, deterministic, the fixtures untouched."""

from __future__ import annotations

from stdnum.de import vat as de_vat

from benchmarks.invoice_parties import legal_data
from benchmarks.settlement import big_world
from casslink.legal_parties import LegalData
from tests.conftest import REPO


def test_every_generated_participant_gets_a_valid_party_and_the_fixtures_keep_theirs():
    ref = big_world(60, 20)
    legal = legal_data(ref)
    fixtures = LegalData.from_fixtures(REPO / "fixtures" / "reference")
    de_agents = [g.code for g in ref.agents.values() if g.operation == "DE"]
    de_airlines = [a.prefix for a in ref.airlines.values() if "DE" in a.operations]
    # 20 airlines in all: the 14 of the fixtures (10 serve DE) and 6 generated ones
    assert len(de_agents) == 60 and len(de_airlines) == 16
    for kind, codes in (("agent", de_agents), ("airline", de_airlines)):
        for code in codes:
            p = legal.party(kind, code, "DE")
            assert p is not None, (kind, code)
            assert p.tax_scheme == "VAT" and de_vat.is_valid(p.tax_id), p.tax_id
            assert p.country == "DE" and p.legal_name
    generated = set(legal.parties) - set(fixtures.parties)
    # the fixtures' 20 DE agents and 10 DE airlines have theirs: 40 + 6 generated
    assert sum(("agent", c, "DE") in fixtures.parties for c in de_agents) == 20
    assert sum(("airline", c, "DE") in fixtures.parties for c in de_airlines) == 10
    assert len(generated) == 40 + 6
    for key, party in fixtures.parties.items():  # the fixtures' parties are kept as they are
        assert legal.parties[key] == party
    assert len({legal.parties[k].tax_id for k in generated}) == len(generated)
    languages = {legal.parties[k].language for k in generated if k[0] == "agent"}
    assert languages == {"en", "de", "fr", "es", "pt", "zh-Hans", "ja", "ko"}
    assert legal_data(big_world(60, 20)).parties == legal.parties  # deterministic
