"""A report as an official finds it, in Chromium: the operator builds last month's monthly
report of the city (over the API, as a script would), and the reports page lists it with its
DOCX, XLSX and PDF. The README's picture of a report is taken here."""

from __future__ import annotations

from datetime import date, timedelta

import httpx
import pytest
from playwright.sync_api import Page
from tests.browser.conftest import FedServer, screenshot, sign_in

pytestmark = pytest.mark.browser


def test_the_reports_page_lists_a_built_report_with_its_files(page: Page,
                                                              fed_server: FedServer) -> None:
    last = date.today().replace(day=1) - timedelta(days=1)
    period = f"{last.year}-{last.month:02d}"
    token = fed_server.chiso("users", "token", fed_server.users["operator"]).splitlines()[-1]
    built = httpx.post(f"{fed_server.url}/api/v1/reports", timeout=600,
                       headers={"Authorization": f"Bearer {token}"},
                       json={"kind": "monthly", "period": period})
    assert built.status_code in (200, 201), built.text
    report = built.json()["id"]
    page.set_default_timeout(90_000)
    sign_in(page, fed_server, "leader")
    page.goto(f"{fed_server.url}/bao-cao?period={period}")
    row = page.locator(f"tr#r{report}")
    assert row.count() == 1
    links = [a.text_content() for a in row.locator("a[download]").all()]
    assert {"DOCX", "XLSX", "PDF"} <= set(links)
    screenshot(page, "report", readme=True)
