"""The commune map in Chromium: 126 communes drawn from the boundary files of a chiso fed by the
simulators, keyboard-usable and free of serious accessibility violations; and the tile grid of
the same communes from a server with no boundary files configured."""

from __future__ import annotations

import sqlite3
from pathlib import Path

import httpx
import pytest
from playwright.sync_api import Page
from tests.browser.conftest import (
    BOUNDARIES,
    FedServer,
    screenshot,
    serious_violations,
    start_server,
)

pytestmark = pytest.mark.browser

COMMUNES = 126



def _coloured(page: Page, shape: str) -> int:
    """How many communes carry a class colour (not the no-data hatching)."""
    fills: list[str] = page.eval_on_selector_all(
        f"svg a[data-code] {shape}", "els => els.map(e => e.getAttribute('fill'))")
    return sum(1 for f in fills if f.startswith("#"))


def _with_value(base: str) -> int:
    """How many communes the API gives a value for this month's default measure."""
    answer = httpx.get(base + "/api/v1/map", timeout=60).json()
    return sum(1 for c in answer["communes"] if c["value"] is not None)


def test_the_map_draws_126_communes_from_the_boundary_files(page: Page,
                                                            fed_server: FedServer) -> None:
    if not (BOUNDARIES / "wards").is_dir():
        pytest.fail(f"the boundary files are missing at {BOUNDARIES}")
    page.goto(fed_server.url + "/map")
    assert page.locator("h1").inner_text() == "Bản đồ 126 xã, phường"
    assert page.locator("svg[data-layout='boundaries']").count() == 1
    assert page.locator("svg [data-code]").count() == COMMUNES
    assert page.locator("svg a[data-code] > path").count() == COMMUNES
    # Coloured exactly where the API has a value for the month; hatched elsewhere.
    with_value = _with_value(fed_server.url)
    assert with_value > 0
    assert _coloured(page, "path") == with_value
    # Each shape is really drawn: a box of its own on the screen.
    sizes = page.eval_on_selector_all(
        "svg a[data-code] > path",
        "els => els.map(e => { const b = e.getBBox(); return b.width * b.height; })")
    assert all(s > 0 for s in sizes)
    assert page.locator("table.map-table tbody tr").count() == COMMUNES
    screenshot(page, "map", readme=True)
    assert serious_violations(page) == []

    # Keyboard: Tab from the form's button reaches the first commune, visibly focused.
    page.locator("form.map-form button").focus()
    page.keyboard.press("Tab")
    focused = page.evaluate("document.activeElement.getAttribute('data-code')")
    first = page.locator("svg a[data-code]").first.get_attribute("data-code")
    assert focused == first
    stroke = page.evaluate(
        "getComputedStyle(document.activeElement.querySelector('path')).strokeWidth")
    assert float(stroke.removesuffix("px")) >= 3
    page.keyboard.press("Enter")
    page.wait_for_url(f"**/units/{first}")

    # The form needs no script: pick a score, submit, the map follows.
    page.goto(fed_server.url + "/map")
    page.select_option("select[name=measure]", "score:dvc-766")
    page.locator("form.map-form button").click()
    page.wait_for_load_state()
    assert "measure=score%3Advc-766" in page.url
    assert page.locator("svg a[data-code] > path").count() == COMMUNES
    assert _coloured(page, "path") > 0


def test_the_tile_grid_without_boundary_files(page: Page, fed_server: FedServer,
                                              tmp_path: Path,
                                              monkeypatch: pytest.MonkeyPatch) -> None:
    # The same data on a second server that has no boundary files configured.
    db = tmp_path / "grid.db"
    with sqlite3.connect(fed_server.db) as src, sqlite3.connect(db) as dst:
        src.backup(dst)  # a consistent copy, write-ahead log included
    monkeypatch.delenv("CHISO_BOUNDARIES_DIR", raising=False)
    with start_server({"CHISO_SCORES_FOLLOW": "0"}, db) as base:
        page.goto(base + "/map")
        assert page.locator("svg[data-layout='grid']").count() == 1
        assert page.locator("svg [data-code]").count() == COMMUNES
        assert page.locator("svg a[data-code] > rect").count() == COMMUNES
        assert _coloured(page, "rect") == _with_value(base) > 0
        first = page.locator("svg a[data-code]").first
        assert first.get_attribute("data-code") == "00070"  # the official order
        assert "Hoàn Kiếm" in (first.locator("text").text_content() or "")
        assert "ô theo thứ tự danh mục chính thức" in page.locator("figcaption").inner_text()
        screenshot(page, "map-grid")
        assert serious_violations(page) == []
