"""Report kinds as catalog data: the monthly kind loads, and every broken field is refused
with an error naming the file, the kind and the field."""

from __future__ import annotations

from pathlib import Path

import pytest
import yaml

from chiso.catalog.errors import CatalogError
from chiso.catalog.loader import DEFAULT_DATA_DIR, Catalog
from chiso.catalog.reports import load_reports

MONTHLY = DEFAULT_DATA_DIR / "reports" / "monthly.yaml"


def test_the_monthly_kind_is_in_the_catalog(catalog: Catalog) -> None:
    kind = catalog.reports["monthly"]
    assert kind.cadence == "monthly"
    assert kind.due_day == 20
    assert kind.sections == ["results", "shortcomings", "next_period", "proposals"]
    assert kind.scopes["city"].issuer == "SKHCN"
    assert kind.scopes["city"].addressees == ["UBNDTP"]
    assert set(kind.scopes) == {"city", "department", "agency", "commune"}


def _broken(tmp_path: Path, change: dict[str, object]) -> Path:
    data = yaml.safe_load(MONTHLY.read_text(encoding="utf-8"))
    report = data["report"]
    for dotted, value in change.items():
        *parents, last = dotted.split(".")
        node = report
        for part in parents:
            node = node[part]
        node[last] = value
    folder = tmp_path / "reports"
    folder.mkdir()
    (folder / "monthly.yaml").write_text(yaml.safe_dump(data, allow_unicode=True),
                                         encoding="utf-8")
    return tmp_path


@pytest.mark.parametrize(("change", "field", "words"), [
    ({"scopes.city.issuer": "NOPE"}, "scopes.city.issuer", "no unit 'NOPE'"),
    ({"scopes.commune.addressees": ["SKHCN", "XYZ"]}, "scopes.commune.addressees[1]",
     "no unit 'XYZ'"),
    ({"rule.lines": "850"}, "rule.lines", "no reporting rule at lines 850"),
    ({"rule.plan": "999/KH"}, "rule.plan", "no plan"),
    ({"plans": ["131/KH-UBND", "1/X"]}, "plans[1]", "no plan '1/X'"),
    ({"subject_vi": "Tháng {month}"}, "subject_vi", "unknown placeholder 'month'"),
    ({"scopes.department.number_suffix": "BC-{unit}"}, "scopes.department.number_suffix",
     "unknown placeholder 'unit'"),
    ({"sections": ["results", "results"]}, "sections", "listed twice"),
    ({"sections": ["results", "summary"]}, "sections.1", "Input should be"),
    ({"ranking": {"method": "nope"}}, "ranking.method", "no scoring method 'nope'"),
    ({"due_day": 31}, "due_day", "less than or equal to 28"),
    ({"scopes.city.issuer": None}, "scopes.city.issuer", "needs an issuing unit"),
    ({"scopes.city.signer": "x"}, "scopes.city.signer", "Extra inputs"),
    ({"recipients": ["vanthu.example.org"]}, "recipients.0", "should match pattern"),
])
def test_a_broken_kind_names_file_kind_and_field(
        tmp_path: Path, catalog: Catalog, change: dict[str, object], field: str,
        words: str) -> None:
    folder = _broken(tmp_path, change)
    with pytest.raises(CatalogError) as err:
        load_reports(folder, catalog.plans, catalog.units, catalog.methods)
    assert err.value.file.endswith("monthly.yaml")
    assert err.value.item == "monthly"
    assert err.value.field == field
    assert words in err.value.message


def test_two_files_with_one_kind_are_refused(tmp_path: Path, catalog: Catalog) -> None:
    folder = _broken(tmp_path, {})
    (folder / "reports" / "monthly-2.yaml").write_text(MONTHLY.read_text(encoding="utf-8"),
                                                       encoding="utf-8")
    with pytest.raises(CatalogError, match="kind also defined in"):
        load_reports(folder, catalog.plans, catalog.units, catalog.methods)
