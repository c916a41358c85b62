"""Read-only answers through a real PostgreSQL streaming replica (``CHISO_READ_DATABASE_URL``):
they come from the replica, say so with its lag, and follow what is written on the primary."""

from __future__ import annotations

import time

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import text
from sqlalchemy.exc import DBAPIError
from tests.scaling.replica_cluster import primary_and_replica, server_binaries

from chiso.catalog.loader import Catalog
from chiso.config import Settings
from chiso.runtime import create_app, open_runtime
from chiso.store import replica

BIN = server_binaries()
pytestmark = pytest.mark.skipif(BIN is None, reason="PostgreSQL server binaries not installed")


def test_reads_go_to_the_replica_and_follow_the_primary(catalog: Catalog) -> None:
    assert BIN is not None
    with primary_and_replica(BIN) as pair:
        rt = open_runtime(Settings(database_url=pair.primary_url,
                                   read_database_url=pair.replica_url), catalog=catalog)
        try:
            with rt.read_engine.connect() as conn:
                assert replica.lag(conn) is not None  # in recovery: a replica
                with pytest.raises(DBAPIError, match="read-only"):
                    conn.execute(text("UPDATE units SET name = name"))
            with rt.engine.connect() as conn:
                assert replica.lag(conn) is None  # the primary
            code = next(iter(catalog.units.units))
            with TestClient(create_app(rt.settings, rt)) as client:
                r = client.get(f"/api/v1/units/{code}")
                assert r.status_code == 200, r.text
                assert r.headers["X-Chiso-Read-From"] == "replica"
                assert float(r.headers["X-Chiso-Read-Lag"]) >= 0
                before = r.json()["name"]
                with rt.engine.begin() as conn:  # written on the primary only
                    conn.execute(text("UPDATE units SET name = :n WHERE code = :c"),
                                 {"n": before + " (mới)", "c": code})
                deadline = time.monotonic() + 15
                seen = before
                while seen == before and time.monotonic() < deadline:
                    time.sleep(0.1)
                    seen = client.get(f"/api/v1/units/{code}").json()["name"]
                assert seen == before + " (mới)"  # streamed to the replica, read there
                health = client.get("/api/v1/health")
                assert health.status_code == 200  # writes and the guard still use the primary
        finally:
            rt.engine.dispose()
            if rt.reader is not None:
                rt.reader.dispose()
