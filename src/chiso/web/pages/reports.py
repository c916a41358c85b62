"""The reports page, ``/bao-cao`` (``/reports`` in English): stored reports by kind, period
and unit with their files, as the access policy lets the reader see them (the API is
``chiso.web.api.reports``). See docs/reports.md."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse

from chiso.context import Runtime
from chiso.reports import archive
from chiso.web.deps import Conn, Rt
from chiso.web.render import LANG_COOKIE, Locale, render

router = APIRouter(include_in_schema=False)


def _page(request: Request, lang: str, rt: Runtime, conn: Conn, kind: str | None,
          period: str | None, unit: str | None) -> HTMLResponse:
    found = archive.listing(conn, kind=kind or None, period=period or None, unit=unit or None)
    units = rt.catalog.units.units

    def unit_name(code: str) -> str:
        if code == "city":
            return "Thành phố Hà Nội" if lang == "vi" else "Hanoi"
        u = units.get(code)
        return code if u is None else (u.name if lang == "vi" else u.name_en or u.name)

    kinds: dict[str, Any] = dict(sorted(rt.catalog.reports.items()))
    return render(request, lang, "reports.html", reports=found, kinds=kinds, kind=kind,
                  period=period, unit=unit, unit_name=unit_name, path=request.url.path)


@router.get("/bao-cao", response_class=HTMLResponse)
def reports_page(request: Request, lang: Locale, rt: Rt, conn: Conn,
                 kind: str | None = None, period: str | None = None,
                 unit: str | None = None) -> HTMLResponse:
    return _page(request, lang, rt, conn, kind, period, unit)


@router.get("/reports", response_class=HTMLResponse)
def reports_page_en(request: Request, lang: Locale, rt: Rt, conn: Conn,
                    kind: str | None = None, period: str | None = None,
                    unit: str | None = None) -> HTMLResponse:
    """The same page under its English path: English unless the reader chose a language."""
    chosen = request.query_params.get("lang") or request.cookies.get(LANG_COOKIE)
    return _page(request, lang if chosen else "en", rt, conn, kind, period, unit)
