"""Single sign-on against a real OpenID Connect provider (``oidc-provider`` on loopback,
see tests/access/oidc_provider.py): the full sign-in, claims mapped to roles and units, and
the refusals — state mismatch, wrong nonce, expired token (through chiso's callback, with
genuine tokens of the provider), wrong audience and wrong issuer (genuine tokens of the
provider given to chiso's validator), and tokens signed with a key the provider does not hold.
Every refusal through the callback answers 4xx and leaves an audit entry."""

from __future__ import annotations

import base64
import hashlib
import secrets
import time
from collections.abc import Iterator
from pathlib import Path
from urllib.parse import parse_qs, urlencode, urlsplit, urlunsplit

import httpx
import pytest
from fastapi.testclient import TestClient
from joserfc import jwt
from joserfc.jwk import KeySet, RSAKey
from sqlalchemy import Engine, select
from tests.access.oidc_flow import back, sso
from tests.access.oidc_provider import CLIENTS, REDIRECT_URI, provider_login, running_provider
from tests.factories import UNIT_A, UNIT_B

from chiso.access import oidc
from chiso.access.settings import AccessSettings, OidcSettings
from chiso.context import Runtime
from chiso.runtime import create_app
from chiso.store.tables import audit_log


@pytest.fixture(scope="module")
def provider(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    with running_provider(tmp_path_factory.mktemp("oidc")) as issuer:
        yield issuer


@pytest.fixture(scope="module")
def late_provider(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """The same provider with its clock 15 minutes behind: its ID tokens (10 minutes of
    life) are genuine and already expired by chiso's clock."""
    with running_provider(tmp_path_factory.mktemp("oidc-late"), "--clock-skew=-900") as issuer:
        yield issuer




def _client(runtime: Runtime, access: AccessSettings, issuer: str) -> TestClient:
    app = create_app(runtime.settings, runtime, access, sso(issuer))
    return TestClient(app, base_url="https://testserver")


@pytest.fixture
def sso_client(own_runtime: Runtime, access_settings: AccessSettings,
               provider: str) -> Iterator[TestClient]:
    with _client(own_runtime, access_settings, provider) as client:
        yield client


def start(client: TestClient) -> str:
    """chiso's /signin/oidc: the authorization URL it sends the browser to."""
    answer = client.get("/signin/oidc", params={"next": "/api/v1/me"}, follow_redirects=False)
    assert answer.status_code == 303
    return answer.headers["location"]




def with_param(url: str, **changes: str) -> str:
    parts = urlsplit(url)
    query = {k: v[0] for k, v in parse_qs(parts.query).items()}
    query.update(changes)
    return urlunsplit(parts._replace(query=urlencode(query)))


def sign_ins(engine: Engine) -> list[str]:
    with engine.connect() as conn:
        return [r.result for r in conn.execute(
            select(audit_log.c.result).where(audit_log.c.action == "sign-in oidc")
            .order_by(audit_log.c.seq))]


def test_sign_in_maps_claims_to_user_roles_and_unit(sso_client: TestClient,
                                                    fresh_engine: Engine) -> None:
    assert "/signin/oidc" in sso_client.get("/signin").text
    url = start(sso_client)
    query = parse_qs(urlsplit(url).query)
    assert query["code_challenge_method"] == ["S256"]
    assert all(query[k][0] for k in ("code_challenge", "nonce", "state"))
    assert query["client_id"] == ["chiso"]
    done = back(sso_client, provider_login(url, "lan"))
    assert done.status_code == 303, done.text
    assert done.headers["location"] == "/api/v1/me"
    assert "HttpOnly" in done.headers["set-cookie"]
    me = sso_client.get("/api/v1/me").json()
    assert me["name"] == "lan"
    assert me["via"] == "session"
    assert me["grants"] == [{"role": "unit_officer", "unit": UNIT_A}]
    # the mapped unit scope applies: another unit's data is refused
    assert sso_client.get("/api/v1/data-quality", params={"unit": UNIT_B}).status_code == 403

    sso_client.cookies.clear()  # a second person; an unmapped provider role is ignored
    back(sso_client, provider_login(start(sso_client), "minh"))
    me = sso_client.get("/api/v1/me").json()
    assert (me["name"], me["grants"]) == ("minh", [{"role": "leader", "unit": None}])

    sso_client.cookies.clear()  # "role@unit" in the claim: a unit-limited grant
    back(sso_client, provider_login(start(sso_client), "hoa"))
    assert sso_client.get("/api/v1/me").json()["grants"] == [
        {"role": "data_steward", "unit": UNIT_B}]

    sso_client.cookies.clear()  # signing in again updates the same user
    back(sso_client, provider_login(start(sso_client), "lan"))
    assert sso_client.get("/api/v1/me").json()["name"] == "lan"
    assert sign_ins(fresh_engine) == ["ok"] * 4
    with fresh_engine.connect() as conn:
        entry = conn.execute(select(audit_log).where(audit_log.c.actor == "user:lan")
                             .where(audit_log.c.action == "sign-in oidc")).mappings().first()
    assert entry is not None
    assert f"unit_officer@{UNIT_A}" in entry["detail"]


def test_state_mismatch_is_refused(sso_client: TestClient, fresh_engine: Engine) -> None:
    callback = provider_login(start(sso_client), "lan")
    forged = with_param(callback, state=secrets.token_urlsafe(32))
    refused = back(sso_client, forged)
    assert refused.status_code == 400
    assert "không khớp" in refused.text  # Vietnamese first
    assert sso_client.get("/api/v1/me").status_code == 401
    # a callback in a browser that never started a sign-in (login CSRF) is refused too
    sso_client.cookies.clear()
    assert back(sso_client, callback).status_code == 400
    assert sign_ins(fresh_engine) == ["refused: state mismatch"] * 2


def test_wrong_nonce_is_refused(sso_client: TestClient, fresh_engine: Engine) -> None:
    """The authorization request is altered to carry another nonce: the provider signs a
    genuine ID token with it, and chiso refuses it against the nonce of its session."""
    url = with_param(start(sso_client), nonce=secrets.token_urlsafe(32))
    refused = back(sso_client, provider_login(url, "lan"))
    assert refused.status_code == 401
    assert sso_client.get("/api/v1/me").status_code == 401
    assert sign_ins(fresh_engine) == ["refused: wrong nonce"]


def test_expired_token_is_refused(own_runtime: Runtime, access_settings: AccessSettings,
                                  late_provider: str, fresh_engine: Engine) -> None:
    with _client(own_runtime, access_settings, late_provider) as client:
        refused = back(client, provider_login(start(client), "lan"))
        assert refused.status_code == 401
        assert client.get("/api/v1/me").status_code == 401
    assert sign_ins(fresh_engine) == ["refused: expired token"]


def _pkce() -> tuple[str, str]:
    verifier = secrets.token_urlsafe(48)
    challenge = base64.urlsafe_b64encode(hashlib.sha256(verifier.encode()).digest())
    return verifier, challenge.decode().rstrip("=")


def genuine_id_token(issuer: str, client_id: str, nonce: str) -> str:
    """An ID token the provider issues to ``client_id`` (this test acting as that client)."""
    verifier, challenge = _pkce()
    url = issuer + "/auth?" + urlencode({
        "client_id": client_id, "response_type": "code", "scope": "openid profile",
        "redirect_uri": REDIRECT_URI, "state": "s", "nonce": nonce,
        "code_challenge": challenge, "code_challenge_method": "S256"})
    code = parse_qs(urlsplit(provider_login(url, "lan")).query)["code"][0]
    answer = httpx.post(issuer + "/token", auth=(client_id, CLIENTS[client_id]), data={
        "grant_type": "authorization_code", "code": code, "redirect_uri": REDIRECT_URI,
        "code_verifier": verifier})
    answer.raise_for_status()
    return str(answer.json()["id_token"])


def test_genuine_tokens_for_another_audience_or_issuer_are_refused(provider: str) -> None:
    client = oidc.OidcClient(sso(provider))
    nonce = secrets.token_urlsafe(16)
    assert client.validate(genuine_id_token(provider, "chiso", nonce), nonce)["sub"] == "lan"
    other = genuine_id_token(provider, "other-app", nonce)  # signed by the provider's key
    with pytest.raises(oidc.OidcRefusedError) as refused:
        client.validate(other, nonce)
    assert refused.value.reason == "wrong audience"
    mine = genuine_id_token(provider, "chiso", nonce)
    with pytest.raises(oidc.OidcRefusedError) as refused:  # chiso trusting another issuer
        oidc.validate_id_token(mine, client.keys, issuer="https://sso.hanoi.example",
                               client_id="chiso", nonce=nonce)
    assert refused.value.reason == "wrong issuer"


def test_forged_tokens_are_refused(provider: str) -> None:
    """Tokens signed with a key the provider does not hold: refused on the signature; and,
    the same key trusted, each claim check refuses on its own."""
    client = oidc.OidcClient(sso(provider))
    key = RSAKey.generate_key(2048, parameters={"kid": "forger"})
    now = int(time.time())
    good = {"iss": provider, "aud": "chiso", "sub": "lan", "nonce": "n", "iat": now,
            "exp": now + 300, "preferred_username": "lan", "chiso_roles": ["lanh-dao"]}

    def forge(**changes: object) -> str:
        return jwt.encode({"alg": "RS256", "kid": "forger"}, {**good, **changes}, key)

    with pytest.raises(oidc.OidcRefusedError) as refused:
        client.validate(forge(), "n")
    assert refused.value.reason == "bad signature"
    trusted = KeySet([key])
    assert oidc.validate_id_token(forge(), trusted, issuer=provider, client_id="chiso",
                                  nonce="n")["sub"] == "lan"
    for changes, reason in [({"nonce": "other"}, "wrong nonce"),
                            ({"aud": "other-app"}, "wrong audience"),
                            ({"aud": ["chiso", "other-app"]}, "wrong audience"),
                            ({"iss": "http://127.0.0.1:1"}, "wrong issuer"),
                            ({"exp": now - 120, "iat": now - 900}, "expired token")]:
        with pytest.raises(oidc.OidcRefusedError) as refused:
            oidc.validate_id_token(forge(**changes), trusted, issuer=provider,
                                   client_id="chiso", nonce="n")
        assert refused.value.reason == reason, changes


def test_claims_mapping_by_configuration() -> None:
    settings = OidcSettings(issuer="https://sso.example", client_id="chiso",
                            role_map={"cb": "unit_officer", "ld": "leader"})
    found = oidc.map_claims(settings, "https://sso.example",
                            {"sub": "1", "preferred_username": "an", "name": "An",
                             "chiso_roles": "cb ld bogus cb@99999", "chiso_units": [UNIT_A]},
                            frozenset({UNIT_A, UNIT_B}))
    assert found.grants == (oidc.Grant("unit_officer", UNIT_A), oidc.Grant("leader", None))
    assert found.ignored == ("bogus", "cb@99999 (99999)")
    assert found.subject == "https://sso.example 1"


def test_sign_in_page_without_sso(app_client: TestClient, tmp_path: Path) -> None:
    assert "/signin/oidc" not in app_client.get("/signin").text
    assert app_client.get("/signin/oidc", follow_redirects=False).status_code == 404
