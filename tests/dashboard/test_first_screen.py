"""The dashboard's first screen on both databases: statuses counted city-wide and per group
(each a link to the filtered board), the warnings that matter most with their sentences, the
units whose rank moved most, tasks overdue since this week, decisions past their follow-up
date without movement; tiles opening on a month with data."""

from __future__ import annotations

from datetime import date, timedelta
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import Engine
from tests.dashboard.first_screen_data import BA_DINH, HOAN_KIEM, TODAY, _on, _push

from chiso.context import Runtime
from chiso.dashboard import attention
from chiso.dashboard import decisions as log
from chiso.measurement.periods import YOUNG_DAYS
from chiso.outlook import answers as outlook
from chiso.scoring import answers as scoring
from chiso.scoring import live as score_live
from chiso.scoring.answers import period_of


@pytest.fixture
def fed(fresh_client: TestClient, fresh_engine: Engine) -> TestClient:
    """Two wards' dossiers for January to March: Ba Đình falls, Hoàn Kiếm holds."""
    _push(fresh_client, fresh_engine, HOAN_KIEM, {1: 10, 2: 9, 3: 9})
    _push(fresh_client, fresh_engine, BA_DINH, {1: 8, 2: 6, 3: 4})
    return _on(fresh_client, TODAY)


def _tiles(board: dict[str, Any]) -> list[dict[str, Any]]:
    return [t for g in board["groups"] for t in g["tiles"]]


def test_statuses_are_counted_city_wide_and_per_group_as_the_tiles_say(fed: TestClient
                                                                      ) -> None:
    board = fed.get("/api/v1/dashboard").json()
    first = fed.get("/api/v1/dashboard/attention").json()
    tiles = _tiles(board)
    for status in ("met", "on_track", "at_risk", "behind", "no_data"):
        assert first["total"]["counts"][status] == sum(t["status"] == status for t in tiles)
    assert first["total"]["counts"]["behind"] + first["total"]["counts"]["at_risk"] >= 1
    assert [g["group"] for g in first["groups"]] == [g["id"] for g in board["groups"]]
    for g, tally in zip(board["groups"], first["groups"], strict=True):
        assert tally["counts"]["behind"] == sum(t["status"] == "behind" for t in g["tiles"])
        assert tally["title"] == g["title"]
    # The most serious warnings first, each with its target's sentence.
    flagged = [t for t in tiles if t["status"] in ("behind", "at_risk")]
    assert len(first["warnings"]) == min(len(flagged), attention.WARNINGS)
    order = [("behind", "at_risk").index(w["status"]) for w in first["warnings"]]
    assert order == sorted(order)
    on_time = next(w for w in first["warnings"] if w["tile"] == "ho-so-dung-han")
    tile = next(t for t in tiles if t["id"] == "ho-so-dung-han")
    assert on_time["sentence"] == tile["target"]["sentence"]
    assert on_time["sentence"]["vi"]


def test_the_first_screen_links_each_count_to_the_filtered_board(fed: TestClient) -> None:
    board = fed.get("/api/v1/dashboard").json()
    page = fed.get("/").text
    assert "Những việc cần quan tâm" in page
    assert page.index('id="attention"') < page.index('id="board"')
    behind = [t["id"] for t in _tiles(board) if t["status"] == "behind"]
    assert behind
    assert 'href="/?status=behind#board"' in page
    assert f'data-status="behind" data-count="{len(behind)}"' in page
    # Each group is collapsible and has its anchor.
    assert page.count("<details class=\"group\"") == len(board["groups"])
    for g in board["groups"]:
        assert f'id="g-{g["id"]}"' in page
    only = fed.get("/?status=behind").text
    assert sorted(only.split('data-tile="')[i].split('"')[0]
                  for i in range(1, only.count('data-tile="') + 1)) == sorted(behind)
    assert "Chỉ hiển thị" in only
    group = next(g for g in board["groups"] if any(t["status"] == "behind" for t in g["tiles"]))
    one = fed.get(f"/?status=behind&group={group['id']}").text
    assert one.count('data-tile="') == sum(t["status"] == "behind" for t in group["tiles"])
    english = fed.get("/?lang=en").text
    assert "What needs attention" in english
    assert fed.get("/?status=bad").status_code == 422
    assert "status" in fed.get("/?status=bad").text
    assert fed.get("/?group=nope").status_code == 422


def test_tasks_that_became_overdue_this_week(fresh_runtime: Runtime, fresh_client: TestClient
                                             ) -> None:
    late = date(2026, 12, 31)
    with fresh_runtime.engine.connect() as conn:
        dated = outlook.task_warnings(conn, fresh_runtime.catalog, None, late, 400)
    task = min((w for w in dated.warnings if w.kind == "overdue"), key=lambda w: w.due)
    three_days = task.due + timedelta(days=3)
    first = _on(fresh_client, three_days).get("/api/v1/dashboard/attention").json()
    found = [o for o in first["overdue"] if (o["plan"], o["task"]) == (task.plan, task.task)]
    assert found
    assert found[0]["days"] == 3
    assert all(0 < o["days"] <= attention.OVERDUE_WINDOW for o in first["overdue"])
    assert f'data-task="{task.plan}:{task.task}"' in fresh_client.get("/").text
    ten_days = _on(fresh_client, task.due + timedelta(days=10))
    later = ten_days.get("/api/v1/dashboard/attention").json()
    assert (task.plan, task.task) not in {(o["plan"], o["task"]) for o in later["overdue"]}


def _decide(rt: Runtime, value: float | None, follow_up: date, text: str) -> int:
    with rt.engine.begin() as conn:
        got = log.record(conn, rt.catalog, tile="ho-so-dung-han", text=text,
                         seen={"value": value, "status": "behind"}, actor="user:lanhdao",
                         role="leader", taken_at="2026-03-02T09:00:00+07:00",
                         follow_up=follow_up)
    return int(got["id"])


def test_decisions_past_their_date_without_movement(fed: TestClient, fresh_runtime: Runtime
                                                    ) -> None:
    now = next(t for t in _tiles(fed.get("/api/v1/dashboard").json())
               if t["id"] == "ho-so-dung-han")["value"]
    assert now is not None
    same = _decide(fresh_runtime, now, date(2026, 3, 20), "Đôn đốc giải quyết hồ sơ đúng hạn")
    worse = _decide(fresh_runtime, now + 10, date(2026, 3, 20), "Rà soát hồ sơ trễ hạn")
    better = _decide(fresh_runtime, now - 10, date(2026, 3, 20), "Bổ sung cán bộ một cửa")
    not_yet = _decide(fresh_runtime, now, date(2026, 4, 15), "Kiểm tra lại vào tháng 4")
    first = fed.get("/api/v1/dashboard/attention").json()
    stalled = {d["id"]: d for d in first["stalled"]}
    assert set(stalled) == {same, worse}
    assert stalled[worse]["seen"] == pytest.approx(now + 10)
    assert stalled[worse]["now"] == pytest.approx(now)
    assert better not in stalled
    assert not_yet not in stalled
    page = fed.get("/").text
    assert f'data-decision="{same}"' in page
    assert "Quyết định điều hành, mục" in page
    assert "Đôn đốc" not in page  # the decision's text is for officials, not the public


def test_the_units_that_moved_most_in_the_rankings(fresh_client: TestClient,
                                                   fresh_runtime: Runtime) -> None:
    """Moves from January to February (the last complete month on 28 March), read from the
    scores the scoring follower stored: never computed, so stable while March streams in."""
    rt = fresh_runtime
    # Hoàn Kiếm led in January and falls in February; Ba Đình the other way round.
    _push(fresh_client, rt.engine, HOAN_KIEM, {1: 10, 2: 2, 3: 5})
    _push(fresh_client, rt.engine, BA_DINH, {1: 2, 2: 10, 3: 5})
    fed = _on(fresh_client, TODAY)
    assert fed.get("/api/v1/dashboard/attention").json()["movers"] == []  # nothing stored
    methods = sorted(rt.catalog.methods.versions) if rt.catalog.methods else []
    for method in methods:
        for month in ("2026-01", "2026-02"):
            score_live.compute(rt.engine, rt.catalog, method, month, TODAY)
    rt.caches.pop("dashboard.attention", None)
    first = fed.get("/api/v1/dashboard/attention").json()
    assert first["movers_month"] == "2026-02"
    assert first["month"] == "2026-03"
    moved = []
    for method, kind in {("dvc-766", "commune"), ("dvc-766", "department"),
                         ("plan-completion", "department"), ("plan-completion", "commune"),
                         ("dx-5279", "commune")}:
        r = scoring.ranking(rt, method, kind, period_of("2026-02", TODAY), TODAY)
        moved += [(abs(u.rank_change), method, u.unit) for u in r.units if u.rank_change]
    assert moved, "the data moves at least one rank between January and February"
    top = max(m[0] for m in moved)
    assert abs(first["movers"][0]["rank_change"]) == top
    sizes = [abs(m["rank_change"]) for m in first["movers"]]
    assert sizes == sorted(sizes, reverse=True)
    assert len(first["movers"]) == min(len(moved), attention.MOVERS)
    assert first["movers"][0]["link"] == (f"/units/{first['movers'][0]['unit']}/scores/"
                                          f"{first['movers'][0]['method']}?period=2026-02")
    gained = next(m for m in first["movers"] if m["unit"] == BA_DINH)
    assert gained["rank_change"] > 0
    assert gained["why"]
    assert f'data-mover="{BA_DINH}"' in fed.get("/").text

    # February's data changes after its scores were stored: the moves stay as stored until
    # February is scored again.
    _push(fresh_client, rt.engine, HOAN_KIEM, {2: 10})
    rt.caches.pop("dashboard.attention", None)
    assert fed.get("/api/v1/dashboard/attention").json()["movers"] == first["movers"]


@pytest.mark.parametrize(("today", "month", "said"), [
    (date(2026, 4, 3), "2026-03", True), (date(2026, 4, YOUNG_DAYS + 1), "2026-04", False)])
def test_tiles_open_on_a_month_with_data_and_say_which(fed: TestClient, today: date,
                                                       month: str, said: bool) -> None:
    _on(fed, today)
    tile = fed.get("/api/v1/dashboard/tiles/ho-so-dung-han").json()
    assert tile["period"] == month
    assert tile["period_young"] is said
    page = fed.get("/").text
    assert ('id="board-opening-period"' in page) is said
    if said:
        assert "Tháng 3/2026 (tháng gần nhất đã trọn tháng)" in page
        assert tile["value"] is not None


def test_every_link_a_tile_gives_opens(fed: TestClient) -> None:
    """Each tile's drill-down and the drill-down of each unit or target it names open a
    page (no 404, no error): a leader clicking through never lands nowhere."""
    tiles = _tiles(fed.get("/api/v1/dashboard").json())
    links: set[str] = set()

    def walk(node: Any) -> None:
        if isinstance(node, dict):
            for key, value in node.items():
                if key == "drill" and isinstance(value, str) and value:
                    links.add(value)
                else:
                    walk(value)
        elif isinstance(node, list):
            for item in node:
                walk(item)

    walk(tiles)
    assert "/intake/data-quality" in links  # chiso's own share of values from systems
    broken = {link: r.status_code for link in sorted(links)
              if (r := fed.get(link)).status_code >= 400}
    assert broken == {}
