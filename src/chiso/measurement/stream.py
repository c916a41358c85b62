"""The change stream: changed values announced to subscribers after their batch commits.

The incremental path leaves the day-state rows it changed on the connection
(``conn.info``); when the transaction commits they are marked ready, and when the connection
goes back to the pool (after the commit has completed) they are published to the hub that
:func:`attach` tied to the engine (the runtime's). A rolled-back batch announces nothing.

On PostgreSQL, where several server processes share the database, :func:`share` is used
instead: the batch's events go into the shared change stream (``chiso.store.changes``) inside
the batch's own transaction, and every process's listener, this one's included, feeds them to
its hub after the commit. One path, so every process sees the same events in the same order.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import Connection, Engine, event

from chiso.catalog.indicators import Kind, Measurement
from chiso.context import Hub
from chiso.intake import pipeline
from chiso.measurement.incremental import DayChange
from chiso.store import changes

_CHANGES = "chiso.changes"
_PUBLISHED = "chiso.published"
_READY = "chiso.ready"

Kinds = dict[str, tuple[Kind, float]]


def kinds_of(measurement: Measurement) -> Kinds:
    """What an announcement needs of each indicator: its kind and scale."""
    return {code: (i.kind, float(i.scale)) for code, i in measurement.indicators.items()}


def day_event(c: DayChange, kinds: Kinds) -> dict[str, Any]:
    kind, scale = kinds.get(c.indicator, (Kind.count, 1.0))
    value: float | None = c.num
    if kind is Kind.ratio:
        value = float(c.num / c.den * scale) if c.den else None
    elif kind is Kind.distinct_count:
        value = None  # not additive: read /values for the period
    return {"indicator": c.indicator, "unit": c.unit, "period": c.day.isoformat(),
            "value": value, "numerator": c.num, "denominator": c.den, "records": c.records,
            "as_of": c.as_of.isoformat()}


def published_event(item: tuple[str, str, str, float, datetime]) -> dict[str, Any]:
    ind, unit, period, value, as_of = item
    return {"indicator": ind, "unit": unit, "period": period, "value": value,
            "published": True, "as_of": as_of.isoformat()}


def attach(engine: Engine, hub: Hub, measurement: Measurement) -> None:
    """Announce the changes committed through ``engine`` on ``hub`` (the runtime calls this
    once per engine it opens)."""
    kinds = kinds_of(measurement)

    def on_commit(conn: Connection) -> None:
        info = conn.info
        if _CHANGES in info or _PUBLISHED in info:
            if not hub.subscribers:  # nobody listens: nothing to build
                info.pop(_CHANGES, None)
                info.pop(_PUBLISHED, None)
                return
            ready = info.setdefault(_READY, [])
            ready.extend(day_event(c, kinds) for c in info.pop(_CHANGES, []))
            ready.extend(published_event(p) for p in info.pop(_PUBLISHED, []))

    def on_rollback(conn: Connection) -> None:
        conn.info.pop(_CHANGES, None)
        conn.info.pop(_PUBLISHED, None)

    def on_checkin(dbapi_connection: Any, record: Any) -> None:
        if record is None:
            return
        ready = record.info.pop(_READY, None)
        if ready:
            hub.publish(ready)

    event.listen(engine, "commit", on_commit)
    event.listen(engine, "rollback", on_rollback)
    event.listen(engine, "checkin", on_checkin)


def share(engine: Engine, measurement: Measurement) -> None:
    """Write each accepted batch's changed values into the shared change stream, in the
    batch's transaction (the runtime calls this on PostgreSQL, after registering the
    incremental hook, whose queued changes this takes)."""
    kinds = kinds_of(measurement)

    def into_stream(conn: Connection, feed: str, batch_id: int) -> None:
        items = [day_event(c, kinds) for c in conn.info.pop(_CHANGES, [])]
        items += [published_event(p) for p in conn.info.pop(_PUBLISHED, [])]
        changes.announce(conn, items)

    pipeline.on_store(engine, into_stream)
