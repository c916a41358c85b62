"""Rendering pages: one Jinja environment per app (:func:`templates`, built by the app and kept
in ``app.state.templates``), the reader's language, and error pages.

Templates live in ``templates/``; their filters are the phrasings of :mod:`chiso.web.format`
and their globals the charts of :mod:`chiso.web.charts`, registered here once for every page.
Public pages carry the EMC monitoring code when the setting is on (:func:`emc_embed`).
"""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Any, Literal

from fastapi import Depends, Query, Request
from fastapi.exception_handlers import (
    http_exception_handler,
    request_validation_exception_handler,
)
from fastapi.exceptions import RequestValidationError
from fastapi.responses import HTMLResponse, Response
from jinja2 import Environment, FileSystemLoader, select_autoescape
from starlette._utils import get_route_path
from starlette.exceptions import HTTPException as StarletteHTTPException

from chiso.access import policy
from chiso.access.roles import PUBLIC
from chiso.store import catalog_reads as reads
from chiso.web import charts, format, i18n

TEMPLATES = Path(__file__).resolve().parent / "templates"
LANG_COOKIE = "chiso_lang"


def N_(message: str) -> str:  # noqa: N802 (gettext's name for a message marked, not said)
    """Mark ``message`` for translation where it is said (the extraction reads ``N_``)."""
    return message


Subject = Literal["unit", "plan", "target", "task", "indicator", "feed", "method", "kind"]

#: What a page is about and may not find, in the words the not-found page says.
SUBJECTS: dict[Subject, str] = {
    "unit": N_("unit"), "plan": N_("plan"), "target": N_("target"), "task": N_("task"),
    "indicator": N_("indicator"), "feed": N_("data feed"), "method": N_("scoring method"),
    "kind": N_("kind of unit"),
}


class NotFound(StarletteHTTPException):
    """A page's subject that does not exist: a 404 whose page names it in the reader's
    language ("Không tìm thấy đơn vị có mã …")."""

    def __init__(self, subject: Subject, code: str) -> None:
        super().__init__(404, f"no {SUBJECTS[subject]} {code!r}")
        self.subject = subject
        self.code = code


def lang_url(request: Request, code: str) -> str:
    """This page in another language: the same path and query, ``lang`` replaced."""
    query = request.url.include_query_params(lang=code).query
    return f"{request.url.path}?{query}"


def templates() -> Environment:
    """A new environment with chiso's templates, gettext, filters and globals."""
    env = Environment(
        loader=FileSystemLoader(TEMPLATES),
        autoescape=select_autoescape(["html"]),
        extensions=["jinja2.ext.i18n"],
        trim_blocks=True,
        lstrip_blocks=True,
    )
    env.install_gettext_callables(  # type: ignore[attr-defined]
        i18n.gettext, i18n.ngettext, newstyle=True)
    env.filters.update(format.FILTERS, said=i18n.said)
    env.globals.update(charts.GLOBALS, pick=i18n.pick, statuses=reads.TASK_STATUSES,
                       lang_url=lang_url)
    return env


def locale(request: Request, lang: Annotated[str | None, Query()] = None) -> str:
    """?lang= wins, then the cookie, then Vietnamese."""
    chosen = lang or request.cookies.get(LANG_COOKIE) or i18n.DEFAULT_LOCALE
    return chosen if chosen in i18n.LOCALES else i18n.DEFAULT_LOCALE


Locale = Annotated[str, Depends(locale)]


def emc_embed(request: Request) -> dict[str, str] | None:
    """The EMC monitoring code for this page: the script's address and the site id when the
    setting is on and the page is public (readable without signing in), else ``None``."""
    embed: tuple[str, str] | None = getattr(request.app.state, "emc_embed", None)
    route = request.scope.get("route")
    if embed is None or route is None:
        return None
    rule = policy.rule_for(request.method, getattr(route, "path", ""))
    if rule is None or PUBLIC not in rule.roles:
        return None
    return {"script": embed[0], "site_id": embed[1]}


def fragment(request: Request, lang: str, template: str, **context: Any) -> str:
    """A template rendered to text in ``lang`` (a page, or a piece of one sent on a stream)."""
    # Set here, not in the dependency: sync dependencies run in another thread's context.
    i18n.current_locale.set(lang)
    env: Environment = request.app.state.templates
    return env.get_template(template).render(request=request, lang=lang,
                                             emc_embed=emc_embed(request), **context)


def render(request: Request, lang: str, template: str, **context: Any) -> HTMLResponse:
    response = HTMLResponse(fragment(request, lang, template, **context))
    if request.query_params.get("lang") == lang:
        response.set_cookie(LANG_COOKIE, lang, max_age=365 * 24 * 3600, samesite="lax",
                            httponly=True)
    return response


async def http_error(request: Request, exc: Exception) -> Response:
    """Errors of the API stay JSON; a person browsing gets a page in their language."""
    assert isinstance(exc, StarletteHTTPException)
    if get_route_path(request.scope).startswith("/api/") or exc.status_code != 404:
        return await http_exception_handler(request, exc)
    lang = locale(request, request.query_params.get("lang"))
    named = ({"subject": SUBJECTS[exc.subject], "code": exc.code}
             if isinstance(exc, NotFound) else {})
    page = render(request, lang, "error.html", status=404, detail=exc.detail, **named)
    page.status_code = 404
    return page


async def invalid_request(request: Request, exc: Exception) -> Response:
    """A request whose parameters do not parse: the API (and any client that does not ask for
    HTML: a script fetching a dataset) answers FastAPI's 422 naming each field; a person
    browsing gets a page in their language naming the parameters."""
    assert isinstance(exc, RequestValidationError)
    if (get_route_path(request.scope).startswith("/api/")
            or "text/html" not in request.headers.get("accept", "")):
        return await request_validation_exception_handler(request, exc)
    names = sorted({str(e["loc"][-1]) for e in exc.errors() if e.get("loc")})
    lang = locale(request, request.query_params.get("lang"))
    page = render(request, lang, "error.html", status=422, detail=", ".join(names))
    page.status_code = 422
    return page
