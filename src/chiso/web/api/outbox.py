"""The outbox for operators: each channel's backlog, the messages and their attempts, requeuing
a dead letter, and the exporters' content versions (docs/outbox.md, docs/emc.md)."""

from __future__ import annotations

from dataclasses import asdict
from datetime import UTC, datetime
from typing import Annotated, Any, Literal

from fastapi import APIRouter, HTTPException, Query
from pydantic import BaseModel, Field

from chiso.exports import exporters
from chiso.store import outbox
from chiso.web.deps import Conn, Id, Rt

router = APIRouter(prefix="/api/v1", tags=["outbox"])


class Requeued(BaseModel):
    id: int
    state: str = Field(description="pending: back in line")


@router.get("/outbox", response_model=list[outbox.ChannelStatus])
def channels(conn: Conn) -> list[dict[str, Any]]:
    """Per channel (``export:<name>``, ``webhook:<id>``): messages waiting, delivered and
    dead, the oldest waiting, the last success, the last failure and its error."""
    return [asdict(s) for s in outbox.status(conn)]


@router.get("/outbox/messages", response_model=list[outbox.Message])
def messages(conn: Conn,
             state: Literal["pending", "delivered", "dead"] | None = None,
             channel: str | None = None,
             limit: Annotated[int, Query(ge=1, le=1000)] = 200) -> list[dict[str, Any]]:
    """The newest messages first, with their bodies as sent; ``?state=dead`` lists the dead
    letters."""
    return [asdict(m) for m in outbox.messages(conn, state=state, channel=channel,
                                               limit=limit)]


@router.get("/outbox/messages/{message_id}/attempts", response_model=list[outbox.Attempt])
def attempts(message_id: Id, conn: Conn) -> list[dict[str, Any]]:
    """Every attempt at one message, newest first: when, the outcome, the answer."""
    if outbox.message(conn, message_id) is None:
        raise HTTPException(404, f"message {message_id}: no such message in the outbox")
    return [asdict(a) for a in outbox.attempts(conn, [message_id])]


@router.post("/outbox/messages/{message_id}/retry", response_model=Requeued)
def retry(message_id: Id, rt: Rt) -> dict[str, Any]:
    """Put a dead-lettered message back in line with a fresh count of attempts; 409 when the
    message is not dead."""
    with rt.engine.begin() as conn:
        found = outbox.message(conn, message_id)
        if found is None:
            raise HTTPException(404, f"message {message_id}: no such message in the outbox")
        if not outbox.requeue(conn, message_id, datetime.now(UTC)):
            raise HTTPException(409, f"message {message_id} is {found.state}, not dead: "
                                "only a dead letter is requeued")
    return {"id": message_id, "state": outbox.PENDING}


@router.get("/exports/versions", response_model=list[exporters.VersionRow])
def versions(conn: Conn, exporter: str | None = None,
             limit: Annotated[int, Query(ge=1, le=1000)] = 200) -> list[dict[str, Any]]:
    """The exporters' newest content versions per (period, unit), with their message's
    state."""
    return [asdict(v) for v in exporters.versions(conn, exporter, limit)]
