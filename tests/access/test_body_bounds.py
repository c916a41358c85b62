"""Every request body is bounded whoever sends it: evidence attached through an API token (a
multipart file, or a chunked body that declares no length) is refused with a 413 naming the
limit, and nothing is stored (SQLite and PostgreSQL)."""

from __future__ import annotations

from collections.abc import Callable, Iterator

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import Engine, func, select
from tests.factories import bearer

from chiso.access.settings import AccessSettings
from chiso.context import Runtime
from chiso.runtime import create_app
from chiso.store.tables import task_evidence

LIMIT = 64 * 1024
EVIDENCE = "/api/v1/plans/243-KH-UBND/tasks/III.2/evidence"


@pytest.fixture
def small_client(own_runtime: Runtime, access_settings: AccessSettings
                 ) -> Iterator[TestClient]:
    settings = access_settings.model_copy(update={"max_form_bytes": LIMIT})
    with TestClient(create_app(own_runtime.settings, own_runtime, settings),
                    base_url="https://testserver") as client:
        yield client


def _stored(engine: Engine) -> int:
    with engine.connect() as conn:
        return int(conn.execute(select(func.count()).select_from(task_evidence)).scalar_one())


def test_evidence_through_an_api_token_has_a_size_limit(
    small_client: TestClient, fresh_engine: Engine, make_user: Callable[..., tuple[str, str]]
) -> None:
    headers = bearer(make_user("operator")[1])
    small = small_client.post(EVIDENCE, files={"file": ("bien-ban.pdf", b"%PDF" * 100)},
                              headers=headers)
    assert small.status_code == 201, small.text
    large = small_client.post(EVIDENCE, files={"file": ("bien-ban.pdf", b"%PDF" * LIMIT)},
                              headers=headers)
    assert large.status_code == 413  # before: 201, the file read whole
    assert str(LIMIT) in large.json()["detail"]

    def chunks() -> Iterator[bytes]:
        yield b'{"url": "https://example.gov.vn/a.pdf", "note": "'
        for _ in range(LIMIT // 1024 + 1):
            yield b"x" * 1024
        yield b'"}'

    chunked = small_client.post(EVIDENCE, content=chunks(),
                                headers={**headers, "Content-Type": "application/json"})
    assert chunked.status_code == 413
    assert str(LIMIT) in chunked.json()["detail"]
    assert _stored(fresh_engine) == 1
