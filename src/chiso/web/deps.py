"""What every handler of the API and the pages may ask FastAPI for: the runtime, a database
connection, today's date by the runtime's clock, the dashboard's board, and the principal's
access settings. Both ``chiso.web.api`` and ``chiso.web.pages`` depend on this module; neither
depends on the other."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import date
from typing import Annotated

from fastapi import Depends, Request
from sqlalchemy import Connection

from chiso.access.settings import AccessSettings
from chiso.context import Runtime
from chiso.dashboard.board import Board


def runtime(request: Request) -> Runtime:
    rt: Runtime = request.app.state.runtime
    return rt


def connection(rt: Annotated[Runtime, Depends(runtime)]) -> Iterator[Connection]:
    with rt.engine.connect() as conn:
        yield conn


def today(rt: Annotated[Runtime, Depends(runtime)]) -> date:
    """Today by the runtime's clock, in its time zone: deadlines are Vietnamese dates."""
    return rt.clock.today()


def access_settings(request: Request) -> AccessSettings:
    found: AccessSettings = request.app.state.access_settings
    return found


Rt = Annotated[Runtime, Depends(runtime)]
Conn = Annotated[Connection, Depends(connection)]
Today = Annotated[date, Depends(today)]


def board(request: Request, today: date) -> Board:
    """The app's board; without a follower (tests, scripts) every read recomputes it."""
    b: Board = request.app.state.board
    if not getattr(request.app.state, "board_follows", False) or len(b.views) < len(b.tiles):
        b.refresh(today=today)
    return b


def touch_board(request: Request, tile: str) -> None:
    """A write moved ``tile``: tell the board, if the app keeps one."""
    found: Board | None = getattr(request.app.state, "board", None)
    if found is not None:
        found.touch(tile)
