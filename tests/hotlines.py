"""Build raw fixed-width lines from (position, text) pairs taken from the spec's tables.

Independent of parsers/hot/layouts.py on purpose: the golden tests check our layout tables
against positions typed from shared/spec/cass-file-formats.md.
"""


def line(record_id: str, *fields: tuple[int, str], width: int = 250) -> str:
    buf = list(record_id.ljust(width))
    for pos, text in fields:
        for i, ch in enumerate(text):
            buf[pos - 1 + i] = ch
    return "".join(buf)


def hot(*lines: str, newline: str = "\r\n") -> bytes:
    return (newline.join(lines) + newline).encode("ascii")
