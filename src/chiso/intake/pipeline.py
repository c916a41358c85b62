"""The end of every door: validate, pseudonymise, archive the raw payload, store versions.

A batch is accepted whole (one transaction: raw payload, batch row, new versions, latest
versions) or refused whole (one transaction: raw payload and the batch row with every problem;
no record written). ``ingest`` returns only after the commit, so a 2xx answer means durable.
"""

from __future__ import annotations

import gzip
import hashlib
import hmac
import json
import re
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any
from weakref import WeakKeyDictionary

from sqlalchemy import Connection, Engine, Table, select, true, tuple_
from sqlalchemy.dialects import postgresql, sqlite

from chiso.catalog.feeds import Contract
from chiso.intake.settings import IntakeSettings, get_intake_settings
from chiso.intake.validate import Mode, Problem, Scope, validate_batch
from chiso.store.tables import FEED_TABLES, intake_batches, intake_raw
from chiso.text import Said, nfc, squash

Locate = Callable[[int, str | None], tuple[int | None, str | None]]

#: Called in the accepting transaction once its latest versions are written, with (connection,
#: feed, batch id): measurement keeps its day state there. Intake may not import the rooms
#: after it, so the runtime registers their hooks per engine (:func:`on_store`).
AfterStore = Callable[[Connection, str, int], None]
_AFTER_STORE: WeakKeyDictionary[Engine, list[AfterStore]] = WeakKeyDictionary()


def on_store(engine: Engine, hook: AfterStore) -> None:
    """Run ``hook`` inside every batch that ``engine`` accepts (idempotent)."""
    hooks = _AFTER_STORE.setdefault(engine, [])
    if hook not in hooks:
        hooks.append(hook)


def store_hooks(engine: Engine) -> tuple[AfterStore, ...]:
    """The hooks registered on ``engine``, in registration order."""
    return tuple(_AFTER_STORE.get(engine, ()))


def off_store(engine: Engine) -> None:
    """Remove every hook of ``engine`` (benchmarks: ingest with indicators off)."""
    _AFTER_STORE.pop(engine, None)


@dataclass
class Outcome:
    """What happened to one batch."""

    batch_id: int
    status: str  # accepted | refused
    raw_sha256: str
    records: int = 0
    new_versions: int = 0
    latest_changed: int = 0
    problems: list[Problem] = field(default_factory=list)

    @property
    def accepted(self) -> bool:
        return self.status == "accepted"

    def as_dict(self) -> dict[str, Any]:
        return {"batch": self.batch_id, "status": self.status, "raw_sha256": self.raw_sha256,
                "records": self.records, "new_versions": self.new_versions,
                "latest_changed": self.latest_changed,
                "problems": [p.as_dict() for p in self.problems]}


@dataclass
class Provenance:
    source: str
    door: str  # push | pull | file | bulk
    connector: str | None = None
    unit: str | None = None
    filename: str | None = None
    manual: bool = False
    evidence_sha256: str | None = None
    mapping_id: int | None = None  # files: the steward's column mapping version that read it


def pseudonymise(value: str, key: bytes) -> str:
    """Keyed hash of a personal identifier, after normalising its Unicode form (NFC), case and
    spaces, so that the same person gets the same pseudonym from every source while the key
    stays secret."""
    normal = squash(nfc(value)).casefold()
    return hmac.new(key, normal.encode(), hashlib.sha256).hexdigest()


#: Media type suffix of a payload of which only the hash and size are kept.
NOT_KEPT = "; not kept: refused before it could be read"


def archive(conn: Connection, payload: bytes, media_type: str, *, keep: bool = True) -> str:
    """Store a raw payload gzip-compressed under its SHA-256 (once); return the hash.
    ``keep=False``: only the hash and size (a payload that could not be parsed cannot be
    pseudonymised, so its personal data must not be kept in clear). A payload first seen
    unkept and later kept (the same file, now readable) gets its content then."""
    sha = hashlib.sha256(payload).hexdigest()
    media = (media_type.split(";")[0] + NOT_KEPT)[:100] if not keep else media_type
    content = gzip.compress(payload, compresslevel=6) if keep else b""
    exists = conn.execute(select(intake_raw.c.media_type).where(
        intake_raw.c.sha256 == sha)).first()
    if not exists:
        conn.execute(_insert(conn, intake_raw).values(
            sha256=sha, media_type=media, size=len(payload), content=content,
            first_seen=datetime.now(UTC)).on_conflict_do_nothing())
    elif keep and exists.media_type.endswith(NOT_KEPT):
        conn.execute(intake_raw.update().where(intake_raw.c.sha256 == sha).values(
            media_type=media, content=content))
    return sha


def read_raw(conn: Connection, sha: str) -> bytes | None:
    """The archived bytes, or None when unknown or only its hash and size were kept."""
    row = conn.execute(select(intake_raw.c.content, intake_raw.c.media_type).where(
        intake_raw.c.sha256 == sha)).first()
    if row is None or row.media_type.endswith(NOT_KEPT):
        return None
    return gzip.decompress(row.content)


_PSEUDONYM = re.compile(rb"\b[0-9a-f]{64}\b")  # HMAC-SHA256 in hex: what pseudonymise writes


def payload_subjects(conn: Connection, contracts: Mapping[str, Contract], sha: str,
                     content: bytes | None) -> set[str]:
    """Whose personal data a raw payload holds, as pseudonyms, so that reading it is audited
    with its subjects: the personal fields of the versions its accepted batches stored, and
    the pseudonyms written into the archived (redacted) payload itself (a refused batch
    stored no version)."""
    subjects: set[str] = set()
    batches = conn.execute(select(intake_batches.c.id, intake_batches.c.feed).where(
        intake_batches.c.raw_sha256 == sha, intake_batches.c.status == "accepted")).all()
    for feed in {b.feed for b in batches}:
        contract = contracts.get(feed)
        if contract is None or feed not in FEED_TABLES or not contract.personal_fields:
            continue
        _latest, versions = FEED_TABLES[feed]
        ids = [b.id for b in batches if b.feed == feed]
        for name in contract.personal_fields:
            column = versions.c[name]
            subjects.update(v for (v,) in conn.execute(select(column).where(
                versions.c.batch_id.in_(ids), column.is_not(None)).distinct()))
    if content is not None:
        subjects.update(m.decode() for m in _PSEUDONYM.findall(content))
    return subjects


def _insert(conn: Connection, table: Table) -> Any:
    if conn.dialect.name == "postgresql":
        return postgresql.insert(table)
    return sqlite.insert(table)


def redact_records(contract: Contract, raws: Sequence[Any], key: bytes) -> list[Any]:
    """A copy of raw JSON records with personal identifiers, and the values of keys the
    contract does not have (nobody can tell what they hold), replaced by their pseudonyms."""
    personal = set(contract.personal_fields)
    out: list[Any] = []
    for raw in raws:
        if isinstance(raw, dict):
            raw = {k: (_pseudonym_of(v, key) if (k in personal or k not in contract.fields)
                       and v not in (None, "") else v) for k, v in raw.items()}
        out.append(raw)
    return out


def _pseudonym_of(value: Any, key: bytes) -> str:
    text = value if isinstance(value, str) else json.dumps(value, ensure_ascii=False,
                                                           sort_keys=True)
    return pseudonymise(text, key)


def raw_for_archive(
    contract: Contract, payload: bytes, parsed: Sequence[Any] | None, settings: IntakeSettings
) -> bytes:
    """The bytes to archive: the payload as sent when the operator keeps identifiers or the
    feed has none; else the records as read, pseudonymised (:func:`redact_records`), as JSON:
    never the bytes as sent, which may carry an identifier where the records do not show it
    (a key sent twice, of which a reader keeps the last; a key the contract does not have)."""
    if settings.archive_personal or parsed is None or not contract.personal_fields:
        return payload
    redacted = redact_records(contract, parsed, settings.key())
    return json.dumps(redacted, ensure_ascii=False, sort_keys=True).encode()


class _UnitMovesError(Exception):
    """Raised inside the accepting transaction to roll it back: records would change unit."""

    def __init__(self, problems: list[Problem]):
        super().__init__("records would change unit")
        self.problems = problems


def unit_moves(
    conn: Connection, contract: Contract, records: Sequence[dict[str, Any]], source: str,
    locate: Locate | None = None,
) -> list[Problem]:
    """Problems for the records already stored under ``source`` with another unit than the
    one they now carry. Doors limited to some units call it: through such a door a record
    never changes unit (another unit's record would otherwise move to the sender)."""
    latest, _ = FEED_TABLES[contract.feed]
    wanted: dict[str, tuple[int, str]] = {}
    for index, record in enumerate(records):
        wanted.setdefault(contract.record_id(record), (index, str(record.get("unit"))))
    problems: list[Problem] = []
    ids = list(wanted)
    for start in range(0, len(ids), 500):  # bounded IN lists on both databases
        chunk = ids[start:start + 500]
        rows = conn.execute(select(latest.c.record_id, latest.c.unit).where(
            tuple_(latest.c.source, latest.c.record_id).in_([(source, i) for i in chunk])))
        for record_id, stored in rows:
            index, unit = wanted[record_id]
            if stored != unit:
                row, column = locate(index, "unit") if locate else (None, None)
                problems.append(Problem(index, "unit", Said(
                    "record %(record)s is filed under unit %(stored)s; it cannot move to "
                    "%(unit)s through this door (ask the data steward)", record=record_id,
                    stored=stored, unit=unit), row, column, record_id))
    return sorted(problems, key=lambda p: p.index)


def _record_row(
    contract: Contract, record: dict[str, Any], prov: Provenance, batch_id: int,
    now: datetime, key: bytes, columns: set[str],
) -> dict[str, Any]:
    row = {name: value for name, value in record.items() if name in columns}
    for name in contract.personal_fields:
        if row.get(name) is not None:
            row[name] = pseudonymise(str(row[name]), key)
    row.update(source=prov.source, record_id=contract.record_id(record), door=prov.door,
               batch_id=batch_id, ingested_at=now)
    if "manual" in columns:
        row["manual"] = prov.manual
    return row


def store_records(
    conn: Connection, contract: Contract, records: Sequence[dict[str, Any]], prov: Provenance,
    batch_id: int, key: bytes, *, keep_unit: bool = False,
) -> tuple[int, int]:
    """Write validated records: new versions into history, newer versions into latest.
    Returns (new versions, latest rows inserted or replaced). Idempotent. ``keep_unit``: a
    newer version replaces the latest only under the same unit (the statement-level half of
    ``unit_moves``, for a concurrent batch that slipped between check and write)."""
    latest, versions = FEED_TABLES[contract.feed]
    columns = {c.name for c in latest.columns}
    now = datetime.now(UTC)
    vfield = contract.version
    by_version: dict[tuple[str, datetime], dict[str, Any]] = {}
    newest: dict[str, dict[str, Any]] = {}
    for record in records:
        row = _record_row(contract, record, prov, batch_id, now, key, columns)
        by_version.setdefault((row["record_id"], row[vfield]), row)
        current = newest.get(row["record_id"])
        if current is None or row[vfield] > current[vfield]:
            newest[row["record_id"]] = row
    if not by_version:
        return 0, 0
    if conn.dialect.name == "postgresql":
        return _store_pg(conn, latest, versions, list(by_version.values()), vfield, keep_unit)
    ins = _insert(conn, versions).on_conflict_do_nothing().returning(versions.c.record_id)
    new_versions = len(conn.execute(ins, list(by_version.values())).all())
    stmt = _insert(conn, latest)
    updatable = [c.name for c in latest.columns if c.name not in ("source", "record_id")]
    stmt = stmt.on_conflict_do_update(
        index_elements=[latest.c.source, latest.c.record_id],
        set_={name: stmt.excluded[name] for name in updatable},
        where=(stmt.excluded[vfield] > latest.c[vfield]) & (
            (stmt.excluded.unit == latest.c.unit) if keep_unit else true()),
    ).returning(latest.c.record_id)
    changed = len(conn.execute(stmt, list(newest.values())).all())
    return new_versions, changed


def _store_pg(conn: Connection, latest: Table, versions: Table, rows: list[dict[str, Any]],
              vfield: str, keep_unit: bool) -> tuple[int, int]:
    """PostgreSQL: COPY the batch into a session-temporary table, then two set-based
    statements (a many-row INSERT is parsed slowly by the driver; COPY is not)."""
    names = [c.name for c in versions.columns]
    cols = ", ".join(f'"{n}"' for n in names)
    tmp = f"tmp_push_{versions.name}"
    conn.exec_driver_sql(f"CREATE TEMP TABLE IF NOT EXISTS {tmp} (LIKE {versions.name}) "
                         "ON COMMIT DELETE ROWS")
    raw = conn.connection.driver_connection
    assert raw is not None
    with raw.cursor() as cur, cur.copy(f"COPY {tmp} ({cols}) FROM STDIN") as copy:
        for row in rows:
            copy.write_row([row.get(n) for n in names])
    new_versions = conn.exec_driver_sql(
        f"INSERT INTO {versions.name} ({cols}) SELECT {cols} FROM {tmp} "
        "ON CONFLICT DO NOTHING").rowcount
    sets = ", ".join(f'"{n}" = EXCLUDED."{n}"' for n in names if n not in ("source",
                                                                           "record_id"))
    changed = conn.exec_driver_sql(
        f"INSERT INTO {latest.name} ({cols}) SELECT DISTINCT ON (source, record_id) {cols} "
        f'FROM {tmp} ORDER BY source, record_id, "{vfield}" DESC '
        f"ON CONFLICT (source, record_id) DO UPDATE SET {sets} "
        f'WHERE EXCLUDED."{vfield}" > {latest.name}."{vfield}"'
        + (f" AND EXCLUDED.unit = {latest.name}.unit" if keep_unit else "")).rowcount
    conn.exec_driver_sql(f"TRUNCATE {tmp}")
    return new_versions, changed


def _batch_row(contract: Contract, prov: Provenance, sha: str, status: str,
               records: int, problems: list[Problem] | None) -> dict[str, Any]:
    return {"feed": contract.feed, "source": prov.source, "door": prov.door,
            "connector": prov.connector, "unit": prov.unit, "filename": prov.filename,
            "raw_sha256": sha, "received_at": datetime.now(UTC), "status": status,
            "records": records, "new_versions": 0, "latest_changed": 0,
            "problems": [p.as_dict() for p in problems[:1000]] if problems else None,
            "manual": prov.manual, "evidence_sha256": prov.evidence_sha256,
            "mapping_id": prov.mapping_id}


def record_refusal(
    engine: Engine, contract: Contract, prov: Provenance, payload: bytes, media_type: str,
    problems: list[Problem], records: int = 0, *, keep: bool = True,
) -> Outcome:
    """Keep a refused payload and why it was refused (no record is written). ``keep=False``
    for a payload refused before it could be parsed: only its hash and size are kept."""
    with engine.begin() as conn:
        sha = archive(conn, payload, media_type, keep=keep)
        batch_id = conn.execute(intake_batches.insert().values(
            _batch_row(contract, prov, sha, "refused", records, problems))
            .returning(intake_batches.c.id)).scalar_one()
    return Outcome(batch_id, "refused", sha, records=records, problems=problems)


def ingest(
    engine: Engine,
    contract: Contract,
    raws: Sequence[Any],
    prov: Provenance,
    payload: bytes,
    media_type: str,
    *,
    mode: Mode = "json",
    scope: Scope | None = None,
    locate: Locate | None = None,
    settings: IntakeSettings | None = None,
    redact: bool = True,
    in_transaction: Callable[[Connection], None] | None = None,
) -> Outcome:
    """Validate a whole batch and store it, or refuse it whole. Returns after the commit.
    ``redact``: pseudonymise identifiers in the archived JSON payload (the file door passes
    its own redacted copy and False). ``in_transaction`` runs inside the accepting transaction
    (the pull connector moves its cursor there, so that records and cursor commit together)."""
    settings = settings or get_intake_settings()
    key = settings.key()
    result = validate_batch(contract, raws, mode, scope, locate)
    archived = raw_for_archive(contract, payload, raws, settings) if redact else payload
    if not result.ok:
        return record_refusal(engine, contract, prov, archived, media_type, result.problems,
                              len(raws))
    try:
        return _accept(engine, contract, result.records, prov, archived, media_type,
                       len(raws), key, limited=scope is not None and scope.limited,
                       locate=locate, in_transaction=in_transaction)
    except _UnitMovesError as exc:
        return record_refusal(engine, contract, prov, archived, media_type, exc.problems,
                              len(raws))


def _accept(
    engine: Engine, contract: Contract, records: list[dict[str, Any]], prov: Provenance,
    archived: bytes, media_type: str, count: int, key: bytes, *, limited: bool,
    locate: Locate | None, in_transaction: Callable[[Connection], None] | None,
) -> Outcome:
    """The accepting transaction. A door limited to some units first checks, under the same
    transaction, that no record changes unit (``_UnitMovesError`` rolls everything back)."""
    with engine.begin() as conn:
        if limited:
            moves = unit_moves(conn, contract, records, prov.source, locate)
            if moves:
                raise _UnitMovesError(moves)
        sha = archive(conn, archived, media_type)
        batch_id = conn.execute(intake_batches.insert().values(
            _batch_row(contract, prov, sha, "accepted", count, None))
            .returning(intake_batches.c.id)).scalar_one()
        new_versions, changed = store_records(conn, contract, records, prov, batch_id, key,
                                              keep_unit=limited)
        for hook in store_hooks(engine):
            hook(conn, contract.feed, batch_id)
        conn.execute(intake_batches.update().where(intake_batches.c.id == batch_id)
                     .values(new_versions=new_versions, latest_changed=changed))
        if in_transaction is not None:
            in_transaction(conn)
    return Outcome(batch_id, "accepted", sha, count, new_versions, changed)
