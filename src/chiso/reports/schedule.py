"""Reports built on schedule inside the running service.

For every report kind, the last period that has ended is due twice: once **opened** (the day
after the period ends: drafts to read and complete) and once **closed** (its due cut-off has
passed: the drafts rebuilt from the records received up to then; an issued edition whose
figures moved gets a restating draft). In between, the drafts follow their period's data: when
records arrived after a draft was built, each look at least :data:`REFRESH` after the last
rebuild rebuilds the period's drafts (not the editions already issued: those are restated at
the closing), so a draft opened before the period's late data came never shows the empty
picture of its first day. A run is claimed by inserting its row in
``report_runs`` (kind, period, stage): the process whose insert succeeds builds, every other
finds the row and skips, so a run happens once however many processes serve, on PostgreSQL
and SQLite alike. A claim is a lease (:data:`LEASE`), renewed after each report built; an
unfinished run whose lease has passed was left by a process that died, and the first look
that finds it takes it over in one conditional update (one process wins) and builds it.
:func:`run_due` does one look; :func:`loop` looks every few minutes. A period that none
of the kind's plans covers (the annual report on a plan for 2026, in 2026, asks for 2025) is
not due; a report that fails is logged and the others are built.
"""

from __future__ import annotations

import asyncio
import logging
import os
import socket
import time
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from functools import partial

from sqlalchemy import ColumnElement, and_, insert, or_, update
from sqlalchemy.exc import IntegrityError

from chiso.catalog.reports import last_period
from chiso.context import Runtime
from chiso.measurement.periods import VN
from chiso.reports import archive
from chiso.reports.as_of import arrived_after, due_cut_off
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


#: How long a claim holds without renewal; a run renews it after each report it builds.
LEASE = timedelta(minutes=15)

#: The least time between two rebuilds of an open period's drafts.
REFRESH = timedelta(hours=1)

#: The stage of the rebuilds between opening and closing: one row per kind and period, its
#: ``claimed_at`` the last rebuild's start (claimed as the other stages are, so one process
#: rebuilds).
REFRESHED = "refresh"


def _me() -> str:
    return f"{socket.gethostname()}:{os.getpid()}"


def _key(kind: str, period: str, stage: str) -> list[ColumnElement[bool]]:
    return [report_runs.c.kind == kind, report_runs.c.period == period,
            report_runs.c.stage == stage]


def _take(rt: Runtime, kind: str, period: str, stage: str, now: datetime, lease: timedelta,
          free: ColumnElement[bool]) -> str | None:
    """Claim the row of (kind, period, stage): "new" when this process inserts it, "taken"
    when its row exists and ``free`` holds for it (one conditional update: of two
    processes, one wins), None when another process has it."""
    try:
        with rt.engine.begin() as conn:
            conn.execute(insert(report_runs).values(
                kind=kind, period=period, stage=stage, claimed_at=now, claimed_by=_me(),
                lease_until=now + lease))
        return "new"
    except IntegrityError:
        pass
    with rt.engine.begin() as conn:
        taken = conn.execute(update(report_runs).where(*_key(kind, period, stage), free).values(
            claimed_at=now, claimed_by=_me(), lease_until=now + lease, finished_at=None))
    return "taken" if taken.rowcount == 1 else None


def _claim(rt: Runtime, kind: str, period: str, stage: str, now: datetime,
           lease: timedelta) -> bool:
    """Claim the run: insert its row, or take over an unfinished one whose lease has passed
    (a claim from before leases counts from its ``claimed_at``)."""
    expired = or_(report_runs.c.lease_until < now,
                  and_(report_runs.c.lease_until.is_(None), report_runs.c.claimed_at < now - lease))
    got = _take(rt, kind, period, stage, now, lease,
                and_(report_runs.c.finished_at.is_(None), expired))
    if got == "taken":
        log.warning("report run %s %s %s: its claim had expired; taken over", kind, period,
                    stage)
    return got is not None  # None: another process has this run, or it is done


def _renew(rt: Runtime, kind: str, period: str, stage: str, until: datetime) -> None:
    with rt.engine.begin() as conn:
        conn.execute(update(report_runs).where(
            *_key(kind, period, stage), report_runs.c.claimed_by == _me()).values(
            lease_until=until))


def _within_plans(rt: Runtime, plans: list[str], start: date, end: date) -> bool:
    """Does ``start``–``end`` overlap the period of one of ``plans`` (a plan without a period
    covers every one)?"""
    for number in plans:
        plan = rt.catalog.plans[number].plan
        if ((plan.period_start is None or end >= plan.period_start)
                and (plan.period_end is None or start <= plan.period_end)):
            return True
    return False


def _claim_refresh(rt: Runtime, kind: str, period: str, now: datetime,
                   refresh: timedelta) -> bool:
    """Claim a rebuild of the period's drafts: the first, or one ``refresh`` after the last."""
    return _take(rt, kind, period, REFRESHED, now, LEASE,
                 report_runs.c.claimed_at <= now - refresh) is not None


def _stale_drafts(rt: Runtime, kind: str, period: str) -> list[str]:
    """The units whose latest edition of the report is a draft built before records that
    have arrived since (its cut-off is older than the newest data)."""
    with rt.engine.connect() as conn:
        drafts = {s.unit: s.cut_off for s in archive.latest_drafts(conn, kind, period)}
        if not drafts:
            return []
        # the drafts of one run share its cut-off: one look per distinct time
        moved = {cut: arrived_after(conn, cut) for cut in sorted(set(drafts.values()))}
        return sorted(u for u, cut in drafts.items() if moved[cut])


def _build(rt: Runtime, kind: str, label: str, stage: str, unit_codes: list[str],
           today: date, now: datetime, started: float, lease: timedelta) -> int:
    built = 0
    for unit in unit_codes:
        try:
            archive.save(rt, kind, label, unit, today=today, now=now)
            built += 1
        except ReportError as exc:
            log.error("report %s %s %s not built: %s", kind, label, unit, exc)
        except Exception:  # one report's failure never stops the others
            log.exception("report %s %s %s not built", kind, label, unit)
        elapsed = timedelta(seconds=time.monotonic() - started)
        _renew(rt, kind, label, stage, now + elapsed + lease)
    with rt.engine.begin() as conn:
        conn.execute(update(report_runs).where(*_key(kind, label, stage)).values(
            finished_at=datetime.now(UTC), built=built))
    return built


def run_due(rt: Runtime, now: datetime, *, kinds: list[str] | None = None,
            units: list[str] | None = None, lease: timedelta = LEASE,
            refresh: timedelta = REFRESH) -> list[Run]:
    """Build what is due at ``now`` and not yet claimed, or claimed by a process whose lease
    has passed (only ``kinds`` and ``units`` when given), and rebuild the drafts of a period
    open but not closed that records arrived after, at most once every ``refresh``; returns
    the runs this process did. A report that fails is logged and skipped."""
    started = time.monotonic()
    today = now.astimezone(VN).date()
    done: list[Run] = []
    for kind in sorted(rt.catalog.reports.values(), key=lambda k: k.id):
        if kinds is not None and kind.id not in kinds:
            continue
        label = last_period(kind, today)
        period = report_period(kind, label)
        if not _within_plans(rt, kind.plans, period.start, period.end):
            continue  # a period none of the kind's plans covers has nothing to report
        end = period.end
        stages = ["opened"] + (["closed"] if now >= due_cut_off(kind, end) else [])
        wanted = [u for u in issuing_units(rt, kind.id) if units is None or u in units]
        for stage in stages:
            if not _claim(rt, kind.id, label, stage, now, lease):
                continue
            built = _build(rt, kind.id, label, stage, wanted, today, now, started, lease)
            done.append(Run(kind.id, label, stage, built))
        if len(stages) == 1:  # open, not closed: the drafts follow the period's data
            stale = [u for u in _stale_drafts(rt, kind.id, label) if u in wanted]
            if stale and _claim_refresh(rt, kind.id, label, now, refresh):
                built = _build(rt, kind.id, label, REFRESHED, stale, today, now, started,
                               lease)
                done.append(Run(kind.id, label, REFRESHED, built))
    return done


async def loop(rt: Runtime, seconds: float, refresh: timedelta = REFRESH) -> None:
    """Run until cancelled: look for reports due every ``seconds``; an open period's drafts
    are rebuilt at most every ``refresh``."""
    while True:
        try:
            await asyncio.to_thread(partial(run_due, refresh=refresh), rt, datetime.now(UTC))
        except Exception:  # a database hiccup: the next look tries again
            log.exception("scheduled reports failed")
        await asyncio.sleep(seconds)
