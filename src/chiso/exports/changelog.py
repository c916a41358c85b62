"""The open datasets' change log: a figure that changed after it was first published, with its
old and new value, when, and why.

:func:`record` publishes a dataset's rows for a period: it compares each row's figures
(:data:`TRACKED`) with what was last published for the same key, writes one change per figure
that moved, and keeps the new figures; rows seen for the first time are simply published. The
background work (``chiso.background``) runs it for the periods that still move
(``CHISO_CHANGELOG_INTERVAL``) when :func:`data_mark` moved; ``chiso
opendata changes`` on demand. Why a figure changed (:data:`REASONS`) is read from the row's
provenance: another method or catalog version, more records (late records), the same or fewer
records (a correction), or, for rows judged against today, only the date moving on.
"""

from __future__ import annotations

import csv
import io
import json
from dataclasses import dataclass
from datetime import UTC, date, datetime
from typing import Any

from sqlalchemy import Connection, func, select, update

from chiso.context import Runtime
from chiso.exports import datasets as ds
from chiso.store import outbox
from chiso.store.tables import (
    audit_log,
    catalog_loads,
    dataset_changes,
    dataset_published,
    intake_batches,
    scores,
    task_evidence,
)

LATE, CORRECTION, METHOD, ELAPSED = ("late_records", "correction", "new_method_version",
                                     "elapsed_time")
REASONS = {
    LATE: ("dữ liệu đến muộn", "late records: more records for the period arrived"),
    CORRECTION: ("hiệu chỉnh", "correction: records were corrected or replaced"),
    METHOD: ("phiên bản phương pháp mới", "a new method or catalog version"),
    ELAPSED: ("thời gian trôi qua", "the day moved on (a deadline passed); the data did not"),
}


@dataclass(frozen=True)
class Tracked:
    keys: tuple[str, ...]
    figures: tuple[str, ...]


#: Per dataset: the fields that identify a row, and the figures whose changes are logged.
TRACKED: dict[str, Tracked] = {
    ds.INDICATOR_VALUES.id: Tracked(("indicator", "unit", "period"),
                                    ("value", "numerator", "denominator")),
    ds.SCORES.id: Tracked(("method", "kind", "unit", "period"), ("points", "rank")),
    ds.TARGET_STATUS.id: Tracked(("plan", "target", "unit"), ("status", "latest_value")),
    ds.TASK_PROGRESS.id: Tracked(("plan", "task"), ("status",)),
    ds.ACCOUNTABILITY.id: Tracked(("feed", "unit", "month"),
                                  ("records", "completeness", "on_time_share")),
}

FIELDS = ("dataset", "period", "key", "field", "old_value", "new_value", "old_as_of",
          "new_as_of", "changed_at", "reason", "reason_vi", "reason_en")


def _cell(v: Any) -> Any:
    if isinstance(v, datetime):
        return outbox.utc(v).isoformat()
    return v.isoformat() if isinstance(v, date) else v


def _reason(old: Any, row: dict[str, Any]) -> str:
    if (old.method_version, old.catalog_version) != (_str(row.get("method_version")),
                                                     _str(row.get("catalog_version"))):
        return METHOD
    records = row.get("records")
    if isinstance(records, int) and old.records is not None:
        return LATE if records > old.records else CORRECTION
    new_as_of = row.get("as_of")
    if old.as_of is not None and isinstance(new_as_of, datetime) and \
            outbox.utc(new_as_of) == outbox.utc(old.as_of):
        return ELAPSED
    return LATE


def _str(v: Any) -> str | None:
    return None if v is None else str(v)


def record(rt: Runtime, dataset: str, period: str, today: date,
           now: datetime | None = None) -> int:
    """Publish ``dataset``'s rows for ``period``; log every figure that changed since it was
    last published. In one transaction; how many changes were logged."""
    tracked = TRACKED[ds.get(dataset).id]
    table = ds.table(rt, dataset, period, today)
    now = outbox.utc(now or datetime.now(UTC))
    logged = 0
    p = dataset_published
    with rt.engine.begin() as conn:
        known = {r.key: r for r in conn.execute(select(p).where(
            p.c.dataset == dataset, p.c.period == table.period))}
        for row in table.rows:
            key = "|".join(str(row[k]) for k in tracked.keys)[:300]
            figures = {f: _cell(row.get(f)) for f in tracked.figures}
            records = row.get("records") if isinstance(row.get("records"), int) else None
            as_of = row.get("as_of") if isinstance(row.get("as_of"), datetime) else None
            state = {"figures": figures, "records": records,
                     "method_version": _str(row.get("method_version")),
                     "catalog_version": _str(row.get("catalog_version")),
                     "as_of": None if as_of is None else outbox.utc(as_of), "published_at": now}
            old = known.get(key)
            if old is None:
                conn.execute(p.insert().values(dataset=dataset, period=table.period, key=key,
                                               first_published_at=now, **state))
                continue
            moved = [f for f in tracked.figures if old.figures.get(f) != figures[f]]
            if not moved:
                continue
            why = _reason(old, row)
            conn.execute(dataset_changes.insert(), [
                {"dataset": dataset, "period": table.period, "key": key, "field": f,
                 "old_value": json.dumps(old.figures.get(f), ensure_ascii=False),
                 "new_value": json.dumps(figures[f], ensure_ascii=False),
                 "old_as_of": old.as_of, "new_as_of": state["as_of"], "changed_at": now,
                 "reason": why} for f in moved])
            conn.execute(update(p).where(p.c.dataset == dataset, p.c.period == table.period,
                                         p.c.key == key).values(**state))
            logged += len(moved)
    return logged


@dataclass(frozen=True)
class ChangeLog:
    """A dataset's logged changes, newest first."""

    dataset: str
    rows: list[dict[str, Any]]
    last_modified: datetime  # the newest change; without one, the catalog's load time

    def csv(self) -> bytes:
        out = io.StringIO()
        writer = csv.DictWriter(out, FIELDS, lineterminator="\r\n")
        writer.writeheader()
        for r in self.rows:
            writer.writerow({k: "" if r[k] is None else r[k] for k in FIELDS})
        return out.getvalue().encode("utf-8")

    def json(self) -> bytes:
        return json.dumps({"dataset": self.dataset, "fields": list(FIELDS), "rows": self.rows},
                          ensure_ascii=False, separators=(",", ":")).encode("utf-8")


def changes(conn: Connection, dataset: str, period: str | None = None,
            limit: int = 10_000) -> ChangeLog:
    """The changes logged for ``dataset`` (of one period, or all), newest first; values are
    JSON text (``null`` for no value)."""
    d = ds.get(dataset)
    c = dataset_changes
    query = select(c).where(c.c.dataset == d.id).order_by(c.c.id.desc()).limit(limit)
    if period:
        query = query.where(c.c.period == period)
    rows = []
    for r in conn.execute(query):
        vi, en = REASONS.get(r.reason, (r.reason, r.reason))
        rows.append({"dataset": r.dataset, "period": r.period, "key": r.key, "field": r.field,
                     "old_value": r.old_value, "new_value": r.new_value,
                     "old_as_of": _cell(r.old_as_of), "new_as_of": _cell(r.new_as_of),
                     "changed_at": _cell(r.changed_at), "reason": r.reason,
                     "reason_vi": vi, "reason_en": en})
    loaded = conn.execute(select(func.max(catalog_loads.c.loaded_at))).scalar_one()
    newest = max((datetime.fromisoformat(r["changed_at"]) for r in rows),
                 default=outbox.utc(loaded))
    return ChangeLog(d.id, rows, newest)


def record_all(rt: Runtime, today: date, periods: list[str]) -> int:
    """:func:`record` for every dataset over ``periods`` (the task list has no period: once)."""
    logged = 0
    for dataset in TRACKED:
        for period in (periods if dataset != ds.TASK_PROGRESS.id else [""]):
            logged += record(rt, dataset, period, today)
    return logged


def data_mark(conn: Connection, today: date) -> tuple[Any, ...]:
    """A small fingerprint of what the datasets' rows are read from, in one statement: the
    day (statuses are judged against it), the newest intake batch, scores, evidence, catalog
    load and audited write (milestones, assignments, decisions: every write a request
    commits). Equal marks: the datasets' rows are very likely unchanged, so a publication
    can wait; a change this does not see (a recompute run from the command line) is picked
    up by the next full publication (``CHISO_CHANGELOG_FULL_SECONDS``)."""
    return (today, *conn.execute(select(
        select(func.max(intake_batches.c.id)).scalar_subquery(),
        select(func.max(scores.c.computed_at)).scalar_subquery(),
        select(func.max(task_evidence.c.id)).scalar_subquery(),
        select(func.max(catalog_loads.c.loaded_at)).scalar_subquery(),
        select(func.max(audit_log.c.seq)).scalar_subquery())).one())
