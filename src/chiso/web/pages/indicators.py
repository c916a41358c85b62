"""Indicator pages: city to unit to indicator to the records behind a number.

Every number on these pages is a typed answer of the measurement room
(``chiso.measurement.answers``), the same the API serves under ``/api/v1/indicators``. The
records page is personal data (pseudonyms): its access rule is ``personal=True``, so the guard
audits every read before the answer leaves, and the handler names the pseudonyms it showed.
"""

from __future__ import annotations

import math
from typing import Annotated, Any

from fastapi import APIRouter, HTTPException, Query, Request
from fastapi.responses import HTMLResponse

from chiso.access.guard import record_subjects
from chiso.context import Runtime
from chiso.measurement import answers
from chiso.measurement.periods import parse_period
from chiso.web import charts, i18n
from chiso.web.deps import Conn, PageNo, Today
from chiso.web.pages.indicator_reads import (
    Row,
    definition_words,
    field_label,
    fresh,
    monthly_chart,
    period_choices,
    period_or_default,
    value_label,
    vn,
    worst_first,
)
from chiso.web.render import Locale, NotFound, render

router = APIRouter(include_in_schema=False)

RECORDS_PAGE = 50  # records per page


def _runtime(request: Request) -> Runtime:
    rt: Runtime = request.app.state.runtime
    return rt


def _definition(rt: Runtime, code: str) -> dict[str, Any]:
    try:
        return answers.definition(rt, code).as_json()
    except answers.MeasurementError as exc:  # the only miss: no indicator with this code
        raise NotFound("indicator", code) from exc


# -- pages -------------------------------------------------------------------------------------

@router.get("/indicators", response_class=HTMLResponse)
def indicators(request: Request, lang: Locale, conn: Conn, today: Today) -> HTMLResponse:
    """Every indicator, grouped by feed, with the city's value this month and this year."""
    rt = _runtime(request)
    i18n.current_locale.set(lang)
    vals = answers.Values(rt, conn, today)
    month, ytd = f"{today.year}-{today.month:02d}", f"{today.year}-YTD"
    groups: dict[str, list[dict[str, Any]]] = {}
    for s in (answers.summaries(rt) if rt.catalog.measurement is not None else []):
        groups.setdefault(s.feed, []).append(
            {**s.model_dump(), "month": vals.one(s.code, month), "ytd": vals.one(s.code, ytd)})
    feeds = [(rt.catalog.contract(feed), items) for feed, items in groups.items()]
    return render(request, lang, "indicators.html", feeds=feeds, month=month, ytd=ytd,
                  fresh=fresh)


@router.get("/indicators/{code}", response_class=HTMLResponse)
def indicator(code: str, request: Request, lang: Locale, conn: Conn, today: Today,
              unit: Annotated[str | None, Query()] = None,
              period: Annotated[str | None, Query()] = None) -> HTMLResponse:
    """One indicator: its definition in words, its value for the city or a unit over the
    period, the monthly trend of the year, the targets bound to it and every unit's value."""
    rt = _runtime(request)
    i18n.current_locale.set(lang)
    definition = _definition(rt, code)  # 404 for an unknown code
    unit = unit or None
    registry = rt.catalog.units
    if unit is not None and unit not in registry.units and unit not in registry.groups:
        raise NotFound("unit", unit)
    chosen, complaint = period_or_default(period, today)
    vals = answers.Values(rt, conn, today)
    current = vals.one(code, chosen, unit)
    p = parse_period(chosen, today)
    year = p.start.year
    last_month = today.month if year == today.year else 12
    months = [f"{year}-{m:02d}" for m in range(1, last_month + 1)] if year <= today.year else []
    trend = [(m, vals.one(code, m, unit)) for m in months]
    chart = monthly_chart(trend, definition["unit_of_measure"] == "%")
    # every unit's value (a group: its members), worst first for the indicator's direction
    members = unit if unit in registry.groups else None
    per_unit = worst_first(vals.get(code, chosen, members, "units").values,
                           definition["direction"])
    city = vals.one(code, chosen) if unit is not None else current
    names = {c: i18n.pick(u.name, u.name_en) for c, u in registry.units.items()}
    names.update({c: i18n.pick(g.name, g.name_en) for c, g in registry.groups.items()})
    targets = [{**t, "key": t["plan"].replace("/", "-").replace(" ", "")}
               for t in definition["targets"]]
    communes = [float(v["value"]) for v in per_unit if v["value"] is not None
                and registry.units.get(str(v["unit"])) is not None
                and registry.units[str(v["unit"])].kind == "commune"]
    spread = charts.distribution(communes)
    return render(request, lang, "indicator.html", ind=definition, code=code, unit=unit,
                  unit_name=names.get(unit or "", unit), period=chosen, complaint=complaint,
                  choices=period_choices(today, chosen), current=current, city=city,
                  chart=chart, year=year, per_unit=per_unit, names=names, targets=targets,
                  words=definition_words(definition, rt.catalog.contract(definition["feed"])),
                  fresh=fresh, spread=spread)


@router.get("/indicators/{code}/records", response_class=HTMLResponse)
def records(code: str, request: Request, lang: Locale, conn: Conn, today: Today,
            unit: Annotated[str | None, Query()] = None,
            period: Annotated[str | None, Query()] = None,
            page: PageNo = 1) -> HTMLResponse:
    """The records behind the number, 50 a page, as ``/api/v1/indicators/{code}/records``
    returns them: personal fields are the pseudonyms intake stored. Staff only (the policy
    table), and every read audited with the pseudonyms it showed."""
    rt = _runtime(request)
    i18n.current_locale.set(lang)
    summary = _definition(rt, code)
    unit = unit or None
    chosen, complaint = period_or_default(period, today)
    try:
        answer = answers.indicator_records(rt, conn, code, chosen, today, unit=unit, page=page,
                                           size=RECORDS_PAGE)
    except answers.MeasurementError as exc:
        raise HTTPException(422, exc.message) from exc
    contract = rt.catalog.contract(summary["feed"])
    rows: list[Row] = answer.records
    personal = contract.personal_fields
    record_subjects(request, {r[f] for r in rows for f in personal if r.get(f)},
                    target=f"{code} records ({len(rows)}; page {page})", unit=unit)
    columns = [(name, field_label(contract, name), spec) for name, spec in
               contract.fields.items() if name != "unit"]
    pages = max(1, math.ceil(answer.total / RECORDS_PAGE))
    names = {c: i18n.pick(u.name, u.name_en) for c, u in rt.catalog.units.units.items()}
    return render(request, lang, "records.html", ind=summary, code=code, unit=unit,
                  unit_name=names.get(unit or "", unit), period=chosen, complaint=complaint,
                  answer=answer, rows=rows, columns=columns, personal=set(personal),
                  pages=pages, names=names, contract=contract,
                  value_label=lambda f, v: value_label(contract, f, v), vn=vn)
