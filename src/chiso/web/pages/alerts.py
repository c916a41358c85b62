"""Alerts in the app (``/canh-bao``): what chiso raised for a unit — its targets at risk or
behind, its tasks overdue, due soon without evidence or slipping a milestone — each with the
sentence the unit can act on, when it was raised and escalated, and how it was delivered. A
unit officer sees their own unit's (the policy's ``query`` scope); the API is
``GET /api/v1/alerts``. See docs/outlook.md, "Alerts".
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Annotated

from fastapi import APIRouter, Query, Request
from fastapi.responses import HTMLResponse

from chiso.outlook import alerts as alerting
from chiso.outlook.status import Status
from chiso.text import vi_key
from chiso.web import i18n
from chiso.web.deps import Conn, Rt
from chiso.web.render import Locale, NotFound, render

router = APIRouter(include_in_schema=False)

SHOWN = 500  # alerts listed, newest first


@dataclass
class UnitAlerts:
    code: str
    name: str
    alerts: list[alerting.Alert] = field(default_factory=list)


@router.get("/canh-bao", response_class=HTMLResponse)
def alerts_page(request: Request, lang: Locale, rt: Rt, conn: Conn,
                unit: Annotated[str, Query(max_length=32)] = "",
                closed: bool = False) -> HTMLResponse:
    """The open alerts (``closed=true``: the closed ones too), grouped by unit."""
    registry = rt.catalog.units
    if unit and unit not in registry.units:
        raise NotFound("unit", unit)
    found = alerting.listing(conn, unit or None, SHOWN, open_only=not closed)
    groups: dict[str, UnitAlerts] = {}
    for alert in found:
        known = registry.units.get(alert.unit)
        name = i18n.pick(known.name, known.name_en) if known else alert.unit
        groups.setdefault(alert.unit, UnitAlerts(alert.unit, name)).alerts.append(alert)
    units = sorted(registry.units.values(), key=lambda u: (u.kind, vi_key(u.name)))
    return render(request, lang, "alerts.html", groups=sorted(groups.values(),
                                                               key=lambda g: vi_key(g.name)),
                  count=len(found), shown=SHOWN, unit=unit, closed=closed, units=units,
                  target_status={s.value: s.en if lang == "en" else s.value for s in Status})
