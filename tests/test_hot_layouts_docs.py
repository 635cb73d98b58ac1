"""The layout tables are consistent, and the generated docs are current."""

from __future__ import annotations

import pytest

from casslink.parsers.hot.docs import DOCS
from casslink.parsers.hot.layouts import FAMILIES


@pytest.mark.parametrize("family", list(FAMILIES))
def test_layouts_tile_their_record_exactly(family):
    fam = FAMILIES[family]
    for layout in (fam.header, fam.trailer, *fam.records):
        covered = []
        for f in layout.fields:
            if f.kind == "sign" and any(g.name == f.name and g.kind != "sign"
                                        for g in layout.fields):
                pass
            covered.extend(range(f.start, f.end + 1))
        if layout.group:
            g = layout.group
            covered.extend(range(g.start, g.start + g.count * g.slot_width))
        assert sorted(covered) == list(range(1, layout.width + 1)), layout.record_id
        assert len(layout.record_id) == fam.id_width


def test_record_widths():
    assert FAMILIES["billing"].width == FAMILIES["handoff"].width == 250
    assert FAMILIES["adjustment"].width == 401
    assert FAMILIES["adjustment"].header.width == FAMILIES["adjustment"].trailer.width == 250


@pytest.mark.parametrize("rel", list(DOCS))
def test_generated_docs_are_current(repo, rel):
    assert (repo / rel).read_text() == DOCS[rel](), \
        f"run: python -m casslink.parsers.hot.docs ({rel})"
