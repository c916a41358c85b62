"""Signing in and out, the operator's user page, ``/api/v1/me``, the auditor's search and the
citizen's view. Who may call each route is decided by the guard (``chiso.access.guard``) from
the policy table, never here; handlers only read who is asking.
"""

from __future__ import annotations

import secrets
from typing import Annotated, Any

from fastapi import APIRouter, Form, Query, Request
from fastapi.concurrency import run_in_threadpool
from fastapi.responses import HTMLResponse, RedirectResponse, Response

from chiso.access import accounts, audit
from chiso.access.guard import CSRF_COOKIE, SESSION_COOKIE, principal
from chiso.access.roles import GRANTABLE
from chiso.access.settings import AccessSettings
from chiso.runtime import Runtime
from chiso.web import i18n
from chiso.web.api import Conn
from chiso.web.pages import Locale, render

router = APIRouter()


def _rt(request: Request) -> Runtime:
    rt: Runtime = request.app.state.runtime
    return rt


def _settings(request: Request) -> AccessSettings:
    found: AccessSettings = request.app.state.access_settings
    return found


def _ip(request: Request) -> str | None:
    return request.client.host if request.client else None


def _safe_next(value: str | None) -> str:
    """Only a path on this site: no open redirect."""
    if value and value.startswith("/") and not value.startswith("//") and "\\" not in value:
        return value
    return "/"


async def refusal(request: Request, status: int, message: str) -> Response:
    """How the guard refuses a person browsing: to the sign-in page, or a page that says no."""
    if status == 401:
        target = request.url.path + (f"?{request.url.query}" if request.url.query else "")
        return RedirectResponse(f"/signin?next={target}", status_code=303)
    lang = request.query_params.get("lang") or request.cookies.get("chiso_lang") or "vi"
    lang = lang if lang in i18n.LOCALES else i18n.DEFAULT_LOCALE
    page = render(request, lang, "error.html" if status == 404 else "refused.html",
                  detail=message)
    page.status_code = status
    return page


def _signin_page(request: Request, lang: str, message: str = "", name: str = "",
                 next_path: str = "/", status: int = 200) -> HTMLResponse:
    csrf = request.cookies.get(CSRF_COOKIE) or secrets.token_urlsafe(32)
    oidc = getattr(request.app.state, "oidc", None) is not None
    page = render(request, lang, "signin.html", csrf=csrf, message=message, name=name,
                  next=next_path, oidc=oidc)
    page.status_code = status
    page.set_cookie(CSRF_COOKIE, csrf, httponly=True, samesite="strict",
                    secure=_settings(request).cookie_secure, path="/signin")
    return page


@router.get("/signin", response_class=HTMLResponse, include_in_schema=False)
def signin_page(request: Request, lang: Locale, next: str | None = None) -> HTMLResponse:
    return _signin_page(request, lang, next_path=_safe_next(next))


@router.post("/signin", include_in_schema=False)
async def signin(request: Request, lang: Locale, name: Annotated[str, Form()],
                 password: Annotated[str, Form()],
                 next: Annotated[str, Form()] = "/") -> Response:
    who, result, token = await run_in_threadpool(
        accounts.sign_in, _rt(request).engine, name.strip(), password, _ip(request))
    i18n.current_locale.set(lang)
    if who is None or token is None:
        message = i18n.gettext("Too many failed attempts: the account is locked for 15 "
                               "minutes." if "locked" in result else
                               "Wrong user name or password.")
        return _signin_page(request, lang, message, name, _safe_next(next), status=401)
    response = RedirectResponse(_safe_next(next), status_code=303)
    set_session_cookie(request, response, token)
    return response


def set_session_cookie(request: Request, response: Response, token: str) -> None:
    response.set_cookie(SESSION_COOKIE, token, httponly=True, samesite="lax",
                        secure=_settings(request).cookie_secure, path="/",
                        max_age=int(accounts.SESSION_FOR.total_seconds()))


@router.post("/signout", include_in_schema=False)
def signout(request: Request) -> Response:
    token = request.cookies.get(SESSION_COOKIE)
    if token:
        with _rt(request).engine.begin() as conn:
            accounts.end_session(conn, token)
    response = RedirectResponse("/", status_code=303)
    response.delete_cookie(SESSION_COOKIE, path="/")
    return response


@router.get("/api/v1/me", tags=["access"])
def me(request: Request) -> dict[str, Any]:
    who = principal(request)
    return {"name": who.name, "kind": who.kind, "via": who.via,
            "roles": sorted(who.roles),
            "grants": [{"role": g.role, "unit": g.unit} for g in who.grants]}


# -- the operator's page ----------------------------------------------------------------------
@router.get("/admin/users", response_class=HTMLResponse, include_in_schema=False)
def users_page(request: Request, lang: Locale, conn: Conn, message: str = "") -> HTMLResponse:
    return render(request, lang, "users.html", users=accounts.list_users(conn),
                  roles=sorted(GRANTABLE), csrf=principal(request).csrf or "", message=message)


def _known_units(request: Request) -> frozenset[str]:
    return frozenset(_rt(request).catalog.units.units)


@router.post("/admin/users", include_in_schema=False)
def users_add(request: Request, lang: Locale, name: Annotated[str, Form()],
              display_name: Annotated[str, Form()] = "",
              password: Annotated[str, Form()] = "") -> Response:
    try:
        with _rt(request).engine.begin() as conn:
            accounts.add_user(conn, name.strip(), display_name.strip() or None,
                              password or None)
    except accounts.AccessError as exc:
        return _users_again(request, lang, str(exc), 422)
    return RedirectResponse("/admin/users", status_code=303)


@router.post("/admin/users/{name}/grants", include_in_schema=False)
def users_grant(request: Request, lang: Locale, name: str, role: Annotated[str, Form()],
                unit: Annotated[str, Form()] = "", revoke: Annotated[str, Form()] = "",
                user: Annotated[str, Form()] = "") -> Response:
    """Grant (or with ``revoke`` set, revoke) a role; ``-`` in the path takes ``user``."""
    who = (user if name == "-" else name).strip()
    try:
        with _rt(request).engine.begin() as conn:
            if revoke:
                accounts.revoke(conn, who, role, unit.strip() or None)
            else:
                accounts.grant(conn, who, role, unit.strip() or None, _known_units(request))
    except accounts.AccessError as exc:
        return _users_again(request, lang, str(exc), 422)
    return RedirectResponse("/admin/users", status_code=303)


def _users_again(request: Request, lang: str, message: str, status: int) -> HTMLResponse:
    with _rt(request).engine.connect() as conn:
        page = users_page(request, lang, conn, message)
    page.status_code = status
    return page


# -- audit -------------------------------------------------------------------------------------
@router.get("/api/v1/audit", tags=["access"])
def audit_search(conn: Conn, person: str | None = None, unit: str | None = None,
                 record: str | None = None, subject: str | None = None,
                 limit: Annotated[int, Query(ge=1, le=1000)] = 200,
                 before: int | None = None) -> list[dict[str, Any]]:
    """Search the audit log by person (user name), unit, record (path or id) or subject."""
    return audit.search(conn, person=person, unit=unit, record_ref=record, subject=subject,
                        limit=limit, before=before)


@router.get("/api/v1/audit/verify", tags=["access"])
def audit_verify(request: Request) -> dict[str, Any]:
    settings = _settings(request)
    pub = audit.public_path(settings.audit_key_file)
    key = audit.load_public_key(pub) if pub.exists() else None
    return audit.verify(_rt(request).engine, settings.audit_checkpoint_file, key).as_dict()


@router.get("/audit", response_class=HTMLResponse, include_in_schema=False)
def audit_page(request: Request, lang: Locale, conn: Conn, person: str | None = None,
               unit: str | None = None, record: str | None = None) -> HTMLResponse:
    entries = audit.search(conn, person=person or None, unit=unit or None,
                           record_ref=record or None)
    return render(request, lang, "audit.html", entries=entries,
                  q={"person": person, "unit": unit, "record": record})


@router.get("/my-data", response_class=HTMLResponse, include_in_schema=False)
def my_data(request: Request, lang: Locale, conn: Conn,
            pseudonym: str | None = None) -> HTMLResponse:
    """Task 4.10 of plan 131: who read records about a pseudonymous identifier, and when —
    by role and unit, not by officer's name."""
    entries: list[dict[str, Any]] = []
    if pseudonym and len(pseudonym) == 64 and all(c in "0123456789abcdef" for c in pseudonym):
        entries = [e for e in audit.search(conn, subject=pseudonym, limit=1000)
                   if pseudonym in (e["subjects"] or "").split(",")]
        entries = [{"at": e["at"], "roles": ", ".join(r for r in e["roles"].split(",")
                                                      if r != "public"),
                    "unit": e["unit"], "action": e["action"]} for e in entries]
    return render(request, lang, "mydata.html", pseudonym=pseudonym, entries=entries)
