"""A database that is busy answers 503 with ``Retry-After``, not 500: SQLite's one writer
holding the lock past the busy timeout, a connection pool with none free in time, PostgreSQL
out of connection slots (``chiso.store.db.is_busy``; the access guard answers the same for its
own reads). The request did nothing (its transaction rolled back); the client sends it again."""

from __future__ import annotations

from fastapi import Request
from fastapi.responses import JSONResponse, Response

from chiso.store.db import RETRY_AFTER, is_busy


async def database_busy(request: Request, exc: Exception) -> Response:
    """The app's handler for the database's errors: 503 + ``Retry-After`` when it is busy;
    anything else goes on to the server's error handling (500)."""
    if not is_busy(exc):
        raise exc
    return JSONResponse(
        {"detail": "the database is busy with other writes; send the request again in "
                   f"{RETRY_AFTER} seconds (nothing was written)"},
        status_code=503, headers={"Retry-After": str(RETRY_AFTER)})
