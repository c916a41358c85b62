"""The sign-in rate limit per client address holds across processes (counted in the database,
like the lock-out), slides over the window's edge, counts an IPv6 subscriber by its /64, and
keeps no row of an address silent for two windows (SQLite and PostgreSQL)."""

from __future__ import annotations

import os
import subprocess
import sys

from sqlalchemy import Engine, func, select

from chiso.access.throttle import SignInThrottle, client_key
from chiso.store.tables import access_signin_rate

START = 1_800_000_000.0  # a window's start for "3/minute" (a multiple of 60)


class Clock:
    def __init__(self) -> None:
        self.now = START

    def __call__(self) -> float:
        return self.now


def _rows(engine: Engine) -> int:
    with engine.connect() as conn:
        return int(conn.execute(select(func.count()).select_from(access_signin_rate))
                   .scalar_one())


def test_attempts_in_another_process_count_against_the_same_address(
    fresh_engine: Engine
) -> None:
    url = fresh_engine.url.render_as_string(hide_password=False)
    code = ("import sys; from chiso.store.db import make_engine; "
            "from chiso.access.throttle import SignInThrottle; "
            "t = SignInThrottle('3/hour', make_engine(sys.argv[1])); "
            "print([t.admit('203.0.113.7') for _ in range(2)])")
    other = subprocess.run([sys.executable, "-c", code, url], capture_output=True, text=True,
                           env={**os.environ, "CHISO_ENV": "test"}, check=True, timeout=120)
    assert other.stdout.strip() == "[0, 0]"
    here = SignInThrottle("3/hour", fresh_engine)
    assert here.admit("203.0.113.7") == 0
    assert here.admit("203.0.113.7") > 0  # before: this process had counted 1 of 3
    assert here.admit("198.51.100.1") == 0


def test_the_count_slides_over_the_windows_edge(fresh_engine: Engine) -> None:
    clock = Clock()
    throttle = SignInThrottle("3/minute", fresh_engine, clock)
    assert [throttle.admit("192.0.2.1") for _ in range(3)] == [0, 0, 0]
    assert throttle.admit("192.0.2.1") == 60
    clock.now = START + 66  # 90% of the last window still counts: 3.6 + 1 > 3
    assert throttle.admit("192.0.2.1") > 0
    clock.now = START + 180
    assert throttle.admit("192.0.2.1") == 0


def test_an_ipv6_subscriber_counts_by_its_64_prefix(fresh_engine: Engine) -> None:
    assert client_key("2001:db8::1") == client_key("2001:db8::ffff:2") == "2001:db8::/64"
    assert client_key("::ffff:192.0.2.9") == "192.0.2.9"
    throttle = SignInThrottle("2/minute", fresh_engine, Clock())
    assert [throttle.admit(f"2001:db8::{i}") for i in range(1, 4)][-1] > 0
    assert throttle.admit("2001:db8:0:1::1") == 0


def test_storage_holds_only_addresses_seen_within_two_windows(fresh_engine: Engine) -> None:
    clock = Clock()
    throttle = SignInThrottle("3/minute", fresh_engine, clock)
    for i in range(40):
        throttle.admit(f"10.1.0.{i}")
    assert _rows(fresh_engine) == 40
    clock.now = START + 60
    throttle.admit("10.2.0.1")
    assert _rows(fresh_engine) == 41  # the last window's still weigh on the current one
    clock.now = START + 120
    throttle.admit("10.2.0.2")
    assert _rows(fresh_engine) == 2
