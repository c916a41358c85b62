"""A database that is busy answers 503 with ``Retry-After``, not 500: SQLite's one writer
holding the lock past the busy timeout, or a connection pool with none free in time. The
request did nothing (its transaction rolled back); the client sends it again."""

from __future__ import annotations

from fastapi import Request
from fastapi.responses import JSONResponse, Response
from sqlalchemy.exc import OperationalError
from sqlalchemy.exc import TimeoutError as PoolTimeoutError

#: Seconds a client waits before sending the request again.
RETRY_AFTER = 2
_LOCKED = ("database is locked", "database table is locked")


def is_busy(exc: BaseException) -> bool:
    """True for a database too busy to answer now (as opposed to one that is broken)."""
    if isinstance(exc, PoolTimeoutError):
        return True
    return isinstance(exc, OperationalError) and any(
        text in str(exc.orig).lower() for text in _LOCKED)


async def database_busy(request: Request, exc: Exception) -> Response:
    """The app's handler for the database's errors: 503 + ``Retry-After`` when it is busy;
    anything else goes on to the server's error handling (500)."""
    if not is_busy(exc):
        raise exc
    return JSONResponse(
        {"detail": "the database is busy with other writes; send the request again in "
                   f"{RETRY_AFTER} seconds (nothing was written)"},
        status_code=503, headers={"Retry-After": str(RETRY_AFTER)})
