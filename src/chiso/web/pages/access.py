"""Signing in and out, the operator's user page, the auditor's search page and the citizen's
view (the JSON side is ``chiso.web.api.access``). Who may call each route is decided by the
guard (``chiso.access.guard``) from the policy table, never here; handlers only read who is
asking.
"""

from __future__ import annotations

import base64
import json
import secrets
from typing import Annotated, Any
from urllib.parse import quote, urlsplit

from fastapi import APIRouter, Form, Request
from fastapi.concurrency import run_in_threadpool
from fastapi.responses import HTMLResponse, RedirectResponse, Response

from chiso.access import accounts, audit, oidc
from chiso.access.guard import CSRF_COOKIE, SESSION_COOKIE, principal
from chiso.access.roles import GRANTABLE
from chiso.access.settings import AccessSettings
from chiso.access.throttle import SignInThrottle
from chiso.context import Runtime
from chiso.text import read_json
from chiso.web import i18n
from chiso.web.deps import Conn
from chiso.web.render import Locale, render

router = APIRouter(include_in_schema=False)


def _rt(request: Request) -> Runtime:
    rt: Runtime = request.app.state.runtime
    return rt


def _settings(request: Request) -> AccessSettings:
    found: AccessSettings = request.app.state.access_settings
    return found


def _ip(request: Request) -> str | None:
    return request.client.host if request.client else None


def _safe_next(value: str | None) -> str:
    """Only a path on this site, else ``/``: no open redirect. Refuses what a browser would
    read as another host: ``//host``, a backslash (``/\\host``), white space or control
    characters (browsers drop tabs and new lines, so ``/\t/host`` is ``//host``), a scheme."""
    if not value or len(value) > 2048 or not value.startswith("/"):
        return "/"
    if any(ch in value for ch in "\\") or any(ord(ch) < 33 or ord(ch) == 127 for ch in value):
        return "/"
    parts = urlsplit(value)
    if value.startswith("//") or parts.scheme or parts.netloc:
        return "/"
    return value


async def refusal(request: Request, status: int, message: str) -> Response:
    """How the guard refuses a person browsing: to the sign-in page, or a page that says no."""
    if status == 401:
        root = request.scope.get("root_path", "")
        target = request.url.path.removeprefix(root) or "/"
        target += f"?{request.url.query}" if request.url.query else ""
        return RedirectResponse(f"{root}/signin?next={quote(target)}", status_code=303)
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


@router.get("/signin", response_class=HTMLResponse)
def signin_page(request: Request, lang: Locale, next: str | None = None) -> HTMLResponse:
    return _signin_page(request, lang, next_path=_safe_next(next))


@router.post("/signin")
async def signin(request: Request, lang: Locale, name: Annotated[str, Form()],
                 password: Annotated[str, Form()],
                 next: Annotated[str, Form()] = "/") -> Response:
    i18n.current_locale.set(lang)
    throttle: SignInThrottle = request.app.state.signin_throttle
    wait = await run_in_threadpool(throttle.admit, _ip(request))
    if wait:  # before any password work
        page = _signin_page(request, lang, i18n.gettext(
            "Too many sign-in attempts from this address (at most %(num)s in %(sec)s "
            "seconds). Try again in %(wait)s seconds.") % {
                "num": throttle.amount, "sec": throttle.seconds, "wait": wait},
            name, _safe_next(next), status=429)
        page.headers["Retry-After"] = str(wait)
        return page
    who, result, token = await run_in_threadpool(
        accounts.sign_in, _rt(request).engine, name.strip(), password, _ip(request))
    if who is None or token is None:
        message = (i18n.gettext("Too many failed attempts: signing in with this name from "
                                "this address is locked for 15 minutes.")
                   if "locked" in result else i18n.gettext("Wrong user name or password."))
        return _signin_page(request, lang, message, name, _safe_next(next), status=401)
    response = RedirectResponse(_safe_next(next), status_code=303)
    set_session_cookie(request, response, token)
    return response


# -- single sign-on (OpenID Connect, code flow with PKCE) --------------------------------------
OIDC_COOKIE = "chiso_oidc"  # state, nonce and PKCE verifier of a sign-in under way
OIDC_PENDING_SECONDS = 600

REFUSALS = {  # reason (audited) → what the person reads; Vietnamese through gettext
    "state mismatch": "This sign-in does not match the one this browser started. "
                      "Please sign in again.",
    "provider error": "The single sign-on service refused the sign-in.",
    "provider unreachable": "The single sign-on service cannot be reached. Please try "
                            "again later.",
    "name taken": "A local account already has this user name; ask the operator.",
    "unknown user": "This account is not registered in chiso; ask the operator.",
    "user disabled": "This account is disabled.",
}
REFUSAL_STATUS = {"state mismatch": 400, "provider error": 400, "provider unreachable": 503,
                  "name taken": 403, "unknown user": 403, "user disabled": 403}
TOKEN_REFUSED = "The identity token from the single sign-on service is not valid for chiso."


def _oidc(request: Request) -> oidc.OidcClient | None:
    found: oidc.OidcClient | None = getattr(request.app.state, "oidc", None)
    return found


def _redirect_uri(request: Request, client: oidc.OidcClient) -> str:
    return client.settings.redirect_uri or str(request.url_for("oidc_callback"))


@router.get("/signin/oidc")
def oidc_start(request: Request, lang: Locale, next: str | None = None) -> Response:
    client = _oidc(request)
    if client is None:
        i18n.current_locale.set(lang)
        return _signin_page(request, lang, i18n.gettext(
            "Single sign-on is not configured."), status=404)
    state, nonce = secrets.token_urlsafe(32), secrets.token_urlsafe(32)
    verifier = secrets.token_urlsafe(64)
    try:
        url = client.authorization_url(_redirect_uri(request, client), state, nonce, verifier)
    except oidc.OidcRefusedError as refused:
        return _oidc_refused(request, lang, refused, 503)
    pending = {"state": state, "nonce": nonce, "verifier": verifier,
               "next": _safe_next(next), "lang": lang}
    response = RedirectResponse(url, status_code=303)
    response.set_cookie(OIDC_COOKIE, base64.urlsafe_b64encode(json.dumps(pending).encode())
                        .decode(), max_age=OIDC_PENDING_SECONDS, httponly=True,
                        samesite="lax", secure=_settings(request).cookie_secure,
                        path="/signin/oidc")
    return response


def _pending(request: Request) -> dict[str, str] | None:
    raw = request.cookies.get(OIDC_COOKIE)
    if not raw:
        return None
    try:
        found = read_json(base64.urlsafe_b64decode(raw.encode()))
    except ValueError:
        return None
    keys = ("state", "nonce", "verifier", "next")
    if not isinstance(found, dict) or not all(isinstance(found.get(k), str) for k in keys):
        return None
    return {k: str(v) for k, v in found.items()}


@router.get("/signin/oidc/callback")
def oidc_callback(request: Request, lang: Locale, code: str | None = None,
                  state: str | None = None, error: str | None = None) -> Response:
    """The provider sends the browser back here: check the state, exchange the code (with
    the PKCE verifier), validate the ID token, map its claims, start a chiso session."""
    client = _oidc(request)
    if client is None:
        return _signin_page(request, lang, status=404)
    pending = _pending(request)
    ip = _ip(request)
    engine = _rt(request).engine
    subject: str | None = None
    try:
        if pending is None or not state or not secrets.compare_digest(state, pending["state"]):
            raise oidc.OidcRefusedError("state mismatch", "the state does not match this browser's")
        if error or not code:
            raise oidc.OidcRefusedError("provider error", error or "no code")
        redirect_uri = _redirect_uri(request, client)
        id_token = client.exchange(redirect_uri, code, pending["verifier"])
        claims = client.validate(id_token, pending["nonce"])
        subject = f"{client.issuer} {claims.get('sub')}"
        identity = oidc.map_claims(client.settings, client.issuer, claims,
                                   _known_units(request))
        _, token = oidc.sign_in(engine, client.settings, identity, ip)
    except oidc.OidcRefusedError as refused:
        oidc.record_refusal(engine, refused, ip, subject)
        status = REFUSAL_STATUS.get(refused.reason, 401)  # a token refused: 401
        return _oidc_refused(request, lang, refused, status)
    # The cookie is the browser's to alter: its ``next`` is checked again here.
    response = RedirectResponse(_safe_next(pending["next"]), status_code=303)
    response.delete_cookie(OIDC_COOKIE, path="/signin/oidc")
    set_session_cookie(request, response, token)
    return response


def _oidc_refused(request: Request, lang: str, refused: oidc.OidcRefusedError,
                  status: int) -> Response:
    i18n.current_locale.set(lang)
    message = i18n.gettext(REFUSALS.get(refused.reason, TOKEN_REFUSED))
    page = _signin_page(request, lang, f"{message} ({refused.reason})", status=status)
    page.delete_cookie(OIDC_COOKIE, path="/signin/oidc")
    return page


def set_session_cookie(request: Request, response: Response, token: str) -> None:
    response.set_cookie(SESSION_COOKIE, token, httponly=True, samesite="lax",
                        secure=_settings(request).cookie_secure, path="/",
                        max_age=int(accounts.SESSION_FOR.total_seconds()))


@router.post("/signout")
def signout(request: Request) -> Response:
    """End chiso's session; a session opened by single sign-on then goes on to end the
    provider's session too (RP-initiated logout), which sends the browser back home."""
    token = request.cookies.get(SESSION_COOKIE)
    method = None
    if token:
        with _rt(request).engine.begin() as conn:
            method = accounts.end_session(conn, token)
    target = "/"
    client = _oidc(request)
    if method == "oidc" and client is not None:
        home = client.settings.post_logout_redirect_uri or str(request.url_for("home"))
        target = client.logout_url(home) or "/"
    response = RedirectResponse(target, status_code=303)
    response.delete_cookie(SESSION_COOKIE, path="/")
    return response


# -- the operator's page ----------------------------------------------------------------------
@router.get("/admin/users", response_class=HTMLResponse)
def users_page(request: Request, lang: Locale, conn: Conn) -> HTMLResponse:
    """The page takes no text from the query: a message is only ever chiso's own."""
    return _users_html(request, lang, conn)


def _users_html(request: Request, lang: str, conn: Any, message: str = "") -> HTMLResponse:
    return render(request, lang, "users.html", users=accounts.list_users(conn),
                  roles=sorted(GRANTABLE), csrf=principal(request).csrf or "", message=message)


def _known_units(request: Request) -> frozenset[str]:
    return frozenset(_rt(request).catalog.units.units)


@router.post("/admin/users")
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


@router.post("/admin/users/{name}/grants")
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


@router.get("/admin/users/{name}", response_class=HTMLResponse, include_in_schema=False)
def user_page(request: Request, lang: Locale, conn: Conn, name: str) -> HTMLResponse:
    """One account: disable or enable it, its open sessions and API tokens (each revocable),
    a new password."""
    return _user_html(request, lang, conn, name)


def _user_html(request: Request, lang: str, conn: Any, name: str, message: str = "",
               status: int = 200) -> HTMLResponse:
    user = next((u for u in accounts.list_users(conn) if u["name"] == name), None)
    if user is None:
        page = render(request, lang, "error.html", detail=f"no user {name!r}")
        page.status_code = 404
        return page
    page = render(request, lang, "user.html", user=user,
                  sessions=accounts.sessions_of(conn, name), tokens=accounts.tokens_of(conn, name),
                  csrf=principal(request).csrf or "", message=message,
                  min_password=accounts.MIN_PASSWORD)
    page.status_code = status
    return page


def _account_change(request: Request, lang: str, name: str, change: Any) -> Response:
    """Apply an operator's change to one account, then back to its page (303); a refused
    change shows the page again with chiso's own message."""
    try:
        with _rt(request).engine.begin() as conn:
            change(conn)
    except accounts.AccessError as exc:
        with _rt(request).engine.connect() as conn:
            return _user_html(request, lang, conn, name, str(exc),
                              404 if isinstance(exc, accounts.UnknownError) else 422)
    return RedirectResponse(f"/admin/users/{quote(name)}", status_code=303)


@router.post("/admin/users/{name}/disable", include_in_schema=False)
def user_disable(request: Request, lang: Locale, name: str) -> Response:
    return _account_change(request, lang, name, lambda c: accounts.disable_user(c, name))


@router.post("/admin/users/{name}/enable", include_in_schema=False)
def user_enable(request: Request, lang: Locale, name: str) -> Response:
    return _account_change(request, lang, name, lambda c: accounts.enable_user(c, name))


@router.post("/admin/users/{name}/password", include_in_schema=False)
def user_password(request: Request, lang: Locale, name: str,
                  password: Annotated[str, Form(max_length=1024)]) -> Response:
    return _account_change(request, lang, name,
                           lambda c: accounts.reset_password(c, name, password))


@router.post("/admin/users/{name}/sessions/{session_id}/revoke", include_in_schema=False)
def user_session_revoke(request: Request, lang: Locale, name: str,
                        session_id: str) -> Response:
    return _account_change(request, lang, name,
                           lambda c: accounts.revoke_session(c, name, session_id))


@router.post("/admin/users/{name}/tokens/{token_id}/revoke", include_in_schema=False)
def user_token_revoke(request: Request, lang: Locale, name: str, token_id: str) -> Response:
    return _account_change(request, lang, name,
                           lambda c: accounts.revoke_token(c, name, token_id))


def _users_again(request: Request, lang: str, message: str, status: int) -> HTMLResponse:
    with _rt(request).engine.connect() as conn:
        page = _users_html(request, lang, conn, message)
    page.status_code = status
    return page


@router.get("/audit", response_class=HTMLResponse)
def audit_page(request: Request, lang: Locale, conn: Conn, person: str | None = None,
               unit: str | None = None, record: str | None = None) -> HTMLResponse:
    entries = audit.search(conn, person=person or None, unit=unit or None,
                           record_ref=record or None)
    return render(request, lang, "audit.html", entries=entries,
                  q={"person": person, "unit": unit, "record": record})


@router.get("/my-data", response_class=HTMLResponse)
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
