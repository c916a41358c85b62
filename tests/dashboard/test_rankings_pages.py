"""The rankings, score-tree and tasks-and-deadlines pages on both databases: dossiers pushed
through the public push API, scores computed and stored for two months, then each page read
against the API's own answer (same order, same points, the change and its arrow); task
evidence attached through the evidence API and shown only to those who may read it."""

from __future__ import annotations

import re
from datetime import date
from html import unescape
from typing import Any

import pytest
from babel.numbers import format_decimal
from fastapi.testclient import TestClient
from sqlalchemy import Engine
from tests.conftest import role_headers
from tests.factories import monthly_dossier

from chiso.catalog.loader import Catalog
from chiso.intake.sources import add_source
from chiso.scoring.live import compute
from chiso.web import deps

TODAY = date(2026, 4, 10)
HOAN_KIEM, BA_DINH = "00070", "00004"
ROW = re.compile(r'<tr data-rank="(\d+)" data-unit="([^"]+)" data-points="([^"]+)">(.*?)</tr>',
                 re.S)
# Plan 243's task III.1 is led by Sở Khoa học và Công nghệ and fell due on 30/09/2025.
OVERDUE_KEY, OVERDUE_TASK, OVERDUE_LEAD = "243-KH-UBND", "III.1", "SKHCN"


def _text(html: str) -> str:
    return re.sub(r"\s+", " ", unescape(re.sub(r"<[^>]+>", " ", html))).strip()


def _vi(x: float) -> str:
    return str(format_decimal(x, format="#,##0.##", locale="vi"))


def _push(client: TestClient, engine: Engine, unit: str, on_time_per_10: dict[int, int]) -> None:
    """Ten dossiers a month for ``unit`` through POST /api/v1/feeds/tthc.dossier/records."""
    token = add_source(engine, f"dvc-{unit}", ["tthc.dossier"], [unit])
    records = [monthly_dossier(month * 100 + i, unit, month, i < k)
               for month, k in on_time_per_10.items() for i in range(10)]
    r = client.post("/api/v1/feeds/tthc.dossier/records", json=records,
                    headers={"Authorization": f"Bearer {token}"})
    assert r.status_code in (200, 201, 202), r.text
    assert r.json()["new_versions"] == len(records), r.text


@pytest.fixture
def scored(fresh_client: TestClient, fresh_engine: Engine, catalog: Catalog) -> TestClient:
    """February: Hoàn Kiếm 10 of 10 on time, Ba Đình 5 of 10; March the other way round.
    dvc-766 scored and stored for both months, so March's ranks have a change to explain."""
    fresh_client.app.dependency_overrides[deps.today] = lambda: TODAY  # type: ignore[attr-defined]
    _push(fresh_client, fresh_engine, HOAN_KIEM, {2: 10, 3: 5})
    _push(fresh_client, fresh_engine, BA_DINH, {2: 5, 3: 10})
    for period in ("2026-02", "2026-03"):
        compute(fresh_engine, catalog, "dvc-766", period, TODAY)
    return fresh_client


def test_ranking_page_shows_what_the_api_returns(scored: TestClient) -> None:
    params = {"kind": "commune", "period": "2026-03"}
    api = scored.get("/api/v1/rankings/dvc-766", params=params).json()
    page = scored.get("/rankings/dvc-766", params={**params, "lang": "vi"})
    assert page.status_code == 200
    rows = ROW.findall(page.text)
    assert len(rows) == len(api["units"]) == 126
    assert [(int(r), u) for r, u, _, _ in rows] == [(x["rank"], x["unit"]) for x in api["units"]]
    assert [float(p) for _, _, p, _ in rows] == [x["points"] for x in api["units"]]
    by_unit = {u: _text(body) for _, u, _, body in rows}
    for x in api["units"][:5]:
        assert _vi(x["points"]) in by_unit[x["unit"]]

    first, second = api["units"][:2]
    assert (first["unit"], second["unit"]) == (BA_DINH, HOAN_KIEM)
    up, down = by_unit[BA_DINH], by_unit[HOAN_KIEM]
    assert "▲ Tăng 1 bậc" in up
    assert "▼ Giảm 1 bậc" in down
    assert f"▲ +{_vi(first['points_change'])} điểm" in up
    # the explanation: the criterion that moved, its points and its values before and now
    moved = first["explanation"][0]
    assert moved["criterion"] == "2.1"
    assert f"{moved['name']} (2.1) : ▲ +10 điểm (10 → 20); giá trị 50 → 100" in up
    assert "(2.1) : ▼ -10 điểm (20 → 10); giá trị 100 → 50" in down
    unchanged = api["units"][2]
    assert unchanged["rank_change"] == 0
    assert "= Giữ nguyên" in by_unit[unchanged["unit"]]
    assert "Không tiêu chí nào thay đổi điểm" in by_unit[unchanged["unit"]]
    assert f'href="/units/{BA_DINH}/scores/dvc-766?period=2026-03"' in page.text
    assert f'href="/units/{BA_DINH}"' in page.text
    assert "Tháng 2/2026" in _text(page.text)  # compared with the month before

    english = scored.get("/rankings/dvc-766", params={**params, "lang": "en"}).text
    assert "Up 1 place" in english
    assert "Down 1 place" in english
    assert "Dossiers finished on or before the appointment date" in english


def test_year_to_date_has_no_previous_period_and_says_so(scored: TestClient) -> None:
    api = scored.get("/api/v1/rankings/dvc-766", params={"kind": "department"}).json()
    assert api["previous_period"] is None
    page = scored.get("/rankings/dvc-766", params={"kind": "department", "lang": "vi"})
    rows = ROW.findall(page.text)
    assert [u for _, u, _, _ in rows] == [x["unit"] for x in api["units"]]
    assert "Chưa có hạng kỳ trước" in _text(page.text)
    assert "không có kỳ trước" in _text(page.text)
    bad = scored.get("/rankings/dvc-766", params={"period": "2026-13", "lang": "vi"})
    assert bad.status_code == 422
    assert "Không hiểu kỳ đã chọn" in bad.text


def test_score_tree_page_shows_the_api_tree(scored: TestClient) -> None:
    api = scored.get(f"/api/v1/scores/dvc-766/{HOAN_KIEM}", params={"period": "2026-03"}).json()
    page = scored.get(f"/units/{HOAN_KIEM}/scores/dvc-766",
                      params={"period": "2026-03", "lang": "vi"})
    assert page.status_code == 200
    codes = re.findall(r'data-code="([^"]+)"', page.text)

    def walk(node: dict[str, object]) -> list[str]:
        kids = node.get("children") or []
        assert isinstance(kids, list)
        return [c for k in kids for c in [k["code"], *walk(k)]]

    assert codes == walk(api["tree"])
    text = _text(page.text)
    assert f"{_vi(api['points'])} / 100" in text
    assert f"{api['rank']} / {api['of']}" in text
    assert ('href="/indicators/tthc.on_time_rate?unit=00070&amp;period=2026-03"'
            in page.text)
    row = re.search(r'data-code="2.1">(.*?)</tr>', page.text, re.S)
    assert row is not None
    assert "20 × clamp((50 − 0) / (100 − 0))" in _text(row.group(1))
    assert "10 / 20" in _text(row.group(1))
    awaiting = re.search(r'data-code="1.1">(.*?)</tr>', page.text, re.S)
    assert awaiting is not None
    assert "chờ dữ liệu" in _text(awaiting.group(1))
    # awaiting data for every unit: left out, its points shared by the measured criteria
    assert "không tính" in _text(awaiting.group(1))
    # and the summary says so, apart from the criteria whose source sent nothing (0 points)
    assert api["awaiting_rule"] == "exclude"
    assert api["missing_rule"] == "zero"
    leaves = [n for n in _leaves(api["tree"]) if n["missing"]]
    waiting = [n for n in leaves if "awaiting_data" in (n.get("input") or {})]
    assert waiting
    assert api["awaiting"] == len(waiting)
    assert api["missing"] == len(leaves)  # awaiting ones included
    assert (f"{len(waiting)} tiêu chí chưa có nguồn dữ liệu để đo — không được tính, điểm của "
            "tiêu chí được chia cho các tiêu chí cùng nhóm") in text


def _leaves(node: dict[str, Any]) -> list[dict[str, Any]]:
    kids = node.get("children") or []
    return [leaf for k in kids for leaf in _leaves(k)] if kids else [node]


def test_score_tree_page_shows_the_interval_possible_ranks_and_the_change(
        scored: TestClient) -> None:
    api = scored.get(f"/api/v1/scores/dvc-766/{HOAN_KIEM}", params={"period": "2026-03"}).json()
    ranking = scored.get("/api/v1/rankings/dvc-766",
                         params={"kind": "commune", "period": "2026-03"}).json()
    row = next(r for r in ranking["units"] if r["unit"] == HOAN_KIEM)
    # the score tree answers what the ranking says of the same unit
    assert (api["rank_best"], api["rank_worst"]) == (row["rank_best"], row["rank_worst"])
    assert api["low"] == pytest.approx(row["low"])
    assert api["high"] == pytest.approx(row["high"])
    assert api["low"] < api["points"] < api["high"]  # ten dossiers a month: a real width
    assert api["previous_period"] == "2026-02"
    assert api["rank_change"] == row["rank_change"] == -1
    assert api["within_noise"] is row["within_noise"] is False  # 10 of 10, then 5 of 10
    assert api["explanation"][0]["criterion"] == "2.1"
    page = scored.get(f"/units/{HOAN_KIEM}/scores/dvc-766",
                      params={"period": "2026-03", "lang": "vi"})
    text = _text(page.text)
    assert f"(khoảng tin cậy {_vi(api['low'])}–{_vi(api['high'])})" in text
    best, worst = api["rank_best"], api["rank_worst"]
    assert f"hạng có thể {best}–{worst}" in text if best != worst else f"hạng có thể {best}"
    assert "So với Tháng 2/2026" in text
    assert "▼ Giảm 1 bậc" in text
    assert "(2.1) : ▼ -10 điểm (20 → 10); giá trị 100 → 50" in text
    assert "trong phạm vi sai số" not in text
    # each measured criterion shows its points' interval
    crit = re.search(r'data-code="2.1">(.*?)</tr>', page.text, re.S)
    assert crit is not None
    assert 'class="interval"' in crit.group(1)
    english = _text(scored.get(f"/units/{HOAN_KIEM}/scores/dvc-766",
                               params={"period": "2026-03", "lang": "en"}).text)
    assert "possible ranks" in english
    assert "Down 1 place" in english


def test_a_move_within_noise_says_so_on_the_score_tree(
        fresh_client: TestClient, fresh_engine: Engine, catalog: Catalog) -> None:
    # six of ten on time, then five of ten: one dossier, well within ten dossiers' noise
    fresh_client.app.dependency_overrides[deps.today] = lambda: TODAY  # type: ignore[attr-defined]
    _push(fresh_client, fresh_engine, HOAN_KIEM, {2: 6, 3: 5})
    _push(fresh_client, fresh_engine, BA_DINH, {2: 5, 3: 6})
    for period in ("2026-02", "2026-03"):
        compute(fresh_engine, catalog, "dvc-766", period, TODAY)
    api = fresh_client.get(f"/api/v1/scores/dvc-766/{HOAN_KIEM}",
                           params={"period": "2026-03"}).json()
    assert api["points_change"] < 0
    assert api["within_noise"] is True
    assert api["explanation"][0]["within_noise"] is True
    assert api["rank_best"] < api["rank_worst"]  # cannot be told apart from Ba Đình
    text = _text(fresh_client.get(f"/units/{HOAN_KIEM}/scores/dvc-766",
                                  params={"period": "2026-03", "lang": "vi"}).text)
    assert "trong phạm vi sai số" in text
    assert "Thay đổi nằm trong phạm vi sai số của hai kỳ" in text
    assert f"hạng có thể {api['rank_best']}–{api['rank_worst']}" in text


def test_unknown_method_unit_or_kind_is_404(client: TestClient) -> None:
    assert client.get("/rankings/nope").status_code == 404
    assert client.get("/rankings/dvc-766?kind=agency").status_code == 404
    assert client.get("/units/NOPE/scores/dvc-766").status_code == 404
    assert client.get("/units/00070/scores/nope").status_code == 404
    assert client.get("/api/v1/scores/dvc-766/NOPE").status_code == 404  # as the API says


def test_rankings_index_lists_every_method_and_kind(client: TestClient,
                                                    catalog: Catalog) -> None:
    page = client.get("/rankings", params={"lang": "vi"})
    assert page.status_code == 200
    assert catalog.methods is not None
    for code, versions in catalog.methods.versions.items():
        for kind in versions[-1].kinds:
            assert f'href="/rankings/{code}?kind={kind}"' in page.text
    text = _text(page.text)
    assert "Mức độ hoàn thành kế hoạch" in text
    assert "Trọng số tạm thời" in text  # dx-5279 is provisional
    assert "Sở, ban, ngành" in text
    assert "Xã, phường" in text


def test_deadlines_lists_the_api_warnings_per_lead_unit(fresh_client: TestClient,
                                                        fresh_engine: Engine) -> None:
    fresh_client.app.dependency_overrides[deps.today] = lambda: TODAY  # type: ignore[attr-defined]
    api = fresh_client.get("/api/v1/tasks/warnings", params={"days": 30}).json()
    page = fresh_client.get("/deadlines", params={"days": 30, "lang": "vi"})
    assert page.status_code == 200
    listed = set(re.findall(r'data-task="([^"]+)"', page.text))
    wanted = {f"{w['plan'].replace('/', '-')}/{w['task']}" for w in api["warnings"]}
    assert listed == wanted
    assert api["counts"].get("overdue", 0) >= 1
    overdue = next(w for w in api["warnings"]
                   if (w["plan"], w["task"]) == ("243/KH-UBND", OVERDUE_TASK))
    assert overdue["kind"] == "overdue"
    section = re.search(rf'<section[^>]*data-unit="{OVERDUE_LEAD}">(.*?)</section>', page.text,
                        re.S)
    assert section is not None
    text = _text(section.group(1))
    assert "Sở Khoa học và Công nghệ" in text
    assert "▲ Quá hạn" in text
    assert "30/09/2025" in text
    assert f"quá hạn {overdue['days']} ngày" in text
    assert f'href="/plans/{OVERDUE_KEY}/tasks/{OVERDUE_TASK}"' in section.group(1)
    assert "Minh chứng" not in _text(page.text.split('<table class="deadlines">')[1])

    # a unit filter narrows to the API's answer for that unit; an unknown unit is 404
    mine = fresh_client.get("/api/v1/tasks/warnings", params={"unit": "09556"}).json()
    one = fresh_client.get("/deadlines", params={"unit": "09556"})
    assert set(re.findall(r'data-task="([^"]+)"', one.text)) == {
        f"{w['plan'].replace('/', '-')}/{w['task']}" for w in mine["warnings"]}
    assert fresh_client.get("/deadlines", params={"unit": "NOPE"}).status_code == 404


def test_evidence_is_shown_only_to_those_who_may_read_it(fresh_client: TestClient,
                                                         fresh_engine: Engine) -> None:
    fresh_client.app.dependency_overrides[deps.today] = lambda: TODAY  # type: ignore[attr-defined]
    officer = role_headers(fresh_engine, "unit_officer", OVERDUE_LEAD)
    url = f"/api/v1/plans/{OVERDUE_KEY}/tasks/{OVERDUE_TASK}/evidence"
    sent = fresh_client.post(url, headers=officer, data={"note": "Dự thảo"},
                             files={"file": ("du-thao-chien-luoc.pdf", b"%PDF-1.4 x",
                                             "application/pdf")})
    assert sent.status_code == 201, sent.text
    listed = fresh_client.get(url, headers=officer).json()["evidence"]
    assert len(listed) == 1

    def row(headers: dict[str, str]) -> str:
        page = fresh_client.get("/deadlines", params={"lang": "vi"}, headers=headers)
        assert page.status_code == 200
        found = re.search(rf'data-task="{OVERDUE_KEY}/{re.escape(OVERDUE_TASK)}"[^>]*>(.*?)</tr>',
                          page.text, re.S)
        assert found is not None
        return _text(found.group(1))

    for who in (officer, role_headers(fresh_engine, "viewer")):
        seen = row(who)
        assert "▲ Quá hạn" in seen  # evidence that does not complete leaves it overdue
        assert "1 minh chứng" in seen
        assert "du-thao-chien-luoc.pdf" in seen
        assert listed[0]["uploaded_by"] in seen
    public = row({})
    assert "du-thao-chien-luoc.pdf" not in public
    assert "minh chứng" not in public
    other = row(role_headers(fresh_engine, "unit_officer", HOAN_KIEM))
    assert "du-thao-chien-luoc.pdf" not in other
    assert "chỉ cán bộ đơn vị chủ trì được xem" in other
    assert fresh_client.get(url, headers=role_headers(fresh_engine, "unit_officer",
                                                      HOAN_KIEM)).status_code == 403
