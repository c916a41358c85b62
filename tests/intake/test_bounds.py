"""Bounded work: a range or date the data-quality report cannot take is a 422 saying the
limit, answered before any work (SQLite and PostgreSQL)."""

from __future__ import annotations

import time
from typing import Any

import anyio
import pytest
from fastapi.testclient import TestClient
from sqlalchemy import Engine
from tests.factories import uid

from chiso.context import Runtime
from chiso.intake.quality import MAX_SPAN_DAYS
from chiso.intake.settings import get_intake_settings
from chiso.intake.sources import add_source
from chiso.runtime import create_app

URL = "/api/v1/data-quality"


@pytest.mark.parametrize(("start", "end", "said"), [
    ("0001-01-01", "9999-12-31", "outside 2000-2100"),
    ("2000-01-01", "2100-12-31", f"at most {MAX_SPAN_DAYS} days"),
    ("2026-13-01", "2026-12-31", "is not a date"),
    ("2026-03-01", "2026-02-01", "before start"),
])
def test_a_bad_or_huge_range_is_a_422(client: TestClient, steward_headers: dict[str, str],
                                      start: str, end: str, said: str) -> None:
    began = time.perf_counter()
    r = client.get(URL, params={"start": start, "end": end, "feed": "tthc.dossier"},
                   headers=steward_headers)
    # Refused before any query: a scan of the range it names would take minutes. The bound
    # is loose so that a busy machine does not fail it.
    assert time.perf_counter() - began < 15.0
    assert r.status_code == 422, r.text
    assert said in r.json()["detail"]


def test_a_range_within_the_limit_is_answered(client: TestClient,
                                              steward_headers: dict[str, str]) -> None:
    r = client.get(URL, params={"start": "2026-01-01", "end": "2026-03-31",
                                "feed": "tthc.dossier"}, headers=steward_headers)
    assert r.status_code == 200, r.text


def test_a_chunked_push_is_refused_while_it_is_read(
    runtime: Runtime, engine: Engine, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The app itself, called as the server calls it: body chunks are handed over only when
    the app asks, so the count shows how much of a 64 MB chunked body it read."""
    monkeypatch.setenv("CHISO_MAX_UPLOAD_BYTES", str(256 * 1024))
    get_intake_settings.cache_clear()
    try:
        token = add_source(engine, uid("dvc"), ["tthc.dossier"], None)
        app = create_app(runtime.settings, runtime)
        pulled = 0
        sent: list[dict[str, Any]] = []

        async def receive() -> dict[str, Any]:
            nonlocal pulled
            pulled += 65536
            return {"type": "http.request", "body": b" " * 65536,
                    "more_body": pulled < 64 * 1024 * 1024}

        async def send(message: dict[str, Any]) -> None:
            sent.append(message)

        scope = {"type": "http", "asgi": {"version": "3.0"}, "http_version": "1.1",
                 "method": "POST", "scheme": "http", "path": "/api/v1/feeds/tthc.dossier/records",
                 "raw_path": b"/api/v1/feeds/tthc.dossier/records", "root_path": "",
                 "query_string": b"", "server": ("testserver", 80),
                 "client": ("127.0.0.1", 5000),
                 "headers": [(b"host", b"testserver"), (b"transfer-encoding", b"chunked"),
                             (b"content-type", b"application/json"),
                             (b"authorization", f"Bearer {token}".encode())]}
        async def serve() -> None:
            async with app.router.lifespan_context(app):
                await app(scope, receive, send)

        anyio.run(serve)
        start = next(m for m in sent if m["type"] == "http.response.start")
        assert start["status"] == 413
        assert pulled <= 256 * 1024 + 65536  # stopped at the limit, not at 64 MB
    finally:
        monkeypatch.undo()
        get_intake_settings.cache_clear()
