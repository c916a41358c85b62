"""A page a pull connector refuses is kept with its personal identifiers pseudonymised, never
in clear, as every other door's refused batch (SQLite and PostgreSQL)."""

from __future__ import annotations

from typing import Any

from fastapi import FastAPI
from sqlalchemy import Engine, select
from tests.factories import dossier, uid

from chiso.catalog.loader import Catalog
from chiso.intake.pipeline import pseudonymise, read_raw
from chiso.intake.pull import Connector, PullRunner
from chiso.intake.settings import IntakeSettings
from chiso.store.tables import intake_batches
from chiso_sim.servers import ServerThread

SETTINGS = IntakeSettings(pseudonym_key="pull-privacy-key")  # type: ignore[arg-type]
CCCD = "001088054321"


def _source() -> FastAPI:
    """One page: a good dossier and one with a status the contract does not know."""
    app = FastAPI()

    @app.get("/records")
    def records(cursor: str | None = None, limit: int = 100) -> dict[str, Any]:
        return {"records": [dossier(0, id=uid("HS"), applicant_id=CCCD),
                            dossier(1, id=uid("HS"), applicant_id=CCCD, status="lost")],
                "next_cursor": "end", "has_more": False}

    return app


def test_a_refused_pull_page_keeps_no_identifier_in_clear(
    engine: Engine, catalog: Catalog
) -> None:
    name, source = uid("pull"), uid("dvc")
    with ServerThread(_source()) as server:
        connector = Connector(name, "tthc.dossier", source, server.url, path="/records",
                              page_size=100, max_attempts=1)
        result = PullRunner(engine, connector, catalog, SETTINGS).run_once(max_pages=3)
    assert result.error is not None
    with engine.connect() as conn:
        batch = conn.execute(select(intake_batches).where(
            intake_batches.c.source == source)).one()
        kept = read_raw(conn, batch.raw_sha256)
    assert batch.status == "refused"
    assert kept is not None
    assert CCCD.encode() not in kept
    assert pseudonymise(CCCD, SETTINGS.key()).encode() in kept
