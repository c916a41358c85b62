"""Indicators placed by a due time count only what has come due as of the value's as-of time,
plus what is settled: on-time dossiers (I.11), iHanoi feedback on time (III.13) and meetings
(a meeting scheduled ahead is not yet held). Through the real intake path, on SQLite and on
PostgreSQL, and the recompute builds the same not-yet-due state as the batches did."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from typing import Any

import pytest
from sqlalchemy import Engine, select
from tests.measurement.due_data import _city, _dossier, _m, _resolved, _send, _units

from chiso.catalog.loader import Catalog
from chiso.measurement.recompute import recompute
from chiso.measurement.values import day_series, values
from chiso.store.tables import m_pending

VN_NOON_5_DEC = datetime(2026, 12, 5, 5, 0, tzinfo=UTC)  # 12:00 in Hanoi














DOSSIERS = [
    # 00070: one on time, one waiting for the citizen within its adjusted date: 100%, not 50%
    _dossier("A", "00070", "2026-12-03", **_resolved("2026-12-02T09:00:00+07:00")),
    _dossier("E", "00070", "2026-12-04", status="supplement", supplement_requests=1,
             updated_at="2026-12-02T09:00:00+07:00"),
    # 00004: one past due and open (late); one due on the 18th and open (not yet judged)
    _dossier("C", "00004", "2026-12-02"),
    _dossier("B", "00004", "2026-12-18"),
    # 00008: resolved early (due the 28th): counts at once, on time
    _dossier("D", "00008", "2026-12-28", **_resolved("2026-12-04T09:00:00+07:00")),
    # 00025: asked to supplement after its date had passed: already late while waiting
    _dossier("F", "00025", "2026-12-03", status="supplement", supplement_requests=1,
             updated_at="2026-12-04T18:00:00+07:00"),
    # 00256: rejected in time: not on time (a refusal is no result)
    _dossier("G", "00256", "2026-12-03", **_resolved("2026-12-02T09:00:00+07:00", "rejected")),
    # 00283: resumed after 3 working days' wait: due Thu 3rd + 3 working days = Tue 8th
    _dossier("H", "00283", "2026-12-03", supplement_requests=1, supplement_days=3),
]


def test_on_time_rate_counts_what_has_come_due(fresh_engine: Engine,
                                                catalog: Catalog) -> None:
    _send(fresh_engine, "tthc.dossier", DOSSIERS)
    code = "tthc.on_time_rate"
    v = _city(fresh_engine, catalog, code, "2026-12", VN_NOON_5_DEC)
    # counted: A (on time), C (late), D (on time), F (late), G (rejected): 2 of 5
    assert (v.numerator, v.denominator, v.records) == (2.0, 5.0, 5)
    assert v.value == pytest.approx(40.0)
    units = _units(fresh_engine, catalog, code, "2026-12", VN_NOON_5_DEC)
    assert units == {"00070": 100.0, "00004": 0.0, "00008": 100.0, "00025": 0.0,
                     "00256": 0.0}  # 00283 has nothing due yet: no value, not 0%
    # H comes due once Tue 8th is over (the weekend is not counted); B once the 18th is over
    v = _city(fresh_engine, catalog, code, "2026-12", datetime(2026, 12, 8, 1, tzinfo=UTC))
    assert (v.numerator, v.denominator) == (2.0, 5.0)
    v = _city(fresh_engine, catalog, code, "2026-12", datetime(2026, 12, 9, 1, tzinfo=UTC))
    assert (v.numerator, v.denominator) == (2.0, 6.0)
    v = _city(fresh_engine, catalog, code, "2026-12", datetime(2026, 12, 21, 1, tzinfo=UTC))
    assert (v.numerator, v.denominator) == (2.0, 7.0)
    # E resumes after 4 days' wait and is resolved within its adjusted date: on time
    _send(fresh_engine, "tthc.dossier", [_dossier(
        "E", "00070", "2026-12-04", supplement_requests=1, supplement_days=4,
        **_resolved("2026-12-07T09:00:00+07:00"))])
    v = _city(fresh_engine, catalog, code, "2026-12", datetime(2026, 12, 21, 1, tzinfo=UTC))
    assert (v.numerator, v.denominator) == (3.0, 8.0)


def test_recompute_builds_the_same_not_yet_due_state(fresh_engine: Engine,
                                                     catalog: Catalog) -> None:
    _send(fresh_engine, "tthc.dossier", DOSSIERS[:4])
    _send(fresh_engine, "tthc.dossier", [
        *DOSSIERS[4:], _dossier("B", "00004", "2026-12-18", updated_at="2026-11-27T10:00:00+07:00",
                 status="supplement", supplement_requests=1)])

    def state() -> list[tuple[Any, ...]]:
        with fresh_engine.connect() as conn:
            return sorted(tuple(r) for r in conn.execute(select(
                m_pending.c.indicator, m_pending.c.unit, m_pending.c.day, m_pending.c.due_day,
                m_pending.c.records, m_pending.c.num, m_pending.c.den)))

    before = state()
    assert before  # B, E and H wait
    recompute(fresh_engine, _m(catalog), ["tthc.on_time_rate"])
    assert state() == before


def test_default_as_of_is_the_feeds_last_batch(fresh_engine: Engine,
                                               catalog: Catalog) -> None:
    """Without ``at`` the cut-off is the commit time of the feed's last batch (now, here):
    a dossier due ten days from now is not yet judged, one due ten days ago is late."""
    now = datetime.now(UTC)
    received = (now - timedelta(days=20)).isoformat()
    ahead = _dossier("N1", "00070", "2000-01-01", received_at=received,
                     updated_at=received, due_at=(now + timedelta(days=10)).isoformat())
    past = _dossier("N2", "00070", "2000-01-01", received_at=received,
                    updated_at=received, due_at=(now - timedelta(days=10)).isoformat())
    _send(fresh_engine, "tthc.dossier", [ahead, past])
    span = f"{(now - timedelta(days=30)).date()}..{(now + timedelta(days=30)).date()}"
    v = _city(fresh_engine, catalog, "tthc.on_time_rate", span, None)
    assert (v.numerator, v.denominator) == (0.0, 1.0)
    with fresh_engine.connect() as conn:
        days = day_series(conn, "tthc.on_time_rate", span, None, _m(catalog))
    assert [d["denominator"] for d in days] == [1.0]


def test_feedback_and_meetings_come_due(fresh_engine: Engine, catalog: Catalog) -> None:
    def fb(i: str, due: str, closed: str | None) -> dict[str, Any]:
        return {"id": i, "unit": "00070", "received_at": "2026-11-20T08:00:00+07:00",
                "due_at": f"{due}T17:00:00+07:00", "closed_at": closed, "published": True,
                "satisfied": None, "updated_at": closed or "2026-11-20T08:00:00+07:00"}

    _send(fresh_engine, "ihanoi.feedback", [
        fb("P1", "2026-12-02", "2026-12-01T10:00:00+07:00"),  # on time
        fb("P2", "2026-12-03", None),  # open past its due day: late
        fb("P3", "2026-12-15", None),  # open, not yet due: not judged
        fb("P4", "2026-12-18", "2026-12-04T10:00:00+07:00"),  # closed early: on time
    ])
    v = _city(fresh_engine, catalog, "ihanoi.feedback_on_time_published_rate", "2026-12",
              VN_NOON_5_DEC)
    assert (v.numerator, v.denominator) == (2.0, 3.0)

    def meeting(i: str, day: str, mode: str) -> dict[str, Any]:
        return {"id": i, "unit": "00070", "starts_at": f"{day}T09:00:00+07:00",
                "minutes": 60, "mode": mode, "updated_at": "2026-11-30T09:00:00+07:00"}

    _send(fresh_engine, "meetings.meeting", [
        meeting("M1", "2026-12-01", "online"), meeting("M2", "2026-12-04", "in_person"),
        meeting("M3", "2026-12-22", "online")])  # scheduled ahead: not yet held
    held = _city(fresh_engine, catalog, "meetings.meetings_held", "2026-12", VN_NOON_5_DEC)
    assert held.value == 2.0
    online = _city(fresh_engine, catalog, "meetings.online_rate", "2026-12", VN_NOON_5_DEC)
    assert online.value == pytest.approx(50.0)


def test_published_figure_shows_from_publication(fresh_engine: Engine,
                                                 catalog: Catalog) -> None:
    """A figure published once a year for "2026" is shown in the year to date from its
    publication (not only once the year is over), for the period it covers."""
    def stat(period: str, num: float, at: str) -> dict[str, Any]:
        return {"indicator": "vneid_share", "unit": "00070", "period": period,
                "value": num / 100, "numerator": num, "denominator": 100.0,
                "source_ref": "C06", "published_at": at}

    _send(fresh_engine, "stats.value", [stat("2026-Q3", 88, "2026-10-10T09:00:00+07:00"),
                                        stat("2026", 91, "2026-11-20T09:00:00+07:00")])
    code = "stats.vneid_share"

    def got(period: str, today: date) -> list[tuple[float | None, str | None]]:
        with fresh_engine.connect() as conn:
            return [(v.value, v.covers) for v in values(
                conn, _m(catalog), code, period, unit="00070", today=today)]

    assert got("2026-YTD", date(2026, 12, 4)) == [(91.0, "2026")]
    assert got("2026-01-01..2026-12-04", date(2026, 12, 4)) == [(91.0, "2026")]
    # before its publication the year to date shows the quarter
    assert got("2026-YTD", date(2026, 11, 10)) == [(88.0, "2026-Q3")]
    # a closed span the year's figure does not fit in does not take it
    assert got("2026-Q3", date(2026, 12, 4)) == [(88.0, "2026-Q3")]
    assert got("2026-H1", date(2026, 12, 4)) == []
    # the whole year, as before
    assert got("2026", date(2026, 12, 4)) == [(91.0, "2026")]


def test_supplement_days_are_working_days(fresh_engine: Engine, catalog: Catalog) -> None:
    """The appointment moves by the working days waited: Tết (16-20/02/2026) and the weekend
    are skipped, so a dossier due Fri 13/02 that waited one working day is due Mon 23/02."""
    due = "2026-02-13"
    received = {"received_at": "2026-02-09T08:30:00+07:00",
                "updated_at": "2026-02-09T09:00:00+07:00"}
    _send(fresh_engine, "tthc.dossier", [
        _dossier("T1", "00070", due, supplement_requests=1, supplement_days=1, **received),
        _dossier("T2", "00004", due, supplement_requests=1, supplement_days=1,
                 received_at=received["received_at"], **_resolved("2026-02-23T10:00:00+07:00")),
        _dossier("T3", "00008", due, supplement_requests=1, supplement_days=1,
                 received_at=received["received_at"], **_resolved("2026-02-24T10:00:00+07:00")),
    ])
    code = "tthc.on_time_rate"
    during_tet = datetime(2026, 2, 20, 3, tzinfo=UTC)
    assert _units(fresh_engine, catalog, code, "2026-02", during_tet) == {
        "00004": 100.0, "00008": 0.0}  # T1 is not due before Mon 23/02 is over
    after = datetime(2026, 2, 24, 3, tzinfo=UTC)
    assert _units(fresh_engine, catalog, code, "2026-02", after) == {
        "00070": 0.0, "00004": 100.0, "00008": 0.0}
