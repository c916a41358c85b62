"""The incremental path: apply one accepted batch to the day state, in its own transaction.

After intake has written a batch's latest versions (``feed_<feed>`` rows now carrying the
batch's id), :func:`apply_batch`

1. reads, in one statement per feed, the contributions of the batch's new latest rows and of
   the versions they replaced (for each record: its newest version stored by an *earlier*
   batch, from ``feed_<feed>_versions``);
2. nets them in Python per (indicator, unit, day[, key]): new minus old (signed deltas);
3. writes them with one upsert per table (``records = records + delta`` …), and deletes the
   rows that fall to zero records, so that the state is exactly what a recompute builds; the
   day deltas summed by month go to ``m_month`` the same way.

On PostgreSQL the three steps are one statement (``_PG_APPLY``): the contributions are netted
and added to the four tables in the database, and only the rows written come back (one round
trip, nothing copied out and in again); SQLite takes the steps in Python.

A late older version or an identical re-send does not replace the latest row, so it carries
no contribution and changes nothing. Two batches on the same record serialise on the latest
row's lock, and the second sees the first's version as the one it replaces.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import UTC, date, datetime
from typing import Any

from sqlalchemy import (
    Connection,
    Integer,
    and_,
    bindparam,
    delete,
    func,
    literal,
    select,
    tuple_,
    union_all,
)
from sqlalchemy.dialects import postgresql, sqlite

from chiso.catalog.indicators import Measurement
from chiso.intake import pipeline
from chiso.measurement import engine as eng
from chiso.measurement.periods import published_period
from chiso.store.tables import (
    FEED_TABLES,
    m_day,
    m_distinct,
    m_month,
    m_pending,
    m_published,
)


@dataclass(frozen=True)
class DayChange:
    """A day-state row that a batch changed: what the change stream announces."""

    indicator: str
    unit: str
    day: date
    records: int
    num: float
    den: float
    as_of: datetime


def _insert(conn: Connection, table: Any) -> Any:
    return (postgresql.insert(table) if conn.dialect.name == "postgresql"
            else sqlite.insert(table))


def apply_batch(conn: Connection, feed: str, batch_id: int,
                measurement: Measurement) -> list[DayChange]:
    """Apply batch ``batch_id`` of ``feed`` (already in the latest table) to the day state."""
    m = measurement
    inds = eng.feed_indicators(m, feed)
    if not inds:
        return []
    latest, _ = FEED_TABLES[feed]
    dialect = conn.dialect.name
    now = datetime.now(UTC)
    day_inds = [i for i in inds if eng.shape(i) in ("day", "distinct")]
    eng.require_calendar(conn, day_inds)
    pub_inds = [i for i in inds if eng.shape(i) == "published"]
    changes: list[DayChange] = []
    if day_inds and dialect == "postgresql":
        changes = _apply_pg(conn, m, feed, batch_id, now)
    elif day_inds:
        new_stmt, old_stmt = _batch_statements(m, feed, dialect)
        new_rows = conn.execute(new_stmt, {"batch": batch_id}).all()
        if new_rows:
            old_rows = conn.execute(old_stmt, {"batch": batch_id}).all()
            changes = _apply_deltas(conn, new_rows, old_rows, now)
    if pub_inds:
        _apply_published(conn, pub_inds, latest, batch_id, now)
    _queue(conn, changes)
    return changes


#: The two statements of a feed's batch, built once per measurement, feed and dialect:
#: building them (every indicator's conditions) costs more than running them.
_STATEMENTS: dict[tuple[int, str, str], tuple[Measurement, Any, Any]] = {}


def _batch_statements(m: Measurement, feed: str, dialect: str) -> tuple[Any, Any]:
    """The contributions of a batch's new latest rows, and of the versions they replaced,
    for every day-shaped indicator of ``feed``; the batch id is the parameter ``batch``."""
    hit = _STATEMENTS.get((id(m), feed, dialect))
    if hit is not None and hit[0] is m:
        return hit[1], hit[2]
    new_stmt, old_stmt = _contributions(m, feed, dialect)
    if len(_STATEMENTS) > 64:  # catalogs reloaded many times (tests): forget the old ones
        _STATEMENTS.clear()
    _STATEMENTS[(id(m), feed, dialect)] = (m, new_stmt, old_stmt)
    return new_stmt, old_stmt


def _contributions(m: Measurement, feed: str, dialect: str,
                   signed: bool = False) -> tuple[Any, Any]:
    """The two contribution statements of :func:`_batch_statements`; ``signed``: each row
    also says ``sign`` (1 for the new latest rows, -1 for the versions they replaced)."""
    day_inds = [i for i in eng.feed_indicators(m, feed) if eng.shape(i) in ("day", "distinct")]
    latest, versions = FEED_TABLES[feed]
    batch: Any = bindparam("batch", 0, type_=Integer)
    vcol = m.contracts[feed].version
    v = versions.alias("v")
    v2 = versions.alias("v2")
    changed = select(latest.c.source, latest.c.record_id).where(latest.c.batch_id == batch)
    previous = (select(func.max(v2.c[vcol]))
                .where(v2.c.source == v.c.source, v2.c.record_id == v.c.record_id,
                       v2.c.batch_id != batch).scalar_subquery())
    old_scope = and_(tuple_(v.c.source, v.c.record_id).in_(changed),
                     v.c.batch_id != batch, v.c[vcol] == previous)
    new_scope = latest.c.batch_id == batch
    if signed:  # the batch's rows and the replaced ones found once, not once per indicator
        fresh = select(latest).where(new_scope).cte("batch_new")
        replaced = select(v).where(old_scope).cte("batch_old")
        return (union_all(*(eng.contribution_rows(i, fresh, dialect)
                            .add_columns(literal(1, Integer).label("sign"))
                            for i in day_inds)),
                union_all(*(eng.contribution_rows(i, replaced, dialect)
                            .add_columns(literal(-1, Integer).label("sign"))
                            for i in day_inds)))
    return (union_all(*(eng.contribution_rows(i, latest, dialect, new_scope)
                        for i in day_inds)),
            union_all(*(eng.contribution_rows(i, v, dialect, old_scope) for i in day_inds)))


#: The PostgreSQL statement of a feed's batch, per measurement and feed: its SQL and the
#: parameters of the indicators' conditions (the batch id and the time are added per batch).
_PG_STATEMENTS: dict[tuple[int, str], tuple[Measurement, str, dict[str, Any]]] = {}

#: Nets the signed contributions (``c``) per day, month, pending and distinct key and adds
#: them to the four tables in one statement (one round trip, nothing fetched but what
#: changed); returns every ``m_day`` and ``m_distinct`` row written, and the ``m_month`` and
#: ``m_pending`` rows that fell to zero records. Rows are written in key order, as the
#: other path does, so that concurrent batches lock them in the same order.
_PG_APPLY = """
WITH c AS (
  SELECT sign::int AS sign, indicator::text AS indicator, unit::text AS unit, day::date AS day,
         num::float8 AS num, den::float8 AS den, key::text AS key, due_day::date AS due_day
  FROM ({contributions}) AS u),
dd AS (
  SELECT * FROM (SELECT indicator, unit, day, sum(sign)::bigint AS records,
                        sum(sign * num) AS num, sum(sign * den) AS den
                 FROM c WHERE key IS NULL GROUP BY indicator, unit, day) AS d
  WHERE records <> 0 OR num <> 0 OR den <> 0),
wd AS (
  INSERT INTO m_day AS t (indicator, unit, day, records, num, den, as_of)
  SELECT indicator, unit, day, records, num, den, %(now)s FROM dd ORDER BY indicator, unit, day
  ON CONFLICT (indicator, unit, day) DO UPDATE SET records = t.records + EXCLUDED.records,
    num = t.num + EXCLUDED.num, den = t.den + EXCLUDED.den, as_of = EXCLUDED.as_of
  RETURNING t.indicator, t.unit, t.day, t.records, t.num, t.den),
mo AS (
  SELECT * FROM (SELECT indicator, unit, date_trunc('month', day)::date AS month,
                        sum(records)::bigint AS records, sum(num) AS num, sum(den) AS den
                 FROM dd GROUP BY 1, 2, 3) AS m
  WHERE records <> 0 OR num <> 0 OR den <> 0),
wm AS (
  INSERT INTO m_month AS t (indicator, unit, month, records, num, den, as_of)
  SELECT indicator, unit, month, records, num, den, %(now)s FROM mo
  ORDER BY indicator, unit, month
  ON CONFLICT (indicator, unit, month) DO UPDATE SET records = t.records + EXCLUDED.records,
    num = t.num + EXCLUDED.num, den = t.den + EXCLUDED.den, as_of = EXCLUDED.as_of
  RETURNING t.indicator, t.unit, t.month, t.records),
pe AS (
  SELECT * FROM (SELECT indicator, unit, day, due_day, sum(sign)::bigint AS records,
                        sum(sign * num) AS num, sum(sign * den) AS den
                 FROM c WHERE key IS NULL AND due_day IS NOT NULL
                 GROUP BY indicator, unit, day, due_day) AS p
  WHERE records <> 0 OR num <> 0 OR den <> 0),
wp AS (
  INSERT INTO m_pending AS t (indicator, unit, day, due_day, records, num, den, as_of)
  SELECT indicator, unit, day, due_day, records, num, den, %(now)s FROM pe
  ORDER BY indicator, unit, day, due_day
  ON CONFLICT (indicator, unit, day, due_day) DO UPDATE SET
    records = t.records + EXCLUDED.records, num = t.num + EXCLUDED.num,
    den = t.den + EXCLUDED.den, as_of = EXCLUDED.as_of
  RETURNING t.indicator, t.unit, t.day, t.records),
ke AS (
  SELECT indicator, unit, day, key, sum(sign)::bigint AS records FROM c
  WHERE key IS NOT NULL GROUP BY indicator, unit, day, key HAVING sum(sign) <> 0),
wk AS (
  INSERT INTO m_distinct AS t (indicator, unit, day, key, records, as_of)
  SELECT indicator, unit, day, key, records, %(now)s FROM ke ORDER BY indicator, unit, day, key
  ON CONFLICT (indicator, unit, day, key) DO UPDATE SET records = t.records + EXCLUDED.records,
    as_of = EXCLUDED.as_of
  RETURNING t.indicator, t.unit, t.day, t.key, t.records)
SELECT 'day' AS span, indicator, unit, day, NULL::text AS key, records, num, den FROM wd
UNION ALL SELECT 'month', indicator, unit, month, NULL, records, 0, 0 FROM wm WHERE records = 0
UNION ALL SELECT 'pending', indicator, unit, day, NULL, records, 0, 0 FROM wp WHERE records = 0
UNION ALL SELECT 'distinct', indicator, unit, day, key, records, 0, 0 FROM wk
"""


def _pg_statement(conn: Connection, m: Measurement, feed: str) -> tuple[str, dict[str, Any]]:
    hit = _PG_STATEMENTS.get((id(m), feed))
    if hit is not None and hit[0] is m:
        return hit[1], hit[2]
    new_stmt, old_stmt = _contributions(m, feed, "postgresql", signed=True)
    compiled = union_all(new_stmt, old_stmt).compile(
        dialect=conn.dialect, compile_kwargs={"render_postcompile": True})
    sql = _PG_APPLY.format(contributions=str(compiled))
    params = {k: v for k, v in compiled.params.items() if k != "batch"}
    if len(_PG_STATEMENTS) > 64:  # catalogs reloaded many times (tests): forget the old ones
        _PG_STATEMENTS.clear()
    _PG_STATEMENTS[(id(m), feed)] = (m, sql, params)
    return sql, params


def _apply_pg(conn: Connection, m: Measurement, feed: str, batch_id: int,
              now: datetime) -> list[DayChange]:
    """PostgreSQL: the whole day-state step of a batch in the database (``_PG_APPLY``), then
    the rows that fell to zero records removed, so that the state is what a recompute
    builds."""
    sql, params = _pg_statement(conn, m, feed)
    rows = conn.exec_driver_sql(sql, {**params, "batch": batch_id, "now": now}).all()
    changes: list[DayChange] = []
    touched: set[tuple[str, str, date]] = set()
    gone: dict[str, list[dict[str, Any]]] = defaultdict(list)
    for r in rows:
        if r.span == "day":
            changes.append(DayChange(r.indicator, r.unit, r.day, r.records, r.num, r.den, now))
        elif r.span == "distinct":
            touched.add((r.indicator, r.unit, r.day))
        if r.records == 0:
            gone[r.span].append({"i": r.indicator, "u": r.unit, "d": r.day, "k": r.key})
    for span, table in (("day", m_day), ("month", m_month)):
        if gone[span]:
            conn.execute(delete(table).where(
                table.c.indicator == _bind("i"), table.c.unit == _bind("u"),
                table.c[span] == _bind("d"), table.c.records == 0), gone[span])
    if gone["pending"]:
        conn.execute(delete(m_pending).where(
            m_pending.c.indicator.in_(sorted({g["i"] for g in gone["pending"]})),
            m_pending.c.records == 0))
    if gone["distinct"]:
        conn.execute(delete(m_distinct).where(
            m_distinct.c.indicator == _bind("i"), m_distinct.c.unit == _bind("u"),
            m_distinct.c.day == _bind("d"), m_distinct.c.key == _bind("k"),
            m_distinct.c.records == 0), gone["distinct"])
    changes.sort(key=lambda c: (c.indicator, c.unit, c.day))
    changes.extend(DayChange(ind, unit, d, 0, 0.0, 0.0, now) for ind, unit, d in sorted(touched))
    return changes


def _apply_deltas(conn: Connection, new_rows: Iterable[Any], old_rows: Iterable[Any],
                  now: datetime) -> list[DayChange]:
    day: dict[tuple[str, str, date], list[float]] = defaultdict(lambda: [0, 0.0, 0.0])
    distinct: dict[tuple[str, str, date, str], int] = defaultdict(int)
    pending: dict[tuple[str, str, date, date], list[float]] = defaultdict(lambda: [0, 0.0, 0.0])
    for rows, sign in ((new_rows, 1), (old_rows, -1)):
        for r in rows:
            if r.key is not None:
                distinct[(r.indicator, r.unit, r.day, r.key)] += sign
                continue
            accs = [day[(r.indicator, r.unit, r.day)]]
            if r.due_day is not None:
                accs.append(pending[(r.indicator, r.unit, r.day, r.due_day)])
            for acc in accs:
                acc[0] += sign
                acc[1] += sign * r.num
                acc[2] += sign * r.den
    _apply_pending(conn, pending, now)
    changes: list[DayChange] = []
    day_params = [{"indicator": k[0], "unit": k[1], "day": k[2], "records": int(a[0]),
                   "num": a[1], "den": a[2], "as_of": now}
                  for k, a in sorted(day.items()) if a[0] or a[1] or a[2]]
    for r in _upsert_additive(conn, m_day, "day", day_params):
        changes.append(DayChange(r.indicator, r.unit, r.day, r.records, r.num, r.den, now))
    _upsert_additive(conn, m_month, "month", _by_month(day_params))
    distinct_params = [{"indicator": k[0], "unit": k[1], "day": k[2], "key": k[3],
                        "records": n, "as_of": now} for k, n in sorted(distinct.items()) if n]
    if distinct_params:
        ins = _insert(conn, m_distinct)
        stmt = ins.on_conflict_do_update(
            index_elements=[m_distinct.c.indicator, m_distinct.c.unit, m_distinct.c.day,
                            m_distinct.c.key],
            set_={"records": m_distinct.c.records + ins.excluded.records,
                  "as_of": ins.excluded.as_of},
        ).returning(m_distinct.c.indicator, m_distinct.c.unit, m_distinct.c.day,
                    m_distinct.c.key, m_distinct.c.records)
        gone = []
        touched: set[tuple[str, str, date]] = set()
        for r in conn.execute(stmt, distinct_params).all():
            touched.add((r.indicator, r.unit, r.day))
            if r.records == 0:
                gone.append({"i": r.indicator, "u": r.unit, "d": r.day, "k": r.key})
        if gone:
            conn.execute(delete(m_distinct).where(
                m_distinct.c.indicator == _bind("i"), m_distinct.c.unit == _bind("u"),
                m_distinct.c.day == _bind("d"), m_distinct.c.key == _bind("k"),
                m_distinct.c.records == 0), gone)
        for ind, unit, d in sorted(touched):
            changes.append(DayChange(ind, unit, d, 0, 0.0, 0.0, now))
    return changes


def _apply_pending(conn: Connection, pending: dict[tuple[str, str, date, date], list[float]],
                   now: datetime) -> None:
    """Add the not-yet-due deltas to ``m_pending``; drop the rows that fall to zero records."""
    params = [{"indicator": k[0], "unit": k[1], "day": k[2], "due_day": k[3],
               "records": int(a[0]), "num": a[1], "den": a[2], "as_of": now}
              for k, a in sorted(pending.items()) if a[0] or a[1] or a[2]]
    if not params:
        return
    ins = _insert(conn, m_pending)
    conn.execute(ins.on_conflict_do_update(
        index_elements=[m_pending.c.indicator, m_pending.c.unit, m_pending.c.day,
                        m_pending.c.due_day],
        set_={"records": m_pending.c.records + ins.excluded.records,
              "num": m_pending.c.num + ins.excluded.num,
              "den": m_pending.c.den + ins.excluded.den, "as_of": ins.excluded.as_of}),
        params)
    conn.execute(delete(m_pending).where(
        m_pending.c.indicator.in_(sorted({p["indicator"] for p in params})),
        m_pending.c.records == 0))


def _by_month(day_params: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """The day deltas summed by (indicator, unit, month): ``m_month``'s deltas."""
    month: dict[tuple[str, str, date], list[float]] = defaultdict(lambda: [0, 0.0, 0.0])
    for p in day_params:
        acc = month[(p["indicator"], p["unit"], p["day"].replace(day=1))]
        acc[0] += p["records"]
        acc[1] += p["num"]
        acc[2] += p["den"]
    return [{"indicator": k[0], "unit": k[1], "month": k[2], "records": int(a[0]),
             "num": a[1], "den": a[2], "as_of": day_params[0]["as_of"]}
            for k, a in sorted(month.items()) if a[0] or a[1] or a[2]]


def _upsert_additive(conn: Connection, table: Any, span: str,
                     params: list[dict[str, Any]]) -> list[Any]:
    """Add the signed deltas ``params`` to ``table`` (``m_day`` or ``m_month``, keyed by
    indicator, unit and ``span``), delete the rows that fell to zero records, and return every
    row written (with its new totals)."""
    if not params:
        return []
    key = [table.c.indicator, table.c.unit, table.c[span]]
    ins = _insert(conn, table)
    stmt = ins.on_conflict_do_update(
        index_elements=key,
        set_={"records": table.c.records + ins.excluded.records,
              "num": table.c.num + ins.excluded.num,
              "den": table.c.den + ins.excluded.den, "as_of": ins.excluded.as_of},
    ).returning(*key, table.c.records, table.c.num, table.c.den)
    returned = list(conn.execute(stmt, params).all())
    gone = [{"i": r.indicator, "u": r.unit, "d": r[2]} for r in returned if r.records == 0]
    if gone:
        conn.execute(delete(table).where(
            table.c.indicator == _bind("i"), table.c.unit == _bind("u"),
            table.c[span] == _bind("d"), table.c.records == 0), gone)
    return returned


def _bind(name: str) -> Any:
    return bindparam(name)


def published_params(conn: Connection, inds: list[Any], table: Any, scope: Any,
                     now: datetime) -> list[dict[str, Any]]:
    """The m_published rows for the records of ``table`` in ``scope`` (both paths use it)."""
    dialect = conn.dialect.name
    params: list[dict[str, Any]] = []
    for ind in inds:
        for side in eng.published_sides(ind):
            for r in conn.execute(eng.published_rows(ind, side, table, dialect, scope)):
                p = published_period(r.period)
                params.append({"indicator": ind.code, "side": side.side, "source": r.source,
                               "record_id": r.record_id, "unit": r.unit, "period": r.period,
                               "period_start": p.start, "period_end": p.end,
                               "value": r.value, "published_at": r.published_at,
                               "as_of": now, "manual": bool(r.manual)})
    return params


def _apply_published(conn: Connection, inds: list[Any], latest: Any, batch_id: int,
                     now: datetime) -> None:
    changed = select(latest.c.source, latest.c.record_id).where(latest.c.batch_id == batch_id)
    codes = [i.code for i in inds]
    conn.execute(delete(m_published).where(
        m_published.c.indicator.in_(codes),
        tuple_(m_published.c.source, m_published.c.record_id).in_(changed)))
    params = published_params(conn, inds, latest, latest.c.batch_id == batch_id, now)
    if params:
        conn.execute(m_published.insert(), params)
    _queue_published(conn, params)


# -- announcing changes after commit (see chiso.measurement.stream) ----------------------------

def _queue(conn: Connection, changes: list[DayChange]) -> None:
    if changes:
        conn.info.setdefault("chiso.changes", []).extend(changes)


def queued_changes(conn: Connection) -> tuple[list[DayChange],
                                              list[tuple[str, str, str, Any, Any]]]:
    """What the open transaction on ``conn`` changed and has not announced yet: day-state
    rows, and published values as (indicator, unit, period, value, as_of). For hooks that
    must act inside the batch's transaction (webhook announcements)."""
    return list(conn.info.get("chiso.changes", [])), list(conn.info.get("chiso.published", []))


def _queue_published(conn: Connection, params: list[dict[str, Any]]) -> None:
    for p in params:
        conn.info.setdefault("chiso.published", []).append(
            (p["indicator"], p["unit"], p["period"], p["value"], p["as_of"]))


def batch_hook(measurement: Measurement) -> pipeline.AfterStore:
    """The intake hook that keeps the day state of ``measurement``'s indicators in every
    accepted batch's transaction (the runtime registers it)."""

    def after_store(conn: Connection, feed: str, batch_id: int) -> None:
        apply_batch(conn, feed, batch_id, measurement)

    return after_store
