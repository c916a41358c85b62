"""Migration 0008: files stored under one shared source per door move to their unit's own
source, and hand-typed published values are marked (on SQLite and PostgreSQL)."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

import pytest
from sqlalchemy import text
from tests.conftest import blank_database

from chiso.store import migrate
from chiso.store.db import make_engine

AT = datetime(2026, 11, 5, tzinfo=UTC)


def test_uploads_move_to_their_units_source(backend: str, tmp_path: Path,
                                            request: pytest.FixtureRequest) -> None:
    engine = make_engine(blank_database(backend, tmp_path, request))
    migrate.upgrade(engine, "0007_decisions")
    row = {"r": "vneid_share|00070|2026-10", "at": AT}
    with engine.begin() as conn:
        conn.execute(text(
            "INSERT INTO feed_stats_value (source, record_id, unit, door, batch_id, ingested_at,"
            " indicator, period, value, source_ref, published_at, manual) VALUES ('upload', :r,"
            " '00070', 'file', 1, :at, 'vneid_share', '2026-10', 1, 'x', :at, true)"), row)
        conn.execute(text(
            "INSERT INTO m_published (indicator, side, source, record_id, unit, period, "
            "period_start, period_end, value, published_at, as_of) VALUES ('stats.vneid_share',"
            " 'value', 'upload', :r, '00070', '2026-10', '2026-10-01', '2026-10-31', 1, :at, "
            ":at)"), row)
    migrate.upgrade(engine)
    with engine.connect() as conn:
        assert conn.execute(text("SELECT source FROM feed_stats_value")).scalar_one() \
            == "upload:00070"
        moved = conn.execute(text("SELECT source, manual FROM m_published")).one()
    assert (moved.source, bool(moved.manual)) == ("upload:00070", True)
    engine.dispose()
