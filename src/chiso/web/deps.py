"""What every handler of the API and the pages may ask FastAPI for: the runtime, a database
connection, today's date by the runtime's clock, the dashboard's board, and the principal's
access settings. Both ``chiso.web.api`` and ``chiso.web.pages`` depend on this module; neither
depends on the other."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import date
from typing import Annotated

from fastapi import Depends, Path, Query, Request, Response
from sqlalchemy import Connection

from chiso.access.settings import AccessSettings
from chiso.context import Runtime
from chiso.dashboard.board import Board
from chiso.store import replica


# Dependencies that never wait are ``async``: FastAPI runs a plain ``def`` dependency in the
# thread pool, one hand-over (and GIL switch) per dependency per request. ``connection`` stays
# a ``def``: checking a connection out of a full pool waits.
async def runtime(request: Request) -> Runtime:
    rt: Runtime = request.app.state.runtime
    return rt


def connection(rt: Annotated[Runtime, Depends(runtime)]) -> Iterator[Connection]:
    with rt.engine.connect() as conn:
        yield conn


def read_connection(rt: Annotated[Runtime, Depends(runtime)],
                    response: Response) -> Iterator[Connection]:
    """A connection for a read-only answer: to the replica when one is set
    (``CHISO_READ_DATABASE_URL``), whose freshness the answer then carries: ``X-Chiso-Read-From:
    replica`` and ``X-Chiso-Read-Lag`` (seconds behind the primary)."""
    with rt.read_engine.connect() as conn:
        if rt.reader is not None:
            behind = replica.lag(conn)
            response.headers["X-Chiso-Read-From"] = "replica" if behind is not None else "primary"
            response.headers["X-Chiso-Read-Lag"] = f"{behind or 0.0:.3f}"
        yield conn


async def today(rt: Annotated[Runtime, Depends(runtime)]) -> date:
    """Today by the runtime's clock, in its time zone: deadlines are Vietnamese dates."""
    return rt.clock.today()


def access_settings(request: Request) -> AccessSettings:
    found: AccessSettings = request.app.state.access_settings
    return found


Rt = Annotated[Runtime, Depends(runtime)]
#: A row id in a path: what an INTEGER column holds (a larger one is a 422, not a database error).
Id = Annotated[int, Path(ge=1, le=2**31 - 1)]
#: Paging in the query: bounded like ids, so no database is asked for a row past its range.
Offset = Annotated[int, Query(ge=0, le=2**31 - 1)]
PageNo = Annotated[int, Query(ge=1, le=2**31 - 1)]
Conn = Annotated[Connection, Depends(connection)]
#: For handlers that only read: the replica when one is set (``read_connection``).
ReadConn = Annotated[Connection, Depends(read_connection)]
Today = Annotated[date, Depends(today)]


def board_current(request: Request, b: Board) -> bool:
    """The board is kept current by its follower and has every tile."""
    return bool(getattr(request.app.state, "board_follows", False)) and \
        len(b.views) >= len(b.tiles)


def board(request: Request, today: date) -> Board:
    """The app's board; without a follower (tests, scripts) every read recomputes it."""
    b: Board = request.app.state.board
    if not board_current(request, b):
        b.refresh(today=today)
    return b


def touch_board(request: Request, tile: str) -> None:
    """A write moved ``tile``: tell the board, if the app keeps one."""
    found: Board | None = getattr(request.app.state, "board", None)
    if found is not None:
        found.touch(tile)
