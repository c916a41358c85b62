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


def test_the_same_cut_off_gives_the_same_report_after_later_data(
        fresh_runtime: Runtime, monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    import json
    import time
    from datetime import UTC, datetime

    from tests.factories import feed_contract, monthly_dossier, send_months

    from chiso.cli import app
    from chiso.config import get_settings
    from chiso.intake.pipeline import Provenance, ingest

    rt = fresh_runtime
    monkeypatch.setenv("CHISO_DATABASE_URL", rt.engine.url.render_as_string(hide_password=False))
    get_settings.cache_clear()
    runner = CliRunner()

    def built(out: Path, cut: datetime) -> dict[str, object]:
        got = runner.invoke(app, ["reports", "build", "--kind", "monthly", "--period",
                                  "2026-11", "--unit", "00070", "--out", str(out),
                                  "--date", "2026-12-20", "--cut-off", cut.isoformat()])
        assert got.exit_code == 0, got.output
        manifest = out / "monthly-2026-11-00070.manifest.json"
        assert str(manifest) in got.stdout
        facts: dict[str, object] = json.loads(manifest.read_text(encoding="utf-8"))
        return facts

    try:
        send_months(rt.engine, "00070", {10: 8, 11: 6})
        time.sleep(0.01)
        cut = datetime.now(UTC)
        first = built(tmp_path / "a", cut)
        assert first["cut_off"] == cut.isoformat()
        time.sleep(0.01)
        late = [monthly_dossier(500 + i, "00070", 11, True) for i in range(10)]
        out = ingest(rt.engine, feed_contract("tthc.dossier"), late, Provenance("t", "push"),
                     b"{}", "application/json")
        assert out.accepted, out.as_dict()
        again = built(tmp_path / "b", cut)
        assert again["content_sha256"] == first["content_sha256"]
        later = built(tmp_path / "c", datetime.now(UTC))  # a later cut-off sees them
        assert later["content_sha256"] != first["content_sha256"]
        naive = runner.invoke(app, ["reports", "build", "--kind", "monthly", "--period",
                                    "2026-11", "--unit", "00070", "--out", str(tmp_path / "d"),
                                    "--cut-off", "20/12/2026"])
        assert naive.exit_code == 1
        assert "write the time as YYYY-MM-DDTHH:MM" in naive.stderr
    finally:
        get_settings.cache_clear()
