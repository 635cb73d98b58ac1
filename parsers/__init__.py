"""Parsers: bytes in, canonical Arrow tables out, with line numbers; problems listed, not raised.

:func:`read_any` recognises the format from the content (never the file name): CASS
fixed-width (HOT), our ONE Record XML profile, or a Cargo-XML XFWB e-AWB.
"""

from __future__ import annotations

from pathlib import Path

from casslink.canonical import BillingBatch

SNIFF = 4096


def detect_format(data: bytes) -> str:
    """``hot``, ``xml``, ``xfwb`` or ``binary`` from the first bytes."""
    head = data[:SNIFF].lstrip(b"\xef\xbb\xbf \t\r\n")
    if head.startswith(b"<"):
        from casslink.parsers.onerecord.xfwb import is_xfwb

        return "xfwb" if is_xfwb(data) else "xml"
    if data and b"\x00" in head:
        return "binary"
    return "hot"


def read_any(data: bytes, source_file: str = "") -> tuple[str, BillingBatch | None]:
    """(format, batch); the batch is None for a format casslink does not read."""
    fmt = detect_format(data)
    if fmt == "xfwb":
        from casslink.parsers.onerecord.xfwb import read_xfwb

        return fmt, read_xfwb(data, source_file)
    if fmt == "xml":
        from casslink.parsers.onerecord.reader import read_xml

        return fmt, read_xml(data, source_file)
    if fmt == "hot":
        from casslink.parsers.hot import read_hot

        return fmt, read_hot(data, source_file)
    return fmt, None


def read_any_file(path: str | Path, source_file: str = "") -> tuple[str, BillingBatch | None]:
    """Like :func:`read_any` for a file on disk; HOT files are parsed streaming (memory holds
    the result, not the file)."""
    with open(path, "rb") as fh:
        head = fh.read(SNIFF)
    if detect_format(head) == "hot":
        from casslink.parsers.hot import read_hot_file

        return "hot", read_hot_file(path, source_file)
    return read_any(Path(path).read_bytes(), source_file)
