"""A settled period for the invoice tests: a data root with the reference world on a given
database, generated billing files stored as ingest would, and the period settled."""

from __future__ import annotations

import hashlib
from pathlib import Path

import pyarrow as pa

from tests.conftest import REPO


def settled_root(home: Path, db_url: str | None = None, operation: str = "DE",
                 period: str = "2026-11", awbs: int = 300, seed: int = 7):
    """(settings, engine, settlement result) of a new data root; the caller disposes of the
    engine."""
    from casslink.db.engine import make_engine, upgrade
    from casslink.reference import ReferenceData, load_into_db
    from casslink.settings import get_settings
    from casslink.settlement.run import settle

    s = get_settings().with_home(home).ensure_dirs()
    s = type(s)(home=home, db_url=db_url or f"sqlite:///{home / 'casslink.db'}")
    upgrade(s.db_url)
    engine = make_engine(s.db_url)
    load_into_db(engine, REPO / "fixtures" / "reference")
    ref = ReferenceData.from_fixtures(REPO / "fixtures" / "reference")
    store_generated(s, engine, ref, operation, period, awbs, seed)
    return s, engine, settle(s, engine, operation, period)


def store_generated(s, engine, ref, operation: str, period: str, awbs: int, seed: int,
                    tag: str = "gen") -> None:
    """Generated billing files of ``operation``/``period`` stored and recorded as ingest."""
    from casslink import registry, warehouse
    from casslink.app.synthetic.generator import generate_billing

    files = generate_billing(ref, operation, ref.period(operation, period), awbs, seed=seed)
    for i, f in enumerate(files, start=1):
        sha = hashlib.sha256(f"{tag}-{operation}-{seed}-{i}".encode()).hexdigest()
        file_id = registry.record_stored(engine, sha, f"{operation}_{period}_{tag}_{i}.hot",
                                         operation, period)
        recs = f.records.set_column(f.records.schema.get_field_index("source_line"),
                                    "source_line",
                                    pa.array(range(2, f.records.num_rows + 2), pa.int32()))
        recs = recs.set_column(recs.schema.get_field_index("source_file"), "source_file",
                               pa.array([sha] * recs.num_rows))
        warehouse.store(s, operation, period, file_id, recs, f.charges)
