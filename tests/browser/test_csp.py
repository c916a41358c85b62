"""chiso's pages under its own Content-Security-Policy in Chromium: nothing a page needs is
refused (no inline script or style slipped into a template), and the dashboard's htmx and
event stream still work."""

from __future__ import annotations

import pytest
from playwright.sync_api import Browser
from tests.browser.conftest import serious_violations

pytestmark = pytest.mark.browser

# Init scripts run outside the page's CSP, so the listener is there before the page's own code.
LISTEN = """window.__cspViolations = [];
document.addEventListener('securitypolicyviolation',
  e => window.__cspViolations.push(e.violatedDirective + ' ' + (e.blockedURI || 'inline')));"""


@pytest.mark.parametrize("path", ["/", "/map", "/plans/131-KH-UBND", "/rankings", "/signin",
                                  "/indicators", "/deadlines", "/decisions"])
def test_pages_break_no_rule_of_the_csp(browser: Browser, live_server: str, path: str) -> None:
    context = browser.new_context(locale="vi-VN")
    try:
        page = context.new_page()
        page.add_init_script(LISTEN)
        console: list[str] = []
        page.on("console", lambda m: console.append(m.text))
        response = page.goto(live_server + path)
        assert response is not None
        assert response.status == 200
        assert "frame-ancestors 'none'" in response.headers["content-security-policy"]
        page.wait_for_load_state("networkidle") if path != "/" else page.wait_for_timeout(1500)
        assert page.evaluate("window.__cspViolations") == []
        assert [m for m in console if "Content Security Policy" in m] == []
        if path == "/":  # htmx loaded and connected the tiles' stream under the policy
            assert page.evaluate("typeof window.htmx") == "object"
            assert page.evaluate("document.head.querySelector('style') === null")
    finally:
        context.close()


def test_accessibility_checks_still_run_under_the_csp(browser: Browser,
                                                      live_server: str) -> None:
    context = browser.new_context(locale="vi-VN")
    try:
        page = context.new_page()
        page.goto(live_server + "/plans")
        assert serious_violations(page) == []
    finally:
        context.close()
