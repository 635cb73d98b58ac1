"""Settle one (operation, period): read the warehouse, build the ledger, check conservation,
write the ledger files and a manifest, record the run. ``casslink settle`` and the settlement
DAG call :func:`settle`.

Ledger files live in ``ledger/operation=<op>/period=<id>/run-<digest16>/`` where the digest
covers the inputs (warehouse parts), the code version, the reference data and the period's
calendar dates: the same inputs always give the same folder and byte-identical files; a run
over new inputs or corrected dates gets a new folder (a billed period's needs ``rebill``), so
the earlier run's manifest stays for audit. Runs recorded before the digest covered the
dates carry the legacy digest (:func:`_same_inputs`).
"""

from __future__ import annotations

import datetime as dt
import hashlib
import json
from collections.abc import Callable, Iterable, Iterator, Mapping
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import asdict, dataclass
from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.parquet as pq
from sqlalchemy import Engine, select, update

from casslink import __version__, registry, warehouse
from casslink.db.engine import session_scope
from casslink.db.models import BillingPeriod, LandedFile, SettlementRun
from casslink.dispute_rules import load_rules, rule_for
from casslink.reference import PeriodInfo, ReferenceData, load_reference
from casslink.settings import Settings
from casslink.settlement import payment_effect
from casslink.settlement.ledger import (
    DICTIONARY_COLUMNS,
    INPUT_COLUMNS,
    MissingRate,
    bills,
    ledger_lines,
    totals,
)
from casslink.settlement.tax import (
    CODE_PREFIX,
    TAX_COLUMNS,
    TAX_TABLE_SCHEMA,
    add_withheld,
    apply_tax,
    tax_problems,
)
from casslink.storage import atomic_write_bytes, sha256_of
from casslink.tax_rules import TaxRule

LEDGER_FILES = ("lines", "bills", "agents", "airlines", "tax")


class SettlementError(RuntimeError):
    """The run cannot go on (unknown period, billed period without --rebill, ...)."""


class ConservationError(SettlementError):
    """Money is not conserved: the message names what is off. The run fails loudly."""


@dataclass
class SettlementResult:
    operation: str
    period_id: str
    kind: str
    currency: str
    inputs_digest: str
    ledger_dir: str
    records: int
    agents: int
    airlines: int
    total: int  # minor units: sum of agents' remittances = sum of airlines' settlements
    input_files: int
    run_id: int = 0
    would_be: str = ""  # a preview: the kind the real run would record

    @property
    def preview(self) -> bool:
        return self.kind == "preview"

    def as_dict(self) -> dict:
        return {**asdict(self), "preview": self.preview}


def ledger_root(settings: Settings, operation: str, period_id: str) -> Path:
    return settings.home / "ledger" / f"operation={operation}" / f"period={period_id}"


def check_conservation(lines: pa.Table, bill_table: pa.Table, agents: pa.Table,
                       airlines: pa.Table, tax: pa.Table | None = None) -> None:
    """Σ agents = Σ airlines = Σ record nets, per agent and per airline recomputed from the
    lines, and every line in exactly one bill. Raises ConservationError saying what is off."""
    problems = []
    line_total = int(np.asarray(lines.column("net"), dtype=np.int64).sum())
    sums = {"records": line_total,
            "bills": int(pc.sum(bill_table.column("net")).as_py() or 0),
            "agents' remittances": int(pc.sum(agents.column("net")).as_py() or 0),
            "airlines' settlements": int(pc.sum(airlines.column("net")).as_py() or 0)}
    if len(set(sums.values())) != 1:
        problems.append("totals differ: " + ", ".join(f"{k} {v}" for k, v in sums.items()))
    if int(pc.sum(bill_table.column("records")).as_py() or 0) != lines.num_rows:
        problems.append(f"bills hold {pc.sum(bill_table.column('records'))} lines, the period "
                        f"has {lines.num_rows}")
    for key, table, label in (("agent_code", agents, "agent"),
                              ("airline_prefix", airlines, "airline")):
        nulls = lines.column(key).null_count
        if nulls:
            problems.append(f"{nulls} lines have no {label}")
        expected = _python_sums(lines, key)
        got = dict(zip(table.column(key).to_pylist(), table.column("net").to_pylist(),
                       strict=True))
        for code in sorted(set(expected) | set(got), key=str):
            if expected.get(code, 0) != got.get(code, 0):
                problems.append(f"{label} {code}: ledger says {got.get(code)}, its lines add "
                                f"up to {expected.get(code)}")
    if tax is not None and "payable" in airlines.column_names:
        problems.extend(tax_problems(lines, bill_table, agents, airlines, tax))
    if problems:
        raise ConservationError("money is not conserved: " + "; ".join(problems[:20]))


def _python_sums(lines: pa.Table, key: str) -> dict:
    """An independent path to per-party totals: numpy ``add.at`` over dictionary codes, not
    the ledger's sort-and-reduce."""
    enc = pc.dictionary_encode(pc.fill_null(lines.column(key), "")).combine_chunks()
    nets = np.asarray(lines.column("net"), dtype=np.int64)
    totals_ = np.zeros(len(enc.dictionary), np.int64)
    np.add.at(totals_, np.asarray(enc.indices, np.int64), nets)
    return {(k or None): int(v) for k, v in zip(enc.dictionary.to_pylist(), totals_.tolist(),
                                                 strict=True)}


def _inputs(settings: Settings, engine: Engine, operation: str, period_id: str
            ) -> list[dict]:
    """The run's inputs: the parts the registry's archived files committed to this period
    (never a listing of the folder, which may hold parts of crashed attempts)."""
    out = []
    for a in registry.accepted_parts(engine, operation, period_id):
        path = warehouse.part_path(settings, operation, period_id, a.part_name)
        out.append({"file_id": a.file_id, "file_sha256": a.sha256, "name": a.name,
                    "part": a.part_name, "part_sha256": sha256_of(path)})
    return out


def _digest(inputs: list[dict], ref_digest: str, period: PeriodInfo | None) -> str:
    """What a run's ledger follows from: code, reference data, the period's calendar dates as
    stored now (an operator's correction, :func:`casslink.calendars.correct`, is not in the
    reference digest) and the input parts. ``period=None``: the legacy formula, without the
    dates, of runs recorded before the digest covered them."""
    h = hashlib.sha256()
    h.update(f"casslink {__version__}\nreference {ref_digest}\n".encode())
    if period is not None:
        h.update(f"period {period.period_id} {period.start_date} {period.end_date} "
                 f"{period.correction_cutoff} {period.billing_date} {period.remittance_date}\n"
                 .encode())
    for i in inputs:
        h.update(f"{i['part']} {i['part_sha256']}\n".encode())
    return h.hexdigest()


def _parquet_bytes(table: pa.Table) -> bytes:
    """A ledger table as Parquet bytes (zstd; plain encoding is smaller and faster here than
    dictionary encoding, as measured on the 1M-AWB benchmark period)."""
    sink = pa.BufferOutputStream()
    pq.write_table(table, sink, compression="zstd", use_dictionary=False,
                   write_statistics=True)
    return sink.getvalue().to_pybytes()


def resolve_period(ref: ReferenceData, operation: str, text: str) -> PeriodInfo:
    if operation not in ref.operations:
        raise SettlementError(f"unknown operation {operation!r}")
    period = ref.resolve_period(operation, text)
    if period is None:
        raise SettlementError(f"no period {text!r} in the {operation} calendar")
    return period


def settle(settings: Settings, engine: Engine, operation: str, period_text: str,
           rebill: bool = False, reference: ReferenceData | None = None,
           preview: bool = False) -> SettlementResult:
    """Settle a period (idempotent for the same inputs; a billed period needs ``rebill``).

    The period is closed before its inputs are listed - files pinned later go to the next
    open period, and a file pinned to it still in ingest stops the run - and marked billed
    when the run succeeds.

    ``preview=True`` computes the ledger in memory and writes nothing: no run row, no period
    status, no ledger files. The result's ``kind`` is ``preview`` and ``would_be`` the kind
    the real run would record (``regular``, ``repeat`` or ``rebill``); a billed period whose
    inputs changed still needs ``rebill``, as for the real run."""
    ref = reference or load_reference(settings)
    operation = operation.upper()
    period = resolve_period(ref, operation, period_text)
    currency = ref.operations[operation].settlement_currency
    if not preview:
        _close_for_billing(engine, operation, period.period_id)
    inputs = _inputs(settings, engine, operation, period.period_id)
    digest = _digest(inputs, ref.digest, period)
    with session_scope(engine) as s:
        prev = s.scalars(_recorded_runs(operation, period.period_id)).first()
        row = s.scalars(select(BillingPeriod).where(
            BillingPeriod.operation_code == operation,
            BillingPeriod.period_id == period.period_id)).first()
        same = prev is not None and _same_inputs(prev, digest,
                                                 _digest(inputs, ref.digest, None), period)
        kind = _run_kind(prev, same, row.status if row else "open", rebill,
                         f"{operation} {period.period_id}")
        if preview:
            s.rollback()  # a preview reads only
        else:
            run = SettlementRun(operation_code=operation, period_id=period.period_id,
                                kind=kind, inputs_digest=digest, status="running",
                                currency=currency)
            s.add(run)
            s.flush()
            run_id = run.id
    if preview:
        return _preview(settings, operation, period, currency, inputs, digest, kind, ref)
    try:
        result = _compute_and_write(settings, operation, period, currency, inputs, digest,
                                    ref, kind)
        payment_effect.apply(engine, operation, period.period_id, Path(result.ledger_dir),
                             rule_for(load_rules(settings.fixtures_dir / "reference"), operation))
    except Exception as exc:
        _finish(engine, run_id, "failed", str(exc))
        raise
    _finish(engine, run_id, "succeeded", "", result, billed=(operation, period.period_id))
    result.run_id = run_id
    return result


def _close_for_billing(engine: Engine, operation: str, period_id: str) -> None:
    """Close an open period (committed before the inputs are listed: files pinned from now on
    go to the next open period), then make sure no file pinned to it is still being ingested
    - its records would miss this bill."""
    with session_scope(engine) as s:
        s.execute(update(BillingPeriod).where(
            BillingPeriod.operation_code == operation, BillingPeriod.period_id == period_id,
            BillingPeriod.status == "open").values(status="closed"))
    waiting = registry.in_flight(engine, operation, period_id)
    if waiting:
        raise SettlementError(
            f"{operation} {period_id}: files {', '.join(map(str, waiting))} are billed in this "
            "period and still being ingested; settle again once their outcome is recorded "
            "(`casslink ingest --pending` finishes files whose ingest stopped)")


def _recorded_runs(operation: str, period_id: str):
    """The period's successful runs, latest first (a preview is never one: older versions
    recorded previews as runs; they are neither billed nor delivered)."""
    return select(SettlementRun).where(
        SettlementRun.operation_code == operation, SettlementRun.period_id == period_id,
        SettlementRun.status == "succeeded", SettlementRun.kind != "preview",
    ).order_by(SettlementRun.id.desc())


def period_dates(period: PeriodInfo) -> dict[str, str]:
    """The period's calendar dates as a run's manifest records them (``period_dates``)."""
    return {"start": period.start_date.isoformat(), "end": period.end_date.isoformat(),
            "correction_cutoff": period.correction_cutoff.isoformat(),
            "billing": period.billing_date.isoformat(),
            "remittance": period.remittance_date.isoformat()}


LEGACY_DATE_KEYS = {"period_start": "start", "period_end": "end", "billing_date": "billing",
                    "remittance_date": "remittance"}
"""Manifest keys of the dates a run recorded before ``period_dates`` (no cut-off)."""


def _same_inputs(prev: SettlementRun, digest: str, legacy: str, period: PeriodInfo) -> bool:
    """Whether ``prev`` ran over this run's inputs: the same digest, or - a run recorded
    before the digest covered the period's dates - the ``legacy`` digest (same code, reference
    data and parts) and every date its manifest records still the period's (a legacy manifest
    has no cut-off; one that records no date at all is taken as unchanged)."""
    if prev.inputs_digest == digest:
        return True
    if prev.inputs_digest != legacy:
        return False
    try:
        manifest = json.loads((Path(prev.ledger_dir) / "manifest.json").read_text())
    except (OSError, ValueError):
        manifest = {}
    recorded = manifest.get("period_dates") or {
        name: manifest[key] for key, name in LEGACY_DATE_KEYS.items() if key in manifest}
    now = period_dates(period)
    return all(now.get(name) == value for name, value in recorded.items())


def _run_kind(prev: SettlementRun | None, same_inputs: bool, status: str, rebill: bool,
              what: str) -> str:
    """``regular``, ``repeat`` (same inputs as the last run) or ``rebill``; a billed period
    whose inputs changed without ``rebill`` raises."""
    if prev is None:
        return "regular"
    if same_inputs:
        return "repeat"
    if status == "billed" and not rebill:
        raise SettlementError(
            f"{what} is billed (run {prev.id}); its inputs changed since - settle it again "
            "only as an explicit re-bill (--rebill)")
    return "rebill" if status == "billed" else "regular"


def _columns(rules: tuple[TaxRule, ...]) -> list[str]:
    """The record columns a run reads: the ledger's, and the tax engine's when it has rules."""
    return [*INPUT_COLUMNS, *TAX_COLUMNS] if rules else INPUT_COLUMNS


def _dictionary(rules: tuple[TaxRule, ...]) -> tuple[str, ...]:
    """Columns read dictionary-encoded: the ledger's, and the airports when taxing."""
    return (*DICTIONARY_COLUMNS, "origin", "destination") if rules else DICTIONARY_COLUMNS


def _preview(settings, operation, period, currency, inputs, digest, would_be, ref
             ) -> SettlementResult:
    """The run's ledger computed in memory, conservation checked; nothing written."""
    rules = ref.tax_rules.get(operation, ())
    records = warehouse.read(settings, operation, period.period_id,
                             columns=_columns(rules), dictionary=_dictionary(rules),
                             only=[i["part"] for i in inputs])
    tables = build_ledger(records, operation, period.period_id, currency, rules=rules,
                          period_end=period.end_date)
    agents = tables["agents"]
    return SettlementResult(operation, period.period_id, "preview", currency, digest, "",
                            tables["lines"].num_rows, agents.num_rows,
                            tables["airlines"].num_rows,
                            int(pc.sum(agents.column("net")).as_py() or 0), len(inputs),
                            would_be=would_be)


def build_ledger(records: pa.Table, operation: str, period_id: str, currency: str,
                 on_lines: Callable[[pa.Table], None] | None = None,
                 rules: tuple[TaxRule, ...] = (), period_end: dt.date | None = None,
                 outcome: dict | None = None) -> dict[str, pa.Table]:
    """The ledger tables of a period's records with the tax ``rules`` applied
    (:mod:`casslink.settlement.tax`), conservation checked (raises if not). ``on_lines`` sees
    the lines as soon as they exist (to start encoding them); ``outcome`` (a dict) receives
    the tax engine's per-side differences to the files' figures."""
    try:
        lines = ledger_lines(records, operation, period_id, currency)
    except MissingRate as exc:
        raise SettlementError(str(exc)) from exc
    fallback = np.datetime64(period_end or dt.date(1970, 1, 1), "D")  # no execution date
    taxed = apply_tax(lines, records, tuple(rules), operation, currency, fallback)
    lines = taxed.lines
    if outcome is not None:
        outcome.update(differences=taxed.differences, unknown_airports=taxed.unknown_airports)
    if on_lines is not None:
        on_lines(lines)
    bill_table = bills(lines)
    agents = totals(bill_table, "agent_code", "airline_prefix")
    airlines = totals(bill_table, "airline_prefix", "agent_code")
    bill_table, airlines = add_withheld(bill_table, lines, airlines)
    check_conservation(lines, bill_table, agents, airlines, taxed.table)
    return {"lines": lines, "bills": bill_table, "agents": agents, "airlines": airlines,
            "tax": taxed.table}


def settle_records(records: pa.Table, operation: str, period_id: str, currency: str,
                   folder: Path, rules: tuple[TaxRule, ...] = (),
                   period_end: dt.date | None = None, outcome: dict | None = None,
                   ) -> tuple[dict[str, pa.Table], dict[str, str]]:
    """Build the ledger and write its files into ``folder``: (tables, file -> sha256).

    The lines (the big file) are encoded on a second thread while the bills are built and
    conservation is checked; nothing is written unless the check passes."""
    with ThreadPoolExecutor(max_workers=1) as pool:
        lines_bytes: Future | None = None

        def encode_lines(lines: pa.Table) -> None:
            nonlocal lines_bytes
            lines_bytes = pool.submit(_parquet_bytes, lines)

        tables = build_ledger(records, operation, period_id, currency,
                              on_lines=encode_lines, rules=rules, period_end=period_end,
                              outcome=outcome)
        encoded = {name: lines_bytes.result() if name == "lines" and lines_bytes else
                   _parquet_bytes(table) for name, table in tables.items()}
    hashes = {}
    for name, data in encoded.items():
        atomic_write_bytes(folder / f"{name}.parquet", data)
        hashes[name] = hashlib.sha256(data).hexdigest()
    return tables, hashes


def _compute_and_write(settings, operation, period, currency, inputs, digest, ref, kind
                       ) -> SettlementResult:
    rules = ref.tax_rules.get(operation, ())
    records = warehouse.read(settings, operation, period.period_id, columns=_columns(rules),
                             dictionary=_dictionary(rules),  # exactly the manifest's parts
                             only=[i["part"] for i in inputs])
    folder = ledger_root(settings, operation, period.period_id) / f"run-{digest[:16]}"
    outcome: dict = {}
    tables, outputs = settle_records(records, operation, period.period_id, currency, folder,
                                     rules=rules, period_end=period.end_date, outcome=outcome)
    lines, agents, airlines = tables["lines"], tables["agents"], tables["airlines"]
    total = int(pc.sum(agents.column("net")).as_py() or 0)
    manifest = {
        "operation": operation, "period": period.period_id,
        "period_start": period.start_date.isoformat(), "period_end": period.end_date.isoformat(),
        "billing_date": period.billing_date.isoformat(),
        "remittance_date": period.remittance_date.isoformat(),
        "period_dates": period_dates(period),
        "settlement_currency": currency, "inputs_digest": digest,
        "code_version": __version__, "reference_digest": ref.digest, "inputs": inputs,
        "outputs": {f"{k}.parquet": v for k, v in outputs.items()},
        "totals": {"records": lines.num_rows, "agents": agents.num_rows,
                   "airlines": airlines.num_rows, "remittances": total, "settlements": total},
        "tax": {"rules": sorted({(r.code, r.version) for r in rules}),
                "withheld": int(pc.sum(airlines.column("tax_withheld")).as_py() or 0),
                "computed_minus_file": outcome.get("differences", {}),
                "unknown_airports": outcome.get("unknown_airports", 0)},
    }
    atomic_write_bytes(folder / "manifest.json",
                       json.dumps(manifest, indent=1, sort_keys=True).encode())
    return SettlementResult(operation, period.period_id, kind, currency, digest, str(folder),
                            lines.num_rows, agents.num_rows, airlines.num_rows, total,
                            len(inputs))


def _finish(engine: Engine, run_id: int, status: str, message: str,
            result: SettlementResult | None = None,
            billed: tuple[str, str] | None = None) -> None:
    """Record the run's end; ``billed`` (operation, period): mark the period billed in the
    same transaction, so a succeeded run and its billed period never come apart."""
    with session_scope(engine) as s:
        run = s.get(SettlementRun, run_id)
        run.status, run.message = status, message[:2000]
        run.finished_at = dt.datetime.now(dt.UTC)
        if result is not None:
            run.ledger_dir, run.records, run.total_minor = (result.ledger_dir, result.records,
                                                            result.total)
        if billed is not None:
            s.execute(update(BillingPeriod).where(
                BillingPeriod.operation_code == billed[0],
                BillingPeriod.period_id == billed[1]).values(status="billed"))


def latest_run(engine: Engine, operation: str, period_id: str) -> tuple[int, Path]:
    """(run id, ledger folder) of the period's latest successful run."""
    with session_scope(engine) as s:
        run = s.scalars(_recorded_runs(operation, period_id)).first()
        if run is None:
            raise SettlementError(f"{operation} {period_id} has not been settled")
        return run.id, Path(run.ledger_dir)


def latest_ledger(engine: Engine, operation: str, period_id: str) -> Path:
    """The ledger folder of the period's latest successful run."""
    return latest_run(engine, operation, period_id)[1]


def read_ledger(folder: Path) -> dict[str, pa.Table]:
    """Every ledger table of the run in ``folder``."""
    return dict(LedgerTables(folder))


class LedgerTables(Mapping[str, pa.Table]):
    """The ledger tables of the run in ``folder``, each read on first use: a task that needs
    only the bills never reads the lines."""

    def __init__(self, folder: Path) -> None:
        self.folder, self._read, self._selected = Path(folder), {}, {}

    def __getitem__(self, name: str) -> pa.Table:
        if name not in LEDGER_FILES:
            raise KeyError(name)
        if name not in self._read:  # ParquetFile: no dataset layer (~0.25 s to import)
            path = self.folder / f"{name}.parquet"
            self._read[name] = (pq.ParquetFile(path).read() if path.exists() or name != "tax"
                                else TAX_TABLE_SCHEMA.empty_table())  # a run before tax
        return self._read[name]

    def select(self, name: str, columns: Iterable[str]) -> pa.Table:
        """Only ``columns`` of table ``name`` (in the file's order): taken from the table if
        read whole, else read alone on first use (the Excel reports need 18 of the lines'
        30 columns)."""
        wanted = frozenset(columns)
        if name in self._read:
            table = self._read[name]
            return table.select([c for c in table.column_names if c in wanted])
        if name not in LEDGER_FILES:
            raise KeyError(name)
        if (name, wanted) not in self._selected:
            file = pq.ParquetFile(self.folder / f"{name}.parquet")
            self._selected[(name, wanted)] = file.read(
                columns=[c for c in file.schema_arrow.names if c in wanted])
        return self._selected[(name, wanted)]

    def __iter__(self) -> Iterator[str]:
        return iter(LEDGER_FILES)

    def __len__(self) -> int:
        return len(LEDGER_FILES)


def trace(engine: Engine, folder: Path, agent: str | None, airline: str | None
          ) -> list[dict]:
    """Lineage: the input files and line numbers behind the ledger lines of a bill."""
    lines = pq.read_table(folder / "lines.parquet")
    mask = pa.array([True] * lines.num_rows)
    if agent:
        mask = pc.and_(mask, pc.equal(lines.column("agent_code"), agent))
    if airline:
        mask = pc.and_(mask, pc.equal(lines.column("airline_prefix"), airline))
    sub = lines.filter(mask)
    shas = sorted(set(sub.column("source_file").to_pylist()))
    with session_scope(engine) as s:
        files = {r.sha256: r for r in s.scalars(select(LandedFile).where(
            LandedFile.sha256.in_(shas), LandedFile.state == "archived",
            LandedFile.channel != "sandbox"))}
    out = []
    for sha in shas:
        rows = sub.filter(pc.equal(sub.column("source_file"), sha))
        f = files.get(sha)
        out.append({"file_id": f.id if f else None, "name": f.original_name if f else None,
                    "sha256": sha, "lines": sorted(rows.column("source_line").to_pylist()),
                    "records": rows.num_rows,
                    "net": int(pc.sum(rows.column("net")).as_py() or 0),
                    "tax": _traced_tax(folder, rows)})
    return out


def _traced_tax(folder: Path, rows: pa.Table) -> dict[str, dict]:
    """The tax per code of traced lines, with the rule (code, version) it came from."""
    codes = [c for c in rows.column_names if c.startswith(CODE_PREFIX)]
    if not codes:
        return {}
    manifest = json.loads((folder / "manifest.json").read_text())
    versions = dict(manifest.get("tax", {}).get("rules", []))
    return {c.removeprefix(CODE_PREFIX): {
        "tax": int(pc.sum(rows.column(c)).as_py() or 0),
        "rule_version": versions.get(c.removeprefix(CODE_PREFIX))} for c in codes}
