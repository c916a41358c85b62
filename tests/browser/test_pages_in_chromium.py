"""The pages as a person sees them in Chromium: Vietnamese, readable, keyboard-usable, and
free of serious accessibility violations (axe-core from the npm registry)."""

from __future__ import annotations

from pathlib import Path

import pytest
from playwright.sync_api import Page
from tests.browser.conftest import screenshot, serious_violations

pytestmark = pytest.mark.browser




@pytest.mark.parametrize(
    ("path", "name"),
    [("/plans", "plans"), ("/plans/131-KH-UBND", "plan-131"),
     ("/plans/131-KH-UBND/targets/I.11", "target-I.11"), ("/units/09556", "unit-ha-dong"),
     ("/tasks?status=past_due", "tasks-past-due")],
)
def test_page_has_no_serious_accessibility_violations(page: Page, live_server: str, path: str,
                                                      name: str) -> None:
    page.goto(live_server + path)
    screenshot(page, name)
    assert serious_violations(page) == []


def test_plans_speak_vietnamese_in_a_font_with_full_coverage(page: Page,
                                                             live_server: str) -> None:
    page.goto(live_server + "/plans")
    assert page.locator("h1").inner_text() == "Các kế hoạch chuyển đổi số của thành phố Hà Nội"
    page.evaluate("document.fonts.ready")
    assert page.evaluate("document.fonts.check('16px \"Noto Sans\"', 'Đổi mới sáng tạo ữ ỹ')")
    served = page.evaluate(
        "[...document.fonts].filter(f => f.status === 'loaded').map(f => f.family)")
    assert "Noto Sans" in {f.strip('"') for f in served}


def test_keyboard_reaches_the_skip_link_first_and_it_is_visible(page: Page,
                                                               live_server: str) -> None:
    page.goto(live_server + "/")
    page.keyboard.press("Tab")
    focused = page.evaluate("document.activeElement.textContent")
    assert focused == "Chuyển tới nội dung chính"
    box = page.evaluate("document.activeElement.getBoundingClientRect().left")
    assert box >= 0  # shown on focus, not left off-screen
    page.keyboard.press("Enter")
    assert page.url.endswith("#main")


def test_language_switch_and_drill_down_from_plan_to_target(page: Page, live_server: str) -> None:
    page.goto(live_server + "/plans")
    page.get_by_role("link", name="131/KH-UBND").click()
    page.get_by_role("link", name="I.11", exact=True).click()
    assert "Tỷ lệ hồ sơ xử lý trước hạn, đúng hạn" in page.locator(".quote").inner_text()
    page.get_by_role("link", name="English").click()
    assert page.locator("h1").inner_text() == "Target I.11"
    page.goto(live_server + "/?lang=vi")


def test_no_request_leaves_the_machine(page: Page, live_server: str) -> None:
    """Government networks are closed: every resource must come from chiso itself."""
    requested: list[str] = []
    page.on("request", lambda r: requested.append(r.url))
    page.goto(live_server + "/plans/131-KH-UBND")
    page.wait_for_load_state("networkidle")
    page.goto(live_server + "/")  # the dashboard: htmx and its event stream, all served here
    page.wait_for_timeout(1000)
    assert requested
    assert [u for u in requested if not u.startswith(live_server)] == []


def test_screenshots_are_saved_as_artifacts(page: Page, live_server: str) -> None:
    page.goto(live_server + "/units?q=ha%20dong")
    path: Path = screenshot(page, "units-search")
    assert path.stat().st_size > 10_000
