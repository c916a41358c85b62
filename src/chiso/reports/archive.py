"""Stored reports and their workflow: every report built is kept with its files, the figures
it used, their hash, the catalog and method versions and the time up to which records were
read; a draft is issued (number, date, signer) by an authorised user, after which it never
changes; a later build whose figures differ is a new edition that restates the issued one,
listing each changed figure (old, new).

One row per edition of (kind, period, unit) in ``reports``, the files in ``report_files``.
:func:`save` builds and stores, :func:`issue` freezes, :func:`listing`, :func:`get` and
:func:`file` read. Errors are :class:`ReportError` (bad request) or :class:`ReportStateError`
(the report's state forbids it).
"""

from __future__ import annotations

import hashlib
import tempfile
import unicodedata
from datetime import UTC, date, datetime
from pathlib import Path
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field
from sqlalchemy import Connection, Row, delete, func, insert, select, update
from sqlalchemy.exc import IntegrityError

from chiso.context import Runtime
from chiso.reports.as_of import view
from chiso.reports.build import Built, content_hash, gather_as_of, manifest, write
from chiso.reports.content import ReportData, ReportError, gather
from chiso.store import webhooks
from chiso.store.tables import report_files, reports

MEDIA = {".docx": "application/vnd.openxmlformats-officedocument.wordprocessingml.document",
         ".xlsx": "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
         ".pdf": "application/pdf", ".json": "application/json"}

Figure = float | int | str | None


class ReportStateError(ReportError):
    """The report's state forbids the change (an issued report is frozen)."""


class _Model(BaseModel):
    model_config = ConfigDict(frozen=True)


class Change(_Model):
    """One figure an issued edition showed that a later build reads differently."""

    figure: str = Field(description="e.g. 'target 1.1 value', 'tasks done', "
                                    "'rank dvc-766 commune 00070'")
    old: Figure
    new: Figure


class FileInfo(_Model):
    name: str
    media_type: str
    sha256: str
    size: int


class Delivery(_Model):
    to: str
    sent: bool
    detail: str = Field(description="'sent', or why not")
    at: datetime


class StoredReport(_Model):
    id: int
    kind: str
    period: str
    unit: str = Field(description="'city' or a unit code")
    edition: int
    status: Literal["draft", "issued"]
    as_of: date
    cut_off: datetime = Field(description="records received up to this time were read")
    built_at: datetime
    content_sha256: str
    catalog: str
    methods: dict[str, str]
    restates: int | None = Field(description="the issued edition this draft restates")
    changes: list[Change]
    number: str | None
    issued_on: date | None
    signer: str | None
    issued_by: str | None
    issued_at: datetime | None
    delivery: list[Delivery] = Field(default_factory=list,
                                     description="the e-mails sent when it was issued")
    files: list[FileInfo]


def _figures(data: ReportData) -> dict[str, Figure]:
    """The figures a reader sees, by a name that says which: what a restatement compares."""
    out: dict[str, Figure] = {}
    for t in data.targets:
        o = t.outlook
        out[f"target {t.target} value"] = o.latest.value if o.latest else None
        out[f"target {t.target} forecast"] = o.forecast.value if o.forecast else None
        out[f"target {t.target} status"] = o.status
    for name, value in data.tasks.model_dump().items():
        if isinstance(value, int | float) and not isinstance(value, bool):
            out[f"tasks {name}"] = value
    for s in data.standings:
        for r in [*s.leading, *s.lagging]:
            out[f"rank {s.method} {s.kind} {r.unit}"] = r.rank
            out[f"points {s.method} {s.kind} {r.unit}"] = r.points
    for table in data.rankings:
        for r in table.rows:
            out[f"rank {table.method} {table.kind} {r.unit}"] = r.rank
            out[f"points {table.method} {table.kind} {r.unit}"] = r.points
    for g in data.gaps:
        out[f"feed {g.feed} {g.unit} completeness"] = g.completeness
        out[f"feed {g.feed} {g.unit} on time"] = g.on_time_share
    return out


def restatement(old: ReportData, new: ReportData) -> list[Change]:
    """Every figure of ``old`` that ``new`` reads differently (or no longer, or newly)."""
    a, b = _figures(old), _figures(new)
    return [Change(figure=k, old=a.get(k), new=b.get(k))
            for k in sorted(a.keys() | b.keys()) if a.get(k) != b.get(k)]


def _files(conn: Connection, report_id: int) -> list[FileInfo]:
    q = select(report_files.c.name, report_files.c.media_type, report_files.c.sha256,
               report_files.c.size).where(report_files.c.report_id == report_id) \
        .order_by(report_files.c.name)
    return [FileInfo(name=r.name, media_type=r.media_type, sha256=r.sha256, size=r.size)
            for r in conn.execute(q)]


def _stored(conn: Connection, row: Row[Any]) -> StoredReport:
    m = row._mapping
    return StoredReport(
        id=m["id"], kind=m["kind"], period=m["period"], unit=m["unit"], edition=m["edition"],
        status=m["status"], as_of=m["as_of"], cut_off=_utc(m["cut_off"]),
        built_at=_utc(m["built_at"]), content_sha256=m["content_sha256"],
        catalog=m["catalog"], methods=m["methods"], restates=m["restates"],
        changes=[Change.model_validate(c) for c in m["changes"] or []], number=m["number"],
        issued_on=m["issued_on"], signer=m["signer"], issued_by=m["issued_by"],
        issued_at=_utc(m["issued_at"]) if m["issued_at"] else None,
        delivery=[Delivery.model_validate(d) for d in m["delivery"] or []],
        files=_files(conn, m["id"]))


def _utc(value: datetime) -> datetime:
    return value if value.tzinfo else value.replace(tzinfo=UTC)  # SQLite drops the offset


_SUMMARY = [c for c in reports.c if c.name != "data"]


def get(conn: Connection, report_id: int) -> StoredReport | None:
    row = conn.execute(select(*_SUMMARY).where(reports.c.id == report_id)).first()
    return _stored(conn, row) if row else None


def data_of(conn: Connection, report_id: int) -> ReportData | None:
    """The figures a stored report used."""
    got = conn.execute(select(reports.c.data).where(reports.c.id == report_id)).scalar()
    return None if got is None else ReportData.model_validate(got)


def unit_of(conn: Connection, report_id: int) -> str | None:
    """'city' or the unit code of a stored report (None: no such report)."""
    return conn.execute(select(reports.c.unit).where(reports.c.id == report_id)).scalar()


PAGE = 200  # reports a listing gives at most at once
PROPOSALS_MAX = 20_000  # characters of section IV, whichever door issues the report


def _filters(kind: str | None, period: str | None, unit: str | None,
             status: str | None) -> list[Any]:
    return [column == value for column, value in (
        (reports.c.kind, kind), (reports.c.period, period), (reports.c.unit, unit),
        (reports.c.status, status)) if value]


def listing(conn: Connection, *, kind: str | None = None, period: str | None = None,
            unit: str | None = None, status: str | None = None,
            limit: int = PAGE, offset: int = 0) -> list[StoredReport]:
    """Stored reports, newest period first, then kind, unit and latest edition first:
    ``limit`` of them from ``offset`` (``count`` says how many there are in all)."""
    q = (select(*_SUMMARY).where(*_filters(kind, period, unit, status))
         .order_by(reports.c.as_of.desc(), reports.c.kind, reports.c.unit,
                   reports.c.edition.desc(), reports.c.id.desc())
         .limit(limit).offset(offset))
    return [_stored(conn, r) for r in conn.execute(q).all()]


def count(conn: Connection, *, kind: str | None = None, period: str | None = None,
          unit: str | None = None, status: str | None = None) -> int:
    """How many stored reports ``listing`` pages through with the same filters."""
    return int(conn.execute(select(func.count()).select_from(reports)
                            .where(*_filters(kind, period, unit, status))).scalar_one())


class DraftCut(_Model):
    """A unit's report whose latest edition is a draft, and up to when its records were read."""

    unit: str
    cut_off: datetime


def latest_drafts(conn: Connection, kind: str, period: str) -> list[DraftCut]:
    """The units whose latest edition of ``kind`` for ``period`` is a draft (an issued edition
    not yet restated is not one), with the draft's cut-off."""
    newest = (select(reports.c.unit, func.max(reports.c.edition).label("edition"))
              .where(reports.c.kind == kind, reports.c.period == period)
              .group_by(reports.c.unit).subquery())
    rows = conn.execute(select(reports.c.unit, reports.c.cut_off).join(
        newest, (reports.c.unit == newest.c.unit) & (reports.c.edition == newest.c.edition))
        .where(reports.c.kind == kind, reports.c.period == period,
               reports.c.status == "draft").order_by(reports.c.unit)).all()
    return [DraftCut(unit=r.unit, cut_off=_utc(r.cut_off)) for r in rows]


def file(conn: Connection, report_id: int, name: str) -> tuple[FileInfo, bytes] | None:
    row = conn.execute(select(report_files).where(report_files.c.report_id == report_id,
                                                  report_files.c.name == name)).first()
    if row is None:
        return None
    return (FileInfo(name=row.name, media_type=row.media_type, sha256=row.sha256,
                     size=row.size), bytes(row.content))


def _render(rt: Runtime, data: ReportData, issued: date, *, number: str | None = None,
            signer: str = "", proposals: str | None = None) -> tuple[Built, dict[str, bytes]]:
    with tempfile.TemporaryDirectory(prefix="chiso-report-") as folder:
        built = write(rt, data, Path(folder), issued=issued, number=number, signer=signer,
                      proposals=proposals)
        return built, {p.name: p.read_bytes() for p in built.paths}


def _put_files(conn: Connection, report_id: int, files: dict[str, bytes]) -> None:
    conn.execute(delete(report_files).where(report_files.c.report_id == report_id))
    conn.execute(insert(report_files), [
        {"report_id": report_id, "name": name, "media_type": MEDIA[Path(name).suffix],
         "sha256": hashlib.sha256(body).hexdigest(), "size": len(body), "content": body}
        for name, body in files.items()])


def save(rt: Runtime, kind: str, period: str, unit: str, *, today: date,
         now: datetime | None = None, cut_off: datetime | None = None) -> StoredReport:
    """Build report ``kind`` for ``period`` and ``unit`` ("city" or a unit code) from the
    records received up to ``cut_off`` (default: the report's own cut-off, the start of its
    due day, or now before then) and store it as a draft dated ``today``: the latest draft
    is rebuilt in place; after an issued edition, a build with the same figures changes
    nothing and one with other figures (a later ``cut_off`` that sees late records) is the
    next edition, restating it. Raises :class:`ReportError` for a report asked wrongly."""
    stamp = now or datetime.now(UTC)
    if cut_off is None:
        data, cut = gather_as_of(rt, kind, period, unit, stamp)
    else:
        cut = cut_off.astimezone(UTC)
        with view(rt, cut) as seen:
            data = gather(seen, kind, period, unit)
    digest = content_hash(data)
    key = (data.kind, data.period, unit)
    with rt.engine.connect() as conn:
        latest = _latest(conn, key)
        if latest is not None and latest.content_sha256 == digest:
            return _must(conn, latest.id)
    _, files = _render(rt, data, today)  # outside the transaction: it takes seconds
    try:
        return _store(rt, key, data, digest, cut, stamp, files)
    except IntegrityError:  # another process stored this edition meanwhile: look again
        return _store(rt, key, data, digest, cut, stamp, files)


def _store(rt: Runtime, key: tuple[str, str, str], data: ReportData, digest: str,
           cut: datetime, stamp: datetime, files: dict[str, bytes]) -> StoredReport:
    methods = manifest(rt, data, [])["methods"]
    with rt.engine.begin() as conn:
        latest = _latest(conn, key)  # again: another build may have stored meanwhile
        if latest is not None and latest.content_sha256 == digest:
            return _must(conn, latest.id)
        restates = None
        if latest is not None:
            restates = latest.id if latest.status == "issued" else latest.restates
        changes = None
        if restates is not None:
            old = data_of(conn, restates)
            assert old is not None
            changes = [c.model_dump() for c in restatement(old, data)]
        row = {"status": "draft", "as_of": data.as_of, "cut_off": cut, "built_at": stamp,
               "content_sha256": digest, "catalog": rt.catalog.digest, "methods": methods,
               "data": data.model_dump(mode="json"), "restates": restates,
               "changes": changes}
        if latest is not None and latest.status == "draft":
            report_id = latest.id
            conn.execute(update(reports).where(reports.c.id == report_id).values(**row))
        else:
            edition = 1 if latest is None else latest.edition + 1
            report_id = conn.execute(insert(reports).values(
                kind=key[0], period=key[1], unit=key[2], edition=edition, **row)
                .returning(reports.c.id)).scalar_one()
        _put_files(conn, report_id, files)
        return _must(conn, report_id)


def _latest(conn: Connection, key: tuple[str, str, str]) -> Any:
    return conn.execute(select(reports.c.id, reports.c.status, reports.c.edition,
                               reports.c.content_sha256, reports.c.restates).where(
        reports.c.kind == key[0], reports.c.period == key[1], reports.c.unit == key[2])
        .order_by(reports.c.edition.desc()).limit(1)).first()


def _must(conn: Connection, report_id: int) -> StoredReport:
    found = get(conn, report_id)
    assert found is not None
    return found


def issue(rt: Runtime, report_id: int, *, number: str, signer: str, issued_on: date,
          by: str, proposals: str | None = None, now: datetime | None = None
          ) -> StoredReport:
    """Issue draft ``report_id``: its files are written again from the figures the draft
    showed, with the register ``number``, the date ``issued_on``, the ``signer``'s name and
    the operator's ``proposals``; from then on it never changes. Raises
    :class:`ReportStateError` when it is already issued, :class:`ReportError` for a blank
    number or signer, ``LookupError`` for no such report."""
    number, signer = number.strip(), signer.strip()
    if not number:
        raise ReportError("number: give the register number (e.g. 125)")
    if not signer:
        raise ReportError("signer: give the name of the person who signs")
    if len(number) > 64 or len(signer) > 200:
        raise ReportError("number or signer: too long (64 and 200 characters at most)")
    if proposals is not None and len(proposals) > PROPOSALS_MAX:
        raise ReportError(f"proposals: at most {PROPOSALS_MAX} characters (section IV is a "
                          "few paragraphs)")
    for field, text in (("number", number), ("signer", signer), ("proposals", proposals or "")):
        if any(unicodedata.category(c) in ("Cc", "Cs") and c not in "\n\t" for c in text):
            raise ReportError(f"{field}: remove the control characters; a report's text holds "
                              "letters, digits, punctuation and line breaks")
    with rt.engine.begin() as conn:
        row = conn.execute(select(reports.c.status).where(reports.c.id == report_id)
                           .with_for_update()).first()
        if row is None:
            raise LookupError(f"no report {report_id}")
        if row.status != "draft":
            raise ReportStateError(f"report {report_id} is already issued: an issued report "
                                 "never changes; build the report again for a restatement")
        data = data_of(conn, report_id)
        assert data is not None
        _, files = _render(rt, data, issued_on, number=number, signer=signer,
                           proposals=proposals)
        changed = conn.execute(update(reports).where(
            reports.c.id == report_id, reports.c.status == "draft").values(
            status="issued", number=number, signer=signer, issued_on=issued_on,
            proposals=proposals, issued_by=by, issued_at=now or datetime.now(UTC)))
        if changed.rowcount != 1:  # issued meanwhile by someone else
            raise ReportStateError(f"report {report_id} is already issued")
        _put_files(conn, report_id, files)
        issued = _must(conn, report_id)
        # subscribers hear of it in the transaction that issues it (the outbox's rule)
        webhooks.publish(conn, webhooks.REPORT_ISSUED, f"report:{report_id}",
                         {"id": report_id, "kind": data.kind, "period": data.period,
                          "unit": data.unit or "city", "issued_on": issued_on.isoformat(),
                          "number": number, "files": [f.name for f in issued.files]},
                         now or datetime.now(UTC))
        return issued
