"""Yearly milestones of plan 232's running totals: linear by default and shown as such,
operator settings with their refusals, and the outlook judged against this year's milestone
as well as the 2030 target, on SQLite and PostgreSQL."""

from __future__ import annotations

import json
from datetime import UTC, date, datetime
from typing import Any

import pytest
from sqlalchemy import Engine, select
from tests.factories import feed_contract
from typer.testing import CliRunner

from chiso.catalog.loader import Catalog
from chiso.intake.pipeline import Provenance, ingest
from chiso.outlook import milestones as ms
from chiso.outlook.live import target_outlook
from chiso.store.catalog_sync import plan_key

PLAN = "232/KH-UBND"
KEY = plan_key(PLAN)
NOW = datetime(2027, 1, 5, 9, 0, tzinfo=UTC)


def _target(catalog: Catalog, tid: str) -> tuple[Any, Any]:
    assert catalog.measurement is not None
    t = next(x for x in catalog.plan(PLAN).targets if x.id == tid)
    return t, catalog.measurement.binding(PLAN, tid)


def test_linear_default_is_the_threshold_spread_over_the_plan_years() -> None:
    got = ms.linear(120000, date(2026, 1, 1), date(2030, 12, 31))
    assert got == {2026: 24000, 2027: 48000, 2028: 72000, 2029: 96000, 2030: 120000}


def test_operator_sets_and_resets_milestones(fresh_engine: Engine, catalog: Catalog) -> None:
    t, b = _target(catalog, "T1")
    with fresh_engine.begin() as conn:
        ladder = ms.milestones(conn, KEY, t, b)
        assert [m.source for m in ladder] == [ms.LINEAR] * 5
        ms.set_milestones(conn, KEY, t, b, {2026: 15000, 2027: 40000}, "vanhanh", NOW)
    with fresh_engine.begin() as conn:
        ladder = ms.milestones(conn, KEY, t, b)
        assert [(m.year, m.value, m.source) for m in ladder[:3]] == [
            (2026, 15000, ms.OPERATOR), (2027, 40000, ms.OPERATOR), (2028, 72000, ms.LINEAR)]
        assert ladder[0].set_by == "vanhanh"
        ms.set_milestones(conn, KEY, t, b, {2026: None}, "vanhanh", NOW)
    with fresh_engine.connect() as conn:
        first = ms.milestones(conn, KEY, t, b)[0]
    assert (first.value, first.source) == (24000, ms.LINEAR)


@pytest.mark.parametrize(("values", "message"), [
    ({2031: 1.0}, "year 2031: the plan runs 2026–2030"),
    ({2030: 1.0}, "is the deadline"),
    ({2027: -5.0}, "cannot be negative"),
    ({2027: 10000.0}, "would undo 2026's 24000"),
])
def test_a_milestone_that_makes_no_sense_is_refused(
    fresh_engine: Engine, catalog: Catalog, values: dict[int, float], message: str,
) -> None:
    t, b = _target(catalog, "T1")
    with fresh_engine.begin() as conn, pytest.raises(ms.MilestoneError, match=message):
        ms.set_milestones(conn, KEY, t, b, values, "vanhanh", NOW)


def _consultants(engine: Engine) -> None:
    """Three consultants join every month from January 2026 to June 2027 (54 in all): on
    course for 125 by 2030, well short of an operator's 120 by the end of 2027."""
    records = []
    for i in range(54):
        year, month = 2026 + i // 36, (i // 3) % 12 + 1
        at = f"{year}-{month:02d}-{10 + i % 3:02d}T09:00:00+07:00"
        records.append({"id": f"TV-{i}", "unit": "SKHCN", "name": f"Tư vấn viên {i}",
                        "member_kind": "individual", "admitted_at": at, "status": "active",
                        "updated_at": at})
    out = ingest(engine, feed_contract("sme.consultant"), records, Provenance("t", "push"),
                 b"{}", "application/json")
    assert out.accepted, out.as_dict()


def test_outlook_is_judged_against_this_years_milestone(fresh_engine: Engine,
                                                        catalog: Catalog) -> None:
    _consultants(fresh_engine)
    today = date(2027, 6, 30)
    with fresh_engine.connect() as conn:
        linear_case = target_outlook(conn, catalog, PLAN, "T4", None, today)
    assert linear_case["series"][-1]["value"] == 54  # the running total, not June's 9
    assert linear_case["series"][0]["value"] == 3
    m = linear_case["milestone"]
    assert (m["year"], m["value"], m["source"]) == (2027, 50, ms.LINEAR)
    assert not m["flagged"]
    assert not linear_case["flagged"]
    t, b = _target(catalog, "T4")
    with fresh_engine.begin() as conn:
        ms.set_milestones(conn, KEY, t, b, {2026: 60, 2027: 120, 2028: 122, 2029: 124},
                          "vanhanh", NOW)
    with fresh_engine.connect() as conn:
        got = target_outlook(conn, catalog, PLAN, "T4", None, today)
    assert got["deadline_status"] == linear_case["deadline_status"]
    assert (got["milestone"]["value"], got["milestone"]["source"]) == (120, ms.OPERATOR)
    assert got["milestone"]["status"] == "chậm tiến độ"
    assert got["status"] == "chậm tiến độ"
    assert got["flagged"]


def test_cli_sets_shows_and_refuses_with_one_line(fresh_engine: Engine,
                                                  monkeypatch: pytest.MonkeyPatch) -> None:
    from chiso.cli import app
    from chiso.config import get_settings
    from chiso.store.tables import audit_log

    monkeypatch.setenv("CHISO_DATABASE_URL",
                       fresh_engine.url.render_as_string(hide_password=False))
    get_settings.cache_clear()
    try:
        ok = CliRunner().invoke(app, ["milestones", "set", PLAN, "T1", "2026=20000",
                                      "--actor", "vanhanh"])
        assert ok.exit_code == 0, ok.output
        shown = json.loads(ok.output)
        assert shown[0] == {"year": 2026, "value": 20000.0, "source": "operator",
                            "set_by": "vanhanh", "set_at": shown[0]["set_at"]}
        assert shown[1]["source"] == "linear_default"
        bad = CliRunner().invoke(app, ["milestones", "set", PLAN, "T1", "2030=1",
                                       "--actor", "vanhanh"])
        assert bad.exit_code == 2
        assert "is the deadline" in bad.output
        assert "Traceback" not in bad.output
    finally:
        get_settings.cache_clear()
    with fresh_engine.connect() as conn:
        actions = list(conn.execute(select(audit_log.c.action, audit_log.c.actor)))
    assert ("milestones.set", "vanhanh") in actions
