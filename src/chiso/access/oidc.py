"""Single sign-on through OpenID Connect: authorization code flow with PKCE (S256).

Authlib's OAuth2 client (over httpx2) builds the authorization URL and exchanges the code;
the ID token is checked here with joserfc (Authlib's JOSE layer): signature against the
provider's JWKS, issuer, audience (and ``azp``), nonce, expiry and issue time. Claims map to a
chiso user, roles and units by :class:`~chiso.access.settings.OidcSettings` (docs/access.md).
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlencode

import httpx2
from authlib.integrations.httpx_client import OAuth2Client  # type: ignore[import-untyped]
from joserfc import jwt
from joserfc.errors import (
    BadSignatureError,
    ExpiredTokenError,
    InvalidClaimError,
    JoseError,
    MissingClaimError,
)
from joserfc.jwk import KeySet
from sqlalchemy import Engine, delete, insert, select, update

from chiso.access import accounts, audit
from chiso.access.roles import GRANTABLE, UNIT_REQUIRED, Grant, Principal
from chiso.access.settings import OidcSettings
from chiso.store.tables import access_grants, access_users

ALGORITHMS = ("RS256", "PS256", "ES256", "EdDSA")
LEEWAY = 30  # seconds of clock difference tolerated on exp / iat


class OidcRefusedError(Exception):
    """A sign-in refused; ``reason`` is short and goes to the audit log."""

    def __init__(self, reason: str, detail: str = "") -> None:
        super().__init__(f"{reason}: {detail}" if detail else reason)
        self.reason = reason
        self.detail = detail


@dataclass(frozen=True)
class Identity:
    """A person as chiso will know them, mapped from the ID token's claims."""

    subject: str  # "<issuer> <sub>", stored in access_users.oidc_subject
    name: str
    display_name: str
    grants: tuple[Grant, ...]
    ignored: tuple[str, ...]  # claim values that mapped to no chiso role


class OidcClient:
    """The relying party: discovery and keys are fetched on first use and cached."""

    def __init__(self, settings: OidcSettings, timeout: float = 10.0) -> None:
        if not settings.enabled:
            raise ValueError("OIDC is not configured (CHISO_OIDC_ISSUER, CHISO_OIDC_CLIENT_ID)")
        self.settings = settings
        self.issuer = str(settings.issuer).rstrip("/")
        self.timeout = timeout
        self._metadata: dict[str, Any] | None = None
        self._keys: KeySet | None = None

    # -- provider metadata ---------------------------------------------------------------
    def metadata(self) -> dict[str, Any]:
        if self._metadata is None:
            try:
                answer = httpx2.get(self.issuer + "/.well-known/openid-configuration",
                                   timeout=self.timeout)
                answer.raise_for_status()
                found: dict[str, Any] = answer.json()
            except (httpx2.HTTPError, ValueError) as exc:
                raise OidcRefusedError("provider unreachable", str(exc)) from exc
            if str(found.get("issuer", "")).rstrip("/") != self.issuer:  # RFC 8414, 3.3
                raise OidcRefusedError("wrong issuer", f"discovery names {found.get('issuer')!r}")
            self._metadata = found
        return self._metadata

    def keys(self, refresh: bool = False) -> KeySet:
        if self._keys is None or refresh:
            try:
                answer = httpx2.get(self.metadata()["jwks_uri"], timeout=self.timeout)
                answer.raise_for_status()
                self._keys = KeySet.import_key_set(answer.json())
            except (httpx2.HTTPError, ValueError, KeyError) as exc:
                raise OidcRefusedError("provider unreachable", f"keys: {exc}") from exc
        return self._keys

    def _client(self, redirect_uri: str) -> OAuth2Client:
        return OAuth2Client(self.settings.client_id, self.settings.client_secret,
                            scope=self.settings.scope, redirect_uri=redirect_uri,
                            code_challenge_method="S256",
                            token_endpoint_auth_method="client_secret_basic",
                            timeout=self.timeout)

    # -- the flow ------------------------------------------------------------------------
    def authorization_url(self, redirect_uri: str, state: str, nonce: str,
                          verifier: str) -> str:
        with self._client(redirect_uri) as client:
            url, _ = client.create_authorization_url(
                self.metadata()["authorization_endpoint"], state=state, nonce=nonce,
                code_verifier=verifier)
        return str(url)

    def logout_url(self, post_logout_redirect_uri: str) -> str | None:
        """Where to send the browser to end its session at the provider too (RP-initiated
        logout 1.0: ``client_id`` and ``post_logout_redirect_uri``, which the provider checks
        against the client's registration); None when the provider offers no such endpoint
        or cannot be reached (signing out of chiso never depends on it)."""
        try:
            endpoint = self.metadata().get("end_session_endpoint")
        except OidcRefusedError:
            return None
        if not isinstance(endpoint, str) or not endpoint.startswith(("https://", "http://")):
            return None
        query = urlencode({"client_id": self.settings.client_id,
                           "post_logout_redirect_uri": post_logout_redirect_uri})
        return f"{endpoint}{'&' if '?' in endpoint else '?'}{query}"

    def exchange(self, redirect_uri: str, code: str, verifier: str) -> str:
        """The code for tokens at the token endpoint; returns the ID token."""
        with self._client(redirect_uri) as client:
            try:
                token = client.fetch_token(self.metadata()["token_endpoint"], code=code,
                                           code_verifier=verifier,
                                           grant_type="authorization_code")
            except Exception as exc:  # Authlib raises OAuthError, httpx2 its own errors
                raise OidcRefusedError("code exchange failed", str(exc)) from exc
        id_token = token.get("id_token")
        if not id_token:
            raise OidcRefusedError("no id token")
        return str(id_token)

    def validate(self, id_token: str, nonce: str, now: int | None = None) -> dict[str, Any]:
        """The claims of a valid ID token for this client and this sign-in, else refused."""
        return validate_id_token(id_token, self.keys, issuer=self.issuer,
                                 client_id=str(self.settings.client_id), nonce=nonce, now=now)


def validate_id_token(id_token: str, keys: Any, *, issuer: str, client_id: str, nonce: str,
                      now: int | None = None) -> dict[str, Any]:
    """Check an ID token (OpenID Connect Core 3.1.3.7). ``keys`` is a KeySet or a function
    ``(refresh: bool) -> KeySet`` (a key id not found refetches the provider's keys once)."""
    def keyset(refresh: bool = False) -> KeySet:
        found: KeySet = keys(refresh) if callable(keys) else keys
        return found

    try:
        try:
            token = jwt.decode(id_token, keyset(), algorithms=list(ALGORITHMS))
        except (BadSignatureError, ValueError):
            if not callable(keys):
                raise
            token = jwt.decode(id_token, keyset(True), algorithms=list(ALGORITHMS))
    except (JoseError, ValueError) as exc:
        raise OidcRefusedError("bad signature", str(exc)) from exc
    claims: dict[str, Any] = dict(token.claims)
    registry = jwt.JWTClaimsRegistry(
        now=now if now is not None else int(time.time()), leeway=LEEWAY,
        iss={"essential": True, "value": issuer}, aud={"essential": True, "value": client_id},
        sub={"essential": True}, exp={"essential": True}, iat={"essential": True},
        nonce={"essential": True, "value": nonce})
    try:
        registry.validate(claims)
    except ExpiredTokenError as exc:
        raise OidcRefusedError("expired token", str(exc)) from exc
    except (InvalidClaimError, MissingClaimError) as exc:
        claim = getattr(exc, "claim", "")
        reason = {"iss": "wrong issuer", "aud": "wrong audience",
                  "nonce": "wrong nonce"}.get(claim, f"bad claim {claim}")
        raise OidcRefusedError(reason, str(exc)) from exc
    except JoseError as exc:
        raise OidcRefusedError("bad token", str(exc)) from exc
    audiences = claims["aud"] if isinstance(claims["aud"], list) else [claims["aud"]]
    if len(audiences) > 1 and claims.get("azp") != client_id:
        raise OidcRefusedError("wrong audience", "several audiences and azp is not this client")
    iat = int(claims["iat"])
    if iat > (now if now is not None else int(time.time())) + LEEWAY:
        raise OidcRefusedError("bad claim iat", "issued in the future")
    return claims


# -- claims → a chiso user -------------------------------------------------------------------
def _values(claim: Any) -> list[str]:
    if claim is None:
        return []
    if isinstance(claim, str):
        return [v for v in claim.replace(",", " ").split() if v]
    if isinstance(claim, list | tuple):
        return [str(v) for v in claim if v]
    return [str(claim)]


def map_claims(settings: OidcSettings, issuer: str, claims: dict[str, Any],
               known_units: frozenset[str] | None = None) -> Identity:
    """Roles come from ``roles_claim``: ``role`` or ``role@unit``, each name passed through
    ``role_map`` when one is configured (a value it does not name is ignored). A role that
    needs a unit and names none takes the units of ``units_claim``."""
    name = str(claims.get(settings.username_claim) or "").strip()
    if not name:
        raise OidcRefusedError("no user name", f"claim {settings.username_claim!r} is empty")
    display = str(claims.get(settings.name_claim) or name)
    units_claimed = _values(claims.get(settings.units_claim))
    grants: list[Grant] = []
    ignored: list[str] = []
    for value in _values(claims.get(settings.roles_claim)):
        base, _, unit = value.partition("@")
        role = settings.role_map.get(base) if settings.role_map else base
        if role is None or role not in GRANTABLE:
            ignored.append(value)
            continue
        units = [unit] if unit else (units_claimed if role in UNIT_REQUIRED else [])
        if role in UNIT_REQUIRED and not units:
            ignored.append(value)
            continue
        targets: list[str | None] = list(units) if units else [None]
        for u in targets:
            if u is not None and known_units is not None and u not in known_units:
                ignored.append(f"{value} ({u})")
                continue
            grant = Grant(role, u)
            if grant not in grants:
                grants.append(grant)
    return Identity(f"{issuer} {claims['sub']}", name, display, tuple(grants), tuple(ignored))


def sign_in(engine: Engine, settings: OidcSettings, identity: Identity, ip: str | None
            ) -> tuple[Principal, str]:
    """Create or update the user, replace its grants with the mapped ones (the provider is
    authoritative for SSO users), start a session; audited in the same transaction.
    Returns (principal, session token); raises :class:`OidcRefusedError` (audited by the caller)."""
    with engine.begin() as conn:
        row = conn.execute(select(access_users).where(
            access_users.c.oidc_subject == identity.subject)).first()
        if row is None:
            if accounts.user_row(conn, identity.name) is not None:
                raise OidcRefusedError("name taken", f"a local user is named {identity.name!r}")
            if not settings.create_users:
                raise OidcRefusedError("unknown user", identity.subject)
            accounts.add_user(conn, identity.name, identity.display_name,
                              oidc_subject=identity.subject)
        elif row.disabled_at is not None:
            raise OidcRefusedError("user disabled", row.name)
        else:
            conn.execute(update(access_users).where(access_users.c.id == row.id)
                         .values(display_name=identity.display_name))
        row = conn.execute(select(access_users).where(
            access_users.c.oidc_subject == identity.subject)).one()
        conn.execute(delete(access_grants).where(access_grants.c.user_id == row.id))
        now = accounts._now()
        for g in identity.grants:
            conn.execute(insert(access_grants).values(user_id=row.id, role=g.role, unit=g.unit,
                                                      granted_at=now))
        token, csrf = accounts.new_session(conn, row.id, ip, "oidc")
        who = Principal("user", row.name, accounts.grants_of(conn, row.id), via="session",
                        csrf=csrf, user_id=row.id)
        audit.append(conn, actor=f"user:{row.name}", roles=who.roles, action="sign-in oidc",
                     result="ok", ip=ip,
                     detail={"subject": identity.subject,
                             "grants": [f"{g.role}@{g.unit}" if g.unit else g.role
                                        for g in identity.grants],
                             "ignored": list(identity.ignored)})
    return who, token


def record_refusal(engine: Engine, refused: OidcRefusedError, ip: str | None,
                   subject: str | None = None) -> None:
    audit.record(engine, actor="anonymous", roles="public", action="sign-in oidc",
                 result=f"refused: {refused.reason}", ip=ip,
                 detail={"reason": refused.reason, "detail": refused.detail[:500],
                         "subject": subject})
