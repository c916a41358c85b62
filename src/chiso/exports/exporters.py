"""Exporters: the figures another system collects (the Ministry's EMC, the DTI collection),
as one documented JSON payload per (period, unit), sent through the outbox.

An exporter's ``kind`` (a setting, ``CHISO_EXPORTERS``) chooses its payload from
:data:`KINDS`: ``emc`` (``chiso.emc/1``, :mod:`chiso.exports.emc`) or ``dti``
(``chiso.dti/1``, :mod:`chiso.exports.dti`); each builds from the same typed answers as the
open datasets. :func:`export` compares each payload's figures with the latest version sent
and, when they differ (or none was sent), writes the next content version and its outbox
message in one transaction: a figure corrected after delivery goes out as a new version, an
unchanged one sends nothing. Since it compares with what is in the database now, a run after a
crash or restart catches up whatever changed meanwhile. Contract: docs/emc.md.
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, date, datetime
from typing import Any

from sqlalchemy import Connection, func, select
from sqlalchemy.exc import IntegrityError

from chiso.config import Exporter
from chiso.context import Runtime
from chiso.exports import dti, emc
from chiso.exports.channels import export_channel
from chiso.measurement.periods import Period, parse_period
from chiso.scoring.answers import ScoringError
from chiso.store import outbox
from chiso.store.tables import export_versions, outbox_messages


@dataclass(frozen=True)
class Kind:
    """What an exporter of a kind sends: each unit's payload for a period (without version;
    units with nothing to say left out), and the figures whose change makes a new version."""

    event: str
    payloads: Callable[[Runtime, Exporter, Period, date], dict[str, dict[str, Any]]]
    figures: Callable[[dict[str, Any]], Any]


KINDS: dict[str, Kind] = {
    "emc": Kind(emc.EVENT, emc.payloads, emc.figures),
    "dti": Kind(dti.EVENT, dti.payloads, dti.figures),
}


class ExportError(ValueError):
    """An exporter or period that cannot be exported; the message says which and why."""


@dataclass(frozen=True)
class Sent:
    """One new content version written to the outbox."""

    exporter: str
    period: str
    unit: str
    version: int
    message_id: int


def _digest(figures: Any) -> str:
    return hashlib.sha256(outbox.encode(figures).encode()).hexdigest()


def _kind(exporter: Exporter) -> Kind:
    found = KINDS.get(exporter.kind)
    if found is None:
        raise ExportError(f"exporter {exporter.name!r}: kind {exporter.kind!r} is not one of "
                          f"{', '.join(sorted(KINDS))}")
    return found


def payloads(rt: Runtime, exporter: Exporter, period: str, today: date
             ) -> dict[str, dict[str, Any]]:
    """The payload of each unit the exporter sends, for ``period``, without version (the
    caller numbers versions): ``{unit: payload}``. A unit with no figure is left out."""
    try:
        return _kind(exporter).payloads(rt, exporter, _period(period, today), today)
    except ScoringError as exc:
        raise ExportError(str(exc)) from None


def _period(label: str, today: date) -> Period:
    try:
        return parse_period(label, today)
    except ValueError as exc:
        raise ExportError(f"period {label!r}: {exc}") from None


def _latest(conn: Connection, exporter: str, period: str, unit: str) -> tuple[int, str | None]:
    v = export_versions
    row = conn.execute(select(v.c.version, v.c.digest).where(
        v.c.exporter == exporter, v.c.period == period, v.c.unit == unit)
        .order_by(v.c.version.desc()).limit(1)).first()
    return (0, None) if row is None else (int(row.version), str(row.digest))


def export(rt: Runtime, exporter: Exporter, period: str, today: date,
           now: datetime | None = None) -> list[Sent]:
    """Write a new content version, and its outbox message, for each unit whose figures for
    ``period`` differ from the latest version sent; the new versions (none: nothing changed)."""
    now = outbox.utc(now or datetime.now(UTC))
    kind = _kind(exporter)
    sent: list[Sent] = []
    for unit, body in payloads(rt, exporter, period, today).items():
        digest = _digest(kind.figures(body))
        label = body["period"]["code"]
        try:
            with rt.engine.begin() as conn:
                version, last = _latest(conn, exporter.name, label, unit)
                if last == digest:
                    continue
                version += 1
                key = f"{exporter.name}:{label}:{unit}:v{version}"
                message = {**body, "version": version, "digest": digest,
                           "generated_at": now.isoformat(), "idempotency_key": key}
                mid = outbox.enqueue(conn, channel=export_channel(exporter.name), event=kind.event,
                                     url=exporter.url, key=key, payload=message, now=now)
                if mid is None:  # already in the outbox: another run got here first
                    continue
                conn.execute(export_versions.insert().values(
                    exporter=exporter.name, period=label, unit=unit, version=version,
                    digest=digest, message_id=mid, created_at=now))
        except IntegrityError:
            continue  # another process wrote this version at the same moment
        sent.append(Sent(exporter.name, label, unit, version, mid))
    return sent


def periods_to_watch(today: date) -> list[str]:
    """The periods whose figures may still move: this month and the last (late records),
    this quarter and this year."""
    month = Period.month_of(today)
    before = month.previous()
    return [month.label, *([before.label] if before else []),
            Period.quarter_of(today).label, str(today.year)]


def export_all(rt: Runtime, today: date, periods: list[str] | None = None,
               names: list[str] | None = None) -> list[Sent]:
    """Run every configured exporter (or those named) over ``periods`` (default
    :func:`periods_to_watch`)."""
    from chiso.exports.channels import exporters

    configured = exporters(rt.settings)
    chosen = names or sorted(configured)
    unknown = [n for n in chosen if n not in configured]
    if unknown:
        raise ExportError(f"exporter {unknown[0]!r} is not configured (CHISO_EXPORTERS); "
                          f"configured: {', '.join(sorted(configured)) or 'none'}")
    sent: list[Sent] = []
    for name in chosen:
        for period in periods or periods_to_watch(today):
            sent += export(rt, configured[name], period, today)
    return sent


@dataclass(frozen=True)
class VersionRow:
    exporter: str
    period: str
    unit: str
    version: int
    message_id: int
    state: str
    created_at: datetime


def versions(conn: Connection, exporter: str | None = None, limit: int = 200
             ) -> list[VersionRow]:
    """The newest content versions, with the state of their messages."""
    v, m = export_versions, outbox_messages
    query = (select(v.c.exporter, v.c.period, v.c.unit, v.c.version, v.c.message_id,
                    m.c.state, v.c.created_at)
             .join(m, m.c.id == v.c.message_id)
             .order_by(v.c.created_at.desc(), v.c.message_id.desc()).limit(limit))
    if exporter is not None:
        query = query.where(v.c.exporter == exporter)
    return [VersionRow(r.exporter, r.period, r.unit, r.version, r.message_id, r.state,
                       outbox.utc(r.created_at)) for r in conn.execute(query)]


def version_count(conn: Connection) -> int:
    return int(conn.execute(select(func.count()).select_from(export_versions)).scalar_one())
