"""The append-only, hash-chained audit log, its RFC 6962 Merkle checkpoints and their check.

Each entry's ``hash`` is SHA-256 over its canonical form (sorted-key compact JSON of every
field but ``hash``, ``prev_hash`` included), so each entry seals the one before it. An entry
is written in the same transaction as the change it records: explicitly (``append``), or by the
commit hook (``install_write_hook``) for any transaction a request commits with writes in it.

Checkpoints: the Merkle tree head (RFC 6962 §2.1) over the entry hashes 1..size, signed with
Ed25519, appended as one JSON line to a file outside the database (and kept in
``audit_checkpoints``). ``verify`` walks the chain and every checkpoint and names the first
entry altered, removed or reordered.
"""

from __future__ import annotations

import base64
import hashlib
import json
import os
import time
from collections.abc import Iterable, Iterator
from contextvars import ContextVar
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any
from weakref import WeakSet

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey
from sqlalchemy import Connection, Engine, event, exc, func, insert, or_, select, text

from chiso.store.tables import audit_checkpoints, audit_log

GENESIS = "0" * 64
FIELDS = ("seq", "at", "actor", "roles", "action", "target", "unit", "subjects", "ip",
          "result", "detail", "prev_hash")
_LOCK_KEY = 0x636869736F  # pg_advisory_xact_lock key: one writer of the log at a time


def now() -> str:
    return datetime.now(UTC).isoformat(timespec="microseconds")


def canonical(entry: dict[str, Any]) -> bytes:
    return json.dumps({k: entry[k] for k in FIELDS}, sort_keys=True, separators=(",", ":"),
                      ensure_ascii=False).encode()


def entry_hash(entry: dict[str, Any]) -> str:
    return hashlib.sha256(canonical(entry)).hexdigest()


@dataclass
class Context:
    """What the guard knows about the request; the commit hook writes it with the change."""

    actor: str
    roles: str
    action: str
    ip: str | None
    target: str | None = None
    unit: str | None = None
    detail: dict[str, Any] = field(default_factory=dict)


current: ContextVar[Context | None] = ContextVar("chiso_audit_context", default=None)


def append(conn: Connection, *, actor: str, roles: Iterable[str] | str, action: str,
           result: str, target: str | None = None, unit: str | None = None,
           subjects: Iterable[str] = (), ip: str | None = None,
           detail: dict[str, Any] | None = None) -> dict[str, Any]:
    """Append one entry inside the caller's transaction (it commits or rolls back with it)."""
    if conn.dialect.name == "postgresql":
        conn.execute(text("SELECT pg_advisory_xact_lock(:k)"), {"k": _LOCK_KEY})
    last = conn.execute(select(audit_log.c.seq, audit_log.c.hash)
                        .order_by(audit_log.c.seq.desc()).limit(1)).first()
    entry: dict[str, Any] = {
        "seq": (last.seq + 1) if last else 1,
        "at": now(),
        "actor": actor[:128],
        "roles": roles if isinstance(roles, str) else ",".join(sorted(roles)),
        "action": action[:255],
        "target": target,
        "unit": unit,
        "subjects": ",".join(sorted(set(subjects))) or None,
        "ip": ip,
        "result": result[:32],
        "detail": json.dumps(detail or {}, sort_keys=True, separators=(",", ":"),
                             ensure_ascii=False, default=str),
        "prev_hash": last.hash if last else GENESIS,
    }
    entry["hash"] = entry_hash(entry)
    conn.info["chiso_audited"] = True
    conn.execute(insert(audit_log).values(entry))
    return entry


def record(engine: Engine, **kwargs: Any) -> dict[str, Any]:
    """Append an entry in a transaction of its own (denials, reads), retrying a busy SQLite.
    SQLite's driver reads the last entry before it opens the write transaction, so a writer in
    between can take the same ``seq``: the unique key refuses it and the entry is appended
    again after the other one."""
    for attempt in range(20):
        try:
            with engine.begin() as conn:
                return append(conn, **kwargs)
        except (exc.OperationalError, exc.IntegrityError):
            if attempt == 19:
                raise
            time.sleep(0.01 * (attempt + 1))
    raise AssertionError("unreachable")


# -- every write a request commits is audited in its own transaction ------------------------
_WRITES = ("insert", "update", "delete", "copy", "merge")
_hooked: WeakSet[Engine] = WeakSet()


def install_write_hook(engine: Engine) -> None:
    """Audit every transaction that writes while a request's :data:`current` context is set:
    the entry is inserted on the same connection just before COMMIT."""
    if engine in _hooked:
        return
    _hooked.add(engine)

    @event.listens_for(engine, "before_cursor_execute")
    def _seen(conn: Connection, cursor: Any, statement: str, parameters: Any, context: Any,
              executemany: bool) -> None:
        head = statement.lstrip()[:12].lower()
        if head.startswith(_WRITES) and current.get() is not None:
            words = statement.split()
            table = next((w.strip('"') for w, prev in zip(words[1:], words, strict=False)
                          if prev.lower() in ("into", "update", "from", "copy")), "?")
            if table != "audit_log":
                tables: dict[str, int] = conn.info.setdefault("chiso_writes", {})
                tables[table] = tables.get(table, 0) + 1

    @event.listens_for(engine, "commit")
    def _commit(conn: Connection) -> None:
        writes = conn.info.pop("chiso_writes", None)
        audited = conn.info.pop("chiso_audited", False)
        ctx = current.get()
        if writes and ctx is not None and not audited:
            append(conn, actor=ctx.actor, roles=ctx.roles, action=ctx.action, result="committed",
                   target=ctx.target, unit=ctx.unit, ip=ctx.ip,
                   detail={**ctx.detail, "tables": writes})
            conn.info.pop("chiso_audited", None)

    @event.listens_for(engine, "rollback")
    def _rollback(conn: Connection) -> None:
        conn.info.pop("chiso_writes", None)
        conn.info.pop("chiso_audited", None)


# -- search ----------------------------------------------------------------------------------
def search(conn: Connection, *, person: str | None = None, unit: str | None = None,
           record_ref: str | None = None, subject: str | None = None, limit: int = 200,
           before: int | None = None) -> list[dict[str, Any]]:
    query = select(audit_log).order_by(audit_log.c.seq.desc()).limit(limit)
    if person:
        query = query.where(or_(audit_log.c.actor == person,
                                audit_log.c.actor.like(f"%:{person}")))
    if unit:
        query = query.where(audit_log.c.unit == unit)
    if record_ref:
        query = query.where(audit_log.c.target.like(f"%{record_ref}%"))
    if subject:
        query = query.where(audit_log.c.subjects.like(f"%{subject}%"))
    if before:
        query = query.where(audit_log.c.seq < before)
    return [dict(r) for r in conn.execute(query).mappings()]


# -- Merkle tree head (RFC 6962 §2.1) ----------------------------------------------------------
def _leaf(entry_hash_hex: str) -> bytes:
    return hashlib.sha256(b"\x00" + bytes.fromhex(entry_hash_hex)).digest()


def _node(left: bytes, right: bytes) -> bytes:
    return hashlib.sha256(b"\x01" + left + right).digest()


def tree_head(hashes: list[str]) -> str:
    """MTH over the entries' hashes: a stack fold, equal to RFC 6962's recursive definition."""
    if not hashes:
        return hashlib.sha256(b"").hexdigest()
    stack: list[tuple[int, bytes]] = []  # (size of subtree, hash), sizes are powers of two
    for h in hashes:
        item = (1, _leaf(h))
        while stack and stack[-1][0] == item[0]:
            size, left = stack.pop()
            item = (size * 2, _node(left, item[1]))
        stack.append(item)
    size, acc = stack.pop()
    while stack:
        _, left = stack.pop()
        acc = _node(left, acc)
    return acc.hex()


# -- signing keys and checkpoints ---------------------------------------------------------------
def load_or_create_key(path: Path) -> Ed25519PrivateKey:
    if path.exists():
        key = serialization.load_pem_private_key(path.read_bytes(), password=None)
        if not isinstance(key, Ed25519PrivateKey):
            raise ValueError(f"{path} is not an Ed25519 private key")
        return key
    path.parent.mkdir(parents=True, exist_ok=True)
    key = Ed25519PrivateKey.generate()
    pem = key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                            serialization.NoEncryption())
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(fd, "wb") as fh:
        fh.write(pem)
    public_path(path).write_bytes(key.public_key().public_bytes(
        serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo))
    return key


def public_path(key_path: Path) -> Path:
    return key_path.with_name(key_path.name + ".pub")


def load_public_key(path: Path) -> Ed25519PublicKey:
    key = serialization.load_pem_public_key(path.read_bytes())
    if not isinstance(key, Ed25519PublicKey):
        raise ValueError(f"{path} is not an Ed25519 public key")
    return key


def key_id(public: Ed25519PublicKey) -> str:
    raw = public.public_bytes(serialization.Encoding.Raw, serialization.PublicFormat.Raw)
    return hashlib.sha256(raw).hexdigest()[:16]


def _message(size: int, root: str, signed_at: str) -> bytes:
    return f"chiso-audit-checkpoint\n{size}\n{root}\n{signed_at}\n".encode()


def _hashes(conn: Connection, upto: int | None = None) -> list[str]:
    query = select(audit_log.c.hash).order_by(audit_log.c.seq)
    if upto is not None:
        query = query.where(audit_log.c.seq <= upto)
    return [h for (h,) in conn.execute(query)]


def checkpoint(engine: Engine, key_path: Path, out_file: Path) -> dict[str, Any] | None:
    """Seal the log as it stands: sign its tree head, append it to ``out_file`` and the
    database. None when nothing was added since the last checkpoint."""
    key = load_or_create_key(key_path)
    with engine.begin() as conn:
        hashes = _hashes(conn)
        last = conn.execute(select(func.max(audit_checkpoints.c.size))).scalar()
        if not hashes or (last is not None and last >= len(hashes)):
            return None
        signed_at = now()
        root = tree_head(hashes)
        row = {"size": len(hashes), "root": root, "signed_at": signed_at,
               "key_id": key_id(key.public_key()),
               "signature": base64.b64encode(key.sign(_message(len(hashes), root, signed_at)))
               .decode()}
        conn.execute(insert(audit_checkpoints).values(row))
        out_file.parent.mkdir(parents=True, exist_ok=True)
        with out_file.open("a", encoding="utf-8") as fh:
            fh.write(json.dumps(row, sort_keys=True) + "\n")
            fh.flush()
            os.fsync(fh.fileno())
    return row


def read_checkpoints(path: Path) -> Iterator[dict[str, Any]]:
    if not path.exists():
        return
    for line in path.read_text(encoding="utf-8").splitlines():
        if line.strip():
            yield json.loads(line)


@dataclass
class Report:
    ok: bool
    entries: int
    checkpoints: int
    first_bad: int | None = None
    problem: str | None = None

    def as_dict(self) -> dict[str, Any]:
        return {"ok": self.ok, "entries": self.entries, "checkpoints": self.checkpoints,
                "first_bad": self.first_bad, "problem": self.problem}


def verify(engine: Engine, checkpoint_file: Path | None = None,
           public_key: Ed25519PublicKey | None = None) -> Report:
    """Walk the chain from the first entry, then check every signed checkpoint against it."""
    with engine.connect() as conn:
        rows = [dict(r) for r in conn.execute(select(audit_log).order_by(audit_log.c.seq))
                .mappings()]
    prev, expected = GENESIS, 1
    for row in rows:
        seq = row["seq"]
        if seq != expected:
            return Report(False, len(rows), 0, expected,
                          f"entry {expected} is missing (removed): the next entry is {seq}")
        if entry_hash(row) != row["hash"]:
            return Report(False, len(rows), 0, seq,
                          f"entry {seq} does not match its hash: altered or moved")
        if row["prev_hash"] != prev:
            return Report(False, len(rows), 0, seq,
                          f"entry {seq} does not follow entry {seq - 1}: an entry was removed, "
                          "reordered or rewritten")
        prev, expected = row["hash"], expected + 1
    hashes = [r["hash"] for r in rows]
    checked = 0
    last_good = 0
    for cp in read_checkpoints(checkpoint_file) if checkpoint_file else ():
        size = int(cp["size"])
        if public_key is not None:
            if cp["key_id"] != key_id(public_key):
                return Report(False, len(rows), checked, None,
                              f"checkpoint {size} was signed by another key ({cp['key_id']})")
            try:
                public_key.verify(base64.b64decode(cp["signature"]),
                                  _message(size, cp["root"], cp["signed_at"]))
            except InvalidSignature:
                return Report(False, len(rows), checked, None,
                              f"checkpoint {size}: the signature does not verify")
        if size > len(hashes):
            return Report(False, len(rows), checked, len(hashes) + 1,
                          f"entries {len(hashes) + 1}..{size} were removed: checkpoint "
                          f"{size} sealed {size} entries, the log holds {len(hashes)}")
        if tree_head(hashes[:size]) != cp["root"]:
            return Report(False, len(rows), checked, last_good + 1,
                          f"the log no longer matches checkpoint {size}: an entry in "
                          f"{last_good + 1}..{size} was altered, removed or reordered and "
                          "the chain rewritten")
        last_good = max(last_good, size)
        checked += 1
    return Report(True, len(rows), checked)
