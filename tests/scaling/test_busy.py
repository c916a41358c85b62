"""SQLite's one writer: a request that cannot get the write lock within the busy timeout
answers 503 with Retry-After (nothing written), and succeeds once the lock is free."""

from __future__ import annotations

import json
import sqlite3
from pathlib import Path

from fastapi.testclient import TestClient
from sqlalchemy import func, select
from tests.conftest import prepared_runtime
from tests.factories import bearer, dossier

from chiso.catalog.loader import Catalog
from chiso.intake.sources import add_source
from chiso.runtime import create_app
from chiso.store.tables import intake_batches


def test_a_locked_sqlite_answers_503_with_retry_after(tmp_path: Path, catalog: Catalog) -> None:
    db = tmp_path / "chiso.db"
    rt = prepared_runtime(f"sqlite:///{db}", catalog)
    token = add_source(rt.engine, "busy", ["tthc.dossier"], None)
    body = json.dumps([dossier(1, unit="00070")]).encode()
    url = "/api/v1/feeds/tthc.dossier/records"
    headers = {**bearer(token), "Content-Type": "application/json"}
    with TestClient(create_app(rt.settings, rt)) as client:
        holder = sqlite3.connect(db, isolation_level=None)
        holder.execute("BEGIN IMMEDIATE")  # another writer holds the lock past the timeout
        try:
            r = client.post(url, content=body, headers=headers)
        finally:
            holder.execute("ROLLBACK")
            holder.close()
        assert r.status_code == 503, r.text
        assert r.headers["Retry-After"].isdigit()
        assert "busy" in r.json()["detail"]
        with rt.engine.connect() as conn:
            assert conn.execute(select(func.count()).select_from(intake_batches)).scalar() == 0
        again = client.post(url, content=body, headers=headers)
        assert again.status_code == 200, again.text
        assert again.json()["status"] == "accepted"
    rt.engine.dispose()
