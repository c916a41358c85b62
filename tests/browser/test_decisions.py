"""The decision log in Chromium: a leader records a decision from a tile and sees it counted
("a decision recorded is counted")."""

from __future__ import annotations

import time

import pytest
from playwright.sync_api import Page
from tests.browser.conftest import FedServer, screenshot, serious_violations, sign_in

from chiso.catalog.loader import load_catalog

pytestmark = pytest.mark.browser




def _tile() -> tuple[str, str, str]:
    """(id, title, question) of the on-time dossiers tile of the catalog's dashboard."""
    board = load_catalog().dashboard
    assert board is not None
    assert "ho-so-dung-han" in board.tiles
    t = board.tiles["ho-so-dung-han"]
    return t.id, t.title_vi, t.question_vi


def _count(page: Page, title: str) -> int:
    row = page.locator("table.counts tbody tr", has=page.get_by_role("rowheader", name=title))
    if row.count() == 0:
        return 0
    return int(row.locator("td").last.inner_text())


def _home_count(page: Page, server: FedServer, tile: str) -> float:
    """This month's decisions, as the home page's decisions tile shows them."""
    page.goto(server.url + "/")
    value = page.locator(f"#tile-{tile}").get_attribute("data-value")
    return float(value or 0)


def test_a_leader_records_a_decision_from_a_tile_and_it_is_counted(
        page: Page, fed_server: FedServer) -> None:
    tile, title, question = _tile()
    board = load_catalog().dashboard
    assert board is not None
    counter = next(t.id for t in board.tiles.values() if t.measure.kind == "decisions")
    home_before = _home_count(page, fed_server, counter)
    page.goto(fed_server.url + "/decisions")
    before = _count(page, title)
    assert "Nội dung quyết định" not in page.content()  # the public sees counts only

    sign_in(page, fed_server, "leader")
    page.goto(f"{fed_server.url}/decisions/new?tile={tile}")
    assert page.locator("h1").inner_text() == "Ghi quyết định điều hành"
    assert question in page.locator("section.tile-seen").inner_text()
    seen = page.locator("dl.seen").inner_text()
    assert "Tình trạng" in seen
    assert "Kỳ" in seen
    assert serious_violations(page) == []

    text = "Giao Sở Nội vụ đôn đốc các xã có tỷ lệ hồ sơ đúng hạn thấp, báo cáo trước ngày 30."
    page.get_by_label("Nội dung quyết định").fill(text)
    page.get_by_role("button", name="Ghi quyết định", exact=True).click()
    page.wait_for_load_state()

    assert "/decisions?tile=" in page.url
    status = page.get_by_role("status").inner_text()
    assert "Đã ghi vào nhật ký quyết định điều hành (mục " in status
    assert _count(page, title) == before + 1
    decision = page.locator("article.decision").first
    assert text in decision.inner_text()
    assert question in decision.inner_text()
    assert "Giá trị đã thấy" in decision.inner_text()
    screenshot(page, "decisions")
    assert serious_violations(page) == []

    # The decisions tile of the home page counts it too (the board refreshes it on a write).
    for _ in range(20):
        if _home_count(page, fed_server, counter) == home_before + 1:
            break
        time.sleep(0.5)
    assert _home_count(page, fed_server, counter) == home_before + 1
