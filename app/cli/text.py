"""Text output helpers of the command line: counted nouns and tables with column headers."""

from __future__ import annotations

from collections.abc import Iterable, Sequence


def plural(n: int, noun: str, width: int = 0, many: str = "") -> str:
    """``1 airline``, ``2 airlines`` (``many``: an irregular plural). With ``width`` the count
    is right-aligned in that many characters and the noun padded to its plural's length, so
    counts line up in columns."""
    word = noun if n == 1 else (many or noun + "s")
    if not width:
        return f"{n} {word}"
    return f"{n:>{width}} {word:<{len(many or noun + 's')}}"


def table(headers: Sequence[str], rows: Iterable[Sequence[object]],
          right: Iterable[int] = ()) -> list[str]:
    """Lines of a text table: a header line, then one line per row; each column as wide as
    its widest cell, columns in ``right`` right-aligned (numbers). Trailing blanks removed."""
    cells = [[("" if v is None else str(v)) for v in row] for row in rows]
    widths = [max([len(h)] + [len(r[i]) for r in cells]) for i, h in enumerate(headers)]
    right = set(right)

    def line(values: Sequence[str]) -> str:
        return "  ".join(v.rjust(w) if i in right else v.ljust(w)
                         for i, (v, w) in enumerate(zip(values, widths, strict=True))).rstrip()

    return [line(list(headers))] + [line(r) for r in cells]


def counts_text(counts: dict[str, int]) -> str:
    """``3 operations, 1 airline``: counts keyed by a plural noun, each counted correctly."""
    return ", ".join(plural(n, noun.removesuffix("s"), many=noun) for noun, n in counts.items())
