"""A pull source whose paging repeats a cursor is stopped with an error on the connector,
not pulled in a tight loop forever (SQLite and PostgreSQL)."""

from __future__ import annotations

from typing import Any

from fastapi import FastAPI
from sqlalchemy import Engine, select
from tests.factories import dossier, uid

from chiso.catalog.loader import Catalog
from chiso.intake.pull import Connector, PullRunner
from chiso.intake.settings import IntakeSettings
from chiso.store.tables import intake_cursors
from chiso_sim.servers import ServerThread

SETTINGS = IntakeSettings(pseudonym_key="pull-bounds-key")  # type: ignore[arg-type]


def _looping_source(calls: list[str | None]) -> FastAPI:
    """Pages 'a' -> 'b' -> 'a' -> ...: a source whose cursor goes round in a circle."""
    app = FastAPI()

    @app.get("/records")
    def records(cursor: str | None = None, limit: int = 100) -> dict[str, Any]:
        calls.append(cursor)
        page = 0 if cursor in (None, "a") else 1
        return {"records": [dossier(page, id=f"HS-LOOP-{page}")],
                "next_cursor": "b" if page == 0 else "a", "has_more": True}

    return app


def test_a_repeating_cursor_stops_the_connector(engine: Engine, catalog: Catalog) -> None:
    calls: list[str | None] = []
    name = uid("pull")
    with ServerThread(_looping_source(calls)) as server:
        connector = Connector(name, "tthc.dossier", uid("dvc"), server.url, path="/records",
                              page_size=100, max_attempts=1)
        result = PullRunner(engine, connector, catalog,
                            SETTINGS).run_once(max_pages=50)
    assert result.error is not None
    assert "'b' again" in result.error
    assert calls == [None, "b", "a"]  # page 'a' leads back to 'b': stopped there
    with engine.connect() as conn:
        row = conn.execute(select(intake_cursors).where(
            intake_cursors.c.connector == name)).one()
    assert row.last_error == result.error
    assert result.pages == 2
