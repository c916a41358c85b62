"""Issuing a report from /bao-cao in Chromium: the operator issues the city's draft with its
number, date, signer and section IV (the form carries the session's CSRF token; the issue is
in the audit log); a unit officer sees the form for its own unit's draft only, and the guard
refuses a post without the token or for another unit's draft."""

from __future__ import annotations

import io
import os
from collections.abc import Iterator
from datetime import UTC, date, datetime
from pathlib import Path

import pytest
from docx import Document
from playwright.sync_api import Page
from sqlalchemy import select
from tests.browser.conftest import (
    ACCOUNTS,
    PASSWORD,
    FedServer,
    _chiso,
    screenshot,
    serious_violations,
    sign_in,
    start_server,
)

from chiso.config import Settings
from chiso.reports import archive
from chiso.runtime import open_runtime
from chiso.store.tables import audit_log

pytestmark = pytest.mark.browser

HA_DONG, BA_DINH = ACCOUNTS["unit_officer"][1] or "", "00004"
NOW = datetime(2026, 12, 5, 3, tzinfo=UTC)


@pytest.fixture(scope="module")
def drafts_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[FedServer]:
    """chiso on a fresh SQLite file holding drafts of November's monthly report for the
    city, Hà Đông and Ba Đình, with an operator and Hà Đông's unit officer."""
    db = tmp_path_factory.mktemp("issue") / "chiso.db"
    env = {**os.environ, "CHISO_DATABASE_URL": f"sqlite:///{db}", "CHISO_ENV": "test",
           "CHISO_REPORTS_SCHEDULE": "0"}
    _chiso(env, "db", "upgrade")
    users = {}
    for role in ("operator", "unit_officer"):
        name, unit = ACCOUNTS[role]
        _chiso(env, "users", "add", name, stdin=f"{PASSWORD}\n{PASSWORD}\n")
        _chiso(env, "users", "grant", name, role, *(["--unit", unit] if unit else []))
        users[role] = name
    rt = open_runtime(Settings(database_url=f"sqlite:///{db}", scores_follow=False,
                               reports_schedule=False))
    for unit in ("city", HA_DONG, BA_DINH):
        archive.save(rt, "monthly", "2026-11", unit, today=date(2026, 12, 5), now=NOW)
    rt.engine.dispose()
    with start_server({k: v for k, v in env.items() if k.startswith("CHISO_")}, db) as base:
        yield FedServer(base, db, env, {}, users)


def _ids(db: Path) -> dict[str, int]:
    rt = open_runtime(Settings(database_url=f"sqlite:///{db}", scores_follow=False,
                               reports_schedule=False))
    with rt.engine.connect() as conn:
        got = {r.unit: r.id for r in archive.listing(conn)}
    rt.engine.dispose()
    return got


def test_the_operator_issues_a_draft_from_the_page(page: Page,
                                                    drafts_server: FedServer) -> None:
    ids = _ids(drafts_server.db)
    sign_in(page, drafts_server, "operator")
    page.goto(drafts_server.url + "/bao-cao")
    row = page.locator(f"#r{ids['city']}")
    row.get_by_text("Ban hành dự thảo này").click()
    row.get_by_label("Số văn bản").fill("125")
    row.get_by_label("Ngày ban hành").fill("2026-12-08")
    row.get_by_label("Người ký").fill("Nguyễn Văn An")
    row.get_by_label("IV. Đề xuất, kiến nghị").fill("Đề nghị bổ sung kinh phí duy trì hệ thống.")
    assert serious_violations(page) == []
    row.get_by_role("button", name="Ban hành").click()
    page.wait_for_load_state()
    assert f"Báo cáo số {ids['city']} đã được ban hành." in page.content()
    row = page.locator(f"#r{ids['city']}")
    assert "Đã ban hành: số 125, 08/12/2026 (Nguyễn Văn An)" in row.inner_text()
    assert row.get_by_text("Ban hành dự thảo này").count() == 0  # issued: frozen
    screenshot(page, "report-issued")

    rt = open_runtime(Settings(database_url=f"sqlite:///{drafts_server.db}",
                               scores_follow=False, reports_schedule=False))
    with rt.engine.connect() as conn:
        stored = archive.get(conn, ids["city"])
        assert stored is not None
        assert (stored.status, stored.number, stored.signer, stored.issued_on) == (
            "issued", "125", "Nguyễn Văn An", date(2026, 12, 8))
        assert stored.issued_by == f"user:{drafts_server.users['operator']}"
        got = archive.file(conn, ids["city"], "monthly-2026-11-city.docx")
        assert got is not None
        said = "\n".join(p.text for p in Document(io.BytesIO(got[1])).paragraphs)
        assert "Đề nghị bổ sung kinh phí duy trì hệ thống." in said
        assert "125/BC-" in said + "".join(c.text for t in Document(io.BytesIO(got[1])).tables
                                           for r in t.rows for c in r.cells)
        audited = conn.execute(select(audit_log.c.actor, audit_log.c.result).where(
            audit_log.c.action == "POST /bao-cao/{report_id}/issue")).all()
    rt.engine.dispose()
    assert (f"user:{drafts_server.users['operator']}", "committed") in audited

    # issuing it again (a stale page) says why not and changes nothing
    token = page.locator("input[name=csrf]").first.get_attribute("value")
    again = page.request.post(f"{drafts_server.url}/bao-cao/{ids['city']}/issue", form={
        "csrf": token or "", "number": "126", "signer": "X"}, max_redirects=0)
    assert again.status == 409
    assert "already issued" in again.text()  # the room's reason, on the page itself


def test_a_unit_officer_issues_only_its_own_unit(page: Page,
                                                 drafts_server: FedServer) -> None:
    ids = _ids(drafts_server.db)
    sign_in(page, drafts_server, "unit_officer")
    page.goto(drafts_server.url + "/bao-cao")
    assert page.locator(f"#r{ids[HA_DONG]}").get_by_text("Ban hành dự thảo này").count() == 1
    assert page.locator(f"#r{ids[BA_DINH]}").count() == 0  # another unit's: not listed
    token = page.locator("input[name=csrf]").first.get_attribute("value") or ""
    form = {"number": "7", "signer": "Lê Thị Hoa", "issued_on": "2026-12-09"}
    other = page.request.post(f"{drafts_server.url}/bao-cao/{ids[BA_DINH]}/issue",
                              form={**form, "csrf": token}, max_redirects=0)
    assert other.status in (403, 404)
    forged = page.request.post(f"{drafts_server.url}/bao-cao/{ids[HA_DONG]}/issue",
                               form=form, max_redirects=0)
    assert forged.status == 403  # no CSRF token
    row = page.locator(f"#r{ids[HA_DONG]}")
    row.get_by_text("Ban hành dự thảo này").click()
    row.get_by_label("Số văn bản").fill("7")
    row.get_by_label("Người ký").fill("Lê Thị Hoa")
    row.get_by_role("button", name="Ban hành").click()
    page.wait_for_load_state()
    assert "Đã ban hành: số 7" in page.locator(f"#r{ids[HA_DONG]}").inner_text()
    with open_runtime(Settings(database_url=f"sqlite:///{drafts_server.db}",
                               scores_follow=False, reports_schedule=False)
                      ).engine.connect() as conn:
        ba_dinh = archive.get(conn, ids[BA_DINH])
    assert ba_dinh is not None
    assert ba_dinh.status == "draft"
