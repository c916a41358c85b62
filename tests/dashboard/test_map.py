"""The commune map on both databases: shapes from the real boundary files (read at run time
from shared/, never committed), the tile grid without them, values pushed through the public
push API and classified, and clear refusals of a bad measure or period."""

from __future__ import annotations

import json
import logging
import re
import shutil
from collections.abc import Iterator
from dataclasses import replace
from datetime import date
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import Engine
from tests.factories import monthly_dossier

from chiso.catalog.loader import Catalog
from chiso.context import Runtime
from chiso.dashboard import choropleth as cp
from chiso.dashboard import geo
from chiso.intake.sources import add_source
from chiso.runtime import create_app
from chiso.web import deps

TODAY = date(2026, 4, 10)
PUSH = "/api/v1/feeds/tthc.dossier/records"


@pytest.fixture(scope="session")
def boundaries(shared_dir: Path) -> Path:
    folder = shared_dir / "data" / "hanoi" / "geojson"
    if not (folder / "wards").is_dir():
        pytest.fail(f"the boundary files are missing at {folder}")
    return folder


def _client(runtime: Runtime, folder: Path | None) -> TestClient:
    settings = runtime.settings.model_copy(update={"boundaries_dir": folder})
    app = create_app(settings, replace(runtime, settings=settings))
    app.dependency_overrides[deps.today] = lambda: TODAY
    return TestClient(app)


@pytest.fixture
def mapped(runtime: Runtime, boundaries: Path) -> Iterator[TestClient]:
    """The app (shared read-only database) with the boundary files configured."""
    with _client(runtime, boundaries) as client:
        yield client


@pytest.fixture
def api(fresh_client: TestClient) -> TestClient:
    fresh_client.app.dependency_overrides[deps.today] = lambda: TODAY  # type: ignore[attr-defined]
    return fresh_client


def _communes(catalog: Catalog) -> list[str]:
    return [u.code for u in catalog.units.communes()]


# -- shapes ------------------------------------------------------------------------------------

def test_shapes_from_the_boundary_files(mapped: TestClient, catalog: Catalog) -> None:
    r = mapped.get("/api/v1/map/shapes")
    assert r.status_code == 200, r.text
    got = r.json()
    assert got["layout"] == "boundaries"
    assert got["missing_boundaries"] == []
    assert got["unmatched_files"] == []
    assert [c["code"] for c in got["communes"]] == _communes(catalog)  # the official order
    width, height = (float(v) for v in got["view_box"].split()[2:])
    assert max(width, height) == geo.SIZE
    number = re.compile(r"-?\d+(?:\.\d)?")
    for c in got["communes"]:
        assert re.fullmatch(r"(M[-\d. ]+l[-\d. ]+z)+", c["d"]), c["code"]
        x, y = (float(n) for n in number.findall(c["d"])[:2])  # every ring starts inside
        assert 0 <= x <= width
        assert 0 <= y <= height
    assert got["outline"].startswith("M")
    # Small enough to inline in a page: all 126 communes and the outline.
    assert len(json.dumps(got, ensure_ascii=False).encode()) < 150_000
    assert mapped.get("/api/v1/map").json()["layout"] == "boundaries"


def test_the_tile_grid_when_no_boundaries_are_configured(client: TestClient,
                                                        catalog: Catalog) -> None:
    got = client.get("/api/v1/map/shapes").json()
    assert got["layout"] == "grid"
    assert [c["code"] for c in got["communes"]] == _communes(catalog)
    first, second, row_two = got["communes"][0], got["communes"][1], \
        got["communes"][geo.GRID_COLUMNS]
    assert first["label"] == "Hoàn Kiếm"  # official order: Phường Hoàn Kiếm is number 1
    assert (first["x"], first["y"]) == (0, 0)
    assert second["y"] == 0
    assert second["x"] > first["x"] + first["width"] - 1
    assert row_two["x"] == 0
    assert row_two["y"] > first["y"] + first["height"] - 1
    boxes = {(c["x"], c["y"]) for c in got["communes"]}
    assert len(boxes) == 126  # no two tiles on the same place
    assert client.get("/api/v1/map").json()["layout"] == "grid"


def test_missing_boundaries_and_stray_files_are_reported(
        tmp_path: Path, boundaries: Path, catalog: Catalog,
        caplog: pytest.LogCaptureFixture) -> None:
    (tmp_path / "wards").mkdir()
    kept = sorted((boundaries / "wards").glob("*.geojson"))[:3]
    for f in kept:
        shutil.copy(f, tmp_path / "wards" / f.name)
    shutil.copy(kept[0], tmp_path / "wards" / "99999_nowhere.geojson")
    with caplog.at_level(logging.WARNING, logger="chiso.dashboard.geo"):
        got = geo.geometry(tmp_path, catalog.units.communes())
    assert got.layout == "boundaries"
    assert sorted(c.code for c in got.communes) == sorted(f.name[:5] for f in kept)
    assert len(got.missing_boundaries) == 123
    assert got.unmatched_files == ("99999_nowhere.geojson",)
    assert "123 commune(s) have no boundary file" in caplog.text
    assert "99999_nowhere.geojson" in caplog.text
    # A folder holding nothing usable falls back to the grid, and says so.
    empty = geo.geometry(tmp_path / "nothing-here", catalog.units.communes())
    assert empty.layout == "grid"
    assert len(empty.communes) == 126
    assert "not found" in empty.problems[0]


# -- values ------------------------------------------------------------------------------------

def _dossier(unit: str, i: int, on_time: bool, supplement: bool = False) -> dict[str, Any]:
    return monthly_dossier(i, unit, 3, on_time, supplement_requests=1 if supplement else 0)


def _push(api: TestClient, engine: Engine, catalog: Catalog) -> dict[str, int]:
    """Ten communes with 10 dossiers in March, k of them on time (and k of them returned for
    supplements) for k = 1..10, and one with 2 of 3 on time (66.7%). Returns code -> k."""
    token = add_source(engine, "dvc", ["tthc.dossier"], None)
    codes = _communes(catalog)
    ks = {codes[k - 1]: k for k in range(1, 11)}
    records = [_dossier(unit, i, i < k, i < k) for unit, k in ks.items() for i in range(10)]
    records += [_dossier(codes[20], i, i < 2) for i in range(3)]
    r = api.post(PUSH, json=records, headers={"Authorization": f"Bearer {token}"})
    assert r.status_code == 200, r.text
    return ks


def test_indicator_values_classified_into_quantiles(api: TestClient, fresh_engine: Engine,
                                                    catalog: Catalog) -> None:
    ks = _push(api, fresh_engine, catalog)
    r = api.get("/api/v1/map", params={"measure": "indicator:tthc.on_time_rate",
                                       "period": "2026-03"})
    assert r.status_code == 200, r.text
    got = r.json()
    assert (got["measure"], got["period"], got["direction"], got["unit_of_measure"]) == \
        ("indicator:tthc.on_time_rate", "2026-03", "higher_is_better", "%")
    assert got["name_vi"].startswith("Tỷ lệ hồ sơ thủ tục hành chính được giải quyết")
    rows = {c["code"]: c for c in got["communes"]}
    assert len(rows) == 126
    assert [c["code"] for c in got["communes"]] == _communes(catalog)
    for code, k in ks.items():
        assert rows[code]["value"] == pytest.approx(k * 10)
        assert rows[code]["records"] == 10
    eleventh = rows[_communes(catalog)[20]]
    assert eleventh["value"] == pytest.approx(200 / 3)
    assert eleventh["text"] == "66,7%"  # Vietnamese number form
    empty = [c for c in got["communes"] if c["value"] is None]
    assert len(empty) == 126 - 11
    assert all(c["class"] is None for c in empty)
    # 11 values in five quantile classes (3, 2, 2, 2, 2): the lightest holds the worst
    assert [k["colour"] for k in got["classes"]] == list(cp.PALETTE)
    assert [k["label"] for k in got["classes"]] == [
        "10% – 30%", "40% – 50%", "60% – 66,7%", "70% – 80%", "90% – 100%"]
    by_class: dict[int, list[float]] = {}
    for c in got["communes"]:
        if c["class"] is not None:
            by_class.setdefault(c["class"], []).append(c["value"])
    assert sorted(by_class) == [0, 1, 2, 3, 4]
    for lower, upper in zip(range(4), range(1, 5), strict=True):
        assert max(by_class[lower]) < min(by_class[upper])
    for k, klass in zip(range(5), got["classes"], strict=True):
        assert (klass["min"], klass["max"]) == (min(by_class[k]), max(by_class[k]))
    english = api.get("/api/v1/map", params={"measure": "indicator:tthc.on_time_rate",
                                             "period": "2026-03", "lang": "en"}).json()
    assert next(c for c in english["communes"] if c["code"] == eleventh["code"])["text"] == \
        "66.7%"


def test_lower_is_better_reverses_the_palette(api: TestClient, fresh_engine: Engine,
                                              catalog: Catalog) -> None:
    ks = _push(api, fresh_engine, catalog)
    got = api.get("/api/v1/map", params={
        "measure": "indicator:tthc.rejected_or_supplement_rate", "period": "2026-03"}).json()
    assert got["direction"] == "lower_is_better"
    rows = {c["code"]: c for c in got["communes"]}
    most, fewest = (next(c for c, k in ks.items() if k == n) for n in (10, 1))
    assert rows[most]["value"] == pytest.approx(100)
    assert rows[most]["class"] == 0  # the worst: the lightest colour
    assert rows[fewest]["class"] == 4
    assert got["classes"][0]["colour"] == cp.PALETTE[0]
    assert got["classes"][0]["min"] > got["classes"][4]["max"]


def test_scores_on_the_map(api: TestClient, fresh_engine: Engine, catalog: Catalog) -> None:
    ks = _push(api, fresh_engine, catalog)
    r = api.get("/api/v1/map", params={"measure": "score:dvc-766", "period": "2026-03"})
    assert r.status_code == 200, r.text
    got = r.json()
    assert got["measure"] == "score:dvc-766"
    assert got["unit_of_measure"] == "điểm"
    rows = {c["code"]: c for c in got["communes"]}
    scored = sorted(ks, key=lambda c: ks[c])
    # More dossiers on time, everything else equal: more points and a rank no worse.
    points = [rows[c]["value"] for c in scored]
    assert points == sorted(points)
    assert points[0] < points[-1]
    ranks = [rows[c]["rank"] for c in scored]
    assert ranks == sorted(ranks, reverse=True)
    assert rows[scored[-1]]["class"] == 4
    assert "records" not in rows[scored[0]]


def test_classes_with_ties_and_few_values() -> None:
    classes, of = cp.classify([5.0, 5.0, 5.0, 7.0], "higher_is_better")
    assert len(classes) == 2  # two distinct values: two classes, never a split tie
    assert of == {5.0: 0, 7.0: 1}
    assert [c.colour for c in classes] == [cp.PALETTE[0], cp.PALETTE[-1]]
    classes, of = cp.classify([1.0, 2.0, 3.0], "lower_is_better")
    assert of == {1.0: 2, 2.0: 1, 3.0: 0}
    assert (classes[0].min, classes[0].max) == (3.0, 3.0)
    assert cp.classify([], "higher_is_better") == ([], {})
    assert cp.text_colour(cp.PALETTE[0]) == "#000000"
    assert cp.text_colour(cp.PALETTE[-1]) == "#ffffff"


@pytest.mark.parametrize(("measure", "period", "status", "says"), [
    ("tthc.on_time_rate", "2026-03", 422, "indicator:<code>"),
    ("chart:tthc.on_time_rate", "2026-03", 422, "score:<method>"),
    ("indicator:no.such", "2026-03", 404, "no indicator 'no.such'"),
    ("score:no-such", "2026-03", 404, "no scoring method 'no-such'"),
    ("indicator:tthc.on_time_rate", "2026-13", 422, "2026-13"),
])
def test_a_bad_measure_or_period_is_refused_clearly(client: TestClient, measure: str,
                                                    period: str, status: int,
                                                    says: str) -> None:
    r = client.get("/api/v1/map", params={"measure": measure, "period": period})
    assert r.status_code == status
    assert says in r.json()["detail"]
    page = client.get("/map", params={"measure": measure, "period": period})
    assert page.status_code == status
    assert says in page.text.replace("&lt;", "<").replace("&gt;", ">").replace("&#39;", "'")
    assert "Không vẽ được bản đồ" in page.text


# -- the page ----------------------------------------------------------------------------------

def test_the_page_in_grid_mode_in_vietnamese_and_english(api: TestClient, fresh_engine: Engine,
                                                         catalog: Catalog) -> None:
    _push(api, fresh_engine, catalog)
    html = api.get("/map", params={"period": "2026-03", "lang": "vi"}).text
    assert "Bản đồ 126 xã, phường" in html
    assert 'data-layout="grid"' in html
    assert len(re.findall(r'<a href="/units/\d{5}" data-code="\d{5}"', html)) == 126
    assert "Phường Hoàn Kiếm: 10%" in html
    assert "66,7%" in html
    assert "Chưa có dữ liệu" in html
    assert 'value="indicator:tthc.on_time_rate" selected' in html
    assert 'value="score:dvc-766"' in html
    assert 'value="indicator:stats.ebi_rank"' not in html  # published for the city alone
    assert html.count("<tr>") == 1 + 126  # the table: every commune, the same values
    english = api.get("/map", params={"period": "2026-03", "lang": "en"}).text
    assert "Map of the 126 communes and wards" in english
    assert "66.7%" in english


def test_the_page_draws_boundaries_when_configured(mapped: TestClient) -> None:
    html = mapped.get("/map", params={"measure": "score:dvc-766", "period": "2026-03"}).text
    assert 'data-layout="boundaries"' in html
    paths = re.findall(r'data-code="(\d{5})"[^>]*><title>[^<]*</title>\s*<path d="M', html)
    assert len(set(paths)) == 126
    assert 'class="map-outline"' in html
