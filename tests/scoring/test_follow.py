"""Scores follow the data: records pushed through intake re-score the current periods by
themselves, through the change stream, with no command run."""

from __future__ import annotations

import asyncio
import time
from dataclasses import replace

from fastapi.testclient import TestClient
from sqlalchemy import Engine, func, select
from tests.factories import dossier, feed_contract

from chiso.config import Settings
from chiso.context import Hub, Runtime
from chiso.intake.pipeline import Provenance, ingest
from chiso.measurement.periods import today_vn
from chiso.runtime import create_app
from chiso.scoring.follow import current_periods, follow
from chiso.store.tables import score_history, scores


def _dossier(i: int, unit: str, day: str) -> dict[str, object]:
    """Received, due and resolved on ``day``."""
    return dossier(0, **{"id": f"HS-F-{i}", "unit": unit, "procedure": "1.001",
                         "received_at": f"{day}T07:00:00+07:00",
                         "due_at": f"{day}T17:00:00+07:00", "resolved_at": f"{day}T08:00:00+07:00",
                         "status": "resolved", "result_electronic": True,
                         "updated_at": f"{day}T08:00:00+07:00"})


def test_pushed_records_rescore_the_current_periods(fresh_runtime: Runtime,
                                                    fresh_engine: Engine) -> None:
    settings = Settings(database_url=fresh_engine.url.render_as_string(hide_password=False),
                        scores_follow=True, scores_debounce=0.2)
    today = today_vn()
    this_month = current_periods(today)[0]
    with TestClient(create_app(settings, replace(fresh_runtime, settings=settings))):
        out = ingest(fresh_engine, feed_contract("tthc.dossier"),
                     [_dossier(i, "00070", today.isoformat()) for i in range(5)],
                     Provenance("t", "push"), b"{}", "application/json")
        assert out.accepted, out.as_dict()
        followed = 0
        deadline = time.monotonic() + 90
        while time.monotonic() < deadline and not followed:
            time.sleep(0.3)
            with fresh_engine.connect() as conn:
                followed = conn.execute(
                    select(func.count()).select_from(score_history)
                    .where(score_history.c.reason == "stream")).scalar_one()
    assert followed > 0, "no re-scoring followed the pushed records"
    with fresh_engine.connect() as conn:
        row = conn.execute(select(scores).where(
            scores.c.method == "dvc-766", scores.c.unit == "00070",
            scores.c.period == this_month)).first()
    assert row is not None
    assert row.rank is not None


def test_only_value_events_rescore(fresh_runtime: Runtime, fresh_engine: Engine) -> None:
    """The board's tile announcements and the scores' own do not re-score (each would answer
    the other forever); a value event does."""
    catalog = fresh_runtime.catalog

    def rescored() -> int:
        with fresh_engine.connect() as conn:
            return int(conn.execute(select(func.count()).select_from(score_history)
                                    .where(score_history.c.reason == "stream")).scalar_one())

    async def run() -> tuple[int, int]:
        hub = Hub()
        task = asyncio.create_task(follow(fresh_engine, catalog, hub, debounce=0.05))
        await asyncio.sleep(0.05)
        hub.publish([{"type": "tiles", "ids": ["t1"], "version": 1},
                     {"type": "scores", "method": "dvc-766", "period": "2026-11"}])
        await asyncio.sleep(1.0)
        quiet = rescored()
        hub.publish([{"indicator": "tthc.on_time_rate", "unit": "00070",
                      "period": today_vn().isoformat(), "value": 100.0}])
        deadline = time.monotonic() + 90
        while time.monotonic() < deadline and not rescored():
            await asyncio.sleep(0.2)
        task.cancel()
        return quiet, rescored()

    quiet, after = asyncio.run(run())
    assert quiet == 0, "tile or score announcements re-scored"
    assert after > 0, "a value event did not re-score"
