"""Rankings and the tasks-and-deadlines view in Chromium, on chiso fed by the simulators: the
commune ranking shows every row the API ranks, in its order, with the change as text and
shape; the deadlines page shows the API's warnings per lead unit, evidence only for staff;
no serious accessibility violations (axe-core)."""

from __future__ import annotations

import time
from typing import Any

import httpx
import pytest
from playwright.sync_api import Page
from tests.browser.conftest import FedServer, screenshot, serious_violations, sign_in

pytestmark = pytest.mark.browser


def _api(server: FedServer, path: str, **params: Any) -> Any:
    r = httpx.get(server.url + path, params=params, timeout=120)
    r.raise_for_status()
    return r.json()


def _settled(server: FedServer, path: str, page: Page, url: str, **params: Any
             ) -> dict[str, Any]:
    """The API's answer around loading the page, once the scores following the data have
    settled (the same answer before and after): the page is compared with that."""
    for _ in range(10):
        before = _api(server, path, **params)
        page.goto(url)
        if _api(server, path, **params) == before:
            return dict(before)
        time.sleep(3)
    pytest.fail("the ranking kept changing while the page loaded")


def test_commune_ranking_shows_every_ranked_commune(page: Page, fed_server: FedServer) -> None:
    api = _settled(fed_server, "/api/v1/rankings/dvc-766", page,
                   fed_server.url + "/rankings/dvc-766?kind=commune", kind="commune")
    rows = page.locator("table.ranking tbody tr[data-unit]")
    assert rows.count() == len(api["units"]) == 126
    assert [rows.nth(i).get_attribute("data-unit") for i in range(rows.count())] == \
        [u["unit"] for u in api["units"]]
    assert [int(rows.nth(i).get_attribute("data-rank") or 0) for i in range(5)] == \
        [u["rank"] for u in api["units"][:5]]
    assert page.locator("h1").inner_text().startswith("Xếp hạng xã, phường")
    changes = page.locator("table.ranking .change")
    assert changes.count() == 126  # a change (or "no previous rank") on every row, in words
    screenshot(page, "ranking", readme=True)
    assert serious_violations(page) == []

    first = rows.first
    first.locator("a", has_text="Xem").click()
    page.wait_for_load_state()
    assert f"/units/{api['units'][0]['unit']}/scores/dvc-766" in page.url
    assert page.locator("table.tree tr[data-code]").count() > 5
    assert serious_violations(page) == []


def test_rankings_index_links_every_method(page: Page, fed_server: FedServer) -> None:
    page.goto(fed_server.url + "/rankings")
    assert page.locator("h1").inner_text() == "Xếp hạng"
    assert page.locator("a[href^='/rankings/dx-5279?kind=']").count() == 2
    assert serious_violations(page) == []


def test_deadlines_page_per_lead_unit(page: Page, fed_server: FedServer) -> None:
    api = _api(fed_server, "/api/v1/tasks/warnings", days=30)
    page.goto(fed_server.url + "/deadlines")
    assert page.locator("h1").inner_text() == "Nhiệm vụ và thời hạn"
    listed = {page.locator("tr[data-task]").nth(i).get_attribute("data-task")
              for i in range(page.locator("tr[data-task]").count())}
    assert listed == {f"{w['plan'].replace('/', '-')}/{w['task']}" for w in api["warnings"]}
    for kind in ("overdue", "due_soon_no_evidence", "milestone_slipping"):
        shown = page.locator(f".counts li[data-kind='{kind}'] strong").inner_text()
        assert shown == str(api["counts"].get(kind, 0))
    assert page.locator("th", has_text="Minh chứng").count() == 0  # the public: no evidence
    screenshot(page, "deadlines")
    assert serious_violations(page) == []

    sign_in(page, fed_server, "leader")
    page.goto(fed_server.url + "/deadlines")
    if api["warnings"]:
        assert page.locator("th", has_text="Minh chứng").count() >= 1
    page.keyboard.press("Tab")
    assert page.evaluate("document.activeElement.textContent") == "Chuyển tới nội dung chính"
