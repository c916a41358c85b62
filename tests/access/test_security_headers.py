"""Every response carries the security headers; templates hold nothing the CSP would block
(SQLite and PostgreSQL)."""

from __future__ import annotations

import re
from collections.abc import Callable
from pathlib import Path

import pytest
from fastapi.testclient import TestClient
from starlette.types import ASGIApp
from tests.factories import bearer
from uvicorn.middleware.proxy_headers import ProxyHeadersMiddleware

from chiso.web import headers

TEMPLATES = Path(headers.__file__).resolve().parent / "templates"


def _secured(response: object) -> None:
    got = response.headers  # type: ignore[attr-defined]
    csp = got["content-security-policy"]
    assert "unsafe-inline" not in csp
    assert "unsafe-eval" not in csp
    assert "frame-ancestors 'none'" in csp
    assert "script-src 'self'" in csp
    assert "style-src 'self'" in csp
    assert got["x-content-type-options"] == "nosniff"
    assert got["referrer-policy"] == "same-origin"
    assert got["x-frame-options"] == "DENY"


@pytest.mark.parametrize(("path", "status"), [
    ("/", 200),                        # a page
    ("/api/v1/plans", 200),            # JSON
    ("/static/chiso.css", 200),        # a static file
    ("/api/v1/openapi.json", 200),
    ("/admin/users", 303),             # the guard sends the anonymous to sign in
    ("/api/v1/intake/batches", 401),   # the guard refuses
    ("/no/such/page", 404),            # no route
    ("/api/v1/data-quality?start=x", 401),
])
def test_every_kind_of_answer_carries_the_headers(app_client: TestClient, path: str,
                                                  status: int) -> None:
    response = app_client.get(path, follow_redirects=False)
    assert response.status_code == status
    _secured(response)
    assert response.headers["strict-transport-security"].startswith("max-age=31536000")


def test_a_refusal_to_a_signed_in_user_carries_the_headers(
    app_client: TestClient, make_user: Callable[..., tuple[str, str]]
) -> None:
    response = app_client.get("/admin/users", headers=bearer(make_user("viewer")[1]))
    assert response.status_code == 403
    _secured(response)


def test_no_hsts_over_plain_http(app_client: TestClient) -> None:
    plain = TestClient(app_client.app, base_url="http://testserver")
    response = plain.get("/api/v1/plans")
    _secured(response)
    assert "strict-transport-security" not in response.headers


def test_hsts_behind_a_trusted_proxy_saying_https(app_client: TestClient) -> None:
    app: ASGIApp = app_client.app  # type: ignore[assignment]
    proxied = TestClient(ProxyHeadersMiddleware(app, trusted_hosts="*"),
                         base_url="http://testserver")
    said = proxied.get("/api/v1/plans", headers={"X-Forwarded-Proto": "https"})
    assert said.headers["strict-transport-security"].startswith("max-age=")
    unsaid = proxied.get("/api/v1/plans")
    assert "strict-transport-security" not in unsaid.headers


def test_the_provider_is_a_form_target_only_when_configured() -> None:
    assert "form-action 'self';" in headers.content_security_policy() + ";"
    with_sso = headers.content_security_policy(["https://sso.hanoi.gov.vn"])
    assert "form-action 'self' https://sso.hanoi.gov.vn" in with_sso


INLINE = [
    # A JSON data block (a chart's figures) is data the browser never runs: CSP lets it be.
    (re.compile(r"<script(?![^>]*\b(?:src=|type=\"application/json\"))[^>]*>", re.I),
     "an inline script"),
    (re.compile(r"<style\b", re.I), "a <style> element"),
    (re.compile(r"\sstyle\s*=", re.I), "a style attribute"),
    (re.compile(r"\son[a-z]+\s*=", re.I), "an event-handler attribute"),
    (re.compile(r"javascript:", re.I), "a javascript: URL"),
]


def test_templates_hold_no_inline_script_or_style() -> None:
    found = [f"{t.name}: {what}" for t in sorted(TEMPLATES.glob("*.html"))
             for pattern, what in INLINE if pattern.search(t.read_text(encoding="utf-8"))]
    assert found == []
