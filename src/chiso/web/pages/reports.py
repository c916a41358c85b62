"""The reports page, ``/bao-cao`` (``/reports`` in English): stored reports by kind, period
and unit with their files, as the access policy lets the reader see them, and the form that
issues a draft (number, date, signer, section IV) for those the policy lets issue it (the API
is ``chiso.web.api.reports``). See docs/reports.md."""

from __future__ import annotations

from datetime import date
from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from starlette.concurrency import run_in_threadpool

from chiso.access.guard import principal
from chiso.access.policy import rule_for
from chiso.context import Runtime
from chiso.dashboard.reduction import reduction
from chiso.reports import archive, delivery
from chiso.reports.archive import ReportStateError
from chiso.reports.content import ReportError
from chiso.web.deps import Conn, Id, Rt, Today
from chiso.web.render import LANG_COOKIE, Locale, render

ISSUE_ROUTE = "/bao-cao/{report_id}/issue"

router = APIRouter(include_in_schema=False)


def _issuable_units(request: Request) -> frozenset[str] | None:
    """The units whose drafts the reader may issue: None for every unit, empty for none."""
    rule = rule_for("POST", ISSUE_ROUTE)
    who = principal(request)
    if rule is None or not who.allowed(rule.roles):
        return frozenset()
    return who.scope(rule.roles)


def _page(request: Request, lang: str, rt: Runtime, conn: Conn, kind: str | None,
          period: str | None, unit: str | None, today: date, *, path: str | None = None,
          refused: tuple[int, str] | None = None) -> HTMLResponse:
    """The page; ``refused``: a draft the reader's form could not issue, and why (said on
    the page the post answers with, never carried in an address a link could word)."""
    kind, period, unit = kind or None, period or None, unit or None
    found = archive.listing(conn, kind=kind, period=period, unit=unit)
    total = (archive.count(conn, kind=kind, period=period, unit=unit)
             if len(found) >= archive.PAGE else len(found))
    units = rt.catalog.units.units

    def unit_name(code: str) -> str:
        if code == "city":
            return "Thành phố Hà Nội" if lang == "vi" else "Hanoi"
        u = units.get(code)
        return code if u is None else (u.name if lang == "vi" else u.name_en or u.name)

    kinds: dict[str, Any] = dict(sorted(rt.catalog.reports.items()))
    units_ok = _issuable_units(request)

    def may_issue(report: archive.StoredReport) -> bool:
        return report.status == "draft" and (units_ok is None or report.unit in units_ok)

    issued = request.query_params.get("issued", "")
    return render(request, lang, "reports.html", reports=found, total=total, kinds=kinds,
                  kind=kind,
                  period=period, unit=unit, unit_name=unit_name,
                  path=path or request.url.path,
                  may_issue=may_issue, csrf=principal(request).csrf or "", today=today,
                  reduced=reduction(conn, rt.catalog, today),
                  issued=issued if issued.isdigit() else None,
                  not_issued=refused[0] if refused else None,
                  why=refused[1] if refused else "")


@router.get("/bao-cao", response_class=HTMLResponse)
def reports_page(request: Request, lang: Locale, rt: Rt, conn: Conn, today: Today,
                 kind: str | None = None, period: str | None = None,
                 unit: str | None = None) -> HTMLResponse:
    return _page(request, lang, rt, conn, kind, period, unit, today)


@router.get("/reports", response_class=HTMLResponse)
def reports_page_en(request: Request, lang: Locale, rt: Rt, conn: Conn, today: Today,
                    kind: str | None = None, period: str | None = None,
                    unit: str | None = None) -> HTMLResponse:
    """The same page under its English path: English unless the reader chose a language."""
    chosen = request.query_params.get("lang") or request.cookies.get(LANG_COOKIE)
    return _page(request, lang if chosen else "en", rt, conn, kind, period, unit, today)


@router.post(ISSUE_ROUTE)
async def issue_post(report_id: Id, request: Request, rt: Rt, today: Today, lang: Locale,
                     conn: Conn) -> Response:
    """The issuing form's post: the draft is issued with its number, date, signer and
    section IV, then e-mailed as the API does; back to the page saying it was issued, or
    the page itself saying why not (404, 409, 422; the guard has checked the form's CSRF
    token and the reader's unit)."""
    form = await request.form()
    back = str(form.get("back") or "/bao-cao")
    if not back.startswith(("/bao-cao", "/reports")):
        back = "/bao-cao"
    back = back.split("?", 1)[0]
    day = str(form.get("issued_on") or "").strip()
    try:
        try:
            issued_on = date.fromisoformat(day) if day else today
        except ValueError as exc:
            raise ReportError(f"issued_on: {day!r} is not a date; write YYYY-MM-DD") from exc
        await _issue(rt, report_id, str(form.get("number") or ""),
                     str(form.get("signer") or ""), issued_on,
                     principal(request).actor, str(form.get("proposals") or "").strip() or None)
    except LookupError:
        return _refused(request, lang, rt, conn, today, back, report_id,
                        f"no report {report_id}", 404)
    except ReportStateError as exc:
        return _refused(request, lang, rt, conn, today, back, report_id, str(exc), 409)
    except ReportError as exc:
        return _refused(request, lang, rt, conn, today, back, report_id, str(exc), 422)
    return RedirectResponse(f"{back}?issued={report_id}#r{report_id}", status_code=303)


def _refused(request: Request, lang: str, rt: Runtime, conn: Conn, today: date, back: str,
             report_id: int, why: str, status: int) -> HTMLResponse:
    page = _page(request, lang, rt, conn, None, None, None, today, path=back,
                 refused=(report_id, why))
    page.status_code = status
    return page


async def _issue(rt: Runtime, report_id: int, number: str, signer: str, issued_on: date,
                 by: str, proposals: str | None) -> None:
    await run_in_threadpool(lambda: archive.issue(
        rt, report_id, number=number, signer=signer, issued_on=issued_on, by=by,
        proposals=proposals))
    await run_in_threadpool(delivery.deliver, rt, report_id)
