"""The data as it stood at a cut-off time, for a report read as of then.

:func:`view` yields a runtime whose database holds what chiso had received up to
``cut_off``: each record's newest version received by then (a record first received later is
absent), the batches, task evidence and stored scores up to then, and the day state
recomputed from those records (``chiso.measurement.recompute``, the incremental path's
oracle). When nothing arrived after the cut-off the live runtime is the view, at no cost;
otherwise the view is a scratch copy (a schema of its own on PostgreSQL, a file copy on
SQLite) dropped on exit. The copy is read only; the live data is never touched.
"""

from __future__ import annotations

import secrets
import sqlite3
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, date, datetime, time, timedelta
from pathlib import Path
from typing import Any

from sqlalchemy import Connection, Engine, and_, delete, event, exists, func, insert, select
from sqlalchemy import text as sql

from chiso.catalog.reports import ReportKind
from chiso.context import Runtime
from chiso.measurement.periods import VN
from chiso.measurement.recompute import recompute
from chiso.store.db import make_engine
from chiso.store.tables import (
    FEED_TABLES,
    intake_batches,
    metadata,
    score_history,
    scores,
    task_evidence,
)

# What a report never reads: who may sign in, the audit log, raw payloads, reports.
_LEFT_OUT = {"access_grants", "access_sessions", "access_tokens", "access_users",
             "audit_checkpoints", "audit_log", "intake_raw", "report_files", "reports",
             "decisions", "alerts", "alert_deliveries"}


def due_cut_off(kind: ReportKind, end: date) -> datetime:
    """When a report on a period ending ``end`` closes its data: the start (Vietnam time) of
    its due day, the ``due_day`` of the month after the period (of ``due_month`` in the
    period's own year for a kind due within its year)."""
    first = end + timedelta(days=1)  # periods end on a month's last day
    due = (date(end.year, kind.due_month, kind.due_day) if kind.due_month is not None
           else date(first.year, first.month, kind.due_day))
    return datetime.combine(due, time(), VN).astimezone(UTC)


def cut_off_for(kind: ReportKind, end: date, now: datetime) -> datetime:
    """The cut-off of a report built at ``now``: its due cut-off once passed, else now."""
    return min(due_cut_off(kind, end), now.astimezone(UTC))


def arrived_after(conn: Connection, cut_off: datetime) -> bool:
    """Did any record, batch, piece of evidence or stored score arrive after ``cut_off``?"""
    checks: list[Any] = [exists().where(latest.c.ingested_at > cut_off)
                         for latest, _ in FEED_TABLES.values()]
    checks += [exists().where(intake_batches.c.received_at > cut_off),
               exists().where(task_evidence.c.uploaded_at > cut_off),
               exists().where(scores.c.computed_at > cut_off)]
    return any(conn.execute(select(c)).scalar() for c in checks)


def _roll_back_to(conn: Connection, cut_off: datetime) -> None:
    """In the copy: what arrived after ``cut_off`` is removed, each record changed since
    goes back to its newest version received by then."""
    for latest, versions in FEED_TABLES.values():
        conn.execute(delete(latest).where(latest.c.ingested_at > cut_off))
        conn.execute(delete(versions).where(versions.c.ingested_at > cut_off))
        order = [c.desc() for c in versions.primary_key.columns
                 if c.name not in ("source", "record_id")]
        ranked = select(*versions.c, func.row_number().over(
            partition_by=[versions.c.source, versions.c.record_id], order_by=order)
            .label("n")).where(~exists().where(and_(
                latest.c.source == versions.c.source,
                latest.c.record_id == versions.c.record_id))).subquery()
        names = [c.name for c in latest.c]
        conn.execute(insert(latest).from_select(
            names, select(*[ranked.c[n] for n in names]).where(ranked.c.n == 1)))
    conn.execute(delete(intake_batches).where(intake_batches.c.received_at > cut_off))
    conn.execute(delete(task_evidence).where(task_evidence.c.uploaded_at > cut_off))
    conn.execute(delete(scores).where(scores.c.computed_at > cut_off))
    conn.execute(delete(score_history).where(score_history.c.computed_at > cut_off))


@contextmanager
def _postgres_copy(engine: Engine) -> Iterator[Engine]:
    schema = f"chiso_as_of_{secrets.token_hex(6)}"
    url = engine.url.render_as_string(hide_password=False)
    with engine.begin() as conn:
        source = conn.execute(sql("SELECT current_schema()")).scalar_one()
        conn.exec_driver_sql(f'CREATE SCHEMA "{schema}"')
        for table in metadata.sorted_tables:
            if table.name in _LEFT_OUT:
                continue
            conn.exec_driver_sql(f'CREATE TABLE "{schema}"."{table.name}" (LIKE '
                                 f'"{source}"."{table.name}" INCLUDING DEFAULTS INCLUDING '
                                 "INDEXES)")
            conn.exec_driver_sql(f'INSERT INTO "{schema}"."{table.name}" SELECT * FROM '
                                 f'"{source}"."{table.name}"')
    copy = make_engine(url, pool_size=2, max_overflow=2)

    @event.listens_for(copy, "connect")
    def _search_path(dbapi: Any, _: Any) -> None:
        with dbapi.cursor() as cur:
            cur.execute(f'SET search_path TO "{schema}"')
        dbapi.commit()

    try:
        yield copy
    finally:
        copy.dispose()
        with engine.begin() as conn:
            conn.exec_driver_sql(f'DROP SCHEMA "{schema}" CASCADE')


@contextmanager
def _sqlite_copy(engine: Engine) -> Iterator[Engine]:
    with tempfile.TemporaryDirectory(prefix="chiso-as-of-") as folder:
        target = Path(folder) / "as-of.db"
        raw = engine.raw_connection()
        try:
            into = sqlite3.connect(target)
            try:
                raw.driver_connection.backup(into)  # type: ignore[union-attr]
            finally:
                into.close()
        finally:
            raw.close()
        copy = make_engine(f"sqlite:///{target}", pool_size=2, max_overflow=2)
        try:
            yield copy
        finally:
            copy.dispose()


@contextmanager
def view(rt: Runtime, cut_off: datetime) -> Iterator[Runtime]:
    """A runtime over the data received up to ``cut_off`` (an aware time); see the module."""
    cut_off = cut_off.astimezone(UTC)  # SQLite keeps times as UTC without their offset
    with rt.engine.connect() as conn:
        if not arrived_after(conn, cut_off):
            yield rt
            return
    copier = _postgres_copy if rt.engine.dialect.name == "postgresql" else _sqlite_copy
    with copier(rt.engine) as copy:
        with copy.begin() as conn:
            _roll_back_to(conn, cut_off)
        if rt.catalog.measurement is not None:
            recompute(copy, rt.catalog.measurement)
        yield Runtime(rt.settings, copy, rt.catalog)
