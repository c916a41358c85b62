"""The open data page ``/du-lieu-mo``: the datasets, their fields and the links to their
resources, in the reader's language (the resources themselves are ``chiso.web.api.opendata``).
See docs/opendata.md."""

from __future__ import annotations

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse

from chiso.exports import datasets as ds
from chiso.web.render import Locale, render

router = APIRouter(tags=["open data"], include_in_schema=False)


@router.get("/du-lieu-mo", response_class=HTMLResponse)
def opendata_page(request: Request, lang: Locale) -> HTMLResponse:
    """The open datasets, their fields and links, in the reader's language."""
    return render(request, lang, "opendata.html", datasets=list(ds.DATASETS.values()))
