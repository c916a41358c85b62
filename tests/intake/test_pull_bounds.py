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


def _inflating_source() -> FastAPI:
    """An answer of a few kilobytes, gzip-compressed, that inflates to 5 MB."""
    import gzip

    from fastapi import Response

    app = FastAPI()
    body = gzip.compress(b'{"records": [' + b" " * 5_000_000 + b"]}")

    @app.get("/records")
    def records() -> Response:
        return Response(body, media_type="application/json",
                        headers={"Content-Encoding": "gzip"})

    return app


def test_an_answer_that_inflates_past_the_limit_is_refused(engine: Engine,
                                                          catalog: Catalog) -> None:
    settings = IntakeSettings(pseudonym_key="k", max_upload_bytes=1_000_000)  # type: ignore[arg-type]
    with ServerThread(_inflating_source()) as server:
        connector = Connector(uid("pull"), "tthc.dossier", uid("dvc"), server.url,
                              path="/records", max_attempts=1)
        result = PullRunner(engine, connector, catalog, settings).run_once(max_pages=2)
    assert result.error is not None
    assert "larger than 1000000 bytes once decompressed" in result.error
    assert result.records == 0
