"""The upload page works from a browser session: its form carries the session's CSRF token,
and a post without it is refused (SQLite and PostgreSQL)."""

from __future__ import annotations

import io
import re
from collections.abc import Callable

from fastapi.testclient import TestClient
from tests.factories import PASSWORD, dossier, sign_in, uid

from chiso_sim.files import dossier_csv


def test_a_signed_in_steward_uploads_through_the_page(
    app_client: TestClient, make_user: Callable[..., tuple[str, str]]
) -> None:
    name, _ = make_user("data_steward", password=PASSWORD)
    assert sign_in(app_client, name, PASSWORD).status_code == 303
    page = app_client.get("/intake/upload")
    assert page.status_code == 200
    token = re.search(r'name="csrf" value="([^"]+)"', page.text)
    assert token
    form = {"feed": "tthc.dossier", "unit": "00070"}

    def upload(fields: dict[str, str]) -> int:
        data = dossier_csv([dossier(0, id=uid("HS"))])
        return app_client.post("/intake/upload", data=fields,
                               files={"file": ("hs.csv", io.BytesIO(data))}).status_code

    assert upload(form) == 403
    assert upload({**form, "csrf": token.group(1)}) == 200
