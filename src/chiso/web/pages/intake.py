"""The data steward's pages: uploading a file of a feed for a unit (``/intake/upload``) and
data accountability per unit and feed (``/intake/data-quality``). Files go through the same
door as every other intake (``chiso.intake.doors.ingest_file``)."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, File, Form, HTTPException, Query, Request
from fastapi.concurrency import run_in_threadpool
from fastapi.responses import HTMLResponse

from chiso.access.guard import principal
from chiso.context import Runtime
from chiso.intake import quality
from chiso.intake.doors import ingest_file
from chiso.intake.pipeline import Outcome
from chiso.intake.settings import get_intake_settings
from chiso.web import format, i18n
from chiso.web.deps import Rt
from chiso.web.render import Locale, render

router = APIRouter(include_in_schema=False)

MAX_PROBLEMS = 500  # listed on the page; the rest are counted in the batch
MAX_ROWS = 2000


def _rt(request: Request) -> Runtime:
    rt: Runtime = request.app.state.runtime
    return rt


def _upload(request: Request, lang: str, *, unit: str = "", feed: str = "",
            outcome: Outcome | None = None, unused: list[str] | None = None,
            status: int = 200) -> HTMLResponse:
    """The form, carrying the session's CSRF token (a browser's post is refused without)."""
    page = render(request, lang, "intake_upload.html",
                  contracts=list(_rt(request).catalog.feeds.values()), unit=unit, feed=feed,
                  outcome=outcome, unused=unused or [],
                  problems=[str(p) for p in outcome.problems[:MAX_PROBLEMS]] if outcome
                  else [], csrf=principal(request).csrf or "")
    page.status_code = status
    return page


@router.get("/intake/upload", response_class=HTMLResponse)
def upload_page(request: Request, lang: Locale) -> HTMLResponse:
    return _upload(request, lang)


@router.post("/intake/upload")
async def upload_file(
    rt: Rt,
    lang: Locale,
    feed: Annotated[str, Form()],
    unit: Annotated[str, Form()],
    file: Annotated[bytes, File()],
    request: Request,
    evidence: Annotated[bytes | None, File()] = None,
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
        evidence_name=ev_name)
    return _upload(request, lang, unit=unit, feed=feed, outcome=outcome,
                   unused=list(info.get("unmapped_columns") or []),
                   status=200 if outcome.accepted else 422)


@router.get("/intake/data-quality", response_class=HTMLResponse)
def data_quality_page(
    request: Request, lang: Locale, rt: Rt, unit: str | None = None,
    feed: str = "tthc.dossier",
    period: Annotated[str, Query(pattern="^(day|month)$")] = "month",
) -> HTMLResponse:
    """Completeness, timeliness and outliers, for unit heads (plan 131, section V.3)."""
    if feed not in rt.catalog.feeds:
        raise HTTPException(404, f"unknown feed {feed!r}")
    if unit and unit not in rt.catalog.units.units:
        raise HTTPException(404, f"unknown unit {unit!r}")
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
