"""Task evidence on stored data: a file or link attached by a unit officer of a lead unit to a
task or one of its milestones, kept with its SHA-256, size, uploader and time
(docs/outlook.md, "Evidence"). How the rooms read it back (:func:`stored`, and when a task is
complete for whom) is :mod:`chiso.store.evidence_reads`, which scoring reads too."""


from __future__ import annotations

import hashlib
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import Connection, select

from chiso.store.evidence_reads import leads_of_tasks, stored
from chiso.store.tables import assignments, task_evidence

__all__ = ["MAX_BYTES", "EvidenceError", "attach", "file_name", "lead_units", "leads_of_tasks",
           "stored"]

MAX_BYTES = 50 * 1024 * 1024


class EvidenceError(ValueError):
    """Evidence that cannot be stored: nothing attached, an unknown milestone, too large."""


def lead_units(conn: Connection, plan_key: str, task_id: str) -> set[str]:
    """The units that lead a task (groups expanded)."""
    return {u for (u,) in conn.execute(select(assignments.c.unit_code).where(
        assignments.c.plan_key == plan_key, assignments.c.item_kind == "task",
        assignments.c.item_id == task_id, assignments.c.role == "lead"))}


def file_name(sent: str | None) -> str | None:
    """The name a file is kept under: the last part of what the browser sent (some send a
    whole path), printable characters only, at most 200; None when nothing is left."""
    if not sent:
        return None
    last = sent.replace("\\", "/").rsplit("/", 1)[-1]
    kept = "".join(ch for ch in last if ch.isprintable()).strip()[:200]
    return kept if kept not in ("", ".", "..") else None


def attach(conn: Connection, plan_key: str, task_id: str, *, uploaded_by: str,
           unit: str | None, milestone: int | None = None, milestones: int = 0,
           content: bytes | None = None, filename: str | None = None,
           content_type: str | None = None, url: str | None = None, note: str | None = None,
           completes: bool = False, now: datetime | None = None) -> dict[str, Any]:
    """Store one piece of evidence; exactly one of ``content`` and ``url``."""
    if (content is None) == (url is None):
        raise EvidenceError("attach either a file or a link")
    if milestone is not None and not 0 <= milestone < milestones:
        raise EvidenceError(f"no milestone {milestone} on task {task_id}")
    if content is not None:
        if len(content) > MAX_BYTES:
            raise EvidenceError("file too large")
        digest, size, kind = hashlib.sha256(content).hexdigest(), len(content), "file"
    else:
        assert url is not None
        if not url.startswith(("https://", "http://")):
            raise EvidenceError("a link must be an http(s) URL")
        data = url.encode()
        digest, size, kind = hashlib.sha256(data).hexdigest(), len(data), "link"
    row = {"plan_key": plan_key, "task_id": task_id, "milestone": milestone, "kind": kind,
           "filename": file_name(filename), "content_type": content_type, "url": url, "note": note,
           "sha256": digest, "size": size, "content": content, "completes": completes,
           "unit": unit, "uploaded_by": uploaded_by,
           "uploaded_at": now or datetime.now(UTC)}
    new_id = conn.execute(task_evidence.insert().values(**row)).inserted_primary_key[0]  # type: ignore[index]
    return _public({**row, "id": new_id})


def _public(row: Any) -> dict[str, Any]:
    r = dict(row)
    r.pop("content", None)
    at = r["uploaded_at"]
    r["uploaded_at"] = at.isoformat() if isinstance(at, datetime) else at
    return r


def listing(conn: Connection, plan_key: str, task_id: str) -> list[dict[str, Any]]:
    cols = [c for c in task_evidence.c if c.name != "content"]
    rows = conn.execute(select(*cols).where(
        task_evidence.c.plan_key == plan_key, task_evidence.c.task_id == task_id)
        .order_by(task_evidence.c.id)).mappings()
    return [_public(r) for r in rows]
