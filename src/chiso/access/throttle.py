"""A rate limit on sign-in attempts per client address, checked before any password work, and
held in the database so that every app process counts the same attempts.

The rate is written in the ``limits`` notation (``"20/minute"``). The count is a sliding-window
counter: the attempts of the current fixed window plus the previous window's, weighted by how
much of it still lies within one window's length of now; an attempt over the rate is refused
(and counted, so that a flood stays refused while it goes on). Windows are aligned on
multiples of their length, so that every process agrees on them. One row per address, updated
by one atomic upsert; rows of addresses silent for two windows are deleted as attempts come,
so storage is bounded by the addresses seen within two windows. An IPv6 address counts by its
/64 prefix, the block one subscriber holds, so that rotating through it gains nothing.
"""

from __future__ import annotations

import ipaddress
import math
import time
from collections.abc import Callable

from limits import RateLimitItem, parse
from sqlalchemy import Engine, case, delete
from sqlalchemy.dialects import postgresql, sqlite

from chiso.store.tables import access_signin_rate


def client_key(client: str | None) -> str:
    """The address an attempt is counted under: IPv4 as is, IPv6 by its /64 prefix."""
    if not client:
        return "unknown"
    try:
        address = ipaddress.ip_address(client)
    except ValueError:
        return client[:64]
    if isinstance(address, ipaddress.IPv6Address):
        if address.ipv4_mapped is not None:
            return str(address.ipv4_mapped)
        return str(ipaddress.IPv6Network(f"{address}/64", strict=False))
    return str(address)


class SignInThrottle:
    """``rate``: the limits notation, e.g. ``"20/minute"``; ``engine``: the database every
    process shares; ``clock``: epoch seconds (tests pass their own)."""

    def __init__(self, rate: str, engine: Engine,
                 clock: Callable[[], float] = time.time) -> None:
        self.item: RateLimitItem = parse(rate)
        self.engine = engine
        self.clock = clock

    @property
    def amount(self) -> int:
        return int(self.item.amount)

    @property
    def seconds(self) -> int:
        return int(self.item.get_expiry())

    def admit(self, client: str | None) -> int:
        """0 when the attempt may go on; otherwise the seconds to wait. Every attempt is
        counted, in one transaction of its own."""
        now = self.clock()
        length = self.seconds
        current = int(now // length) * length
        table = access_signin_rate
        upsert = (postgresql.insert if self.engine.dialect.name == "postgresql"
                  else sqlite.insert)(table)
        statement = upsert.values(client=client_key(client), window_start=current, hits=1,
                                  previous=0)
        same = table.c.window_start == current
        follows = table.c.window_start == current - length
        counted = statement.on_conflict_do_update(
            index_elements=["client"],
            set_={"hits": case((same, table.c.hits + 1), else_=1),
                  "previous": case((same, table.c.previous), (follows, table.c.hits),
                                   else_=0),
                  "window_start": current},
        ).returning(table.c.hits, table.c.previous)
        with self.engine.begin() as conn:
            conn.execute(delete(table).where(table.c.window_start < current - length))
            hits, previous = conn.execute(counted).one()
        share = 1 - (now - current) / length  # of the previous window still within reach
        if previous * share + hits <= self.amount:
            return 0
        return max(1, math.ceil(current + length - now))
