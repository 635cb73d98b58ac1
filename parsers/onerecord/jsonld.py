"""Profile XML -> JSON-LD (the same graph, for ONE Record API consumers).

The profile's striped RDF/XML maps one to one: a node element becomes a node object
(``@id``, ``@type``), a property element a key (compact IRI under the ONE Record context),
a typed literal ``{"@value", "@type"}``, a code or reference ``{"@id"}``, a nested node an
embedded node object. Top-level nodes form the ``@graph``. Keys keep document order.
"""

from __future__ import annotations

import io
import json

from lxml import etree

from casslink.parsers.onerecord.profile import NSMAP, RDF, XSD, qname_of

CONTEXT = {**{p: u for p, u in NSMAP.items() if p != "rdf"}, "xsd": XSD}
ABOUT, RESOURCE, DATATYPE = f"{{{RDF}}}about", f"{{{RDF}}}resource", f"{{{RDF}}}datatype"


def _node(elem) -> dict:
    out: dict = {"@id": elem.get(ABOUT), "@type": qname_of(elem.tag)}
    for prop in elem:
        key = qname_of(prop.tag)
        if len(prop):
            value = _node(prop[0])
        elif prop.get(RESOURCE) is not None:
            value = {"@id": prop.get(RESOURCE)}
        elif prop.get(DATATYPE) is not None:
            value = {"@value": prop.text or "", "@type": "xsd:" + prop.get(DATATYPE)[len(XSD):]}
        else:
            value = prop.text or ""
        if key in out:
            if not isinstance(out[key], list):
                out[key] = [out[key]]
            out[key].append(value)
        else:
            out[key] = value
    return out


def to_jsonld(xml: bytes) -> dict:
    parser = etree.XMLParser(load_dtd=False, resolve_entities=False, no_network=True)
    root = etree.parse(io.BytesIO(xml), parser).getroot()
    return {"@context": CONTEXT, "@graph": [_node(child) for child in root]}


def to_jsonld_bytes(xml: bytes) -> bytes:
    return (json.dumps(to_jsonld(xml), indent=1, ensure_ascii=False) + "\n").encode("utf-8")
