"""Bulk backfill on PostgreSQL: streaming COPY into a staging table, then set-based SQL.

For a Hanoi-year of dossiers (order of 30 million versions) per-record Python work does not
fit the SPEC's backfill bar; this path does no per-record round trip and holds no records in
Python memory, whatever the size:

1. the CSV (the contract's fields as columns, header row, ISO 8601 times, identifiers already
   pseudonymised or absent) is streamed with ``COPY … FREEZE`` into an unlogged staging
   table created (and dropped) in the transaction; PostgreSQL checks every type, a bad cell
   fails the COPY with its line number;
2. the contract's ranges, enumerations and cross-field rules are checked in one set-based
   query; any violation refuses the whole backfill, naming the first offending lines;
3. one ``INSERT … SELECT … ON CONFLICT DO NOTHING`` writes new versions into history, and one
   ``INSERT … SELECT DISTINCT ON (record) … ON CONFLICT DO UPDATE … WHERE newer`` updates the
   latest versions; both are idempotent, so a re-run of the same file changes nothing. Into
   empty tables (an initial load, :func:`_initial_load`) no key or index is kept up row by
   row: each is built once, sorted, after the rows are in, and the latest versions are read
   back in the versions' key order instead of sorting the file.

Everything runs in one transaction with the batch row (door ``bulk``): all or nothing.
"""

from __future__ import annotations

import hashlib
import uuid
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import Connection, Engine, Table, text
from sqlalchemy.exc import IntegrityError

from chiso.catalog.feeds import Contract, FieldType
from chiso.store.tables import FEED_TABLES, intake_batches

_PG_TYPES = {
    FieldType.string: "text", FieldType.unit: "text", FieldType.period: "text",
    FieldType.int: "integer", FieldType.number: "double precision",
    FieldType.bool: "boolean", FieldType.datetime: "timestamptz",
}


class BulkRefusedError(ValueError):
    pass


@dataclass
class BulkResult:
    batch_id: int
    rows: int
    new_versions: int
    latest_changed: int
    seconds_copy: float
    seconds_merge: float


def _checks(contract: Contract) -> list[tuple[str, str]]:
    """(SQL condition that is true for a bad row, message) from the contract."""
    out: list[tuple[str, str]] = []
    for name, spec in contract.fields.items():
        col = f'"{name}"'
        if spec.required:
            out.append((f"{col} IS NULL", f"'{name}' is required"))
        if spec.min is not None:
            out.append((f"{col} < {spec.min!r}", f"'{name}' below {spec.min:g}"))
        if spec.max is not None:
            out.append((f"{col} > {spec.max!r}", f"'{name}' above {spec.max:g}"))
        if spec.enum is not None:
            values = ", ".join("'" + v.replace("'", "''") + "'" for v in spec.enum)
            out.append((f"{col} NOT IN ({values})", f"'{name}' not one of the contract's values"))
        if spec.max_length is not None and not spec.personal:
            out.append((f"length({col}) > {spec.max_length}", f"'{name}' too long"))
    ops = {"<=": ">", "<": ">=", ">=": "<", ">": "<=", "==": "<>"}
    for rule in contract.rules:
        if rule.left and rule.right and rule.op:
            out.append((f'"{rule.left}" {ops[rule.op]} "{rule.right}"', rule.message))
        elif rule.when and rule.require:
            cond = " AND ".join(
                f'"{k}" IN (' + ", ".join(f"'{v}'" for v in vals) + ")"
                for k, vals in rule.when.items())
            for name in rule.require:
                out.append((f'({cond}) AND "{name}" IS NULL', rule.message))
    return out


WORK_MEM = "256MB"


def _empty(conn: Connection, tables: list[Table]) -> bool:
    return all(conn.execute(text(f"SELECT 1 FROM {t.name} LIMIT 1")).first() is None
               for t in tables)


def _drop_keys_and_indexes(conn: Connection, tables: list[Table]) -> None:
    for table in tables:
        for index in sorted(table.indexes, key=lambda i: str(i.name)):
            index.drop(conn)
        conn.execute(text(f'ALTER TABLE {table.name} DROP CONSTRAINT "{table.primary_key.name}"'))


def _initial_load(conn: Connection, versions: Table, latest: Table, target: str, rows_in: str,
                  vcol: str, params: dict[str, Any]) -> tuple[int, int]:
    """Write the file's rows (``rows_in``, columns ``target``) into the empty ``versions`` and
    ``latest`` tables; returns (versions stored, latest versions written).

    A file seldom repeats a version, so the versions go in as they are and the primary key is
    built on them; when the build finds a version twice, that is undone and they go in again
    one per version (the sort this takes is paid only then). Every version is then this
    file's, in the key's order: each record's newest is the first of its run read backwards."""
    _drop_keys_and_indexes(conn, [versions, latest])
    insert = f"INSERT INTO {versions.name} ({target})"
    try:
        with conn.begin_nested():
            stored = conn.execute(text(f"{insert} {rows_in}"), params).rowcount
            _build_keys_and_indexes(conn, [versions])
    except IntegrityError:
        stored = conn.execute(text(f"{insert} SELECT DISTINCT ON (record_id, {vcol}) * "
                                   f"FROM ({rows_in}) s"), params).rowcount
        _build_keys_and_indexes(conn, [versions])
    conn.execute(text(f"ANALYZE {versions.name}"))  # so that the planner reads the key
    changed = conn.execute(text(
        f"INSERT INTO {latest.name} ({target}) SELECT DISTINCT ON (source, record_id) {target} "
        f"FROM {versions.name} ORDER BY source DESC, record_id DESC, {vcol} DESC")).rowcount
    _build_keys_and_indexes(conn, [latest])
    return stored, changed


def _build_keys_and_indexes(conn: Connection, tables: list[Table]) -> None:
    for table in tables:
        cols = ", ".join(f'"{c.name}"' for c in table.primary_key.columns)
        conn.execute(text(f'ALTER TABLE {table.name} ADD CONSTRAINT "{table.primary_key.name}" '
                          f"PRIMARY KEY ({cols})"))
        for index in sorted(table.indexes, key=lambda i: str(i.name)):
            index.create(conn)


def backfill_csv(
    engine: Engine, contract: Contract, source: str, chunks: Iterable[bytes],
    filename: str = "backfill.csv", known_units: frozenset[str] | None = None,
) -> BulkResult:
    """Load a CSV stream (bytes chunks) into the feed's tables; PostgreSQL only."""
    if engine.dialect.name != "postgresql":
        raise BulkRefusedError("the bulk path needs PostgreSQL; on SQLite use chiso ingest")
    latest, versions = FEED_TABLES[contract.feed]
    fields = list(contract.fields)
    staging = f"staging_{contract.table_key}_{uuid.uuid4().hex[:12]}"
    cols = ", ".join(f'"{f}" {_PG_TYPES[s.type]}' for f, s in contract.fields.items())
    quoted = ", ".join(f'"{f}"' for f in fields)
    key = " || '|' || ".join(f'"{k}"::text' for k in contract.key)
    now = datetime.now(UTC)
    with engine.begin() as conn:
        raw = conn.connection.driver_connection
        assert raw is not None
        # Unlogged (no WAL) in shared buffers: a temporary table goes through the session's
        # small local buffers. Created in this transaction, so COPY may freeze its rows and a
        # failure leaves no table behind; dropped before the commit.
        conn.execute(text(f"CREATE UNLOGGED TABLE {staging} ({cols})"))
        # The sort that picks each record's latest version, and the indexes rebuilt after an
        # initial load, in memory rather than in temporary files.
        conn.execute(text(f"SET LOCAL work_mem = '{WORK_MEM}'"))
        conn.execute(text(f"SET LOCAL maintenance_work_mem = '{WORK_MEM}'"))
        digest = hashlib.sha256()
        t0 = datetime.now()
        cursor = raw.cursor()
        with cursor.copy(f"COPY {staging} ({quoted}) FROM STDIN WITH (FORMAT csv, "
                         "HEADER true, FREEZE true)") as copy:
            for chunk in chunks:
                digest.update(chunk)
                copy.write(chunk)
        rows = int(conn.execute(text(f"SELECT count(*) FROM {staging}")).scalar_one())
        conditions = _checks(contract)
        if known_units is not None:
            conn.execute(text("CREATE TEMP TABLE bulk_units (code text PRIMARY KEY) "
                              "ON COMMIT DROP"))
            conn.execute(text("INSERT INTO bulk_units VALUES (:c)"),
                         [{"c": c} for c in sorted(known_units)])
            conditions.append(("unit NOT IN (SELECT code FROM bulk_units)", "unknown unit"))
        case = " ".join(f"WHEN {c} THEN :m{i}" for i, (c, _m) in enumerate(conditions))
        params: dict[str, Any] = {f"m{i}": m for i, (_c, m) in enumerate(conditions)}
        # COPY fills the new table in file order, so a row's place (ctid) is its line.
        bad = conn.execute(text(f"SELECT ctid AS at, CASE {case} END AS problem FROM "
                                f"{staging} WHERE CASE {case} END IS NOT NULL ORDER BY ctid "
                                "LIMIT 20"), params).all()
        if bad:
            lines = conn.execute(text(
                f"SELECT n FROM (SELECT ctid AS at, row_number() OVER (ORDER BY ctid) + 1 AS n "
                f"FROM {staging} WHERE ctid <= CAST(:last AS tid)) s "
                f"WHERE at = ANY(CAST(:bad AS tid[])) ORDER BY at"),
                {"last": bad[-1].at, "bad": [b.at for b in bad]}).scalars().all()
            listed = "; ".join(f"line {n}: {b.problem}" for n, b in zip(lines, bad, strict=True))
            raise BulkRefusedError(f"backfill refused whole, nothing stored: {listed}")
        sha = digest.hexdigest()
        # The backfill file itself stays with the operator (tens of GB); the archive records
        # its hash so that the batch can be matched to the file.
        conn.execute(text(
            "INSERT INTO intake_raw (sha256, media_type, size, content, first_seen) VALUES "
            "(:s, :m, 0, ''::bytea, :t) ON CONFLICT DO NOTHING"),
            {"s": sha, "m": f"text/csv; bulk backfill {filename} (file kept by the operator)",
             "t": now})
        batch_id = conn.execute(intake_batches.insert().values(
            feed=contract.feed, source=source, door="bulk", filename=filename,
            raw_sha256=sha, received_at=now, status="accepted", records=rows,
            manual=False).returning(intake_batches.c.id)).scalar_one()
        t1 = datetime.now()
        prov = (f":source AS source, {key} AS record_id, unit, 'bulk' AS door, "
                f":batch AS batch_id, :now AS ingested_at")
        target = "source, record_id, unit, door, batch_id, ingested_at"
        if "manual" in versions.c:  # statistics: a backfilled figure is never typed by hand
            prov += ", false AS manual"
            target += ", manual"
        typed = ", ".join(f'"{f}"' for f in fields if f != "unit")
        target += f", {typed}"
        p = {"source": source, "batch": batch_id, "now": now}
        vcol = f'"{contract.version}"'
        # a version sent twice in the file is stored once; a record's latest version replaces
        # the stored one only when newer (a re-run of the same file changes nothing)
        rows_in = f"SELECT {prov}, {typed} FROM {staging}"
        if _empty(conn, [versions, latest]):
            new_versions, changed = _initial_load(conn, versions, latest, target, rows_in,
                                                  vcol, p)
        else:
            sets = ", ".join(f'"{c.name}" = EXCLUDED."{c.name}"' for c in latest.columns
                             if c.name not in ("source", "record_id", "manual"))
            new_versions = conn.execute(text(
                f"INSERT INTO {versions.name} ({target}) {rows_in} ON CONFLICT DO NOTHING"),
                p).rowcount
            changed = conn.execute(text(
                f"INSERT INTO {latest.name} ({target}) SELECT DISTINCT ON (record_id) * "
                f"FROM ({rows_in}) s ORDER BY record_id, {vcol} DESC "
                f"ON CONFLICT (source, record_id) DO UPDATE SET {sets} "
                f"WHERE EXCLUDED.{vcol} > {latest.name}.{vcol}"), p).rowcount
        conn.execute(text(f"DROP TABLE {staging}"))
        conn.execute(intake_batches.update().where(intake_batches.c.id == batch_id).values(
            new_versions=new_versions, latest_changed=changed))
        t2 = datetime.now()
    return BulkResult(batch_id, rows, new_versions, changed, (t1 - t0).total_seconds(),
                      (t2 - t1).total_seconds())
