"""Acknowledgement names never collide (issue 21 item 4): the stem is cut, never the suffix;
names are unique per file id and kind, ASCII-safe for any SFTP client."""

from __future__ import annotations

import string
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from casslink.app.ingest import land_and_ingest
from casslink.app.synthetic.generator import generate_billing
from casslink.outbox import NAME_LIMIT, safe_name
from casslink.parsers.hot import write_hot
from casslink.participants import resolve
from casslink.validators.ack import ACK_KINDS, ack_name

SAFE = set(string.ascii_letters + string.digits + "._-")
names = st.text(st.characters(), max_size=400) | st.text(
    st.sampled_from("aé_.-\n\r\x00/\\ 日本"), max_size=300)


@settings(max_examples=400, deadline=None)
@given(names, names, st.integers(1, 999_999), st.integers(1, 999_999))
def test_ack_names_are_safe_and_unique_per_file_and_kind(a, b, id_a, id_b):
    made = {}
    for name, file_id in ((a, id_a), (b, id_b)):
        for kind, suffix in ACK_KINDS.items():
            n = ack_name(name, file_id, kind)
            assert set(n) <= SAFE and n.isascii(), n
            assert 0 < len(n) <= NAME_LIMIT and not n.startswith(".")
            assert n.endswith(f".f{file_id:06d}{suffix}")  # the suffix is never cut
            assert safe_name(n) == n  # delivering it keeps the name
            made.setdefault(n, set()).add((file_id, kind))
    assert all(len(keys) == 1 for keys in made.values()), made


@given(st.text(min_size=150, max_size=400))
def test_safe_name_keeps_a_short_suffix_whole(stem):
    n = safe_name(stem + ".f000042.ack.txt")
    assert n.endswith("f000042.ack.txt") and len(n) <= NAME_LIMIT


@pytest.mark.parametrize("length", [189, 200, 250])
def test_two_files_with_one_long_name_get_four_acks(system, ref, tmp_path, length):
    settings_, engine = system
    gen = generate_billing(ref, "DE", ref.period("DE", "2026-11"), 40, seed=9)
    acks = []
    for i, f in enumerate(gen[:2]):
        folder = tmp_path / str(i)
        folder.mkdir()
        path = folder / ("é" * 5 + "x" * (length - 9) + ".hot")
        path.write_bytes(write_hot(f.header, f.records, f.charges))
        res = land_and_ingest(settings_, engine, path, resolve(engine, f.airline_prefix))
        acks += [Path(a) for a in res.acks]
    assert len({a.name for a in acks}) == 4
    for a in acks:
        assert a.is_file() and a.name.isascii() and len(a.name) <= NAME_LIMIT
    assert {a.read_bytes()[:3] for a in acks[::2]} == {b"ACH"}  # .ack not overwritten


def test_a_name_with_control_characters_gets_well_formed_acks(system, ref, tmp_path):
    from lxml import etree

    from casslink.parsers.onerecord.writer import write_xml
    from casslink.parsers.onerecord.xsd import schema

    settings_, engine = system
    f = generate_billing(ref, "DE", ref.period("DE", "2026-11"), 20, seed=2)[0]
    path = tmp_path / "a\x01\x1b b\u00e9\x7f.xml"
    path.write_bytes(write_xml(f.header, f.records, f.charges))
    res = land_and_ingest(settings_, engine, path, resolve(engine, f.airline_prefix))
    xml_ack, text_ack = (Path(a) for a in res.acks)
    assert xml_ack.name.isascii() and text_ack.name.isascii()
    doc = etree.parse(str(xml_ack))  # well-formed
    assert schema().validate(doc), schema().error_log
    assert text_ack.read_text(encoding="utf-8")
