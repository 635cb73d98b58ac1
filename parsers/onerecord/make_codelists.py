"""Derive ``codelists.json`` from IATA's code-list ontology (rdflib; run by hand, checked by a
test): every closed code list the profile uses, with its individuals' codes.

    .venv/bin/python -m casslink.parsers.onerecord.make_codelists \
        ../shared/data/onerecord/IATA-1R-CL-Ontology.ttl
"""

from __future__ import annotations

import json
import sys
from pathlib import Path

from casslink.parsers.onerecord.profile import CLASSES, CODELIST_FILE, CODES

USED = sorted({p.code_list for props in CLASSES.values() for p in props if p.code_list}
              - {"CurrencyCode"} | {"ChargeIdentifier"})


def derive(ttl: Path) -> dict:
    import rdflib
    from rdflib.namespace import RDF

    g = rdflib.Graph()
    g.parse(ttl)
    lists = {}
    for name in USED:
        members = sorted(str(s).split("#", 1)[1] for s in g.subjects(
            RDF.type, rdflib.URIRef(f"{CODES}{name}")) if "#" in str(s))
        lists[name] = members
    return {"source": "IATA-1R-CL-Ontology.ttl (ONE Record code lists, MIT licence)",
            "lists": lists}


if __name__ == "__main__":
    CODELIST_FILE.write_text(json.dumps(derive(Path(sys.argv[1])), indent=1) + "\n")
    print(f"wrote {CODELIST_FILE}")
