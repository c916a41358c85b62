"""The SME programme's tiles and a commune's economy in Chromium, from a chiso fed by the SME
and statistics simulators through the push API: the tiles answer with values, the commune page
shows its GRDP section, the GRDP map layer colours the communes, no serious accessibility
violation; the SME group and the commune's GRDP section (with the digital economy's share)
are saved under docs/screenshots/."""

from __future__ import annotations

import os
import time
from collections.abc import Iterator
from datetime import UTC, date, datetime
from pathlib import Path

import httpx
import pytest
from playwright.sync_api import Page
from tests.browser.conftest import README_SHOTS, _chiso, serious_violations, start_server

pytestmark = pytest.mark.browser

SOURCES = [("dnnvv", "sme.support"), ("tieubieu", "sme.exemplary"), ("thongke", "stats.grdp")]
# The programme's tiles, and the running totals the board recomputes from a burst of batches
# announcing thousands of values.
SME_TILES = ["dnnvv-xa-cham", "dnnvv-nganh-cham", "dnnvv-ket-qua-ho-tro",
             "dnnvv-tieu-bieu-theo-nganh", "dnnvv-duoc-ho-tro", "dnnvv-ung-dung-giai-phap",
             "dnnvv-nang-muc-san-sang"]


@pytest.fixture(scope="module")
def economy_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    from chiso_sim.grdp import grdp_releases
    from chiso_sim.servers import batches
    from chiso_sim.sme import sme_feeds

    db = tmp_path_factory.mktemp("economy") / "chiso.db"
    env = {**os.environ, "CHISO_DATABASE_URL": f"sqlite:///{db}", "CHISO_ENV": "test",
           "CHISO_DASHBOARD_FOLLOW": "1"}
    _chiso(env, "db", "upgrade")
    tokens = {feed: _chiso(env, "sources", "add", name, "--feed", feed).splitlines()[-1]
              for name, feed in SOURCES}
    now = datetime.now(UTC)
    records = {**{k: v for k, v in sme_feeds(7, date(2026, 1, 1), now).items()
                  if k != "sme.consultant"},
               "stats.grdp": grdp_releases(7, now.year, now)}
    with start_server({k: v for k, v in env.items() if k.startswith("CHISO_")}, db) as base:
        for feed, rows in records.items():
            for batch in batches(iter(rows), 2000):
                r = httpx.post(f"{base}/api/v1/feeds/{feed}/records", json=batch, timeout=120,
                               headers={"Authorization": f"Bearer {tokens[feed]}"})
                r.raise_for_status()
        yield base


def _tiles(base: str) -> dict[str, dict[str, object]]:
    board = httpx.get(base + "/api/v1/dashboard", timeout=60).json()
    return {t["id"]: t for g in board["groups"] for t in g["tiles"]}


def test_the_sme_tiles_and_a_commune_economy(page: Page, economy_server: str) -> None:
    deadline = time.monotonic() + 120  # the board follows the pushed batches
    while any(_tiles(economy_server)[t]["value"] is None for t in SME_TILES):
        assert time.monotonic() < deadline, "the SME tiles got no value"
        time.sleep(2)
    page.goto(economy_server + "/?group=doanh-nghiep")
    group = page.locator("#g-doanh-nghiep")
    for tile in SME_TILES:
        assert group.locator(f"#tile-{tile} .value").inner_text() not in ("", "—")
    assert group.locator("#tile-dnnvv-nganh-cham .where li").count() > 0
    assert serious_violations(page) == []
    README_SHOTS.mkdir(parents=True, exist_ok=True)
    group.screenshot(path=str(README_SHOTS / "sme-tiles.png"))

    commune = "00070"
    page.goto(f"{economy_server}/units/{commune}")
    section = page.locator("#unit-grdp")
    assert "QĐ 3060" in section.inner_text()
    rows = page.locator("table.unit-grdp tbody tr")
    assert rows.count() >= 1
    assert serious_violations(page) == []
    # the release carries the digital economy's estimate: its share beside each period's GRDP
    # and per sector below the table
    assert page.locator("table.unit-grdp td[data-digital]").first.inner_text().endswith("%")
    digital = page.locator("p[data-digital-sectors]")
    assert "Dịch vụ" in digital.inner_text()
    # The heading, its table and the structure and digital-economy lines below it, as one
    # picture.
    box_top = section.bounding_box()
    box_end = digital.bounding_box()
    assert box_top is not None
    assert box_end is not None
    page.screenshot(path=str(README_SHOTS / "commune-grdp.png"), full_page=True, clip={
        "x": 0, "y": box_top["y"] - 8, "width": 1280,
        "height": box_end["y"] + box_end["height"] - box_top["y"] + 16})
    for name in ("sme-tiles.png", "commune-grdp.png"):
        shot = Path(README_SHOTS / name)
        assert shot.stat().st_size > 5000

    page.goto(economy_server + "/map?measure=grdp:growth")
    assert page.locator("svg a[data-code]").count() == 126
    assert "GRDP" in page.locator("#map-subject").inner_text()
