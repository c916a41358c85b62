"""Changed indicator values, announced to webhook subscribers inside the batch that changed
them.

:func:`value_hook` is an intake hook (``chiso.runtime`` registers it after measurement's):
in every accepted batch's transaction it reads what measurement changed
(``incremental.queued_changes``) and publishes ``value.changed`` per (indicator, unit, month)
(published values: per their own period), debounced (``webhooks.DEBOUNCE_SECONDS``) so that a
burst of batches sends one message per subject with the newest news. docs/webhooks.md.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any
from urllib.parse import urlencode

from sqlalchemy import Connection, select

from chiso.intake import pipeline
from chiso.measurement import incremental
from chiso.store import outbox, webhooks
from chiso.store.tables import webhook_subscriptions


def _wanted(conn: Connection) -> bool:
    for events in conn.execute(select(webhook_subscriptions.c.events)
                               .where(webhook_subscriptions.c.active.is_(True))).scalars():
        if webhooks.VALUE_CHANGED in events:
            return True
    return False


def _link(indicator: str, unit: str, period: str) -> str:
    return f"/api/v1/indicators/{indicator}/values?" + urlencode(
        {"unit": unit, "period": period})


def value_hook(debounce: float = webhooks.DEBOUNCE_SECONDS) -> pipeline.AfterStore:
    """The intake hook announcing changed values (see the module's doc)."""

    def after_store(conn: Connection, feed: str, batch_id: int) -> None:
        days, published = incremental.queued_changes(conn)
        if not (days or published) or not _wanted(conn):
            return
        now = datetime.now(UTC)
        subjects: dict[str, dict[str, Any]] = {}
        for c in days:
            period = f"{c.day:%Y-%m}"
            at = outbox.utc(c.as_of).isoformat()
            seen = subjects.get(f"{c.indicator}:{c.unit}:{period}")
            if seen is None or seen["changed_at"] < at:
                subjects[f"{c.indicator}:{c.unit}:{period}"] = {
                    "indicator": c.indicator, "unit": c.unit, "period": period,
                    "changed_at": at, "feed": feed, "batch": batch_id,
                    "values": _link(c.indicator, c.unit, period)}
        for indicator, unit, period, value, as_of in published:
            subjects[f"{indicator}:{unit}:{period}"] = {
                "indicator": indicator, "unit": unit, "period": period, "value": value,
                "changed_at": outbox.utc(as_of).isoformat() if isinstance(as_of, datetime)
                else str(as_of), "feed": feed, "batch": batch_id,
                "values": _link(indicator, unit, period)}
        for subject, data in sorted(subjects.items()):
            webhooks.publish(conn, webhooks.VALUE_CHANGED, subject, data, now,
                             debounce=debounce)

    return after_store
