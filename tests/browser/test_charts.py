"""The charts people would rather look at than read, drawn in Chromium by the charting library
the app serves itself (uPlot from /static/vendor): a target's trend with its target and its
forecast interval, and how the communes' values of an indicator spread."""

from __future__ import annotations

from urllib.parse import urlsplit

import pytest
from playwright.sync_api import Page, Request
from tests.browser.conftest import FedServer, screenshot

pytestmark = pytest.mark.browser

CODE = "tthc.on_time_rate"


def test_a_targets_trend_and_the_communes_distribution_are_drawn(page: Page,
                                                                  fed_server: FedServer
                                                                  ) -> None:
    base = fed_server.url
    hosts: set[str] = set()

    def seen(request: Request) -> None:
        hosts.add(urlsplit(request.url).netloc)

    page.on("request", seen)
    page.set_default_timeout(90_000)
    page.goto(f"{base}/indicators/{CODE}")
    spread = page.locator("figure[data-chart=distribution]")
    page.wait_for_selector("figure[data-chart=distribution][data-drawn=true] canvas")
    assert "xã, phường" in (spread.locator("figcaption").text_content() or "")
    data = page.evaluate("JSON.parse(document.querySelector("
                         "'figure[data-chart=distribution] script').textContent)")
    communes = page.locator("table.per-unit tbody tr[data-value]:not([data-value=''])")
    assert sum(data["count"]) == data["n"] <= communes.count()

    target = page.locator("a[href*='/targets/']").first.get_attribute("href")
    assert target
    page.goto(f"{base}{target}")
    page.wait_for_selector("figure[data-chart=trend][data-drawn=true] canvas")
    trend = page.evaluate("JSON.parse(document.querySelector("
                          "'figure[data-chart=trend] script').textContent)")
    assert len([v for v in trend["value"] if v is not None]) >= 2
    assert trend["target"] is not None  # the target's level is drawn
    # The legend names the series in Vietnamese, the target and the forecast's bounds with them.
    legend = page.locator("figure[data-chart=trend] .u-legend").text_content() or ""
    assert "Chỉ tiêu" in legend
    assert "Dự báo" in legend
    screenshot(page, "target-trend")
    assert hosts == {urlsplit(base).netloc}  # nothing fetched from elsewhere
