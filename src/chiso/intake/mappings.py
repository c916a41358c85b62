"""A data steward's column mappings: how one source's files name the contract's fields, per
(feed, unit, source), without code.

A mapping is a set of headings as the files write them, each mapped to one contract field.
Every save is a new version (rows are never updated) and is audited in the same transaction;
a file uploaded for that unit, feed and source is read with the latest version (its headings
first, the contract's own headers for the rest), and its batch records the version's id.
"""

from __future__ import annotations

import unicodedata
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import Connection, Engine, func, select
from sqlalchemy.exc import IntegrityError

from chiso.access import audit
from chiso.catalog.feeds import Contract
from chiso.store.tables import intake_mappings
from chiso.text import Said, fold, squash

MAX_HEADING = 200  # characters of one heading
MAX_COLUMNS = 500  # headings in one mapping (a file's column limit)
MAX_VERSIONS = 200  # versions listed


class MappingError(ValueError):
    """A mapping that cannot be saved; ``heading`` and ``field`` name what is wrong. Its
    message is a :class:`chiso.text.Said` (English, sayable in the reader's language)."""

    def __init__(self, template: str, heading: str | None = None, field: str | None = None,
                 **params: object):
        super().__init__(Said(template, **params))
        self.heading, self.field = heading, field


class MappingConflictError(RuntimeError):
    """Another save of the same mapping committed first: read it and save again."""


@dataclass(frozen=True)
class Mapping:
    id: int
    feed: str
    unit: str
    source: str
    version: int
    columns: dict[str, str]  # heading -> field
    created_at: datetime
    created_by: str

    def headers(self) -> dict[str, str]:
        """Folded heading -> field, as the file reader matches headings."""
        return {fold(h): f for h, f in self.columns.items()}


def check(contract: Contract, columns: dict[str, str]) -> dict[str, str]:
    """The mapping cleaned (headings' spaces squashed), or ``MappingError`` naming the first
    heading or field that is wrong: an unknown field, two headings to one field, two headings
    that read the same, a field the contract requires that no heading maps to (``unit``
    excepted: a file without it is filed under the unit it is uploaded for)."""
    if not columns:
        raise MappingError("The mapping maps no heading.")
    if len(columns) > MAX_COLUMNS:
        raise MappingError("%(count)s headings; the limit is %(limit)s.", count=len(columns),
                           limit=MAX_COLUMNS)
    cleaned: dict[str, str] = {}
    by_field: dict[str, str] = {}
    by_fold: dict[str, str] = {}
    for raw, name in columns.items():
        heading = squash(raw)
        if not fold(heading):
            raise MappingError("Heading “%(column)s” has no letter or digit.", raw, name,
                               column=raw)
        if any(unicodedata.category(ch) == "Cc" for ch in heading):
            raise MappingError("Heading “%(column)s” holds a control character.", heading, name,
                               column=heading)
        if len(heading) > MAX_HEADING:
            raise MappingError("Heading “%(column)s…” is longer than %(limit)s characters.",
                               heading, name, column=heading[:40], limit=MAX_HEADING)
        if name not in contract.fields:
            raise MappingError("Heading “%(column)s”: feed %(feed)s has no field '%(name)s'.",
                               heading, name, column=heading, feed=contract.feed, name=name)
        if name in by_field:
            raise MappingError("Headings “%(other)s” and “%(column)s” both map to field "
                               "'%(name)s'; a field is read from one column.", heading, name,
                               other=by_field[name], column=heading, name=name)
        if fold(heading) in by_fold:
            raise MappingError("Headings “%(other)s” and “%(column)s” read the same (tone marks "
                               "and case are ignored).", heading, name,
                               other=by_fold[fold(heading)], column=heading)
        by_field[name], by_fold[fold(heading)] = heading, heading
        cleaned[heading] = name
    for name, spec in contract.fields.items():
        if spec.required and name != "unit" and name not in by_field:
            raise MappingError("Field '%(name)s' is required by feed %(feed)s and no heading maps "
                               "to it.", None, name, name=name, feed=contract.feed)
    return cleaned


def _mapping(row: Any) -> Mapping:
    created = row.created_at
    if created.tzinfo is None:
        created = created.replace(tzinfo=UTC)
    return Mapping(row.id, row.feed, row.unit, row.source, row.version, dict(row.columns),
                   created, row.created_by)


def save(engine: Engine, contract: Contract, unit: str, source: str,
         columns: dict[str, str], *, actor: str, roles: str, ip: str | None = None) -> Mapping:
    """Check and store a new version; audited (actor, unit, version, headings) in the same
    transaction. ``MappingConflictError`` when a parallel save took the version number."""
    cleaned = check(contract, columns)
    try:
        with engine.begin() as conn:
            last = conn.execute(select(func.max(intake_mappings.c.version)).where(
                intake_mappings.c.feed == contract.feed, intake_mappings.c.unit == unit,
                intake_mappings.c.source == source)).scalar()
            version, created, by = (last or 0) + 1, datetime.now(UTC), actor[:128]
            row = {"feed": contract.feed, "unit": unit, "source": source, "version": version,
                   "columns": cleaned, "created_at": created, "created_by": by}
            new_id = conn.execute(intake_mappings.insert().values(row)
                                  .returning(intake_mappings.c.id)).scalar_one()
            audit.append(conn, actor=actor, roles=roles, action="column mapping saved",
                         result="ok", target=f"mapping:{contract.feed}/{unit}/{source}",
                         unit=unit, ip=ip, detail={"version": version,
                                                   "columns": cleaned})
    except IntegrityError as exc:
        raise MappingConflictError(Said("Another save of this mapping came first: reload it "
                                        "and save again.")) from exc
    return Mapping(new_id, contract.feed, unit, source, version, cleaned, created, by)


def latest(conn: Connection, feed: str, unit: str, source: str) -> Mapping | None:
    """The version a file of this feed, unit and source is read with (None: no mapping)."""
    row = conn.execute(select(intake_mappings).where(
        intake_mappings.c.feed == feed, intake_mappings.c.unit == unit,
        intake_mappings.c.source == source).order_by(intake_mappings.c.version.desc())
        .limit(1)).first()
    return _mapping(row) if row is not None else None


def versions(conn: Connection, feed: str, unit: str, source: str) -> list[Mapping]:
    """Every version, newest first (at most ``MAX_VERSIONS``)."""
    rows = conn.execute(select(intake_mappings).where(
        intake_mappings.c.feed == feed, intake_mappings.c.unit == unit,
        intake_mappings.c.source == source).order_by(intake_mappings.c.version.desc())
        .limit(MAX_VERSIONS)).all()
    return [_mapping(r) for r in rows]


def listing(conn: Connection, units: frozenset[str] | None = None, feed: str | None = None,
            limit: int = 500) -> list[Mapping]:
    """The latest version of every mapping, of ``units`` only when given."""
    newest = (select(intake_mappings.c.feed, intake_mappings.c.unit, intake_mappings.c.source,
                     func.max(intake_mappings.c.version).label("version"))
              .group_by(intake_mappings.c.feed, intake_mappings.c.unit,
                        intake_mappings.c.source).subquery())
    query = select(intake_mappings).join(newest, (intake_mappings.c.feed == newest.c.feed)
                                         & (intake_mappings.c.unit == newest.c.unit)
                                         & (intake_mappings.c.source == newest.c.source)
                                         & (intake_mappings.c.version == newest.c.version))
    if units is not None:
        query = query.where(intake_mappings.c.unit.in_(sorted(units)))
    if feed:
        query = query.where(intake_mappings.c.feed == feed)
    rows = conn.execute(query.order_by(intake_mappings.c.feed, intake_mappings.c.unit,
                                       intake_mappings.c.source).limit(limit)).all()
    return [_mapping(r) for r in rows]
