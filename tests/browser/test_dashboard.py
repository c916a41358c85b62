"""The operations dashboard in Chromium: every group and tile as the API gives it, in
Vietnamese, live without reloading, and free of serious accessibility violations."""

from __future__ import annotations

from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

import httpx
import pytest
from playwright.sync_api import Page
from tests.browser.conftest import FedServer, screenshot, serious_violations
from tests.factories import dossier

from chiso.dashboard.board import opening_day
from chiso.web import i18n
from chiso.web.format import amount

pytestmark = pytest.mark.browser
VN = ZoneInfo("Asia/Ho_Chi_Minh")


def _dossier(n: int, unit: str) -> dict[str, object]:
    """Received just now, due in five days."""
    now = datetime.now(VN).replace(microsecond=0)
    # Received on a day of the month the tiles show (the last one in a month's first week).
    received = datetime.combine(opening_day(now.date()), now.time(), VN)
    return dossier(0, **{"id": f"LIVE-{now:%H%M%S}-{n}", "unit": unit, "procedure": "1.001001",
                         "components_total": 3, "components_reused": 1,
                         "received_at": received.isoformat(),
                         "due_at": (now + timedelta(days=5)).isoformat(), "status": "received",
                         "updated_at": now.isoformat()})


def _as_page_writes(value: float, uom: str | None) -> str:
    token = i18n.current_locale.set("vi")
    try:
        return amount(value, uom)
    finally:
        i18n.current_locale.reset(token)


def test_home_shows_every_group_and_tile_the_api_gives(page: Page,
                                                      fed_server: FedServer) -> None:
    api = httpx.get(fed_server.url + "/api/v1/dashboard", timeout=60).json()
    page.goto(fed_server.url + "/")
    groups = page.locator("[data-group]")
    assert groups.count() == len(api["groups"]) >= 10
    assert [groups.nth(i).get_attribute("data-group") for i in range(groups.count())] == \
        [g["id"] for g in api["groups"]]
    broken = {t["id"]: t["error"] for g in api["groups"] for t in g["tiles"] if t.get("error")}
    assert not broken
    first = api["groups"][0]
    assert groups.first.locator("h2").inner_text() == first["title"]["vi"]
    for group in api["groups"]:
        for tile in group["tiles"]:
            card = page.locator(f"[data-tile='{tile['id']}']")
            assert card.locator(".question").inner_text() == tile["question"]["vi"]
            assert card.locator(".tile-status").count() == 1
            assert card.locator(".fresh").inner_text().strip() != ""
    # The fed data reaches the tiles: on-time dossiers this month, with its status in words.
    on_time = next(t for g in api["groups"] for t in g["tiles"] if t["id"] == "ho-so-dung-han")
    assert on_time["value"] is not None
    assert on_time["status"] is not None
    card = page.locator("[data-tile='ho-so-dung-han']")
    shown = card.locator(".value").inner_text()
    # The page phrases the API's number with the product's one formatter (whose rule, 88% and
    # 85,6%, is tested on fixed numbers in tests/foundation): the value depends on the day.
    assert shown == _as_page_writes(on_time["value"], on_time["unit_of_measure"])
    assert card.locator(".tile-status").inner_text() == on_time["status_text"]["vi"]
    assert "cập nhật" in card.locator(".fresh").inner_text()
    assert page.locator(".board[data-state=ready]").count() == 1
    screenshot(page, "home")
    assert serious_violations(page) == []


def test_a_value_pushed_through_the_api_appears_on_the_open_page(page: Page,
                                                                fed_server: FedServer
                                                                ) -> None:
    page.goto(fed_server.url + "/")
    tile = page.locator("[data-tile='ho-so-tiep-nhan']")
    before = float(tile.get_attribute("data-value") or 0)
    page.evaluate("window.__notReloaded = true")
    page.wait_for_timeout(500)  # the event stream is connected
    fed_server.push("tthc.dossier", [_dossier(n, "09556") for n in range(25)])
    page.wait_for_function(
        "want => Number(document.querySelector(\"[data-tile='ho-so-tiep-nhan']\")"
        ".dataset.value) === want", arg=before + 25, timeout=15_000)
    assert page.evaluate("window.__notReloaded") is True


def test_the_first_screen_says_what_needs_attention(page: Page, fed_server: FedServer) -> None:
    first = httpx.get(fed_server.url + "/api/v1/dashboard/attention", timeout=60).json()
    page.goto(fed_server.url + "/")
    screen = page.locator("#attention")
    box = screen.bounding_box()
    assert box is not None
    assert box["y"] < 900
    assert screen.locator("h2").inner_text() == "Những việc cần quan tâm"
    city = screen.locator("[data-tally=city]")
    for status in ("met", "on_track", "at_risk", "behind"):
        link = city.locator(f"a[data-status={status}]")
        assert link.get_attribute("data-count") == str(first["total"]["counts"][status])
    assert screen.locator("[data-warning]").count() == len(first["warnings"])
    for w in first["warnings"]:
        if w["sentence"]:
            assert w["sentence"]["vi"] in screen.locator(f"[data-warning='{w['tile']}']"
                                                         ).inner_text()
    assert screen.locator("[data-mover]").count() == len(first["movers"])
    assert screen.locator("[data-task]").count() == len(first["overdue"])
    screenshot(page, "home", readme=True)
    # A count opens the board filtered to its status.
    flagged = next((s for s in ("behind", "at_risk") if first["total"]["counts"][s]), None)
    if flagged is not None:
        city.locator(f"a[data-status={flagged}]").click()
        page.wait_for_load_state()
        statuses = page.locator("[data-tile]").evaluate_all(
            "tiles => tiles.map(t => t.dataset.status)")
        assert statuses
        assert set(statuses) == {flagged}
        assert page.locator("#board-filter").is_visible()
    # Groups fold away and open again; each has its own address.
    page.goto(fed_server.url + "/")
    group = page.locator("details.group").first
    gid = group.get_attribute("data-group")
    tile = group.locator("[data-tile]").first
    assert tile.is_visible()
    group.locator("summary").click()
    assert not tile.is_visible()
    page.goto(fed_server.url + f"/#g-{gid}")  # the group's link opens it again
    page.locator(f"#g-{gid} [data-tile]").first.wait_for(state="visible", timeout=5_000)
    assert serious_violations(page) == []
