"""The EMC exporter: the figures the Ministry's measurement system (EMC) collects, as one
documented JSON payload per (period, unit), sent through the outbox.

:func:`payload` builds the payload (contract ``chiso.emc/1``, docs/emc.md) from the same typed
answers as the open datasets (indicator values, scores). :func:`export` compares each payload's
figures with the latest version sent and, when they differ (or none was sent), writes the next
content version and its outbox message in one transaction: a figure corrected after delivery
goes out as a new version, an unchanged one sends nothing. Since it compares with what is in
the database now, a run after a crash or restart catches up whatever changed meanwhile.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from datetime import UTC, date, datetime
from typing import Any

from sqlalchemy import Connection, func, select
from sqlalchemy.exc import IntegrityError

from chiso.config import Exporter
from chiso.context import Runtime
from chiso.exports import datasets as ds
from chiso.exports.channels import export_channel
from chiso.measurement.periods import Period, parse_period
from chiso.measurement.values import CITY
from chiso.store import catalog_reads as reads
from chiso.store import outbox
from chiso.store.tables import export_versions, outbox_messages

SCHEMA = "chiso.emc/1"
EVENT = "emc.report"
PROVINCE = {"code": "01", "name": "Thành phố Hà Nội"}
ALL_UNITS = "all"

#: Fields of a row that are figures: a change in one of them is a new content version.
INDICATOR_FIGURES = ("indicator", "value", "unit_of_measure", "numerator", "denominator",
                     "records")
SCORE_FIGURES = ("method", "method_version", "kind", "rank", "of", "points", "max_points",
                 "missing", "provisional")


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


def _plain(v: Any) -> Any:
    if isinstance(v, datetime):
        return outbox.utc(v).isoformat()
    return v.isoformat() if isinstance(v, date) else v


def payloads(rt: Runtime, exporter: Exporter, period: str, today: date
             ) -> dict[str, dict[str, Any]]:
    """The payload of each unit the exporter sends, for ``period``, without version (the
    caller numbers versions): ``{unit: payload}``. A unit with no figure is left out."""
    p = _period(period, today)
    values = ds.table(rt, ds.INDICATOR_VALUES.id, p.label, today).rows
    scores = ds.table(rt, ds.SCORES.id, p.label, today).rows
    wanted = set(exporter.indicators)
    if wanted:
        values = [r for r in values if r["indicator"] in wanted]
    every = ALL_UNITS in exporter.units
    units = sorted({r["unit"] for r in values} | {r["unit"] for r in scores}) if every \
        else sorted(set(exporter.units))
    with rt.engine.connect() as conn:
        names = {u["code"]: u for u in reads.list_units(conn)}
    out: dict[str, dict[str, Any]] = {}
    for unit in units:
        mine = [r for r in values if r["unit"] == unit]
        ranked = [r for r in scores if r["unit"] == unit]
        if not mine and not ranked:
            continue
        known = names.get(unit, {})
        out[unit] = {
            "schema": SCHEMA,
            "exporter": exporter.name,
            "province": PROVINCE,
            "period": {"code": p.label, "kind": p.kind, "start": p.start.isoformat(),
                       "end": p.end.isoformat()},
            "unit": {"code": unit, "name": known.get("name"), "name_en": known.get("name_en"),
                     "kind": "city" if unit == CITY else known.get("kind")},
            "catalog_version": rt.catalog.digest,
            "indicators": [{**{k: _plain(r[k]) for k in INDICATOR_FIGURES},
                            "name_vi": r["indicator_name_vi"], "name_en": r["indicator_name_en"],
                            "as_of": _plain(r["as_of"]), "feeds": r["feeds"].split(";")}
                           for r in sorted(mine, key=lambda r: r["indicator"])],
            "scores": [{**{k: _plain(r[k]) for k in SCORE_FIGURES},
                        "as_of": _plain(r["as_of"])}
                       for r in sorted(ranked, key=lambda r: (r["method"], r["kind"]))],
        }
    return out


def _figures(body: dict[str, Any]) -> Any:
    return {"period": body["period"]["code"], "unit": body["unit"]["code"],
            "indicators": [{k: i[k] for k in INDICATOR_FIGURES} for i in body["indicators"]],
            "scores": [{k: s[k] for k in SCORE_FIGURES} for s in body["scores"]]}


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
    sent: list[Sent] = []
    for unit, body in payloads(rt, exporter, period, today).items():
        digest = _digest(_figures(body))
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
                mid = outbox.enqueue(conn, channel=export_channel(exporter.name), event=EVENT,
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
