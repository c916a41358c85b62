"""A page opened without a period opens on a month with data: the last complete month during
the current month's first week, and says so."""

from __future__ import annotations

from datetime import date

import pytest
from fastapi.testclient import TestClient

from chiso.context import Runtime
from chiso.measurement.periods import YOUNG_DAYS, opening_month
from chiso.runtime import create_app
from chiso.web import deps


@pytest.mark.parametrize(("today", "month"), [
    (date(2026, 12, 1), "2026-11"),
    (date(2026, 12, YOUNG_DAYS), "2026-11"),
    (date(2026, 12, YOUNG_DAYS + 1), "2026-12"),
    (date(2026, 1, 3), "2025-12"),  # across the year
    (date(2026, 3, 31), "2026-03"),
])
def test_the_opening_month(today: date, month: str) -> None:
    assert opening_month(today) == month


def _client(runtime: Runtime, today: date) -> TestClient:
    app = create_app(runtime.settings, runtime)
    app.dependency_overrides[deps.today] = lambda: today
    return TestClient(app)


def test_the_map_opens_on_last_month_in_a_young_month_and_says_so(runtime: Runtime) -> None:
    with _client(runtime, date(2026, 5, 3)) as client:
        assert client.get("/api/v1/map").json()["period"] == "2026-04"
        page = client.get("/map")
        assert page.status_code == 200
        assert "— Tháng 4/2026</h2>" in page.text
        assert ("Kỳ hiển thị: Tháng 4/2026 (tháng gần nhất đã trọn tháng), vì tháng này mới "
                "bắt đầu, số liệu còn ít.") in page.text
        english = client.get("/map?lang=en")
        assert "Period shown: " in english.text
        assert "(the last complete month), because this month has only just begun" in \
            english.text
        asked = client.get("/map?period=2026-05&lang=vi")  # a named period: kept, unsaid
        assert "— Tháng 5/2026</h2>" in asked.text
        assert 'id="map-opening-period"' not in asked.text


def test_the_map_opens_on_this_month_once_it_has_a_week(runtime: Runtime) -> None:
    with _client(runtime, date(2026, 5, YOUNG_DAYS + 1)) as client:
        assert client.get("/api/v1/map").json()["period"] == "2026-05"
        page = client.get("/map")
        assert "— Tháng 5/2026</h2>" in page.text
        assert 'id="map-opening-period"' not in page.text
