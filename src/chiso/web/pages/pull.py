"""The pull sources page for operators: every source with its last run, lag, errors and
outages; the form that adds or changes one; pause and resume. The API is
``chiso.web.api.pull``; both call ``chiso.intake.pull_sources``."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Form, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from pydantic import ValidationError

from chiso.access.guard import principal
from chiso.context import Runtime
from chiso.intake import pull_sources as ps
from chiso.intake.settings import InsecureConfigurationError, get_intake_settings
from chiso.web.render import Locale, render

router = APIRouter(include_in_schema=False)
PAGE = "/admin/pull-sources"


def _rt(request: Request) -> Runtime:
    rt: Runtime = request.app.state.runtime
    return rt


def _page(request: Request, lang: str, message: str = "", status: int = 200,
          form: dict[str, str] | None = None) -> HTMLResponse:
    rt = _rt(request)
    with rt.engine.connect() as conn:
        sources = ps.listing(conn, rt.clock.now())
    page = render(request, lang, "pull_sources.html", sources=sources,
                  feeds=sorted(rt.catalog.feeds), csrf=principal(request).csrf or "",
                  message=message, form=form or {})
    page.status_code = status
    return page


@router.get(PAGE, response_class=HTMLResponse)
def page(request: Request, lang: Locale) -> HTMLResponse:
    return _page(request, lang)


@router.post(PAGE)
def save(request: Request, lang: Locale, name: Annotated[str, Form(max_length=64)],
         feed: Annotated[str, Form(max_length=64)], source: Annotated[str, Form(max_length=64)],
         base_url: Annotated[str, Form(max_length=2000)],
         path: Annotated[str, Form(max_length=500)] = "/api/records",
         paging: Annotated[str, Form(max_length=16)] = "cursor",
         page_size: Annotated[str, Form(max_length=10)] = "500",
         interval_seconds: Annotated[str, Form(max_length=10)] = "60",
         header: Annotated[str, Form(max_length=100)] = "",
         secret: Annotated[str, Form(max_length=4000)] = "",
         forget: Annotated[str, Form(max_length=5)] = "") -> Response:
    """Add or change a source. An empty credential keeps the one kept; ``forget`` removes
    it. A refusal shows the form again with what was typed, never the credential."""
    rt = _rt(request)
    typed = {"name": name, "feed": feed, "source": source, "base_url": base_url, "path": path,
             "paging": paging, "page_size": page_size, "interval_seconds": interval_seconds,
             "header": header}
    credentials = {} if forget else ({header.strip(): secret} if secret else None)
    try:
        old = None
        with rt.engine.connect() as conn:
            old = ps.one(conn, name.strip(), rt.clock.now())
        spec = ps.PullSourceSpec(
            feed=feed.strip(), source=source.strip(), base_url=base_url.strip(),
            path=path.strip(), paging=paging, page_size=int(page_size),
            interval_seconds=float(interval_seconds), paused=old.paused if old else False)
        ps.save(rt.engine, rt.catalog, get_intake_settings(), name.strip(), spec, credentials,
                by=principal(request).name, now=rt.clock.now())
    except ps.PullSourceError as exc:
        return _page(request, lang, str(exc), 422, typed)
    except (ValueError, ValidationError):
        return _page(request, lang, "page_size, interval_seconds, paging: a whole number, a "
                     "number of seconds, cursor or updated_since", 422, typed)
    except InsecureConfigurationError as exc:
        return _page(request, lang, str(exc), 422, typed)
    return RedirectResponse(PAGE, status_code=303)


@router.post(PAGE + "/{name}/pause")
def pause(request: Request, lang: Locale, name: str,
          paused: Annotated[str, Form(max_length=5)] = "1") -> Response:
    """Pause (``paused=1``) or resume (``paused=0``) a source."""
    rt = _rt(request)
    found = ps.set_paused(rt.engine, name[:64], paused == "1", by=principal(request).name,
                          now=rt.clock.now())
    if found is None:
        return _page(request, lang, f"{name[:64]!r}: no such source", 404)
    return RedirectResponse(PAGE, status_code=303)
