"""Sums of ledger lines for exactly-once tests: billing a file twice, or not at all, shows
in the components the file states; the VAT the tax rules compute per bill (docs/tax.md)
does not add up per file, so it is left out of the comparison with a file's own lines."""

from __future__ import annotations

import pyarrow as pa
import pyarrow.compute as pc


def untaxed_net(lines: pa.Table) -> int:
    """Σ (net - VAT due airline + VAT due agent): the lines' net before their VAT."""
    net = pc.sum(lines.column("net")).as_py() or 0
    return net - (pc.sum(lines.column("tax_airline")).as_py() or 0) + (
        pc.sum(lines.column("tax_agent")).as_py() or 0)
