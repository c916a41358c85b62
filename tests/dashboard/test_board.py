"""The dashboard's tiles on both databases: the tile files, the numbers the board computes
against the measurement API's own, statuses, and the live path (the board follows the change
stream and sends changed tiles to the open page)."""

from __future__ import annotations

import asyncio
import shutil
import threading
import time
from dataclasses import replace
from datetime import date, timedelta
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient
from markupsafe import escape
from sqlalchemy import Engine
from tests.factories import feed_contract, monthly_dossier

from chiso.catalog.dashboard import Goal, load_dashboard
from chiso.catalog.errors import CatalogError
from chiso.catalog.loader import DEFAULT_DATA_DIR, Catalog
from chiso.config import Settings
from chiso.context import Hub, Runtime
from chiso.dashboard.board import Board, goal_status, opening_day
from chiso.intake.sources import add_source
from chiso.runtime import create_app
from chiso.web import deps

TODAY = date(2026, 3, 28)
HOAN_KIEM, BA_DINH = "00070", "00004"


def test_the_tile_files_hold_at_least_ten_groups_each_tile_a_question(catalog: Catalog
                                                                       ) -> None:
    board = catalog.dashboard
    assert board is not None
    assert len(board.groups) >= 10
    assert [g.group.order for g in board.groups] == sorted(g.group.order for g in board.groups)
    for g in board.groups:
        for t in g.tiles:
            assert t.question_vi.endswith("?"), t.id
            assert t.question_en.endswith("?"), t.id
            assert t.group == g.group.id
    kinds = {t.measure.kind for t in board.tiles.values()}
    assert kinds == {"indicator", "tasks", "targets", "ranking", "decisions", "alerts",
                     "own", "sme"}


def _one_file(tmp_path: Path, text: str) -> Path:
    folder = tmp_path / "dashboard"
    folder.mkdir()
    (folder / "01-x.yaml").write_text(text, encoding="utf-8")
    return tmp_path


GROUP = "group: {id: x, order: 1, title_vi: X, title_en: X}\n"


@pytest.mark.parametrize(("tile", "field", "words"), [
    ("{id: a, title_vi: A, title_en: A, question_vi: 'A?', question_en: 'A?', "
     "measure: {kind: indicator, indicator: tthc.nothing}}", "measure.indicator", "no indicator"),
    ("{id: a, title_vi: A, title_en: A, question_vi: 'A?', question_en: 'A?', "
     "measure: {kind: indicator, indicator: tthc.on_time_rate}, target: '131/KH-UBND:Z.9'}",
     "target", "no target"),
    ("{id: a, title_vi: A, title_en: A, question_vi: 'A?', question_en: 'A?', "
     "measure: {kind: ranking, method: nope, units: commune}}", "measure.method", "no scoring"),
    ("{id: a, title_vi: A, title_en: A, question_vi: 'A?', "
     "measure: {kind: decisions}}", "question_en", "Field required"),
])
def test_a_broken_tile_is_refused_naming_file_tile_and_field(
        tmp_path: Path, catalog: Catalog, tile: str, field: str, words: str) -> None:
    data = _one_file(tmp_path, GROUP + f"tiles:\n  - {tile}\n")
    with pytest.raises(CatalogError) as err:
        load_dashboard(data, catalog.plans, catalog.measurement, catalog.methods)
    assert err.value.item in ("a", "tiles[0] (a)")
    assert err.value.field == field
    assert words in err.value.message
    assert err.value.file.endswith("01-x.yaml")


def test_two_tiles_with_one_id_are_refused(tmp_path: Path, catalog: Catalog) -> None:
    shutil.copytree(DEFAULT_DATA_DIR / "dashboard", tmp_path / "dashboard")
    (tmp_path / "dashboard" / "99-dup.yaml").write_text(
        "group: {id: dup, order: 99, title_vi: D, title_en: D}\ntiles:\n"
        "  - {id: ho-so-dung-han, title_vi: A, title_en: A, question_vi: 'A?', "
        "question_en: 'A?', measure: {kind: decisions}}\n", encoding="utf-8")
    with pytest.raises(CatalogError, match="two tiles share this id"):
        load_dashboard(tmp_path, catalog.plans, catalog.measurement, catalog.methods)


@pytest.mark.parametrize(("goal", "value", "status"), [
    (Goal(op="<=", value=0, margin=5), 0, "met"), (Goal(op="<=", value=0, margin=5), 4, "at_risk"),
    (Goal(op="<=", value=0, margin=5), 6, "behind"), (Goal(op=">=", value=90), 89.9, "behind"),
    (Goal(op=">", value=90), 90, "behind"), (Goal(op=">=", value=90), None, "no_data")])
def test_goal_status(goal: Goal, value: float | None, status: str) -> None:
    assert goal_status(goal, value) == status


def _push(client: TestClient, engine: Engine, unit: str, per_month: dict[int, int]) -> int:
    token = add_source(engine, f"dvc-{unit}", ["tthc.dossier"], [unit])
    records = [monthly_dossier(m * 100 + i, unit, m, i < k) for m, k in per_month.items()
               for i in range(10)]
    r = client.post("/api/v1/feeds/tthc.dossier/records", json=records,
                    headers={"Authorization": f"Bearer {token}"})
    assert r.status_code == 200, r.text
    return len(records)


def _tile(board: dict[str, Any], tile_id: str) -> dict[str, Any]:
    return next(t for g in board["groups"] for t in g["tiles"] if t["id"] == tile_id)


def test_tiles_show_what_the_measurement_and_outlook_apis_say(fresh_client: TestClient,
                                                               fresh_engine: Engine) -> None:
    fresh_client.app.dependency_overrides[deps.today] = lambda: TODAY  # type: ignore[attr-defined]
    _push(fresh_client, fresh_engine, HOAN_KIEM, {1: 10, 2: 9, 3: 9})
    _push(fresh_client, fresh_engine, BA_DINH, {1: 8, 2: 6, 3: 4})
    board = fresh_client.get("/api/v1/dashboard").json()
    on_time = _tile(board, "ho-so-dung-han")
    values = fresh_client.get("/api/v1/indicators/tthc.on_time_rate/values",
                              params={"period": "2026-03"}).json()["values"][0]
    assert on_time["value"] == pytest.approx(values["value"]) == pytest.approx(65.0)
    assert on_time["period"] == "2026-03"
    assert on_time["records"] == 20
    # The unit pulling the number down comes first, with its own value.
    assert [w["unit"] for w in on_time["where"]] == [BA_DINH, HOAN_KIEM]
    assert on_time["where"][0]["value"] == pytest.approx(40.0)
    outlook = fresh_client.get("/api/v1/plans/131-KH-UBND/targets/I.11/outlook").json()
    assert on_time["status_text"]["vi"] == outlook["status"]
    assert on_time["target"]["threshold"] == 98
    assert on_time["target"]["deadline"] == "2026-12-31"
    assert [p["month"] for p in on_time["trend"]] == ["2026-01", "2026-02", "2026-03"]
    assert on_time["trend"][0]["value"] == pytest.approx(90.0)
    received = _tile(board, "ho-so-tiep-nhan")
    assert received["value"] == 20
    assert received["status"] is None
    assert received["as_of"] is not None
    assert received["stale"] is False
    single = fresh_client.get("/api/v1/dashboard/tiles/ho-so-dung-han").json()
    assert single["value"] == on_time["value"]
    assert fresh_client.get("/api/v1/dashboard/tiles/nothing").status_code == 404
    # The page shows the same numbers, the Vietnamese way.
    page = fresh_client.get("/").text
    assert "65%" in page
    assert "Bao nhiêu phần trăm hồ sơ đến hạn" in page
    assert page.count("data-tile=") == len(fresh_client.app.state.board.tiles)  # type: ignore[attr-defined]
    english = fresh_client.get("/", params={"lang": "en"}).text
    assert "What share of dossiers due this month were resolved on time" in english


def test_tiles_carry_their_binding_notes(fresh_client: TestClient, catalog: Catalog) -> None:
    fresh_client.app.dependency_overrides[deps.today] = lambda: TODAY  # type: ignore[attr-defined]
    m = catalog.measurement
    assert m is not None
    board = fresh_client.get("/api/v1/dashboard").json()
    with_target = [t for g in board["groups"] for t in g["tiles"]
                   if t.get("target") and "plan" in t["target"]]  # not a goal's
    assert with_target
    noted = []
    for t in with_target:
        plan, tid = t["target"]["plan"], t["target"]["id"]
        binding = m.plans[plan].bindings.get(tid)
        assert t["target"]["note"] == (binding.note if binding else None)
        assert t["target"]["note_vi"] == (binding.note_vi if binding else None)
        if binding and binding.note and binding.note_vi:
            noted.append((binding.note_vi, binding.note))
    assert noted  # the catalog's tiles include targets whose bindings carry caveats
    page = fresh_client.get("/").text
    english = fresh_client.get("/", params={"lang": "en"}).text
    assert "Cách đo:" in page
    assert "How it is measured:" in english
    for vi, en in noted:  # each reader reads the note in their language
        assert str(escape(vi)) in page
        assert str(escape(en)) in english


def test_stale_data_is_marked(fresh_engine: Engine, catalog: Catalog) -> None:
    records = [monthly_dossier(i, HOAN_KIEM, 3, True) for i in range(3)]
    from chiso.intake.pipeline import Provenance, ingest
    assert ingest(fresh_engine, feed_contract("tthc.dossier"), records, Provenance("t", "push"),
                  b"{}", "application/json").accepted
    board = Board(fresh_engine, catalog, today=lambda: TODAY)
    board.refresh(["ho-so-tiep-nhan"])
    assert board.views["ho-so-tiep-nhan"]["stale"] is False
    later = Board(fresh_engine, catalog, today=lambda: TODAY)
    from datetime import UTC, datetime, timedelta
    with fresh_engine.connect() as conn:
        from chiso.dashboard.board import tile_view
        view = tile_view(conn, catalog, catalog.dashboard.tiles["ho-so-tiep-nhan"],  # type: ignore[union-attr]
                         TODAY, now=datetime.now(UTC) + timedelta(hours=5))
    assert view["stale"] is True  # the tile allows 4 hours
    assert later.views == {}


def test_the_board_follows_the_stream_and_sends_changed_tiles(fresh_runtime: Runtime,
                                                             fresh_engine: Engine) -> None:
    settings = Settings(database_url=fresh_engine.url.render_as_string(hide_password=False),
                        dashboard_follow=True)
    app = create_app(settings, replace(fresh_runtime, settings=settings))
    with TestClient(app) as client:
        token = add_source(fresh_engine, "dvc-live", ["tthc.dossier"], [HOAN_KIEM])
        today = date.today()
        first = client.get("/api/v1/dashboard").json()
        before = _tile(first, "ho-so-tiep-nhan")["value"] or 0

        def push_when_listening() -> None:
            for _ in range(100):
                if fresh_runtime.hub.subscribers >= 2:  # the board and the page's stream
                    break
                time.sleep(0.05)
            day = opening_day(today)  # in a month's first week the tile shows the last one
            rec = monthly_dossier(1, HOAN_KIEM, day.month, True)
            rec.update(id="HS-LIVE-1", received_at=f"{day:%Y-%m-%d}T08:30:00+07:00",
                       due_at=f"{day + timedelta(days=7):%Y-%m-%d}T17:00:00+07:00",
                       resolved_at=None, status="processing", result_electronic=None,
                       updated_at=f"{today:%Y-%m-%d}T08:31:00+07:00")
            r = client.post("/api/v1/feeds/tthc.dossier/records", json=[rec],
                            headers={"Authorization": f"Bearer {token}"})
            pushed.append(r.status_code)

        pushed: list[int] = []

        threading.Thread(target=push_when_listening).start()
        fragments = []
        deadline = time.monotonic() + 40
        with client.stream("GET", "/dashboard/stream?limit=50",
                           headers={"Accept": "text/event-stream"}) as r:
            event = None
            for line in r.iter_lines():
                assert time.monotonic() < deadline, f"no tile event; push answered {pushed}"
                if line.startswith("event: "):
                    event = line[7:]
                elif line.startswith("data: ") and event == "tile-ho-so-tiep-nhan":
                    fragments.append(line[6:])
                elif not line and fragments:
                    break  # the tile's event is complete
        html = "\n".join(fragments)
        assert 'data-tile="ho-so-tiep-nhan"' in html
        after = _tile(client.get("/api/v1/dashboard").json(), "ho-so-tiep-nhan")["value"]
        assert after == before + 1
        assert f'data-value="{after}"' in html


def test_an_idle_board_keeps_its_forecasts(fresh_runtime: Runtime,
                                           fresh_engine: Engine) -> None:
    """The slow pass refreshes the calendar tiles (tasks, decisions, alerts) every time, but
    recomputes the forecasts of the targets tiles only after a value moved (or the day)."""
    board = Board(fresh_engine, fresh_runtime.catalog, Hub(), today=lambda: TODAY)
    targets = board.by_kind.get("targets", set())
    calendar = set().union(*(board.by_kind.get(k, set())
                             for k in ("tasks", "decisions", "alerts")))
    assert targets
    assert calendar

    async def passes(sub: Any, n: int) -> list[set[str]]:
        got: list[set[str]] = []
        while len(got) < n:
            item = await asyncio.wait_for(sub.queue.get(), 60)
            if item.get("type") == "tiles":
                got.append(set(item["ids"]))
        return got

    async def run() -> tuple[list[set[str]], list[set[str]]]:
        sub = board.hub.subscribe(bounded=False)
        task = asyncio.create_task(board.follow(debounce=0.05, slow=0.2))
        idle = await passes(sub, 2)
        board.hub.publish([{"indicator": "no.such.indicator", "unit": HOAN_KIEM,
                            "period": TODAY.isoformat(), "value": 1.0}])
        moved = await passes(sub, 2)
        task.cancel()
        return idle, moved

    idle, moved = asyncio.run(run())
    assert all(calendar <= ids and not ids & targets for ids in idle), idle
    assert any(targets <= ids for ids in moved), moved
