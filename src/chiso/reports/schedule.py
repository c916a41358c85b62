"""Reports built on schedule inside the running service.

For every report kind, the last period that has ended is due twice: once **opened** (the day
after the period ends: drafts to read and complete) and once **closed** (its due cut-off has
passed: the drafts rebuilt from the records received up to then; an issued edition whose
figures moved gets a restating draft). A run is claimed by inserting its row in
``report_runs`` (kind, period, stage): the process whose insert succeeds builds, every other
finds the row and skips, so a run happens once however many processes serve, on PostgreSQL
and SQLite alike. :func:`run_due` does one look; :func:`loop` looks every few minutes.
"""

from __future__ import annotations

import asyncio
import logging
import os
import socket
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta

from sqlalchemy import insert, update
from sqlalchemy.exc import IntegrityError

from chiso.catalog.reports import ReportKind
from chiso.context import Runtime
from chiso.measurement.periods import VN
from chiso.reports import archive
from chiso.reports.as_of import due_cut_off
from chiso.reports.build import issuing_units
from chiso.reports.content import ReportError, report_period
from chiso.store.tables import report_runs

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class Run:
    kind: str
    period: str
    stage: str
    built: int


def last_period(kind: ReportKind, today: date) -> str:
    """The label of the kind's latest period that ended before ``today``."""
    y, m = today.year, today.month
    match kind.cadence:
        case "monthly":
            last = today.replace(day=1) - timedelta(days=1)
            return f"{last:%Y-%m}"
        case "quarterly":
            q = (m - 1) // 3  # quarters wholly before this one
            return f"{y}-Q{q}" if q else f"{y - 1}-Q4"
        case "semiannual":
            return f"{y}-H1" if m > 6 else f"{y - 1}-H2"
        case "nine_months":
            return f"{y}-9M" if m > 9 else f"{y - 1}-9M"
    if kind.due_month is not None and m >= kind.due_month:
        return str(y)  # due within its own year: this year's report is open from that month
    return str(y - 1)


def _claim(rt: Runtime, kind: str, period: str, stage: str, now: datetime) -> bool:
    try:
        with rt.engine.begin() as conn:
            conn.execute(insert(report_runs).values(
                kind=kind, period=period, stage=stage, claimed_at=now,
                claimed_by=f"{socket.gethostname()}:{os.getpid()}"))
    except IntegrityError:
        return False  # another process has this run
    return True


def run_due(rt: Runtime, now: datetime, *, kinds: list[str] | None = None,
            units: list[str] | None = None) -> list[Run]:
    """Build what is due at ``now`` and not yet claimed (only ``kinds`` and ``units`` when
    given); returns the runs this process did. A report that fails is logged and skipped."""
    today = now.astimezone(VN).date()
    done: list[Run] = []
    for kind in sorted(rt.catalog.reports.values(), key=lambda k: k.id):
        if kinds is not None and kind.id not in kinds:
            continue
        label = last_period(kind, today)
        end = report_period(kind, label).end
        stages = ["opened"] + (["closed"] if now >= due_cut_off(kind, end) else [])
        for stage in stages:
            if not _claim(rt, kind.id, label, stage, now):
                continue
            built = 0
            for unit in issuing_units(rt, kind.id):
                if units is not None and unit not in units:
                    continue
                try:
                    archive.save(rt, kind.id, label, unit, today=today, now=now)
                    built += 1
                except ReportError:
                    log.exception("report %s %s %s not built", kind.id, label, unit)
            with rt.engine.begin() as conn:
                conn.execute(update(report_runs).where(
                    report_runs.c.kind == kind.id, report_runs.c.period == label,
                    report_runs.c.stage == stage).values(finished_at=datetime.now(UTC),
                                                         built=built))
            done.append(Run(kind.id, label, stage, built))
    return done


async def loop(rt: Runtime, seconds: float) -> None:
    """Run until cancelled: look for reports due every ``seconds``."""
    while True:
        try:
            await asyncio.to_thread(run_due, rt, datetime.now(UTC))
        except Exception:  # a database hiccup: the next look tries again
            log.exception("scheduled reports failed")
        await asyncio.sleep(seconds)
