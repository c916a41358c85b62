"""Schemathesis fuzzing of every OpenAPI operation, anonymously and as every role: no answer
is a 5xx and none breaks its documented schema (SQLite and PostgreSQL).

The suite runs a small, bounded budget (``CHISO_FUZZ_EXAMPLES``, default 3 cases per
operation, the role drawn for each case); a longer run: ``CHISO_FUZZ_EXAMPLES=200`` or
``--run-slow`` (100), e.g. ``CHISO_FUZZ_EXAMPLES=200 uv run pytest -q tests/access/test_fuzz.py``.
The figures (operations, cases, failures, seconds) are printed at the end."""

from __future__ import annotations

import os
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import schemathesis
from fastapi.testclient import TestClient
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from schemathesis.checks import not_a_server_error
from schemathesis.specs.openapi.checks import response_schema_conformance
from tests.factories import UNIT_A, user_with_token

from chiso.access.settings import AccessSettings
from chiso.context import Runtime
from chiso.runtime import create_app

ROLES = [None, "viewer", "leader", "unit_officer", "data_steward", "auditor", "operator"]
STREAMS = {"/api/v1/stream"}  # never ends: the stream's own tests cover it
BASE = "https://testserver"


def _examples(config: pytest.Config) -> int:
    if os.environ.get("CHISO_FUZZ_EXAMPLES"):
        return int(os.environ["CHISO_FUZZ_EXAMPLES"])
    return 100 if config.getoption("--run-slow") else 3


@pytest.fixture(scope="module")
def fuzz_client(shared_runtime: Runtime, tmp_path_factory: pytest.TempPathFactory
                ) -> Iterator[TestClient]:
    audit_dir: Path = tmp_path_factory.mktemp("fuzz-audit")
    access = AccessSettings(audit_key_file=audit_dir / "key.pem",
                            audit_checkpoint_file=audit_dir / "checkpoints.jsonl",
                            checkpoint_seconds=0, signin_rate="100000/minute")
    with TestClient(create_app(shared_runtime.settings, shared_runtime, access),
                    base_url=BASE, raise_server_exceptions=False) as client:
        yield client


def _request(client: TestClient, case: Any, token: str | None) -> Any:
    headers = {"Authorization": f"Bearer {token}"} if token else {}
    kwargs = case.as_transport_kwargs(base_url=BASE, headers=headers)
    sent: dict[str, Any] = {k: kwargs[k] for k in ("method", "url", "headers", "params")
                            if kwargs.get(k) is not None}
    if kwargs.get("cookies"):  # a cookie parameter the operation documents
        sent["cookies"] = kwargs["cookies"]
    if "json" in kwargs:
        sent["json"] = kwargs["json"]
    data = kwargs.get("data")
    if isinstance(data, bytes | str):
        sent["content"] = data
    elif data is not None:
        sent["data"] = data
    if kwargs.get("files"):
        sent["files"] = kwargs["files"]
    return client.request(**sent)


def test_every_operation_as_every_role(fuzz_client: TestClient, shared_runtime: Runtime,
                                       request: pytest.FixtureRequest) -> None:
    examples = _examples(request.config)
    tokens: dict[str | None, str | None] = {None: None}
    for role in ROLES[1:]:
        tokens[role] = user_with_token(shared_runtime.engine, role,
                                       UNIT_A if role == "unit_officer" else None)[1]
    raw = fuzz_client.get("/api/v1/openapi.json").json()
    schema = schemathesis.openapi.from_dict(raw)
    failures: list[str] = []
    counted = {"operations": 0, "cases": 0}
    started = time.perf_counter()
    for found in schema.get_all_operations():
        operation = found.ok()
        if operation.path in STREAMS:
            continue
        counted["operations"] += 1

        @settings(max_examples=examples, deadline=None, database=None, derandomize=True,
                  suppress_health_check=list(HealthCheck))
        @given(case=operation.as_strategy(), role=st.sampled_from(ROLES))
        def run(case: Any, role: str | None) -> None:
            counted["cases"] += 1
            response = _request(fuzz_client, case, tokens[role])
            case.validate_response(response, checks=[not_a_server_error,
                                                     response_schema_conformance])

        try:
            run()
        except (Exception, BaseExceptionGroup) as failure:  # every operation is tried
            failures.append(f"{operation.method.upper()} {operation.path}: "
                            f"{_summary(failure)}")
    seconds = time.perf_counter() - started
    print(f"\nfuzz: {counted['operations']} operations, {counted['cases']} cases, "
          f"{len(failures)} failing, {seconds:.1f} s ({examples} examples per operation)")
    for line in failures:
        print("FUZZ FAIL", line)
    assert failures == []


def _summary(failure: BaseException) -> str:
    """The failures of a group, one short phrase each."""
    parts = [failure, *getattr(failure, "exceptions", ())]
    lines = [line.strip() for p in parts for line in str(p).splitlines()
             if line.strip() and not line.strip().startswith(("{", "}", '"', "[", "]"))]
    return " | ".join(dict.fromkeys(line[:200] for line in lines[:12]))
