"""A database too busy to answer the guard's own reads (no connection free in time, no slot
left on the server) is a 503 with ``Retry-After``, as the app answers it, never a 500; and
the busy test recognises what each backend says (SQLite and PostgreSQL)."""

from __future__ import annotations

from fastapi.testclient import TestClient
from sqlalchemy.exc import OperationalError
from tests.factories import bearer, user_with_token

from chiso.context import Runtime
from chiso.runtime import create_app, wire
from chiso.store.db import RETRY_AFTER, is_busy, make_engine


def test_a_bearer_request_with_no_free_connection_is_a_503(fresh_runtime: Runtime) -> None:
    _name, token = user_with_token(fresh_runtime.engine, "leader")
    url = fresh_runtime.engine.url.render_as_string(hide_password=False)
    narrow = make_engine(url, pool_size=1, max_overflow=0, pool_timeout=0.3)
    rt = wire(fresh_runtime.settings, narrow, fresh_runtime.catalog)
    try:
        with TestClient(create_app(rt.settings, rt)) as client:
            assert client.get("/api/v1/units", headers=bearer(token)).status_code == 200
            held = narrow.connect()  # the only connection, taken by other work
            try:
                r = client.get("/api/v1/units", headers=bearer(token))
            finally:
                held.close()
            assert r.status_code == 503, r.text
            assert r.headers["Retry-After"] == str(RETRY_AFTER)
            assert "send the request again" in r.json()["detail"]
            assert client.get("/api/v1/units", headers=bearer(token)).status_code == 200
    finally:
        narrow.dispose()


class _ServerSaidError(Exception):
    def __init__(self, text: str) -> None:
        super().__init__(text)


def test_what_a_busy_server_says_is_told_from_a_broken_one() -> None:
    def said(text: str) -> OperationalError:
        return OperationalError("SELECT 1", {}, _ServerSaidError(text))

    assert is_busy(said("database is locked"))
    assert is_busy(said('connection failed: FATAL:  sorry, too many clients already'))
    assert is_busy(said("FATAL:  remaining connection slots are reserved for roles with the "
                        "SUPERUSER attribute"))
    assert is_busy(said('FATAL:  too many connections for role "chiso"'))
    assert not is_busy(said('FATAL:  password authentication failed for user "chiso"'))
    assert not is_busy(said("no such table: units"))
