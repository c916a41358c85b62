"""The full recompute: rebuild the day state of every indicator from the latest records.

Set-based, one statement per feed: every day-shaped and distinct indicator of a feed gives
its contributions (the same expressions as the incremental path,
:mod:`chiso.measurement.engine`) summed by (unit, day, due day, key), all of them into one
staging table; ``m_day``, ``m_month``, ``m_pending`` and ``m_distinct`` are then written from
it, one ``INSERT … SELECT`` each, after the feed's old rows are deleted. It is the oracle the
incremental path is tested against. Each feed is rebuilt in one transaction; on PostgreSQL the
feed's latest table is locked against writers (``SHARE`` mode) for that transaction, so a batch
lands before or after it.
"""

from __future__ import annotations

import uuid
from collections.abc import Callable, Sequence
from datetime import UTC, datetime

from sqlalchemy import (
    BigInteger,
    Column,
    Connection,
    Date,
    DateTime,
    Engine,
    Float,
    MetaData,
    String,
    Table,
    cast,
    delete,
    func,
    insert,
    literal,
    select,
    type_coerce,
    union_all,
)

from chiso.catalog.indicators import Indicator, Measurement
from chiso.measurement import engine as eng
from chiso.measurement.compile import month_start
from chiso.measurement.incremental import published_params
from chiso.store.tables import FEED_TABLES, m_day, m_distinct, m_month, m_pending, m_published

Progress = Callable[[Indicator], None]

WORK_MEM = "256MB"

def _stage(dialect: str) -> Table:
    """One feed's contributions summed indicator by indicator (by unit, day, due day and
    key): the four day-state tables are sums of its rows. Created in the feed's transaction
    and dropped before its commit; on PostgreSQL an unlogged table of its own name (in shared
    buffers: a temporary table would go through the session's few megabytes of local buffers
    to disk), on SQLite a temporary one."""
    postgres = dialect == "postgresql"
    return Table(
        f"recompute_stage_{uuid.uuid4().hex[:12]}" if postgres else "recompute_stage",
        MetaData(),
        Column("indicator", String(96)), Column("unit", String(32)), Column("day", Date),
        Column("due_day", Date), Column("key", String(160)), Column("records", BigInteger),
        Column("num", Float), Column("den", Float), Column("as_of", DateTime(timezone=True)),
        prefixes=["UNLOGGED" if postgres else "TEMPORARY"],
    )


def recompute_feed(conn: Connection, feed: str, inds: Sequence[Indicator]) -> None:
    """Rebuild the state of ``inds`` (indicators of ``feed``) from the feed's latest records."""
    latest, _ = FEED_TABLES[feed]
    for ind in inds:
        if ind.feed != feed:
            raise ValueError(f"{ind.code} is an indicator of {ind.feed}, not of {feed}")
    published = [i for i in inds if eng.shape(i) == "published"]
    if published:
        conn.execute(delete(m_published).where(
            m_published.c.indicator.in_([i.code for i in published])))
        params = published_params(conn, published, latest, None, datetime.now(UTC))
        if params:
            conn.execute(m_published.insert(), params)
    # derived indicators read other indicators' state: nothing of their own
    stateful = [i for i in inds if eng.shape(i) in ("day", "distinct")]
    if not stateful:
        return
    eng.require_calendar(conn, stateful)
    codes = [i.code for i in stateful]
    for table in (m_day, m_month, m_pending, m_distinct):
        conn.execute(delete(table).where(table.c.indicator.in_(codes)))
    # typed here: a column NULL in every indicator of the feed has no type of its own
    # (SQLite has no such column types to cast to, only to read back as)
    typed = cast if conn.dialect.name == "postgresql" else type_coerce
    sums = []
    for ind in stateful:  # grouped indicator by indicator: small hash tables, one scan each
        c = eng.contribution_rows(ind, latest, conn.dialect.name).subquery()
        due_day, key = typed(c.c.due_day, Date), typed(c.c.key, String)
        sums.append(select(literal(ind.code, String), c.c.unit, c.c.day, due_day, key,
                           func.count(), func.sum(c.c.num), func.sum(c.c.den),
                           func.max(c.c.ingested_at))
                    .group_by(c.c.unit, c.c.day, due_day, key))
    # a failure rolls the staging table back with everything else
    stage = _stage(conn.dialect.name)
    stage.create(conn)
    conn.execute(insert(stage).from_select([col.name for col in stage.columns],
                                           union_all(*sums)))
    _write_state(conn, stage)
    stage.drop(conn)


def _write_state(conn: Connection, stage: Table) -> None:
    """The four day-state tables from the staged sums (``records`` never zero there)."""
    s = stage.c
    day_rows = s.key.is_(None)
    conn.execute(insert(m_day).from_select(
        ["indicator", "unit", "day", "records", "num", "den", "as_of"],
        select(s.indicator, s.unit, s.day, func.sum(s.records), func.sum(s.num),
               func.sum(s.den), func.max(s.as_of))
        .where(day_rows).group_by(s.indicator, s.unit, s.day)))
    month = month_start(s.day, conn.dialect.name)
    conn.execute(insert(m_month).from_select(
        ["indicator", "unit", "month", "records", "num", "den", "as_of"],
        select(s.indicator, s.unit, month, func.sum(s.records), func.sum(s.num),
               func.sum(s.den), func.max(s.as_of))
        .where(day_rows).group_by(s.indicator, s.unit, month)))
    conn.execute(insert(m_pending).from_select(
        ["indicator", "unit", "day", "due_day", "records", "num", "den", "as_of"],
        select(s.indicator, s.unit, s.day, s.due_day, s.records, s.num, s.den, s.as_of)
        .where(day_rows, s.due_day.is_not(None))))
    conn.execute(insert(m_distinct).from_select(
        ["indicator", "unit", "day", "key", "records", "as_of"],
        select(s.indicator, s.unit, s.day, s.key, s.records, s.as_of)
        .where(s.key.is_not(None))))


def recompute(engine: Engine, measurement: Measurement,
              codes: list[str] | None = None, progress: Progress | None = None) -> int:
    """Rebuild the day state (of ``codes``, or every indicator); returns indicators done.
    ``progress`` is called for each indicator as its feed's transaction commits."""
    m = measurement
    wanted = [m.indicators[c] for c in codes] if codes else list(m.indicators.values())
    done = 0
    for feed in sorted({i.feed for i in wanted}):
        inds = [i for i in wanted if i.feed == feed]
        with engine.begin() as conn:
            if conn.dialect.name == "postgresql":
                conn.exec_driver_sql(f"LOCK TABLE {FEED_TABLES[feed][0].name} IN SHARE MODE")
                # the feed's contributions are grouped in memory, not in temporary files
                conn.exec_driver_sql(f"SET LOCAL work_mem = '{WORK_MEM}'")
            recompute_feed(conn, feed, inds)
        for ind in inds:
            done += 1
            if progress is not None:
                progress(ind)
    return done
