"""Single sign-on, hardened (SQLite and PostgreSQL, against the real oidc-provider on
loopback): ``next`` never leads off the site, whatever the sign-in cookie says; signing out of
a single-sign-on session ends the provider's session too (RP-initiated logout); the operator
sees the accounts single sign-on created."""

from __future__ import annotations

import base64
import json
import re
from collections.abc import Callable, Iterator
from urllib.parse import parse_qs, urljoin, urlsplit

import httpx
import pytest
from fastapi.testclient import TestClient
from sqlalchemy import Engine, select
from tests.access.oidc_flow import back, sso
from tests.access.oidc_provider import REDIRECT_URI, running_provider
from tests.factories import bearer

from chiso.access import accounts
from chiso.access.settings import AccessSettings
from chiso.context import Runtime
from chiso.runtime import create_app
from chiso.store.tables import access_sessions

PASSWORD = "correct horse battery"
EVIL = ["//evil.example/", "/\\evil.example", "/\t/evil.example", "/\n/evil.example",
        "https://evil.example/", "/%09/x\x00", " /x", "javascript:alert(1)", "/ /evil.example"]


@pytest.fixture(scope="module")
def provider(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    with running_provider(tmp_path_factory.mktemp("oidc-hardening")) as issuer:
        yield issuer


@pytest.fixture
def sso_client(own_runtime: Runtime, access_settings: AccessSettings,
               provider: str) -> Iterator[TestClient]:
    app = create_app(own_runtime.settings, own_runtime, access_settings, sso(provider))
    with TestClient(app, base_url="https://testserver") as client:
        yield client


def _walk(browser: httpx.Client, url: str, login: str) -> tuple[str, bool]:
    """Follow an authorization request at the provider in ``browser`` (its cookies kept):
    (the callback URL it returns to, whether it asked for a login)."""
    answer, asked = browser.get(url), False
    for _ in range(12):
        if answer.status_code in (302, 303):
            target = urljoin(str(answer.url), answer.headers["location"])
            if target.startswith(REDIRECT_URI):
                return target, asked
            answer = browser.get(target)
            continue
        assert answer.status_code == 200, answer.text[:300]
        action = re.search(r'<form[^>]*action="([^"]+)"', answer.text)
        prompt = re.search(r'name="prompt" value="(\w+)"', answer.text)
        assert action
        assert prompt
        form = {"prompt": prompt.group(1)}
        if prompt.group(1) == "login":
            asked = True
            form.update(login=login, password="any password")
        answer = browser.post(urljoin(str(answer.url), action.group(1)), data=form)
    raise AssertionError("the provider never sent the browser back")


def _start(client: TestClient, next_path: str = "/api/v1/me") -> str:
    answer = client.get("/signin/oidc", params={"next": next_path}, follow_redirects=False)
    assert answer.status_code == 303
    return str(answer.headers["location"])


@pytest.mark.parametrize("evil", EVIL)
def test_the_sign_in_form_never_redirects_off_the_site(
    app_client: TestClient, make_user: Callable[..., tuple[str, str]], evil: str
) -> None:
    name, _ = make_user("viewer", password=PASSWORD)
    page = app_client.get("/signin", params={"next": evil})
    csrf = re.search(r'name="csrf" value="([^"]+)"', page.text)
    assert csrf
    done = app_client.post("/signin", data={"name": name, "password": PASSWORD, "next": evil,
                                            "csrf": csrf.group(1)}, follow_redirects=False)
    assert done.status_code == 303
    assert done.headers["location"] == "/"


def test_a_tampered_sign_in_cookie_cannot_redirect_off_the_site(sso_client: TestClient
                                                                ) -> None:
    url = _start(sso_client)
    cookie = sso_client.cookies.get("chiso_oidc", path="/signin/oidc")
    assert cookie
    pending = json.loads(base64.urlsafe_b64decode(cookie))
    assert pending["next"] == "/api/v1/me"
    pending["next"] = "//evil.example/steal"
    sso_client.cookies.set("chiso_oidc", base64.urlsafe_b64encode(
        json.dumps(pending).encode()).decode(), domain="testserver.local", path="/signin/oidc")
    with httpx.Client(follow_redirects=False, timeout=10) as browser:
        callback, _ = _walk(browser, url, "lan")
    done = back(sso_client, callback)
    assert done.status_code == 303
    assert done.headers["location"] == "/"


def test_signing_out_ends_the_provider_session_too(sso_client: TestClient,
                                                   fresh_engine: Engine, provider: str) -> None:
    with httpx.Client(follow_redirects=False, timeout=10) as browser:
        callback, asked = _walk(browser, _start(sso_client), "lan")
        assert asked
        assert back(sso_client, callback).status_code == 303
        assert sso_client.get("/api/v1/me").json()["name"] == "lan"
        # the provider's session is alive: a second sign-in asks for no login
        assert _walk(browser, _start(sso_client), "lan")[1] is False
        back(sso_client, _walk(browser, _start(sso_client), "lan")[0])

        token = sso_client.cookies["chiso_session"]
        with fresh_engine.connect() as conn:
            csrf = conn.execute(select(access_sessions.c.csrf).where(
                access_sessions.c.token_hash == accounts.sha256(token))).scalar_one()
        out = sso_client.post("/signout", headers={"X-CSRF-Token": csrf},
                              follow_redirects=False)
        assert out.status_code == 303
        location = out.headers["location"]
        assert location.startswith(provider)
        query = parse_qs(urlsplit(location).query)
        assert query["client_id"] == ["chiso"]
        assert query["post_logout_redirect_uri"] == ["https://testserver/"]
        assert sso_client.get("/api/v1/me").status_code == 401  # chiso's session ended

        confirm = browser.get(location)  # the provider asks to confirm, then ends its session
        assert confirm.status_code == 200
        action = re.search(r'<form[^>]*action="([^"]+)"', confirm.text)
        xsrf = re.search(r'name="xsrf" value="([^"]+)"', confirm.text)
        assert action
        assert xsrf
        ended = browser.post(urljoin(location, action.group(1)),
                             data={"xsrf": xsrf.group(1), "logout": "yes"})
        assert ended.status_code in (302, 303)
        assert ended.headers["location"] == "https://testserver/"
        # the provider now asks for a login again
        assert _walk(browser, _start(sso_client), "lan")[1] is True


def test_a_password_session_signs_out_at_home(sso_client: TestClient, fresh_engine: Engine,
                                              make_user: Callable[..., tuple[str, str]]
                                              ) -> None:
    name, _ = make_user("viewer", password=PASSWORD)
    page = sso_client.get("/signin")
    csrf = re.search(r'name="csrf" value="([^"]+)"', page.text)
    assert csrf
    sso_client.post("/signin", data={"name": name, "password": PASSWORD,
                                     "csrf": csrf.group(1)}, follow_redirects=False)
    with fresh_engine.connect() as conn:
        session_csrf = conn.execute(select(access_sessions.c.csrf).where(
            access_sessions.c.token_hash == accounts.sha256(
                sso_client.cookies["chiso_session"]))).scalar_one()
    out = sso_client.post("/signout", headers={"X-CSRF-Token": session_csrf},
                          follow_redirects=False)
    assert out.status_code == 303
    assert out.headers["location"] == "/"


def test_the_operator_sees_the_accounts_single_sign_on_created(
    sso_client: TestClient, make_user: Callable[..., tuple[str, str]]
) -> None:
    local, op_token = make_user("operator")
    with httpx.Client(follow_redirects=False, timeout=10) as browser:
        back(sso_client, _walk(browser, _start(sso_client), "minh")[0])
    page = sso_client.get("/admin/users", headers=bearer(op_token))
    assert page.status_code == 200
    section = page.text.split('id="sso"', 1)[1].split("<h2", 1)[0]
    assert 'data-sso="minh"' in section
    assert local not in section
    assert "127.0.0.1" in section  # the identity: issuer and subject
    listed = {u["name"]: u for u in sso_client.get(
        "/api/v1/users", headers=bearer(op_token)).json()}
    assert listed["minh"]["single_sign_on"] is True
    assert listed[local]["single_sign_on"] is False
