"""``chiso reports build`` writes the files and prints their paths; a report asked wrongly
stops with one line saying what to change."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from typer.testing import CliRunner

from chiso.context import Runtime
from chiso.reports.build import issuing_units


@pytest.fixture
def chiso(runtime: Runtime, monkeypatch: pytest.MonkeyPatch) -> Iterator[CliRunner]:
    from chiso.config import get_settings

    monkeypatch.setenv("CHISO_DATABASE_URL",
                       runtime.engine.url.render_as_string(hide_password=False))
    get_settings.cache_clear()
    yield CliRunner()
    get_settings.cache_clear()


def test_build_prints_the_paths_it_wrote(chiso: CliRunner, tmp_path: Path) -> None:
    from chiso.cli import app

    got = chiso.invoke(app, ["reports", "build", "--kind", "monthly", "--period", "2026-11",
                             "--unit", "00070", "--out", str(tmp_path), "--date",
                             "2027-01-05"])
    assert got.exit_code == 0, got.output
    printed = [Path(line) for line in got.stdout.splitlines() if line.strip()]
    assert printed == [tmp_path / "monthly-2026-11-00070.docx",
                       tmp_path / "monthly-2026-11-00070.xlsx",
                       tmp_path / "monthly-2026-11-00070.pdf",
                       tmp_path / "monthly-2026-11-00070.manifest.json"]
    assert all(p.stat().st_size > 0 for p in printed)


@pytest.mark.parametrize(("args", "words"), [
    (["--period", "2026-Q4"], "is for a month"),
    (["--period", "2026-11", "--unit", "NOPE"], "no unit 'NOPE'"),
    (["--period", "2026-11", "--date", "05/01/2027"], "write the day as YYYY-MM-DD"),
    (["--period", "2026-11", "--lang", "fr"], "write vi or en"),
])
def test_a_wrong_request_is_one_line(chiso: CliRunner, tmp_path: Path, args: list[str],
                                     words: str) -> None:
    from chiso.cli import app

    got = chiso.invoke(app, ["reports", "build", "--kind", "monthly", "--out",
                             str(tmp_path), *args])
    assert got.exit_code == 1
    assert words in got.output
    assert "Traceback" not in got.output
    assert not list(tmp_path.iterdir())


def test_all_is_the_city_and_every_issuing_unit(runtime: Runtime) -> None:
    units = issuing_units(runtime, "monthly")
    kinds = {str(runtime.catalog.units.units[u].kind) for u in units[1:]}
    assert units[0] == "city"
    assert kinds == {"department", "agency", "commune"}
    assert sum(runtime.catalog.units.units[u].kind == "commune" for u in units[1:]) == 126
    assert len(units) == len(set(units))
