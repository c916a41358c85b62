"""The unit registry: the 126 communes, look-ups that ignore tone marks, group expansion."""

from __future__ import annotations

import csv
import json
from pathlib import Path

import pytest
from typer.testing import CliRunner

from chiso.catalog.loader import Catalog
from chiso.cli import app
from chiso.text import fold
from chiso.units.models import UnitKind


def test_the_126_communes_match_the_official_list(catalog: Catalog, shared_dir: Path) -> None:
    official = shared_dir / "data" / "hanoi" / "hanoi_126_communes_2025.csv"
    with official.open(encoding="utf-8") as fh:
        expected = {row["ma_xa"]: row["ten_don_vi"] for row in csv.DictReader(fh)}
    communes = {u.code: u.name for u in catalog.units.communes()}
    assert len(communes) == 126
    assert communes == expected


def test_communes_are_51_wards_and_75_communes(catalog: Catalog) -> None:
    types = [u.commune_type for u in catalog.units.communes()]
    assert types.count("phường") == 51
    assert types.count("xã") == 75


def test_fold_drops_tone_marks_and_maps_d() -> None:
    assert fold("Phường Hà Đông") == "phuong ha dong"
    assert fold("Sở Khoa học và Công nghệ") == "so khoa hoc va cong nghe"


@pytest.mark.parametrize(
    ("query", "code"),
    [
        ("ha dong", "09556"),
        ("HÀ ĐÔNG", "09556"),
        ("Phường Hà Đông", "09556"),
        ("khoa hoc cong nghe", "SKHCN"),
        ("Sở Khoa học và Công nghệ", "SKHCN"),
        ("hoan kiem", "00070"),
        ("SKHCN", "SKHCN"),
        ("09556", "09556"),
    ],
)
def test_find_ignores_tone_marks_case_and_prefixes(catalog: Catalog, query: str,
                                                   code: str) -> None:
    matches = catalog.units.find(query)
    assert matches, f"nothing found for {query!r}"
    assert matches[0].code == code


def test_words_out_of_order_do_not_match(catalog: Catalog) -> None:
    """'ha dong' must not find 'Hội đồng nhân dân thành phố Hà Nội' (both words, wrong order)."""
    assert [m.code for m in catalog.units.find("ha dong")] == ["09556"]


def test_find_from_the_cli_prints_codes_as_json() -> None:
    result = CliRunner().invoke(app, ["units", "find", "ha dong", "--json"])
    assert result.exit_code == 0, result.output
    assert json.loads(result.output)[0] == {
        "code": "09556", "name": "Phường Hà Đông", "kind": "commune", "score": 100,
    }


def test_find_nothing_exits_non_zero() -> None:
    result = CliRunner().invoke(app, ["units", "find", "zzzz qqqq"])
    assert result.exit_code == 1


def test_groups_expand_to_their_members(catalog: Catalog) -> None:
    registry = catalog.units
    communes = registry.expand(registry.resolve("UBND cấp xã") or "")
    assert len(communes) == 126
    departments = registry.expand(registry.resolve("Các Sở, ban, ngành") or "")
    kinds = {registry.units[c].kind for c in departments}
    assert UnitKind.department in kinds
    assert UnitKind.commune not in kinds
    assert "SKHCN" in departments


def test_department_variants_resolve_to_one_unit(catalog: Catalog) -> None:
    registry = catalog.units
    assert registry.resolve("Sở KH&CN") == registry.resolve("Sở Khoa học và Công nghệ")
    assert registry.resolve("Trung tâm Phục vụ hành chính công") == "TTPVHCC"
