"""Generate the profile's XSDs (one per namespace) from ``profile.CLASSES``; a test keeps the
shipped files in ``schemas/`` current.

Class elements are global; a property element is local to its class when both share a
namespace, else a reference to a global element declared in the property's own schema (its
content is then the same wherever it is used). ``rdf:datatype`` is restricted to the XSD
datatype IRIs of the profile; the property-to-datatype pairing and code-list membership are
checked by the reader (XSD 1.0 cannot express them, see shared/spec/xml-formats.md 5.4).

    .venv/bin/python -m casslink.parsers.onerecord.xsd
"""

from __future__ import annotations

from pathlib import Path

from casslink.parsers.onerecord.profile import CLASSES, LITERALS, NSMAP, ROOT_CHILDREN, XSD, Prop

SCHEMAS = Path(__file__).with_name("schemas")
FILES = {"rdf": "rdf.xsd", "cargo": "cargo.xsd", "api": "api.xsd", "cb": "cb.xsd"}
XS_TYPE = {"string": "xs:string", "double": "xs:double", "integer": "xs:integer",
           "nonNegativeInteger": "xs:nonNegativeInteger", "boolean": "xs:boolean",
           "dateTime": "xs:dateTime", "date": "xs:date"}


def _head(prefix: str) -> list[str]:
    ns = NSMAP[prefix]
    lines = ['<?xml version="1.0" encoding="UTF-8"?>',
             "<!-- generated from parsers/onerecord/profile.py; do not edit -->",
             '<xs:schema xmlns:xs="http://www.w3.org/2001/XMLSchema"']
    lines += [f'           xmlns:{p}="{u}"' for p, u in NSMAP.items()]
    lines += [f'           targetNamespace="{ns}" elementFormDefault="qualified">']
    for p in NSMAP:
        if p != prefix:
            lines.append(f'  <xs:import namespace="{NSMAP[p]}" schemaLocation="{FILES[p]}"/>')
    return lines


def _prop_content(p: Prop, indent: str) -> list[str]:
    """The complexType of a property element."""
    if p.is_node:
        refs = "".join(f'<xs:element ref="{t}"/>' for t in p.targets)
        inner = f"<xs:choice>{refs}</xs:choice>" if len(p.targets) > 1 else refs
        return [f"{indent}<xs:complexType><xs:sequence>{inner}</xs:sequence></xs:complexType>"]
    if p.code_list or p.kind == "ref":
        return [f'{indent}<xs:complexType><xs:attribute ref="rdf:resource" use="required"/>'
                "</xs:complexType>"]
    base = XS_TYPE[p.kind]
    use = "prohibited" if p.kind == "string" else "required"
    return [f'{indent}<xs:complexType><xs:simpleContent><xs:extension base="{base}">'
            f'<xs:attribute ref="rdf:datatype" use="{use}"/></xs:extension></xs:simpleContent>'
            "</xs:complexType>"]


def _occurs(p: Prop) -> str:
    return f'minOccurs="{p.min}" maxOccurs="{"unbounded" if p.max == 0 else p.max}"'


def render(prefix: str) -> str:
    if prefix == "rdf":
        return _render_rdf()
    lines = _head(prefix)
    foreign: dict[str, Prop] = {}
    for cls, props in CLASSES.items():
        if not cls.startswith(prefix + ":"):
            continue
        lines.append(f'  <xs:element name="{cls.split(":")[1]}">')
        lines.append("    <xs:complexType>")
        lines.append("      <xs:sequence>")
        for p in props:
            if p.qname.startswith(prefix + ":"):
                lines.append(f'        <xs:element name="{p.qname.split(":")[1]}" {_occurs(p)}>')
                lines += _prop_content(p, "          ")
                lines.append("        </xs:element>")
            else:
                lines.append(f'        <xs:element ref="{p.qname}" {_occurs(p)}/>')
        lines.append("      </xs:sequence>")
        lines.append('      <xs:attribute ref="rdf:about" use="required"/>')
        lines.append("    </xs:complexType>")
        lines.append("  </xs:element>")
    for props in CLASSES.values():  # properties of ours used in other namespaces' classes
        for p in props:
            if p.qname.startswith(prefix + ":"):
                foreign.setdefault(p.qname, p)
    for qname, p in foreign.items():
        owners = [c for c, props in CLASSES.items() if p in props]
        if all(c.startswith(prefix + ":") for c in owners):
            continue
        lines.append(f'  <xs:element name="{qname.split(":")[1]}">')
        lines += _prop_content(p, "    ")
        lines.append("  </xs:element>")
    lines.append("</xs:schema>")
    return "\n".join(lines) + "\n"


def _render_rdf() -> str:
    lines = _head("rdf")
    datatypes = "".join(f'<xs:enumeration value="{XSD}{t}"/>' for t in LITERALS
                        if t != "string")
    children = "".join(f'<xs:element ref="{c}" minOccurs="0" maxOccurs="unbounded"/>'
                       for c in ROOT_CHILDREN)
    lines += [
        '  <xs:attribute name="about" type="xs:anyURI"/>',
        '  <xs:attribute name="resource" type="xs:anyURI"/>',
        f'  <xs:attribute name="datatype"><xs:simpleType><xs:restriction base="xs:anyURI">'
        f"{datatypes}</xs:restriction></xs:simpleType></xs:attribute>",
        '  <xs:element name="RDF">',
        f'    <xs:complexType><xs:choice maxOccurs="unbounded">{children}'
        "</xs:choice></xs:complexType>",
        "  </xs:element>",
        "</xs:schema>",
    ]
    return "\n".join(lines) + "\n"


def all_files() -> dict[str, str]:
    return {FILES[p]: render(p) for p in FILES}


def schema():
    """The compiled lxml schema (rdf.xsd imports the rest)."""
    from lxml import etree

    return etree.XMLSchema(etree.parse(str(SCHEMAS / "rdf.xsd")))


if __name__ == "__main__":
    SCHEMAS.mkdir(exist_ok=True)
    for name, text in all_files().items():
        (SCHEMAS / name).write_text(text)
        print(f"wrote {SCHEMAS / name}")
