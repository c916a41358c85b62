"""An officer uploads an agency's export through the page in Chromium: the file names its
columns in its own words, so the page refuses it naming each column and field, proposes the
likely field for every unfamiliar heading; the officer saves the column mapping, uploads
again, sees a bad cell named by row and column, fixes it and the file is accepted."""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path

import pytest
from playwright.sync_api import Page
from tests.browser.conftest import (
    PASSWORD,
    FedServer,
    _chiso,
    screenshot,
    serious_violations,
    sign_in,
    start_server,
)
from tests.factories import dossier, uid
from tests.intake.mapping_support import EXPECTED, own_words_csv

pytestmark = pytest.mark.browser

UNIT = "00070"


@pytest.fixture(scope="module")
def officer_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[FedServer]:
    """chiso on a fresh SQLite file, with one unit officer of ``UNIT``."""
    db = tmp_path_factory.mktemp("mapping") / "chiso.db"
    env = {**os.environ, "CHISO_ENV": "test", "CHISO_DATABASE_URL": f"sqlite:///{db}"}
    _chiso(env, "db", "upgrade")
    _chiso(env, "users", "add", "canbo-xa", stdin=f"{PASSWORD}\n{PASSWORD}\n")
    _chiso(env, "users", "grant", "canbo-xa", "unit_officer", "--unit", UNIT)
    with start_server({"CHISO_ENV": "test"}, db) as base:
        yield FedServer(base, db, env, users={"unit_officer": "canbo-xa"})


def _upload(page: Page, server: FedServer, path: Path) -> None:
    page.goto(server.url + "/intake/upload")
    page.select_option("select[name=feed]", "tthc.dossier")
    page.fill("input[name=unit]", UNIT)
    page.fill("input[name=source]", "motcua")
    page.set_input_files("input[name=file]", str(path))
    page.locator("form[action='/intake/upload'] button[type=submit]").click()
    page.wait_for_load_state()


def test_an_officer_maps_an_exports_columns_and_uploads_it(
        page: Page, officer_server: FedServer, tmp_path: Path) -> None:
    sign_in(page, officer_server, "unit_officer")
    rows = [dossier(i, id=uid("HS"), unit=UNIT) for i in range(3)]
    export = tmp_path / "bao-cao-ho-so.csv"
    export.write_bytes(own_words_csv(rows))

    _upload(page, officer_server, export)
    problems = page.locator("#problems li").all_inner_texts()
    assert any("trường 'procedure'" in p and "Mã thủ tục" in p for p in problems), problems
    assert len(problems) == len(EXPECTED)
    proposed = {}
    for heading in EXPECTED:
        row = page.locator("#mapping tbody tr", has_text=heading)
        proposed[heading] = row.locator("select[name=field]").input_value()
    assert proposed == EXPECTED
    assert serious_violations(page) == []
    screenshot(page, "intake-mapping-proposed")

    page.locator("#mapping button[type=submit]").click()
    page.wait_for_load_state()
    assert "phiên bản 1" in page.locator("#mapping-saved").inner_text()

    rows[1]["status"] = "Đang chờ"  # not a status the contract knows
    export.write_bytes(own_words_csv(rows))
    _upload(page, officer_server, export)
    [problem] = page.locator("#problems li").all_inner_texts()
    assert problem.startswith("Dòng 5, cột G (Trạng thái), trường 'status': 'Đang chờ' không "
                              "thuộc các giá trị"), problem

    rows[1]["status"] = "Đang xử lý"
    export.write_bytes(own_words_csv(rows))
    _upload(page, officer_server, export)
    status = page.get_by_role("status").first.inner_text()
    assert "Đã tiếp nhận 3 dòng" in status, page.content()
    assert "phiên bản 1" in page.locator("main").inner_text()
    screenshot(page, "intake-mapping-accepted")
