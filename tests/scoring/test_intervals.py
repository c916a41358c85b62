"""Scores carry an interval from the counts behind them: a commune with 12 dossiers a month
cannot be told apart from its neighbours on one late dossier, and a move that small is
said to be within noise. Pure functions, then stored scores through the API and the ranking
page, on SQLite and on PostgreSQL."""

from __future__ import annotations

from datetime import date

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import Engine
from tests.scoring.interval_data import _send

from chiso.catalog.loader import Catalog
from chiso.catalog.methods import criteria
from chiso.scoring.intervals import apart, share_interval
from chiso.scoring.live import compute
from chiso.scoring.score import CriterionInput, score
from chiso.web import deps

TODAY = date(2026, 4, 10)
SMALL, BIG = "00070", "00004"


def test_share_interval_narrows_with_the_records() -> None:
    few = share_interval(91.67, 100, 12)
    many = share_interval(91.67, 100, 12_000)
    assert few is not None
    assert many is not None
    assert few[0] < 80 < 91.67 < few[1] < 100
    assert many[1] - many[0] < 1.2
    assert many[0] < 91.67 < many[1]
    assert share_interval(100.0, 100, 12) == (pytest.approx(share_interval(100, 100, 12)[0]),
                                              100.0)  # the estimate stays inside
    assert share_interval(5.0, 100, 0) is None


def test_apart_compares_a_difference_with_both_widths() -> None:
    assert not apart((18.3, 13.0, 19.9), (19.0, 18.6, 19.3))
    assert apart((10.0, 9.5, 10.5), (19.0, 18.6, 19.3))
    assert not apart((5.0, 5.0, 5.0), (5.0, 5.0, 5.0))  # equal points: a tie, not apart
    assert apart((5.0, 5.0, 5.0), (4.0, 4.0, 4.0))  # no interval known: every gap counts


def test_score_interval_propagates_through_the_weights(catalog: Catalog) -> None:
    assert catalog.methods is not None
    m = catalog.methods.in_force("dvc-766", date(2026, 3, 1))
    codes = [c.code for c in criteria(m.kinds["commune"]) if c.awaiting_data is None]
    sure = {c: CriterionInput(value=90.0) for c in codes}
    root = score(m, "commune", sure)
    assert root.bounds() == (root.points, root.points)  # no counts known: no width
    lo, hi = share_interval(90.0, 100, 12) or (0, 0)
    unsure = {**sure, "2.1": CriterionInput(value=90.0, low=lo, high=hi)}
    root = score(m, "commune", unsure)
    node = root.find("2.1")
    low, high = node.bounds()
    assert low == pytest.approx(20 * lo / 100)
    assert high == pytest.approx(20 * hi / 100)
    # group 2 holds that one criterion and the root sums its groups: the same width
    r_low, r_high = root.bounds()
    assert r_low < root.points < r_high
    assert root.points - r_low == pytest.approx(node.points - low)
    # group 1 re-weights 1.3 over its 6 measured points of 18: its width scales likewise
    r13 = {**sure, "1.3": CriterionInput(value=90.0, low=lo, high=hi)}
    g1 = score(m, "commune", r13).find("1")
    c13 = g1.children[2]
    assert g1.points - g1.bounds()[0] == pytest.approx((c13.points - c13.bounds()[0]) * 3)
    # two uncertain criteria add in quadrature, not in a straight sum
    both = {**unsure, "3.1": CriterionInput(value=90.0, low=lo, high=hi)}
    two = score(m, "commune", both)
    w1 = node.points - low
    w2 = two.find("3.1").points - two.find("3.1").bounds()[0]
    assert two.points - two.bounds()[0] == pytest.approx((w1 ** 2 + w2 ** 2) ** 0.5)




@pytest.fixture
def api(fresh_client: TestClient) -> TestClient:
    fresh_client.app.dependency_overrides[deps.today] = lambda: TODAY  # type: ignore[attr-defined]
    return fresh_client


def test_ranking_shows_units_that_cannot_be_told_apart(fresh_engine: Engine, catalog: Catalog,
                                                       api: TestClient) -> None:
    # the small commune: 12 of 12 on time, then 11 of 12; the big one: 200 of 400, then 380
    _send(fresh_engine, SMALL, 2, 12, 12)
    _send(fresh_engine, SMALL, 3, 12, 11)
    _send(fresh_engine, BIG, 2, 400, 200)
    _send(fresh_engine, BIG, 3, 400, 380)
    for period in ("2026-02", "2026-03"):
        compute(fresh_engine, catalog, "dvc-766", period, TODAY)

    r = api.get("/api/v1/rankings/dvc-766", params={"kind": "commune", "period": "2026-03"})
    assert r.status_code == 200, r.text
    rows = {u["unit"]: u for u in r.json()["units"]}
    big, small = rows[BIG], rows[SMALL]
    assert (big["rank"], small["rank"]) == (1, 2)
    # 95% against 91.7% of twelve: the data cannot order them
    assert (big["rank_best"], big["rank_worst"]) == (1, 2)
    assert (small["rank_best"], small["rank_worst"]) == (1, 2)
    assert small["low"] < big["points"] < small["high"]
    assert small["high"] - small["low"] > 5 * (big["high"] - big["low"])
    # one late dossier in twelve: within noise; 50% → 95% of 400: a real move
    assert small["within_noise"] is True
    assert big["within_noise"] is False
    assert {m["criterion"]: m["within_noise"] for m in small["explanation"]}["2.1"] is True
    assert {m["criterion"]: m["within_noise"] for m in big["explanation"]}["2.1"] is False
    # the communes with no data share the last rank and are surely behind both
    last = r.json()["units"][-1]
    assert last["points"] == 0
    assert last["rank_best"] == 3

    tree = api.get(f"/api/v1/scores/dvc-766/{SMALL}", params={"period": "2026-03"}).json()
    assert tree["low"] == pytest.approx(small["low"])
    on_time = next(c for g in tree["tree"]["children"] for c in g.get("children", [])
                   if c["code"] == "2.1")
    assert on_time["low"] < on_time["points"] < on_time["high"]

    page = api.get("/rankings/dvc-766", params={"kind": "commune", "period": "2026-03"})
    assert page.status_code == 200
    html = page.text
    assert f'data-unit="{SMALL}"' in html
    assert 'data-rank-range="1–2"' in html
    assert "trong phạm vi sai số" in html  # the move within noise, said in words
