"""Single sign-on settings against the test identity provider, and the way back to chiso
after signing in there."""

from __future__ import annotations

from urllib.parse import urlsplit

import httpx
from fastapi.testclient import TestClient
from tests.access.oidc_provider import CLIENTS

from chiso.access.settings import OidcSettings

ROLE_MAP = {"can-bo-don-vi": "unit_officer", "lanh-dao": "leader", "tham-tra": "data_steward"}


def sso(issuer: str) -> OidcSettings:
    return OidcSettings(issuer=issuer, client_id="chiso", client_secret=CLIENTS["chiso"],
                        role_map=ROLE_MAP)


def back(client: TestClient, callback_url: str) -> httpx.Response:
    parts = urlsplit(callback_url)
    return client.get(f"{parts.path}?{parts.query}", follow_redirects=False)
