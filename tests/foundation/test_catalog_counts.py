"""The counts the issue requires, and every agency name resolving to a unit or group."""

from __future__ import annotations

import json

from typer.testing import CliRunner

from chiso.catalog.loader import Catalog
from chiso.cli import app


def test_plan_131_counts(catalog: Catalog) -> None:
    stats = catalog.stats()["131/KH-UBND"]
    assert stats["target_rows"] == 49  # rows of Appendix 01; the body-only target has none
    assert stats["targets"] == 61  # 60 atomic thresholds and the body-only target
    assert stats["tasks"] == 54
    assert stats["appendix_task_rows"] == 94


def test_appendix_01_holds_60_thresholds_in_49_rows(catalog: Catalog) -> None:
    in_appendix = [t for t in catalog.plan("131/KH-UBND").targets if t.row is not None]
    assert len(in_appendix) == 60
    assert sorted({t.row for t in in_appendix}) == list(range(1, 50))


def test_appendix_02_rows_are_numbered_1_to_94(catalog: Catalog) -> None:
    rows = [t.row for t in catalog.plan("131/KH-UBND").tasks if t.section == "appendix"]
    assert sorted(rows) == list(range(1, 95))  # type: ignore[type-var]


def test_sme_plan_232_counts(catalog: Catalog) -> None:
    stats = catalog.stats()["232/KH-UBND"]
    assert stats["targets"] == 4
    assert stats["appendix_task_rows"] == 25


def test_smart_city_plan_243_counts(catalog: Catalog) -> None:
    stats = catalog.stats()["243/KH-UBND"]
    assert stats["tasks"] == 12
    assert stats["targets"] == 2


def test_2024_plan_has_one_numeric_target_and_its_task_bullets(catalog: Catalog) -> None:
    entry = next(e for e in catalog.plans.values() if e.seed.startswith("003_"))
    assert len(entry.targets) == 1
    assert len(entry.tasks) > 0


def test_press_release_announces_the_instruments(catalog: Catalog) -> None:
    entry = next(e for e in catalog.plans.values() if e.seed.startswith("000_"))
    assert {"232/KH-UBND", "3060/QĐ-UBND"} <= set(entry.plan.related)
    assert any(t.id.startswith("QD3060") for t in entry.tasks)


def test_every_agency_name_resolves(catalog: Catalog) -> None:
    unresolved = sorted({ref.name for ref in catalog.unresolved()})
    assert unresolved == []


def test_source_defects_are_recorded_as_notes(catalog: Catalog) -> None:
    tasks = {t.id: t for t in catalog.plan("131/KH-UBND").tasks}
    for nameless in ("PL02.57", "PL02.67", "PL02.68", "PL02.69"):
        assert tasks[nameless].title is None
        assert any(n.kind == "missing_name" for n in tasks[nameless].notes)
    assert any(n.kind == "foreign_text" for n in tasks["PL02.52"].notes)
    ranged = [t for t in catalog.plan("131/KH-UBND").targets if t.threshold_high is not None]
    assert ranged
    assert all(any(n.kind == "range" for n in t.notes) for t in ranged)


def test_stats_cli_prints_json_keyed_by_plan_number() -> None:
    result = CliRunner().invoke(app, ["catalog", "stats", "--json"])
    assert result.exit_code == 0, result.output
    stats = json.loads(result.output)
    assert stats["131/KH-UBND"]["targets"] == 61
