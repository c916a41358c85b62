"""Access fixtures: users of each role with API tokens, an app on a database of its own."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import Engine
from tests.factories import user_with_token

from chiso.access.settings import AccessSettings
from chiso.context import Runtime
from chiso.runtime import create_app


@pytest.fixture
def access_settings(tmp_path: Path) -> AccessSettings:
    return AccessSettings(audit_key_file=tmp_path / "audit" / "key.pem",
                          audit_checkpoint_file=tmp_path / "audit" / "checkpoints.jsonl",
                          checkpoint_seconds=0)


@pytest.fixture
def own_runtime(fresh_runtime: Runtime) -> Runtime:
    return fresh_runtime


@pytest.fixture
def app_client(own_runtime: Runtime, access_settings: AccessSettings
               ) -> Iterator[TestClient]:
    """The whole app over HTTPS (secure cookies travel), on a database of its own."""
    app = create_app(own_runtime.settings, own_runtime, access_settings)
    with TestClient(app, base_url="https://testserver") as client:
        yield client


@pytest.fixture
def make_user(fresh_engine: Engine) -> Callable[..., tuple[str, str]]:
    def make(role: str | None, unit: str | None = None,
             password: str | None = None) -> tuple[str, str]:
        return user_with_token(fresh_engine, role, unit, password)
    return make
