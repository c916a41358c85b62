"""A malformed catalog file gives an error naming the file, the item and the field."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest
import yaml
from typer.testing import CliRunner

from chiso.catalog.errors import CatalogError
from chiso.catalog.loader import DEFAULT_DATA_DIR, load_catalog
from chiso.cli import app

PLAN = "plans/131-KH-UBND-2026"


@pytest.fixture
def data_dir(tmp_path: Path) -> Path:
    copy = tmp_path / "data"
    shutil.copytree(DEFAULT_DATA_DIR, copy)
    return copy


def _edit(path: Path, change: object) -> None:
    data = yaml.safe_load(path.read_text(encoding="utf-8"))
    change(data)  # type: ignore[operator]
    path.write_text(yaml.safe_dump(data, allow_unicode=True), encoding="utf-8")


def _targets_file(data_dir: Path) -> Path:
    return next((data_dir / PLAN).glob("targets*.yaml"))


def test_wrong_type_names_file_item_and_field(data_dir: Path) -> None:
    path = _targets_file(data_dir)
    first_id = yaml.safe_load(path.read_text(encoding="utf-8"))["targets"][0]["id"]
    _edit(path, lambda d: d["targets"][0].__setitem__("threshold", "chín mươi"))
    with pytest.raises(CatalogError) as caught:
        load_catalog(data_dir)
    err = caught.value
    assert err.file == str(path)
    assert err.item is not None
    assert first_id in err.item
    assert err.field == "threshold"


def test_unknown_key_is_refused(data_dir: Path) -> None:
    path = _targets_file(data_dir)
    _edit(path, lambda d: d["targets"][1].__setitem__("treshold", 5))
    with pytest.raises(CatalogError, match="treshold"):
        load_catalog(data_dir)


def test_duplicate_id_names_both_files(data_dir: Path) -> None:
    path = _targets_file(data_dir)
    _edit(path, lambda d: d["targets"][1].__setitem__("id", d["targets"][0]["id"]))
    with pytest.raises(CatalogError, match="duplicate id") as caught:
        load_catalog(data_dir)
    assert caught.value.field == "id"


def test_unknown_group_is_refused(data_dir: Path) -> None:
    path = _targets_file(data_dir)
    _edit(path, lambda d: d["targets"][0].__setitem__("group", "NO.SUCH.GROUP"))
    with pytest.raises(CatalogError, match=r"NO\.SUCH\.GROUP") as caught:
        load_catalog(data_dir)
    assert caught.value.field == "group"


def test_bad_line_reference_is_refused(data_dir: Path) -> None:
    path = _targets_file(data_dir)
    _edit(path, lambda d: d["targets"][0].__setitem__("lines", "L894"))
    with pytest.raises(CatalogError, match="line reference") as caught:
        load_catalog(data_dir)
    assert caught.value.field == "lines"


def test_yaml_syntax_error_names_the_file(data_dir: Path) -> None:
    path = _targets_file(data_dir)
    path.write_text("targets: [\n  - id: : :\n", encoding="utf-8")
    with pytest.raises(CatalogError, match="not valid YAML") as caught:
        load_catalog(data_dir)
    assert caught.value.file == str(path)


def test_nameless_task_needs_a_note(data_dir: Path) -> None:
    path = data_dir / PLAN / "tasks-body.yaml"
    _edit(path, lambda d: d["tasks"][0].__setitem__("title", None))
    with pytest.raises(CatalogError, match="missing_name"):
        load_catalog(data_dir)


def test_unresolved_agency_fails_check_naming_item_and_field(data_dir: Path) -> None:
    path = _targets_file(data_dir)
    _edit(path, lambda d: d["targets"][0].__setitem__("tracking", ["Sở Không Tồn Tại"]))
    result = CliRunner().invoke(app, ["catalog", "check", "--data-dir", str(data_dir)])
    assert result.exit_code == 1
    assert "Sở Không Tồn Tại" in result.output
    assert "tracking" in result.output


def test_impossible_date_names_the_file(data_dir: Path) -> None:
    path = _targets_file(data_dir)
    text = path.read_text(encoding="utf-8")
    text = text.replace("deadline: 2026-12-31", "deadline: 2026-13-31", 1)
    path.write_text(text, encoding="utf-8")
    with pytest.raises(CatalogError, match="cannot be read") as caught:
        load_catalog(data_dir)
    assert caught.value.file == str(path)


def test_unreadable_deadline_words_fail_check(data_dir: Path) -> None:
    path = data_dir / PLAN / "tasks-body.yaml"
    _edit(path, lambda d: d["tasks"][0].__setitem__("deadline_text", "Quý V/2026"))
    result = CliRunner().invoke(app, ["catalog", "check", "--data-dir", str(data_dir)])
    assert result.exit_code == 1
    assert "deadline_text" in result.output
    assert "Quý V/2026" in result.output


def test_citation_beyond_the_seed_is_reported_not_raised(data_dir: Path,
                                                         seeds_dir: Path) -> None:
    _edit(_targets_file(data_dir), lambda d: d["targets"][0].__setitem__("lines", "99999"))
    result = CliRunner().invoke(
        app, ["catalog", "check", "--data-dir", str(data_dir), "--seeds", str(seeds_dir)])
    assert result.exit_code == 1
    assert "99999" in result.output
    assert "Traceback" not in result.output


def test_check_fails_on_a_malformed_file_from_the_cli(data_dir: Path) -> None:
    _edit(_targets_file(data_dir), lambda d: d["targets"][0].__setitem__("direction", "≈"))
    result = CliRunner().invoke(app, ["catalog", "check", "--data-dir", str(data_dir)])
    assert result.exit_code == 1
    assert "direction" in result.output


def test_schema_command_writes_json_schema(tmp_path: Path) -> None:
    result = CliRunner().invoke(app, ["catalog", "schema", str(tmp_path)])
    assert result.exit_code == 0, result.output
    assert (tmp_path / "targets.schema.json").read_text(encoding="utf-8").startswith("{")


def test_committed_json_schemas_match_the_models(tmp_path: Path) -> None:
    """docs/schema/ is what editors validate against: regenerate it when a model changes
    (`uv run chiso catalog schema docs/schema`)."""
    CliRunner().invoke(app, ["catalog", "schema", str(tmp_path)])
    committed = Path(__file__).resolve().parents[2] / "docs" / "schema"
    for fresh in tmp_path.glob("*.schema.json"):
        assert (committed / fresh.name).read_text(encoding="utf-8") == fresh.read_text(
            encoding="utf-8"), f"docs/schema/{fresh.name} is stale"
