"""The Vietnamese working-day calendar: the library's holidays, Tết and swapped days, and the
operator's additions in the data file, which win."""

from __future__ import annotations

from datetime import date
from pathlib import Path

import pytest
from sqlalchemy import Engine, delete, func, select

from chiso.catalog.errors import CatalogError
from chiso.catalog.loader import DEFAULT_DATA_DIR, Catalog
from chiso.catalog.workdays import load_calendar
from chiso.measurement.engine import CalendarMissingError
from chiso.measurement.recompute import recompute
from chiso.store.tables import workdays


def test_built_in_calendar() -> None:
    cal = load_calendar(DEFAULT_DATA_DIR / "calendar" / "vn.yaml")
    assert not cal.is_working(date(2026, 2, 17))  # Tết
    assert not cal.is_working(date(2026, 9, 2))  # Quốc khánh
    assert not cal.is_working(date(2026, 8, 31))  # day off moved to bridge 2/9
    assert cal.is_working(date(2026, 8, 22))  # the Saturday worked in exchange
    assert not cal.is_working(date(2026, 12, 5))  # a Saturday
    assert cal.is_working(date(2026, 12, 4))
    assert cal.add(date(2026, 2, 13), 1) == date(2026, 2, 23)
    rows = {d: (n, w) for d, n, w in cal.rows()}
    # working days strictly before a day: Fri 13/02 then Mon 23/02 are consecutive
    assert rows[date(2026, 2, 23)][0] == rows[date(2026, 2, 13)][0] + 1


def test_operator_additions_win(tmp_path: Path) -> None:
    f = tmp_path / "vn.yaml"
    f.write_text("years: {first: 2026, last: 2026}\n"
                 "days_off: [{day: '2026-12-31', reason: 'nghỉ bù công bố muộn'}]\n"
                 "working_days: [{day: '2026-12-26', reason: 'làm bù thứ Bảy'}]\n",
                 encoding="utf-8")
    cal = load_calendar(f)
    assert not cal.is_working(date(2026, 12, 31))
    assert cal.is_working(date(2026, 12, 26))
    assert cal.rows()[0][0] == date(2026, 1, 1)
    assert cal.rows()[-1][0] == date(2026, 12, 31)
    f.write_text("years: {first: 2026, last: 2026}\n"
                 "days_off: [{day: '2026-12-31', reason: 'nghỉ'}]\n"
                 "working_days: [{day: '2026-12-31', reason: 'làm'}]\n", encoding="utf-8")
    with pytest.raises(CatalogError, match="both a day off and a working day"):
        load_calendar(f)


def test_no_silent_values_without_the_calendar(fresh_engine: Engine, catalog: Catalog) -> None:
    """A database whose calendar was never written refuses working-day indicators rather
    than counting every dossier late."""
    with fresh_engine.begin() as conn:
        assert conn.execute(select(func.count()).select_from(workdays)).scalar_one() > 9000
        conn.execute(delete(workdays))
    with pytest.raises(CalendarMissingError, match="calendar"):
        recompute(fresh_engine, catalog.measurement, ["tthc.on_time_rate"])
    recompute(fresh_engine, catalog.measurement, ["tthc.online_dossier_rate"])  # no need
