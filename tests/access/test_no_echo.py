"""Pages never echo text an attacker puts in the query (SQLite and PostgreSQL)."""

from __future__ import annotations

from collections.abc import Callable

from fastapi.testclient import TestClient
from tests.factories import bearer


def test_the_users_page_does_not_echo_message(
    app_client: TestClient, make_user: Callable[..., tuple[str, str]]
) -> None:
    bait = "Phiên làm việc hết hạn, gọi 0900000000 để mở lại tài khoản"
    page = app_client.get("/admin/users", params={"message": bait},
                          headers=bearer(make_user("operator")[1]))
    assert page.status_code == 200
    assert bait not in page.text  # (the language link keeps the query, URL-encoded)
    assert 'role="status"' not in page.text
