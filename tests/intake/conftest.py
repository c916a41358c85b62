"""Intake fixtures: chiso served for real over HTTP on an ephemeral port (for simulators)."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from chiso.context import Runtime
from chiso.runtime import create_app
from chiso_sim.servers import ServerThread


@pytest.fixture
def live_server(runtime: Runtime) -> Iterator[str]:
    """chiso's real app under uvicorn on 127.0.0.1, sharing the test database."""
    app = create_app(runtime.settings, runtime)
    with ServerThread(app, lifespan="on") as server:
        yield server.url
