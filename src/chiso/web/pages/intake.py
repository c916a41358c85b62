"""The data steward's pages: uploading a file of a feed for a unit (``/intake/upload``), saving
the column mapping of the source's files from what the upload read and proposed
(``/intake/mappings``), and data accountability per unit and feed (``/intake/data-quality``).
Files go through the same door as every other intake (``chiso.intake.doors.ingest_file``)."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, File, Form, HTTPException, Query, Request
from fastapi.concurrency import run_in_threadpool
from fastapi.responses import HTMLResponse

from chiso.access.guard import principal
from chiso.context import Runtime
from chiso.intake import mappings, quality
from chiso.intake.doors import ingest_file
from chiso.intake.pipeline import Outcome
from chiso.intake.settings import get_intake_settings
from chiso.intake.validate import Problem
from chiso.web import format, i18n
from chiso.web.deps import Rt
from chiso.web.render import Locale, NotFound, render

router = APIRouter(include_in_schema=False)

MAX_PROBLEMS = 500  # listed on the page; the rest are counted in the batch
MAX_ROWS = 2000
SOURCE = r"^[a-z0-9][a-z0-9._-]{0,63}$"


def _rt(request: Request) -> Runtime:
    rt: Runtime = request.app.state.runtime
    return rt


def _upload(request: Request, lang: str, *, unit: str = "", feed: str = "",
            source: str = "upload", outcome: Outcome | None = None,
            info: dict[str, Any] | None = None, saved: mappings.Mapping | None = None,
            error: str | None = None, status: int = 200) -> HTMLResponse:
    """The form, carrying the session's CSRF token (a browser's post is refused without);
    after an upload, what it read and proposed, as a column mapping form."""
    info = info or {}
    rt = _rt(request)
    i18n.current_locale.set(lang)  # the problems below are said in the page's language
    fields = list(rt.catalog.feeds[feed].fields) if feed in rt.catalog.feeds else []
    page = render(request, lang, "intake_upload.html",
                  contracts=list(rt.catalog.feeds.values()), unit=unit, feed=feed,
                  source=source, outcome=outcome, unused=info.get("unmapped_columns") or [],
                  columns=[*(info.get("read_columns") or []), *(info.get("proposals") or [])],
                  mapping=info.get("mapping"), fields=fields, saved=saved,
                  error=i18n.said(error) if error else None,
                  layout=[_layout_row(x) for x in info.get("layout_rows") or []],
                  problems=[_problem(p) for p in outcome.problems[:MAX_PROBLEMS]] if outcome
                  else [], csrf=principal(request).csrf or "")
    page.status_code = status
    return page


def _problem(p: Problem) -> str:
    """"Dòng 7, cột I (Số lần bổ sung), trường 'supplement_requests': …" in the reader's
    language."""
    where = [i18n.gettext("row %(row)s") % {"row": p.row} if p.row is not None
             else i18n.gettext("record %(index)s") % {"index": p.index + 1} if p.index >= 0
             else ""]
    if p.column:
        where.append(i18n.gettext("column %(column)s") % {"column": p.column})
    if p.field:
        where.append(i18n.gettext("field '%(field)s'") % {"field": p.field})
    head = ", ".join(w for w in where if w)
    text = i18n.said(p.message)
    return f"{head[:1].upper()}{head[1:]}: {text}" if head else text[:1].upper() + text[1:]


def _layout_row(row: dict[str, Any]) -> str:
    """"row 12 (totals: “Tổng cộng: 3 hồ sơ”)" in the reader's language."""
    kinds = {"group": i18n.gettext("a group heading"), "totals": i18n.gettext("totals"),
             "footer": i18n.gettext("the footer")}
    return i18n.gettext("row %(row)s (%(kind)s: “%(text)s”)") % {
        "row": row["row"], "kind": kinds.get(row["kind"], row["kind"]), "text": row["text"]}


@router.get("/intake/upload", response_class=HTMLResponse)
def upload_page(request: Request, lang: Locale, feed: str = "", unit: str = "",
                source: Annotated[str, Query(pattern=SOURCE)] = "upload") -> HTMLResponse:
    return _upload(request, lang, feed=feed[:64], unit=unit[:32], source=source)


@router.post("/intake/upload")
async def upload_file(
    rt: Rt,
    lang: Locale,
    feed: Annotated[str, Form()],
    unit: Annotated[str, Form()],
    file: Annotated[bytes, File()],
    request: Request,
    evidence: Annotated[bytes | None, File()] = None,
    source: Annotated[str, Form(pattern=SOURCE)] = "upload",
) -> HTMLResponse:
    try:
        contract = rt.catalog.contract(feed)
    except KeyError as exc:
        raise HTTPException(404, str(exc.args[0])) from exc
    form = await request.form()
    upload = form.get("file")
    filename = getattr(upload, "filename", None) or "upload"
    ev = form.get("evidence")
    ev_name = getattr(ev, "filename", None)
    outcome, info = await run_in_threadpool(
        ingest_file, rt.engine, contract, file, filename, unit.strip(),
        frozenset(rt.catalog.units.units), get_intake_settings(), evidence=evidence or None,
        evidence_name=ev_name, mapping_source=source)
    return _upload(request, lang, unit=unit, feed=feed, source=source, outcome=outcome,
                   info=info, status=200 if outcome.accepted else 422)


@router.post("/intake/mappings", response_class=HTMLResponse)
async def save_mapping(request: Request, rt: Rt, lang: Locale,
                       feed: Annotated[str, Form()], unit: Annotated[str, Form()],
                       source: Annotated[str, Form(pattern=SOURCE)] = "upload",
                       ) -> HTMLResponse:
    """A new version of the column mapping from the form's ``heading`` / ``field`` pairs
    (a blank field: the column stays unread); 422 with the page naming what is wrong."""
    try:
        contract = rt.catalog.contract(feed)
    except KeyError as exc:
        raise HTTPException(404, str(exc.args[0])) from exc
    if unit not in rt.catalog.units.units:
        raise NotFound("unit", unit)
    form = await request.form()
    headings = [str(h) for h in form.getlist("heading")][:mappings.MAX_COLUMNS + 1]
    chosen = [str(f) for f in form.getlist("field")][:mappings.MAX_COLUMNS + 1]
    columns: dict[str, str] = {}
    for heading, name in zip(headings, chosen, strict=False):
        if name:
            columns[heading] = name
    who = principal(request)
    try:
        saved = await run_in_threadpool(
            lambda: mappings.save(rt.engine, contract, unit, source, columns, actor=who.actor,
                                  roles=",".join(sorted(who.roles)),
                                  ip=request.client.host if request.client else None))
    except (mappings.MappingError, mappings.MappingConflictError) as exc:
        sent = [{"column": "", "heading": h, "field": f or None, "score": 0}
                for h, f in zip(headings, chosen, strict=False)]
        return _upload(request, lang, unit=unit, feed=feed, source=source, error=exc.args[0],
                       info={"read_columns": sent[:mappings.MAX_COLUMNS]},
                       status=422 if isinstance(exc, mappings.MappingError) else 409)
    return _upload(request, lang, unit=unit, feed=feed, source=source, saved=saved)


@router.get("/intake/data-quality", response_class=HTMLResponse)
def data_quality_page(
    request: Request, lang: Locale, rt: Rt, unit: str | None = None,
    feed: str = "tthc.dossier",
    period: Annotated[str, Query(pattern="^(day|month)$")] = "month",
) -> HTMLResponse:
    """Completeness, timeliness and outliers, for unit heads (plan 131, section V.3)."""
    if feed not in rt.catalog.feeds:
        raise NotFound("feed", feed)
    if unit and unit not in rt.catalog.units.units:
        raise NotFound("unit", unit)
    data = quality.report(rt.engine, [rt.catalog.feeds[feed]], unit or None, period)
    names = rt.catalog.units

    def share(value: Any) -> str:
        return format.percent(None if value is None else float(value) * 100)

    def unit_name(code: str) -> str:
        found = names.units.get(code)
        return i18n.pick(found.name, found.name_en) if found else ""

    return render(request, lang, "data_quality.html", rows=data["rows"][:MAX_ROWS],
                  outliers=data["outliers"][:200], feeds=list(rt.catalog.feeds), feed=feed,
                  unit=unit, period=period, share=share, unit_name=unit_name)
