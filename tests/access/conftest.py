"""Access fixtures: users of each role with API tokens, an app on a database of its own."""

from __future__ import annotations

import uuid
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import Engine

from chiso.access import accounts
from chiso.access.settings import AccessSettings
from chiso.context import Runtime
from chiso.runtime import create_app

UNIT_A = "00070"  # two communes of the test data
UNIT_B = "00082"


def user_with_token(engine: Engine, role: str | None, unit: str | None = None,
                    password: str | None = None) -> tuple[str, str]:
    """(name, API token) of a new user holding ``role`` (None: no role but public)."""
    name = f"u-{role or 'none'}-{uuid.uuid4().hex[:8]}"
    with engine.begin() as conn:
        accounts.add_user(conn, name, password=password)
        if role is not None:
            accounts.grant(conn, name, role, unit)
        token = accounts.issue_token(conn, name, "test")
    return name, token


def bearer(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


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
