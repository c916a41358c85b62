"""Shared fixtures: every database test runs on SQLite and on PostgreSQL.

PostgreSQL comes from ``./scripts/pg-setup`` (the test command runs it). Without it the
PostgreSQL half of the suite is skipped locally, and fails when ``CHISO_REQUIRE_PG=1`` (CI).
"""

from __future__ import annotations

import os
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import Engine, create_engine, text
from sqlalchemy.engine import make_url

from chiso.catalog.loader import Catalog, load_catalog
from chiso.config import Settings
from chiso.context import Runtime
from chiso.runtime import create_app, open_runtime
from chiso.store.db import make_engine

# The tests run on the repository's development keys; a deployment refuses them.
os.environ.setdefault("CHISO_ENV", "test")
# Background re-scoring (chiso.scoring.follow) would race each test's teardown: tests turn it
# on where they test it.
os.environ.setdefault("CHISO_SCORES_FOLLOW", "0")
os.environ.setdefault("CHISO_DASHBOARD_FOLLOW", "0")
os.environ.setdefault("CHISO_REPORTS_SCHEDULE", "0")  # tests run the schedule themselves
os.environ.setdefault("CHISO_OUTBOX_DELIVER", "0")  # tests that deliver run their own worker
os.environ.setdefault("CHISO_CHANGELOG_INTERVAL", "0")  # tests publish explicitly
os.environ.setdefault("CHISO_ALERTS_RUN", "0")  # tests raise alerts on the day they choose
os.environ.setdefault("CHISO_PULL_SOURCES_RUN", "0")  # tests of pull sources turn it on
os.environ.setdefault("CHISO_RANKINGS_RECHECK", "0")  # tests change scores between reads

ROOT = Path(__file__).resolve().parent.parent
SHARED = Path(os.environ.get("CHISO_SHARED_DIR", ROOT.parent / "shared"))
PG_URL = os.environ.get(
    "CHISO_TEST_PG_URL", "postgresql+psycopg://chiso:chiso@127.0.0.1:5432/chiso_test"
)
REQUIRE_PG = os.environ.get("CHISO_REQUIRE_PG") == "1"
BACKENDS = ["sqlite", "postgresql"]


def pytest_addoption(parser: pytest.Parser) -> None:
    parser.addoption("--run-slow", action="store_true", help="also run tests marked slow")


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    if config.getoption("--run-slow"):
        return
    skip = pytest.mark.skip(reason="slow: run with --run-slow")
    for item in items:
        if "slow" in item.keywords:
            item.add_marker(skip)


@pytest.fixture(scope="session")
def shared_dir() -> Path:
    if not (SHARED / "seeds").is_dir():
        pytest.fail(f"shared/ not found at {SHARED}: set CHISO_SHARED_DIR to the folder "
                    "that holds seeds/ and data/")
    return SHARED


@pytest.fixture(scope="session")
def seeds_dir(shared_dir: Path) -> Path:
    return shared_dir / "seeds"


@pytest.fixture(scope="session")
def catalog() -> Catalog:
    return load_catalog()


@pytest.fixture(scope="session")
def pg_databases() -> Iterator[Callable[[str], str]]:
    """Make PostgreSQL databases of this test session's own ("shared", "scratch", …),
    dropped at the end.

    Named after the xdist worker and the process, so that parallel workers and test runs
    started side by side (a developer's and CI's) never wipe each other's schema.
    """
    worker = os.environ.get("PYTEST_XDIST_WORKER", "main")
    url = make_url(PG_URL)
    # pre-ping: the durability test restarts PostgreSQL, which kills pooled connections.
    admin = create_engine(url.set(database="postgres"), isolation_level="AUTOCOMMIT",
                          pool_pre_ping=True)
    made: dict[str, str] = {}

    def make(purpose: str) -> str:
        if purpose not in made:
            name = f"{url.database}_{worker}_{os.getpid()}_{purpose}"
            try:
                with admin.connect() as conn:
                    conn.execute(text(f'CREATE DATABASE "{name}"'))
            except Exception as exc:
                if REQUIRE_PG:
                    pytest.fail(f"PostgreSQL is required (CHISO_REQUIRE_PG=1) but unreachable: "
                                f"{exc}")
                pytest.skip(f"PostgreSQL not reachable (run ./scripts/pg-setup): {exc}")
            made[purpose] = name
        return url.set(database=made[purpose]).render_as_string(hide_password=False)

    yield make
    with admin.connect() as conn:
        for name in made.values():
            conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
    admin.dispose()


def blank_database(backend: str, tmp_path: Path, request: pytest.FixtureRequest,
                   purpose: str = "scratch") -> str:
    """The URL of an empty database of the given backend."""
    if backend == "sqlite":
        return f"sqlite:///{tmp_path / 'chiso.db'}"
    make: Callable[[str], str] = request.getfixturevalue("pg_databases")
    url = make(purpose)
    engine = make_engine(url)
    with engine.begin() as conn:
        conn.execute(text("DROP SCHEMA public CASCADE"))
        conn.execute(text("CREATE SCHEMA public"))
    engine.dispose()
    return url


def prepared_runtime(url: str, catalog: Catalog) -> Runtime:
    """A runtime opened as chiso opens one (migrated, catalog written, rooms wired)."""
    return open_runtime(Settings(database_url=url), catalog=catalog)


@pytest.fixture(scope="session", params=BACKENDS)
def backend(request: pytest.FixtureRequest) -> str:
    return str(request.param)


@pytest.fixture(scope="session")
def shared_runtime(backend: str, catalog: Catalog, tmp_path_factory: pytest.TempPathFactory,
                   request: pytest.FixtureRequest) -> Iterator[Runtime]:
    """A migrated database holding the catalog, shared by the read-only tests of a session.
    Tests that write use ``fresh_runtime``, which has a database of its own."""
    url = blank_database(backend, tmp_path_factory.mktemp(f"db-{backend}"), request, "shared")
    rt = prepared_runtime(url, catalog)
    yield rt
    rt.engine.dispose()


@pytest.fixture(scope="session")
def engine(shared_runtime: Runtime) -> Engine:
    return shared_runtime.engine


@pytest.fixture
def fresh_runtime(backend: str, catalog: Catalog, tmp_path: Path,
                  request: pytest.FixtureRequest) -> Iterator[Runtime]:
    """A runtime on a migrated database of its own, for a test that writes."""
    rt = prepared_runtime(blank_database(backend, tmp_path, request), catalog)
    yield rt
    rt.engine.dispose()


@pytest.fixture
def fresh_engine(fresh_runtime: Runtime) -> Engine:
    return fresh_runtime.engine


@pytest.fixture
def fresh_client(fresh_runtime: Runtime) -> Iterator[TestClient]:
    """The app on a database of the test's own (``fresh_runtime``), for tests that write.
    Set ``fresh_client.app.dependency_overrides`` to fix "today" and the like."""
    with TestClient(create_app(fresh_runtime.settings, fresh_runtime)) as client:
        yield client


@pytest.fixture
def runtime(shared_runtime: Runtime) -> Runtime:
    return shared_runtime


@pytest.fixture
def client(runtime: Runtime) -> Iterator[TestClient]:
    with TestClient(create_app(runtime.settings, runtime)) as test_client:
        yield test_client


def role_headers(engine: Engine, role: str, unit: str | None = None) -> dict[str, str]:
    """``Authorization`` headers of a new user holding ``role`` (an API token): the access
    guard lets a request through only for the roles docs/access.md names."""
    import uuid

    from chiso.access import accounts

    name = f"{role}-{uuid.uuid4().hex[:8]}"
    with engine.begin() as conn:
        accounts.add_user(conn, name)
        accounts.grant(conn, name, role, unit)
        token = accounts.issue_token(conn, name, "test")
    return {"Authorization": f"Bearer {token}"}


@pytest.fixture
def steward_headers(engine: Engine) -> dict[str, str]:
    """A city-wide data steward: batches, raw payloads, uploads."""
    return role_headers(engine, "data_steward")
