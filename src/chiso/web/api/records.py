"""The records behind the numbers: the latest version of each record of a feed. They carry
personal identifiers as pseudonyms, so every read is audited (by the guard, before the answer
leaves) with the pseudonyms it showed."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, HTTPException, Query, Request
from pydantic import BaseModel, ConfigDict
from sqlalchemy import Table, select

from chiso.access.guard import record_subjects
from chiso.context import Runtime
from chiso.store.tables import FEED_TABLES
from chiso.web.deps import Conn, Offset, Rt

router = APIRouter(prefix="/api/v1/records", tags=["records"])


class StoredRecord(BaseModel):
    """A record's latest version: its source, id and unit, when it was stored, and the feed
    contract's fields (``GET /api/v1/feeds/{feed}``); personal fields are pseudonyms."""

    model_config = ConfigDict(extra="allow")

    source: str
    record_id: str
    unit: str
    ingested_at: str | None = None


class StoredRecords(BaseModel):
    items: list[StoredRecord]

def _table(feed: str) -> Table:
    if feed not in FEED_TABLES:
        raise HTTPException(404, f"unknown feed {feed!r}")
    return FEED_TABLES[feed][0]


def _out(row: dict[str, Any]) -> dict[str, Any]:
    return {k: (v.isoformat() if hasattr(v, "isoformat") else v) for k, v in row.items()}


def _subjects(rt: Runtime, feed: str, rows: list[dict[str, Any]]) -> set[str]:
    """The pseudonyms the rows show: the values of the feed contract's personal fields."""
    personal = rt.catalog.contract(feed).personal_fields
    return {r[c] for r in rows for c in personal if r.get(c)}


@router.get("/{feed}", response_model=StoredRecords)
def records(feed: str, request: Request, rt: Rt, conn: Conn, unit: str | None = None,
            limit: Annotated[int, Query(ge=1, le=1000)] = 100,
            offset: Offset = 0) -> dict[str, Any]:
    """The latest version of each record, newest first; ``unit=`` filters."""
    table = _table(feed)
    query = select(table).order_by(table.c.ingested_at.desc(), table.c.record_id)
    if unit:
        query = query.where(table.c.unit == unit)
    rows = [dict(r) for r in conn.execute(query.limit(limit).offset(offset)).mappings()]
    record_subjects(request, _subjects(rt, feed, rows), target=f"{feed} ({len(rows)} records)",
                    unit=unit)
    return {"items": [_out(r) for r in rows]}


@router.get("/{feed}/{source}/{record_id}", response_model=StoredRecord)
def record(feed: str, source: str, record_id: str, request: Request, rt: Rt,
           conn: Conn) -> dict[str, Any]:
    table = _table(feed)
    row = conn.execute(select(table).where(table.c.source == source,
                                           table.c.record_id == record_id)).mappings().first()
    if row is None:
        raise HTTPException(404, "not found")
    found = dict(row)
    record_subjects(request, _subjects(rt, feed, [found]), target=f"{feed}/{source}/{record_id}",
                    unit=found["unit"])
    return _out(found)
