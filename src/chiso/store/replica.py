"""Reading from a PostgreSQL streaming replica: how far behind the primary it is.

A replica replays the primary's write-ahead log; what it answers is as fresh as the last
transaction it replayed. :func:`lag` says how old that is, so that an answer read there can
say so (``X-Chiso-Read-Lag``)."""

from __future__ import annotations

from sqlalchemy import Connection, text


def lag(conn: Connection) -> float | None:
    """Seconds since the last transaction the replica replayed was committed on the primary
    (0 when it has replayed everything it received); None on a primary or on SQLite."""
    if conn.dialect.name != "postgresql":
        return None
    row = conn.execute(text(
        "SELECT pg_is_in_recovery(), CASE WHEN pg_last_wal_receive_lsn() = "
        "pg_last_wal_replay_lsn() THEN 0 ELSE EXTRACT(EPOCH FROM now() - "
        "pg_last_xact_replay_timestamp()) END")).one()
    if not row[0]:
        return None
    return max(0.0, float(row[1] or 0.0))
