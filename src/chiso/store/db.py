"""Opening the database: SQLite (embedded default) or PostgreSQL (production).

SQLite runs in WAL mode with ``synchronous=FULL`` so that a committed transaction survives a
crash or power loss (SPEC §4 durability), and with foreign keys enforced.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from sqlalchemy import Engine, create_engine, event
from sqlalchemy.engine import make_url
from sqlalchemy.exc import OperationalError
from sqlalchemy.exc import TimeoutError as PoolTimeoutError


def normalise_url(url: str) -> str:
    """Accept plain ``postgresql://`` URLs and route them to psycopg 3."""
    parsed = make_url(url)
    if parsed.drivername in ("postgresql", "postgres"):
        parsed = parsed.set(drivername="postgresql+psycopg")
    return parsed.render_as_string(hide_password=False)


#: Seconds a client told the database is busy waits before sending its request again.
RETRY_AFTER = 2
# What a database too busy to answer now says (as opposed to one that is broken): SQLite's
# one writer holding the lock past the busy timeout; PostgreSQL out of connection slots.
_BUSY = ("database is locked", "database table is locked", "too many clients already",
         "remaining connection slots are reserved", "too many connections")


def is_busy(exc: BaseException) -> bool:
    """True for a database too busy to answer now: the request may be sent again later."""
    if isinstance(exc, PoolTimeoutError):
        return True
    return isinstance(exc, OperationalError) and any(
        text in str(exc.orig).lower() for text in _BUSY)


def is_sqlite(engine: Engine) -> bool:
    return engine.dialect.name == "sqlite"


def _sqlite_pragmas(dbapi_connection: Any, _record: Any) -> None:
    cursor = dbapi_connection.cursor()
    cursor.execute("PRAGMA journal_mode=WAL")
    cursor.execute("PRAGMA synchronous=FULL")
    cursor.execute("PRAGMA foreign_keys=ON")
    cursor.execute("PRAGMA busy_timeout=10000")
    cursor.close()


def make_engine(url: str, **kwargs: Any) -> Engine:
    """An engine for the URL, with the settings chiso relies on for each backend."""
    url = normalise_url(url)
    parsed = make_url(url)
    if parsed.drivername.startswith("sqlite"):
        if parsed.database and parsed.database != ":memory:":
            Path(parsed.database).parent.mkdir(parents=True, exist_ok=True)
            # As many connections as the server has request threads, so none waits for one.
            kwargs.setdefault("pool_size", 20)
            kwargs.setdefault("max_overflow", 20)
        engine = create_engine(url, **kwargs)
        event.listen(engine, "connect", _sqlite_pragmas)
        return engine
    kwargs.setdefault("pool_size", 20)
    kwargs.setdefault("max_overflow", 20)
    kwargs.setdefault("pool_pre_ping", True)
    return create_engine(url, **kwargs)


def unreachable(url: str) -> str | None:
    """Why the database at ``url`` cannot be opened, in one line naming it (password hidden)
    and what to check; ``None`` when a connection opens."""
    engine = make_engine(url)
    try:
        with engine.connect():
            return None
    except OperationalError as exc:
        reason = str(exc.orig).strip().splitlines()[0] if exc.orig else "no connection"
        shown = engine.url.render_as_string(hide_password=True)
        return (f"cannot open the database {shown} ({reason}); check CHISO_DATABASE_URL and "
                "that the database server is running")
    finally:
        engine.dispose()


def libpq_url(engine: Engine) -> str:
    """The PostgreSQL engine's database as a libpq URL, for a connection of its own outside
    the pool (a listener, a lock holder)."""
    return engine.url.set(drivername="postgresql").render_as_string(hide_password=False)
