"""chiso's time: Vietnamese days, defined once.

Every day chiso counts in (a day-state row, a period, a deadline, a decision's month, a
file's dd/mm/yyyy) is a day in Vietnam (UTC+7, one zone, no daylight saving). It is a property
of the data, not of the deployment: the day state is stored in these days, so the zone is not a
setting. Python code uses :data:`VIETNAM`; SQL uses :data:`VIETNAM_NAME` (PostgreSQL's
``timezone()``); "what day is it" is asked of the runtime's clock (``chiso.context.Clock``).
"""

from __future__ import annotations

from datetime import UTC, date, datetime
from zoneinfo import ZoneInfo

VIETNAM_NAME = "Asia/Ho_Chi_Minh"
VIETNAM = ZoneInfo(VIETNAM_NAME)


def vietnam_day(moment: datetime) -> date:
    """The Vietnamese day of an instant (a naive instant is read as UTC, as chiso stores)."""
    aware = moment if moment.tzinfo is not None else moment.replace(tzinfo=UTC)
    return aware.astimezone(VIETNAM).date()
