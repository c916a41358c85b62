"""Every route of the app, with every role: the policy table decides, and nothing else.

A route added without a policy entry fails here (and is refused at run time)."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import Engine
from starlette.applications import Starlette
from starlette.routing import Mount
from tests.factories import UNIT_A, bearer

from chiso.access import policy
from chiso.access.guard import routes_of
from chiso.access.roles import PERSON_ROLES, PUBLIC, SOURCE, UNIT_OFFICER
from chiso.access.settings import AccessSettings
from chiso.context import Runtime
from chiso.intake.sources import add_source
from chiso.runtime import create_app

SAMPLE = {"key": "131-KH-UBND", "target_id": "I.11", "task_id": "1", "code": UNIT_A,
          "feed": "tthc.dossier", "source": "nobody", "record_id": "nothing", "name": "-",
          "report_id": "1", "path": "chiso.css", "sha256": "0" * 64, "method": "dvc-766",
          "unit": UNIT_A,
          "tile_id": "ho-so-dung-han", "dataset": "data-accountability",
          "action": "package_list", "fmt": "ttl", "message_id": "1",
          "subscription_id": "1", "session_id": "0" * 64, "token_id": "0" * 64, "decision_id": "1"}
# Streams never end: called only where the guard must refuse.
STREAMS = {"/api/v1/stream", "/dashboard/stream"}
DOCS = Path(__file__).resolve().parents[2] / "docs" / "access.md"


def _url(template: str) -> str:
    url = template
    for key, value in SAMPLE.items():
        url = url.replace("{" + key + "}", value)
    assert "{" not in url, f"no sample value for a parameter of {template}"
    return url


def test_every_route_has_exactly_one_rule_and_every_rule_a_route(app_client: TestClient
                                                                   ) -> None:
    routes = {(m, e.path) for e in routes_of(app_client.app) for m in (e.methods or {"GET"})
              if m != "HEAD"}
    missing = sorted(r for r in routes if policy.rule_for(*r) is None)
    assert not missing, f"routes without an access rule (add them to chiso.access.policy): "\
                        f"{missing}"
    stale = sorted((r.method, r.path) for r in policy.POLICY if (r.method, r.path) not in routes)
    assert not stale, f"rules naming no route: {stale}"


@pytest.fixture(params=["plain", "root-path", "mounted"])
def deployed(request: pytest.FixtureRequest, own_runtime: Runtime,
             access_settings: AccessSettings) -> Iterator[tuple[TestClient, str]]:
    """The app as deployed: alone, served with ``--root-path /chiso`` behind a proxy (the
    path keeps the prefix, ``root_path`` names it), or mounted under /chiso in another app.
    Yields the client and the prefix every URL takes."""
    app = create_app(own_runtime.settings, own_runtime, access_settings)
    if request.param == "plain":
        with TestClient(app, base_url="https://testserver") as client:
            yield client, ""
    elif request.param == "root-path":
        with TestClient(app, base_url="https://testserver", root_path="/chiso") as client:
            yield client, "/chiso"
    else:
        outer = Starlette(routes=[Mount("/chiso", app=app)],
                          lifespan=lambda _: app.router.lifespan_context(app))
        with TestClient(outer, base_url="https://testserver") as client:
            yield client, "/chiso"


@pytest.mark.parametrize("role", [*sorted(PERSON_ROLES | {SOURCE}), "anonymous"])
def test_every_route_with_every_role(deployed: tuple[TestClient, str], fresh_engine: Engine,
                                     make_user: Callable[..., tuple[str, str]], role: str
                                     ) -> None:
    """The same allow or deny for every route and role, whatever the deployment's prefix:
    the guard resolves a request with the router's own matching."""
    app_client, prefix = deployed
    if role == SOURCE:
        headers = bearer(add_source(fresh_engine, "walker", ["tthc.dossier"], [UNIT_A]))
    elif role == "anonymous":
        headers = {"Cookie": "chiso_csrf=t", "X-CSRF-Token": "t"}
    else:
        _, token = make_user(None if role == PUBLIC else role,
                             UNIT_A if role == UNIT_OFFICER else None)
        headers = bearer(token)
    held = {SOURCE} if role == SOURCE else {PUBLIC} | ({role} if role != "anonymous" else set())
    wrong = []
    for entry in routes_of(_chiso_app(app_client.app)):
        for method in sorted(entry.methods or {"GET"}):
            if method == "HEAD":
                continue
            rule = policy.rule_for(method, entry.path)
            assert rule is not None
            expected = bool(held & rule.roles)
            if expected and entry.path in STREAMS:
                continue
            kwargs: dict[str, object] = {}
            if method == "POST":  # a body that passes the gate: the gate is what is tested
                kwargs = {"json": []} if "/api/" in entry.path else {"data": {"unit": UNIT_A}}
            answer = app_client.request(method, prefix + _url(entry.path), headers=headers,
                                        follow_redirects=False, **kwargs)
            refused = answer.status_code in (401, 403) or (
                answer.status_code == 303
                and answer.headers["location"].startswith(prefix + "/signin"))
            if refused == expected:
                wrong.append(f"{method} {entry.path}: {answer.status_code} "
                             f"({'expected allowed' if expected else 'expected refused'})")
    assert not wrong, "\n".join(wrong)


def _chiso_app(app: Any) -> Any:
    """chiso's own app, also when it is mounted under /chiso inside another."""
    for route in getattr(app, "routes", []):
        if isinstance(route, Mount) and route.path == "/chiso":
            return route.app
    return app


def test_a_path_no_route_takes_is_refused_without_reaching_the_app(
        deployed: tuple[TestClient, str]) -> None:
    client, prefix = deployed
    assert client.get(prefix + "/no/such/page").status_code == 404
    assert client.get(prefix + "/api/v1/no-such-thing").json()["detail"] == "not found"
    assert client.delete(prefix + "/api/v1/plans").status_code == 405


def test_a_route_added_later_without_a_rule_is_refused(app_client: TestClient,
                                                       make_user: Callable[..., tuple[str, str]]
                                                       ) -> None:
    app = app_client.app

    @app.get("/api/v1/added-later")  # type: ignore[attr-defined, untyped-decorator]
    def added() -> dict[str, str]:
        return {"secret": "yes"}

    _, token = make_user("operator")
    answer = app_client.get("/api/v1/added-later", headers=bearer(token))
    assert answer.status_code == 403
    assert "deny by default" in answer.json()["detail"]


def test_docs_access_md_holds_the_policy_table() -> None:
    assert policy.markdown() in DOCS.read_text(encoding="utf-8"), \
        "docs/access.md is stale: run `uv run chiso access policy` and paste the table"
