"""Scoring methods as catalog data, and the pure scoring function (docs/scoring.md)."""

from __future__ import annotations

from datetime import date
from pathlib import Path

import pytest

from chiso.catalog.errors import CatalogError
from chiso.catalog.loader import load_catalog
from chiso.catalog.methods import Method, criteria
from chiso.scoring.score import CriterionInput, score


@pytest.fixture(scope="module")
def methods():  # type: ignore[no-untyped-def]
    cat = load_catalog()
    assert cat.methods is not None
    return cat.methods


def test_766_has_five_groups_of_100_points(methods) -> None:  # type: ignore[no-untyped-def]
    m = methods.in_force("dvc-766", date(2026, 6, 1))
    for kind in ("department", "commune"):
        tops = m.kinds[kind]
        assert [g.points for g in tops] == [18, 20, 22, 22, 18]
        assert sum(g.points or 0 for g in tops) == 100


def test_dx_frame_counts_and_provisional_label(methods) -> None:  # type: ignore[no-untyped-def]
    m = methods.in_force("dx-5279", date(2026, 6, 1))
    assert m.provisional
    assert "PROVISIONAL" in m.name_en
    dept, comm = m.kinds["department"], m.kinds["commune"]
    assert [len(criteria([g])) for g in dept] == [3, 4, 2, 3, 5, 11, 1, 3, 2]
    assert len(criteria(dept)) == 34
    assert [len(criteria([g])) for g in comm] == [5, 3, 5, 6, 4, 10, 6, 8]
    assert len(criteria(comm)) == 47
    assert sum(g.points or 0 for g in dept) == sum(g.points or 0 for g in comm) == 100
    bound = [c for c in criteria(dept) if c.awaiting_data is None]
    assert any(c.indicator == "tthc.on_time_rate" for c in bound)


def test_plan_completion_loads(methods) -> None:  # type: ignore[no-untyped-def]
    m = methods.in_force("plan-completion", date(2026, 6, 1))
    assert m.missing == "exclude"


TREE = {
    "code": "t", "version": "1", "valid_from": "2026-01-01", "name_vi": "Thử", "name_en": "Test",
    "missing": "zero", "total": 100,
    "kinds": {"commune": [
        {"code": "A", "name_vi": "Nhóm A", "points": 60, "children": [
            {"code": "a1", "name_vi": "a1", "weight": 1, "indicator": "tthc.on_time_rate",
             "function": {"kind": "linear", "floor": 50, "target": 100}},
            {"code": "a2", "name_vi": "a2", "weight": 2, "indicator": "tthc.data_reuse_rate",
             "function": {"kind": "threshold", "threshold": 80}},
        ]},
        {"code": "B", "name_vi": "Nhóm B", "points": 40, "children": [
            {"code": "b1", "name_vi": "b1", "points": 20, "indicator": "x.y",
             "function": {"kind": "bands", "bands": [{"at": 50, "share": 0.5},
                                                     {"at": 90, "share": 1}]}},
            {"code": "b2", "name_vi": "b2", "points": 20, "tasks": ["131/KH-UBND:*"],
             "function": {"kind": "tasks", "late_share": 0.5}},
        ]},
    ]},
}


def method(rule: str) -> Method:
    return Method.model_validate({**TREE, "missing": rule})


FULL = {
    "a1": CriterionInput(value=90),  # 20 × 0.8 = 16
    "a2": CriterionInput(value=85),  # 40 × 1 = 40
    "b1": CriterionInput(value=60),  # 20 × 0.5 = 10
    "b2": CriterionInput(on_time=6, late=2, overdue=2),  # 20 × (6 + 1) / 10 = 14
}


def test_score_small_tree() -> None:
    root = score(method("zero"), "commune", FULL)
    assert root.points == pytest.approx(80)
    assert root.find("a1").points == pytest.approx(16)
    assert root.find("a1").max_points == pytest.approx(20)
    assert "90 − 50" in root.find("a1").formula
    assert root.find("b2").points == pytest.approx(14)
    assert not root.missing


def test_missing_zero() -> None:
    inputs = {**FULL, "a2": CriterionInput(missing=True, last_known=85)}
    root = score(method("zero"), "commune", inputs)
    assert root.points == pytest.approx(40)
    assert root.find("a2").missing
    assert root.missing
    assert root.find("A").missing


def test_missing_exclude_reweights() -> None:
    inputs = {k: v for k, v in FULL.items() if k != "a2"}  # absent entry = missing
    root = score(method("exclude"), "commune", inputs)
    a = root.find("A")
    assert root.find("a2").excluded
    assert a.points == pytest.approx(16 / 20 * 60)  # a1's share scaled to the group's 60
    assert root.points == pytest.approx(48 + 24)
    assert a.missing


def test_missing_last_known() -> None:
    inputs = {**FULL, "a2": CriterionInput(missing=True, last_known=70,
                                           last_known_period="2026-05"),
              "b1": CriterionInput(missing=True)}
    root = score(method("last_known"), "commune", inputs)
    a2, b1 = root.find("a2"), root.find("b1")
    assert a2.stale
    assert a2.points == 0  # 70 is below the 80 threshold
    assert "2026-05" in a2.formula
    assert b1.missing
    assert b1.points == 0  # no last known value: zero, and shown
    assert root.points == pytest.approx(16 + 0 + 0 + 14)


def test_points_must_add_up(tmp_path: Path) -> None:
    import shutil

    import yaml

    from chiso.catalog.loader import DEFAULT_DATA_DIR

    data = tmp_path / "data"
    shutil.copytree(DEFAULT_DATA_DIR, data)
    bad = {**TREE}
    bad["kinds"] = {"commune": [{**TREE["kinds"]["commune"][0], "points": 70},  # type: ignore[index]
                                TREE["kinds"]["commune"][1]]}  # type: ignore[index]
    (data / "methods" / "bad.yaml").write_text(yaml.safe_dump({"method": bad}), encoding="utf-8")
    with pytest.raises(CatalogError) as err:
        load_catalog(data)
    assert "bad.yaml" in str(err.value)
    assert "points" in str(err.value)


def test_766_attainable_maximum_is_100(methods) -> None:  # type: ignore[no-untyped-def]
    """Criteria awaiting data (no source for any unit) are left out and their siblings
    re-weighted, so a unit at the top of every measured criterion scores 100, not 68; a
    criterion measured for others but missing for this unit still earns 0."""
    m = methods.in_force("dvc-766", date(2026, 6, 1))
    for kind in ("department", "commune"):
        bound = [c.code for c in criteria(m.kinds[kind]) if c.awaiting_data is None]
        awaiting = [c.code for c in criteria(m.kinds[kind]) if c.awaiting_data is not None]
        assert awaiting  # the case this rule is for
        full = {code: CriterionInput(value=100.0) for code in bound}
        root = score(m, kind, full)
        assert root.max_points == 100
        assert root.points == pytest.approx(100)
        for code in awaiting:
            node = root.find(code)
            assert node.excluded
            assert node.missing
            assert node.formula.startswith("awaiting data:")
        one_missing = {k: v for k, v in full.items() if k != bound[0]}
        short = score(m, kind, one_missing)
        assert short.points < 100
        assert not short.find(bound[0]).excluded
