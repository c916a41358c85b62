"""A rate limit on sign-in attempts per client address, checked before any password work.

The ``limits`` library's moving window, in this process's memory: a flood of guesses from one
address costs chiso no argon2 work beyond the limit. (Several app processes each keep their
own window; the per-account lock-out in the database bounds guesses across all of them.)
"""

from __future__ import annotations

import math
import time

from limits import RateLimitItem, parse
from limits.storage import MemoryStorage
from limits.strategies import MovingWindowRateLimiter


class SignInThrottle:
    """``rate``: the limits notation, e.g. ``"20/minute"``."""

    def __init__(self, rate: str) -> None:
        self.item: RateLimitItem = parse(rate)
        self.limiter = MovingWindowRateLimiter(MemoryStorage())

    @property
    def amount(self) -> int:
        return int(self.item.amount)

    @property
    def seconds(self) -> int:
        return int(self.item.get_expiry())

    def admit(self, client: str | None) -> int:
        """0 when the attempt may go on (and is counted); otherwise the seconds to wait."""
        key = client or "unknown"
        if self.limiter.hit(self.item, "signin", key):
            return 0
        reset = self.limiter.get_window_stats(self.item, "signin", key).reset_time
        return max(1, math.ceil(reset - time.time()))
