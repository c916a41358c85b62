"""The drill-down in Chromium against chiso fed by the simulators: from an indicator to a unit,
then, signed in as the operator, to the records behind the number."""

from __future__ import annotations

import re

import pytest
from playwright.sync_api import Page, expect
from tests.browser.conftest import FedServer, screenshot, serious_violations, sign_in

pytestmark = pytest.mark.browser

CODE = "tthc.on_time_rate"



def test_from_an_indicator_to_a_unit_to_the_records(page: Page, fed_server: FedServer) -> None:
    base = fed_server.url
    page.set_default_timeout(90_000)  # signing in lands on the dashboard: slow on a cold start
    page.goto(f"{base}/indicators/{CODE}")
    expect(page.locator("h1")).to_contain_text("Tỷ lệ hồ sơ thủ tục hành chính")
    headline = page.locator(f"section.headline[data-indicator='{CODE}']")
    assert headline.get_attribute("data-unit") == ""
    assert headline.get_attribute("data-value")  # the city has a value
    expect(headline).to_contain_text("cập nhật")
    assert page.locator("figure.trend svg rect").count() >= 1
    rows = page.locator("table.per-unit tbody tr")
    assert rows.count() > 10
    screenshot(page, "indicator")
    assert serious_violations(page) == []

    # click the first unit (the worst): the same indicator for that unit
    first = rows.first
    unit = first.get_attribute("data-unit")
    assert unit
    first.locator("td a").first.click()
    page.wait_for_load_state()
    assert f"unit={unit}" in page.url
    headline = page.locator(f"section.headline[data-indicator='{CODE}']")
    assert headline.get_attribute("data-unit") == unit
    expect(page.locator("table.per-unit tr.current")).to_have_count(1)

    # the records: anonymous goes to the sign-in page; the operator reaches the rows
    page.locator("a.records-link").click()
    page.wait_for_load_state()
    assert "/signin" in page.url
    sign_in(page, fed_server, "operator")
    page.goto(f"{base}/indicators/{CODE}?unit={unit}")
    page.locator("a.records-link").click()
    page.wait_for_load_state()
    assert re.search(rf"/indicators/{re.escape(CODE)}/records\?unit={unit}", page.url)
    records = page.locator("table.records tbody tr")
    assert records.count() > 0
    expect(page.locator("table.records")).to_have_attribute("data-unit", unit)
    expect(page.locator("table.records thead")).to_contain_text("Tính vào tử số")
    expect(page.locator("p.privacy")).to_contain_text("mã bí danh")
    assert serious_violations(page) == []


def test_unit_page_lists_its_indicators_beside_the_city(page: Page,
                                                         fed_server: FedServer) -> None:
    page.set_default_timeout(90_000)
    page.goto(f"{fed_server.url}/units/09556")  # Phường Hà Đông
    expect(page.locator("h1")).to_have_text("Phường Hà Đông")
    expect(page.locator("#unit-indicators")).to_contain_text("Chỉ số của đơn vị")
    rows = page.locator("table.unit-indicators tbody tr")
    assert rows.count() >= 3
    first = rows.first
    code = first.get_attribute("data-indicator")
    value = first.get_attribute("data-value")
    assert first.get_attribute("data-unit") == "09556"
    screenshot(page, "unit")
    assert serious_violations(page) == []
    first.locator(f"a[href^='/indicators/{code}?unit=09556']").click()
    page.wait_for_load_state()
    headline = page.locator(f"section.headline[data-indicator='{code}']")
    assert headline.get_attribute("data-unit") == "09556"
    assert headline.get_attribute("data-value") == value  # the same API answer


def test_a_units_officer_opens_its_page_on_what_concerns_the_unit(page: Page,
                                                                   fed_server: FedServer
                                                                   ) -> None:
    page.set_default_timeout(90_000)
    sign_in(page, fed_server, "unit_officer")
    unit = "09556"  # Phường Hà Đông, the officer's unit
    brief = page.request.get(f"{fed_server.url}/api/v1/units/{unit}/brief").json()
    page.goto(f"{fed_server.url}/units/{unit}")
    screen = page.locator("#unit-brief")
    box = screen.bounding_box()
    assert box is not None
    assert box["y"] < 900
    assert page.locator("#unit-indicators").bounding_box()["y"] > box["y"]  # type: ignore[index]
    for p in brief["places"]:
        item = screen.locator(f"[data-method='{p['method']}']")
        assert item.get_attribute("data-rank") == str(p["rank"])
    assert screen.locator("[data-target]").count() == min(len(brief["risks"]), 8)
    assert screen.locator("#unit-overdue [data-task]").count() == min(len(brief["overdue"]), 8)
    feeds = screen.locator("[data-feed]")
    assert feeds.count() == len(brief["feeds"]) >= 1
    for f in brief["feeds"]:
        row = screen.locator(f"[data-feed='{f['feed']}']")
        assert row.get_attribute("data-complete") == str(f["complete"]).lower()
    screenshot(page, "commune", readme=True)
    assert serious_violations(page) == []
