"""The print view in Chromium: the dashboard and a unit's page fit A4 landscape (nothing wider
than the printable width, landscape pages in the PDF), without navigation or forms, with every
data group printed even when folded."""

from __future__ import annotations

import re

import pytest
from playwright.sync_api import Page
from tests.browser.conftest import ACCOUNTS, SCREENSHOTS, FedServer, sign_in

pytestmark = pytest.mark.browser

# A4 landscape less the 10 mm margins of print.css, in CSS pixels (96 per inch).
PRINTABLE_WIDTH = round((297 - 20) / 25.4 * 96)


def _fits(page: Page) -> None:
    page.set_viewport_size({"width": PRINTABLE_WIDTH, "height": 800})
    page.emulate_media(media="print")
    wide = page.evaluate("""width => [...document.querySelectorAll('main *')]
        .filter(e => e.getBoundingClientRect().right > width + 1)
        .slice(0, 5).map(e => e.tagName + '.' + e.className)""", PRINTABLE_WIDTH)
    assert wide == []
    assert page.evaluate("document.documentElement.scrollWidth") <= PRINTABLE_WIDTH
    assert not page.locator("header.top nav").first.is_visible()
    assert page.locator("form").evaluate_all("fs => fs.filter(f => f.offsetParent)") == []


def _landscape_pdf(page: Page, name: str) -> int:
    pdf = page.pdf(prefer_css_page_size=True, print_background=True)
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    (SCREENSHOTS / f"{name}.pdf").write_bytes(pdf)
    boxes = {tuple(round(float(x)) for x in m.groups()) for m in re.finditer(
        rb"/MediaBox\s*\[\s*0 0 ([\d.]+) ([\d.]+)\s*\]", pdf)}
    assert boxes == {(842, 595)}  # A4 landscape in points
    return len(re.findall(rb"/Type\s*/Page\b", pdf))


def test_the_dashboard_prints_on_a4_landscape(page: Page, fed_server: FedServer) -> None:
    page.goto(fed_server.url + "/")
    group = page.locator("details.group").nth(1)
    group.locator("summary").click()  # a folded group is printed all the same
    _fits(page)
    page.evaluate("dispatchEvent(new Event('beforeprint'))")
    assert group.locator("[data-tile]").first.is_visible()
    tiles = page.locator("[data-tile]").count()
    pages = _landscape_pdf(page, "print-dashboard")
    # The first screen takes a page or two; then at least two tiles share each page.
    assert 1 < pages <= 2 + -(-tiles // 2), (pages, tiles)


def test_a_units_page_prints_on_a4_landscape(page: Page, fed_server: FedServer) -> None:
    sign_in(page, fed_server, "unit_officer")
    unit = ACCOUNTS["unit_officer"][1]
    page.goto(fed_server.url + f"/units/{unit}")
    assert page.locator("#unit-brief").is_visible()
    _fits(page)
    assert page.locator("#unit-brief").is_visible()
    assert _landscape_pdf(page, "print-unit") >= 1
