"""The EMC monitoring code: off by default (no outside script, the CSP allows this site only);
when set, public pages carry the script with its site id and the CSP allows exactly that
origin, while pages behind sign-in and API answers carry no script (SQLite and PostgreSQL)."""

from __future__ import annotations

import re

import pytest
from fastapi.testclient import TestClient
from tests.conftest import role_headers

from chiso.config import Settings, SettingsError, check_settings
from chiso.context import Runtime
from chiso.runtime import create_app

SCRIPT = "https://emc.example.gov.vn:8443/static/emc.js?v=2"
ORIGIN = "https://emc.example.gov.vn:8443"


def _origins(csp: str, directive: str) -> set[str]:
    found = re.search(rf"(?:^|; ){directive} ([^;]*)", csp)
    assert found, csp
    return set(found.group(1).split())


def test_off_by_default(runtime: Runtime) -> None:
    assert runtime.settings.emc_embed() is None
    with TestClient(create_app(runtime.settings, runtime)) as client:
        page = client.get("/du-lieu-mo")
    assert page.status_code == 200
    assert "data-site-id" not in page.text
    assert not re.search(r"<script[^>]+src=\"https?://", page.text)
    csp = page.headers["content-security-policy"]
    for directive in ("script-src", "connect-src"):
        assert _origins(csp, directive) == {"'self'"}
    assert _origins(csp, "img-src") == {"'self'", "data:"}


def test_on_public_pages_with_exactly_its_origin(runtime: Runtime) -> None:
    settings = runtime.settings.model_copy(update={
        "emc_embed_script": SCRIPT, "emc_embed_site_id": "hanoi-chiso-01"})
    with TestClient(create_app(settings, runtime)) as client:
        for path in ("/", "/du-lieu-mo", "/rankings"):
            page = client.get(path)
            assert page.status_code == 200, path
            assert (f'<script src="{SCRIPT.replace("&", "&amp;")}" '
                    'data-site-id="hanoi-chiso-01" async></script>') in page.text, path
            csp = page.headers["content-security-policy"]
            assert _origins(csp, "script-src") == {"'self'", ORIGIN}
            assert _origins(csp, "connect-src") == {"'self'", ORIGIN}
            assert _origins(csp, "img-src") == {"'self'", "data:", ORIGIN}
            assert _origins(csp, "default-src") == {"'self'"}
            assert "unsafe-inline" not in csp
        # a page behind sign-in and the API carry no outside script
        private = client.get("/admin/users",
                             headers=role_headers(runtime.engine, "operator"))
        assert private.status_code == 200
        assert "data-site-id" not in private.text
        assert "emc.example" not in client.get("/api/v1/plans").text


def test_the_setting_is_checked() -> None:
    with pytest.raises(ValueError, match="emc_embed_script"):
        Settings(emc_embed_script="http://emc.example.gov.vn/emc.js",
                 emc_embed_site_id="x")
    with pytest.raises(ValueError, match="emc_embed_site_id"):
        Settings(emc_embed_script=SCRIPT, emc_embed_site_id='x" onload="alert(1)')
    with pytest.raises(SettingsError, match="CHISO_EMC_EMBED_SCRIPT and CHISO_EMC_EMBED_SITE_ID"):
        check_settings(Settings(emc_embed_script=SCRIPT))
