"""Indicator definitions and the bindings of plan 131, as the catalog loads them."""

from __future__ import annotations

import json
import shutil
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
import yaml
from typer.testing import CliRunner

from chiso.catalog.errors import CatalogError
from chiso.catalog.indicators import (
    Compare,
    CompareFields,
    Indicator,
    Measurement,
    check_condition,
    feed_fields,
    walk,
)
from chiso.catalog.loader import DEFAULT_DATA_DIR, Catalog, load_catalog
from chiso.cli import app

PLAN = "131/KH-UBND"
IND = "indicators"


@pytest.fixture(scope="module")
def measurement() -> Measurement:
    m = load_catalog().measurement
    assert isinstance(m, Measurement)
    return m


@pytest.fixture
def data_dir(tmp_path: Path) -> Path:
    copy = tmp_path / "data"
    shutil.copytree(DEFAULT_DATA_DIR, copy)
    return copy


def _edit(path: Path, change: Callable[[Any], object]) -> None:
    data = yaml.safe_load(path.read_text(encoding="utf-8"))
    change(data)
    path.write_text(yaml.safe_dump(data, allow_unicode=True, sort_keys=False), encoding="utf-8")


def _at(d: dict[str, Any], target: str) -> dict[str, Any]:
    return next(b for b in d["bindings"] if b["target"] == target)  # type: ignore[no-any-return]


# --- every target accounted for -----------------------------------------------------------


def test_every_target_of_131_is_bound_or_awaiting_exactly_once(
    catalog: Catalog, measurement: Measurement
) -> None:
    targets = [t.id for t in catalog.plan(PLAN).targets]
    assert len(targets) == 61
    bindings = measurement.plans[PLAN].bindings
    assert sorted(bindings) == sorted(targets)
    for tid in targets:
        b = bindings[tid]
        assert bool(b.indicators) != bool(b.awaiting_data), tid


def test_stats_counts_bound_and_awaiting(catalog: Catalog) -> None:
    stats = catalog.stats()[PLAN]
    assert stats["bound_targets"] + stats["awaiting_data"] == 61
    # every target has a source that can publish it (docs/indicators.md)
    assert stats["bound_targets"] == 61
    assert stats["awaiting_data"] == 0


def test_cli_stats_json_has_the_keys() -> None:
    result = CliRunner().invoke(app, ["catalog", "stats", "--json"])
    assert result.exit_code == 0, result.output
    stats = json.loads(result.output)[PLAN]
    assert stats["bound_targets"] + stats["awaiting_data"] == stats["targets"] == 61


def test_a_dropped_target_fails_the_load(data_dir: Path) -> None:
    path = data_dir / IND / "bindings-131.yaml"
    _edit(path, lambda d: d["bindings"].remove(_at(d, "I.11")))
    with pytest.raises(CatalogError, match=r"neither bound nor awaiting_data: I\.11") as caught:
        load_catalog(data_dir)
    assert caught.value.file == str(path)


def test_a_target_bound_twice_fails(data_dir: Path) -> None:
    path = data_dir / IND / "bindings-131.yaml"
    _edit(path, lambda d: d["bindings"].append(dict(d["bindings"][0])))
    with pytest.raises(CatalogError, match="bound twice"):
        load_catalog(data_dir)


def test_bound_and_awaiting_at_once_is_refused(data_dir: Path) -> None:
    path = data_dir / IND / "bindings-131.yaml"
    _edit(path, lambda d: _at(d, "I.11").__setitem__("awaiting_data", "no reason"))
    with pytest.raises(CatalogError) as caught:
        load_catalog(data_dir)
    assert caught.value.item is not None
    assert "I.11" in caught.value.item


def test_a_note_in_one_language_only_is_refused(data_dir: Path) -> None:
    path = data_dir / IND / "bindings-131.yaml"
    _edit(path, lambda d: _at(d, "III.7").pop("note_vi"))
    with pytest.raises(CatalogError, match="note_vi") as caught:
        load_catalog(data_dir)
    assert caught.value.item is not None
    assert "III.7" in caught.value.item


def test_direction_must_agree_with_the_target(data_dir: Path) -> None:
    path = data_dir / IND / "bindings-131.yaml"
    # I.12 is "< 5%": an indicator where higher is better cannot judge it.
    _edit(path, lambda d: _at(d, "I.12").__setitem__("indicators", ["tthc.on_time_rate"]))
    with pytest.raises(CatalogError, match="direction") as caught:
        load_catalog(data_dir)
    assert caught.value.item == "target I.12"
    assert caught.value.field == "indicators"


def test_unknown_target_and_unknown_indicator(data_dir: Path) -> None:
    path = data_dir / IND / "bindings-131.yaml"
    _edit(path, lambda d: d["bindings"][0].__setitem__("target", "I.99"))
    with pytest.raises(CatalogError, match=r"no target I\.99"):
        load_catalog(data_dir)
    shutil.copy(DEFAULT_DATA_DIR / IND / "bindings-131.yaml", path)
    _edit(path, lambda d: _at(d, "I.11").__setitem__("indicators", ["tthc.nope"]))
    with pytest.raises(CatalogError, match=r"unknown indicator 'tthc\.nope'"):
        load_catalog(data_dir)


# --- bad indicator files name file, item and field -----------------------------------------


def test_unknown_field_in_a_filter_names_file_item_and_field(data_dir: Path) -> None:
    path = data_dir / IND / "tthc.yaml"
    _edit(path, lambda d: d["indicators"][0]["where"].__setitem__("field", "statuss"))
    with pytest.raises(CatalogError, match="statuss") as caught:
        load_catalog(data_dir)
    err = caught.value
    assert err.file == str(path)
    assert err.item == "tthc.on_time_rate"
    assert err.field is not None
    assert "where" in err.field


def test_schema_error_names_the_indicator(data_dir: Path) -> None:
    path = data_dir / IND / "meetings.yaml"
    _edit(path, lambda d: d["indicators"][0].__setitem__("kind", "mean"))
    with pytest.raises(CatalogError) as caught:
        load_catalog(data_dir)
    err = caught.value
    assert err.file == str(path)
    assert err.item is not None
    assert "meetings.online_rate" in err.item
    assert err.field == "kind"


def test_unknown_key_is_refused(data_dir: Path) -> None:
    path = data_dir / IND / "ihanoi.yaml"
    _edit(path, lambda d: d["indicators"][0].__setitem__("treshold", 5))
    with pytest.raises(CatalogError, match="treshold"):
        load_catalog(data_dir)


def test_unknown_feed(data_dir: Path) -> None:
    path = data_dir / IND / "eoffice.yaml"
    _edit(path, lambda d: d["indicators"][0].__setitem__("feed", "eoffice.memo"))
    with pytest.raises(CatalogError, match="unknown feed") as caught:
        load_catalog(data_dir)
    assert caught.value.field == "feed"


@pytest.mark.parametrize(
    ("cond", "problem"),
    [
        ({"field": "status", "op": "==", "value": "done"}, "not one of status"),
        ({"field": "fully_online", "op": "==", "value": "yes"}, "is a bool"),
        ({"field": "channel", "op": ">", "value": 3}, "numeric field"),
        ({"field": "due_at", "op": "is_null"}, "required, never null"),
        ({"field": "resolved_at", "op": "<=", "other": "due_at", "offset_days_from": "channel"},
         "must be numeric"),
        ({"field": "resolved_at", "op": "<=", "other": "supplement_requests"}, "cannot compare"),
        ({"field": "received_at", "op": "==", "value": "2026-01-01"}, "another field"),
    ],
)
def test_conditions_are_checked_against_field_types(cond: dict[str, Any], problem: str) -> None:
    fields = feed_fields(load_catalog().feeds)["tthc.dossier"]
    wrapped = Indicator.model_validate({
        "code": "tthc.x", "name_vi": "Thử nghiệm", "name_en": "Test", "feed": "tthc.dossier",
        "kind": "count", "time_field": "received_at", "where": cond, "value": {"agg": "count"},
        "unit_of_measure": "hồ sơ", "direction": "higher_is_better",
    })
    assert wrapped.where is not None
    problems = check_condition(wrapped.where, fields)
    assert problems, cond
    assert problem in problems[0][1]


def test_kind_shape_is_enforced() -> None:
    base = {"code": "tthc.x", "name_vi": "Thử nghiệm", "name_en": "Test", "feed": "tthc.dossier",
            "time_field": "received_at", "unit_of_measure": "%", "scale": 100,
            "direction": "higher_is_better"}
    with pytest.raises(ValueError, match="numerator and denominator"):
        Indicator.model_validate(base | {"kind": "ratio", "numerator": {"agg": "count"}})
    with pytest.raises(ValueError, match="does not fit kind"):
        Indicator.model_validate(base | {"kind": "sum", "value": {"agg": "count"}})
    with pytest.raises(ValueError, match="scale 100"):
        Indicator.model_validate(base | {"kind": "count", "value": {"agg": "count"}, "scale": 1})


# --- the definitions themselves ----------------------------------------------------------


def test_every_field_an_indicator_names_is_in_its_feed_contract(
    measurement: Measurement,
) -> None:
    for ind in measurement.indicators.values():
        fields = measurement.feeds[ind.feed]
        assert ind.time_field in fields, ind.code
        conds = [ind.where] + [m.where for _, m in ind.measures()]
        for cond in conds:
            if cond is None:
                continue
            assert check_condition(cond, fields) == [], ind.code
            for leaf in walk(cond):
                names = [leaf.field]
                if isinstance(leaf, CompareFields):
                    names += [leaf.other] + ([leaf.offset_days_from]
                                             if leaf.offset_days_from else [])
                assert all(n in fields for n in names), ind.code
        for _, m in ind.measures():
            assert m.field is None or m.field in fields, ind.code


def test_every_indicator_is_used_or_a_helper(measurement: Measurement) -> None:
    bound = {c for b in measurement.plans[PLAN].bound for c in b.indicators}
    read = {r for c in bound for r in [*measurement.indicators[c].of,
                                       *filter(None, [measurement.indicators[c].fallback])]}
    stats = {c for c in measurement.indicators if c.startswith("stats.")}
    assert stats <= bound | read  # every published code serves a target, bound or read


def test_on_time_rule_of_i11(measurement: Measurement) -> None:
    ind = measurement.indicators["tthc.on_time_rate"]
    assert ind.time_field == "due_at"
    assert ind.numerator is not None
    assert ind.numerator.where is not None
    leaves = list(walk(ind.numerator.where))
    shift = next(x for x in leaves if isinstance(x, CompareFields))
    assert (shift.field, shift.op, shift.other, shift.offset_days_from) == (
        "resolved_at", "<=", "due_at", "supplement_days")
    assert any(isinstance(x, Compare) and x.field == "supplement_requests" and x.value == 1
               for x in leaves)


def test_stats_indicators_name_their_published_code_and_source(
    measurement: Measurement,
) -> None:
    for ind in measurement.indicators.values():
        if ind.feed == "stats.value":
            assert ind.stats_indicators, ind.code
            assert ind.source_hint, ind.code
        else:
            assert not ind.stats_indicators, ind.code


def test_vietnamese_names_carry_diacritics(measurement: Measurement) -> None:
    for ind in measurement.indicators.values():
        assert any(ord(ch) > 127 for ch in ind.name_vi), ind.code


def test_docs_list_every_indicator_and_binding(measurement: Measurement) -> None:
    doc = (Path(__file__).resolve().parents[2] / "docs" / "indicators.md").read_text("utf-8")
    for code in measurement.indicators:
        assert f"| `{code}` |" in doc, code
    for tid in measurement.plans[PLAN].bindings:
        assert f"\n| {tid} |" in doc, tid


def _indicator(d: dict[str, Any], code: str) -> dict[str, Any]:
    return next(i for i in d["indicators"] if i["code"] == code)  # type: ignore[no-any-return]


def test_a_fallback_must_exist_and_measure_alike(data_dir: Path) -> None:
    path = data_dir / IND / "stats.yaml"
    share = "stats.grdp_digital_economy_share"
    _edit(path, lambda d: _indicator(d, share).__setitem__("fallback", "stats.nothing"))
    with pytest.raises(CatalogError, match=r"unknown indicator 'stats\.nothing'") as caught:
        load_catalog(data_dir)
    assert (caught.value.item, caught.value.field) == (share, "fallback")
    _edit(path, lambda d: _indicator(d, share).__setitem__("fallback", "stats.ebi_rank"))
    with pytest.raises(CatalogError, match="not measured in '%'"):
        load_catalog(data_dir)


def test_the_lowest_reads_indicators_of_its_own_feed(data_dir: Path) -> None:
    path = data_dir / IND / "stats.yaml"
    low = "stats.grdp_digital_economy_lowest_sector_share"
    _edit(path, lambda d: _indicator(d, low)["of"].append("stats.ecommerce_retail_share"))
    with pytest.raises(CatalogError, match=r"over stats\.value, not stats\.grdp") as caught:
        load_catalog(data_dir)
    assert (caught.value.item, caught.value.field) == (low, "of")


def test_grdp_figures_are_read_by_latest_measures_placed_by_period(data_dir: Path) -> None:
    path = data_dir / IND / "stats.yaml"
    share = "stats.grdp_digital_economy_share"
    _edit(path, lambda d: _indicator(d, share)["numerator"].__setitem__("agg", "sum"))
    with pytest.raises(CatalogError):
        load_catalog(data_dir)
