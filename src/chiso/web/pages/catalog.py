"""Server-rendered pages in Vietnamese (English with ?lang=en). Plain HTML: no script needed.

Each page reads through the same functions as the API (``chiso.store.catalog_reads``,
``chiso.measurement.answers``).
"""

from __future__ import annotations

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse

from chiso.access.guard import principal
from chiso.access.policy import QUALITY
from chiso.dashboard.grdp_section import unit_grdp_section
from chiso.dashboard.sme import unit_sme_section
from chiso.dashboard.sme_programme import programme as sme_programme
from chiso.dashboard.unit_brief import unit_brief
from chiso.measurement import progress as measured_progress
from chiso.outlook import answers as outlooks
from chiso.store import catalog_reads as reads
from chiso.web import charts
from chiso.web.deps import Conn, Today
from chiso.web.pages.indicator_reads import fresh, unit_indicators
from chiso.web.render import Locale, NotFound, render

router = APIRouter(include_in_schema=False)

@router.get("/plans", response_class=HTMLResponse)
def plans(request: Request, lang: Locale, conn: Conn, day: Today) -> HTMLResponse:
    overdue = reads.list_tasks(conn, today=day, status="past_due", limit=1).total
    soon = reads.list_tasks(conn, today=day, status="due_soon", limit=1).total
    return render(request, lang, "plans.html", plans=reads.list_plans(conn),
                  overdue=overdue, soon=soon, today=day)


@router.get("/plans/{key}", response_class=HTMLResponse)
def plan(key: str, request: Request, lang: Locale, conn: Conn, day: Today) -> HTMLResponse:
    found = reads.get_plan(conn, key)
    if found is None:
        raise NotFound("plan", key)
    targets = reads.list_targets(conn, plan=key, limit=1000).items
    tasks = reads.list_tasks(conn, today=day, plan=key, limit=1000).items
    return render(request, lang, "plan.html", plan=found, targets=targets, tasks=tasks)


@router.get("/plans/{key}/targets/{target_id}", response_class=HTMLResponse)
def target(key: str, target_id: str, request: Request, lang: Locale, conn: Conn,
           day: Today) -> HTMLResponse:
    found = reads.get_target(conn, key, target_id)
    if found is None:
        raise NotFound("target", target_id)
    measurement = request.app.state.runtime.catalog.measurement
    progress = (measured_progress.target_progress(conn, measurement, found, day)
                if measurement is not None else None)
    units = {u["code"]: u["name"] for u in reads.list_units(conn)}
    catalog = request.app.state.runtime.catalog
    try:
        seen = outlooks.target_outlook(conn, catalog, found["plan_number"], target_id, None, day)
    except outlooks.OutlookError:
        seen = None  # a target no indicator measures: no trend to draw
    trend = None
    if seen is not None:
        pooled = seen.forecast is not None and seen.forecast.pooled
        # judged on the window's share: the line is that share to date, which the forecast
        # continues, not each month's own value
        series = [{"at": p.at, "value": p.to_date if pooled else p.value} for p in seen.series]
        trend = charts.trend(series, seen.threshold, seen.deadline,
                             seen.forecast.model_dump() if seen.forecast else None)
    return render(request, lang, "target.html", target=found, plan=reads.get_plan(conn, key),
                  progress=progress, unit_names=units, outlook=seen, trend=trend)


@router.get("/plans/{key}/tasks/{task_id}", response_class=HTMLResponse)
def task(key: str, task_id: str, request: Request, lang: Locale, conn: Conn,
         day: Today) -> HTMLResponse:
    found = reads.get_task(conn, key, task_id, day)
    if found is None:
        raise NotFound("task", task_id)
    return render(request, lang, "task.html", task=found, plan=reads.get_plan(conn, key))


@router.get("/targets", response_class=HTMLResponse)
def targets(request: Request, lang: Locale, conn: Conn, plan: str | None = None,
            unit: str | None = None) -> HTMLResponse:
    page = reads.list_targets(conn, plan=plan or None, unit=unit or None, limit=1000)
    return render(request, lang, "targets.html", page=page, plans=reads.list_plans(conn),
                  plan=plan, unit=unit)


@router.get("/tasks", response_class=HTMLResponse)
def tasks(request: Request, lang: Locale, conn: Conn, day: Today, plan: str | None = None,
          unit: str | None = None, status: str | None = None) -> HTMLResponse:
    chosen = next((s for s in reads.TASK_STATUSES if s == status), None)
    page = reads.list_tasks(conn, today=day, plan=plan or None, unit=unit or None,
                            status=chosen, limit=1000)
    return render(request, lang, "tasks.html", page=page, plans=reads.list_plans(conn),
                  plan=plan, unit=unit, status=chosen)


@router.get("/units", response_class=HTMLResponse)
def units(request: Request, lang: Locale, conn: Conn, q: str | None = None,
          kind: str | None = None) -> HTMLResponse:
    rt = request.app.state.runtime
    matches = rt.catalog.units.find(q, limit=50) if q else None
    listed = reads.list_units(conn, kind=kind or None) if not q else []
    return render(request, lang, "units.html", units=listed, matches=matches, q=q, kind=kind)


@router.get("/units/{code}", response_class=HTMLResponse)
def unit(code: str, request: Request, lang: Locale, conn: Conn, day: Today) -> HTMLResponse:
    found = reads.get_unit(conn, code)
    if found is None:
        raise NotFound("unit", code)
    targets = reads.list_targets(conn, unit=code, limit=1000)
    tasks = reads.list_tasks(conn, today=day, unit=code, limit=1000)
    rt = request.app.state.runtime
    # The unit's indicators with data this year, and the city's value beside each:
    # the measurement room's answers, one for the unit and one for the city.
    period, indicators = ((f"{day.year}-YTD", []) if rt.catalog.measurement is None else
                          unit_indicators(rt, conn, day, code))
    sme = unit_sme_section(conn, rt.catalog, code, day)
    # The commune against its share of this year's milestone, and its sectors.
    sme_answer = sme_programme(conn, rt.catalog, day, code) if sme else None
    brief = None
    if code in rt.catalog.units.units:  # a group of units has no rank or feeds of its own
        # Data accountability is for officials who may read the unit's data quality.
        who = principal(request)
        scope = who.scope(QUALITY) if who.allowed(QUALITY) else frozenset()
        brief = unit_brief(rt, conn, code, day, feeds=scope is None or code in scope)
    return render(request, lang, "unit.html", unit=found, targets=targets, tasks=tasks,
                  brief=brief,
                  indicators=indicators, indicator_period=period, fresh=fresh, sme=sme,
                  sme_answer=sme_answer, grdp=unit_grdp_section(conn, code))
