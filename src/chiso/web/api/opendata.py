"""The open datasets' doors: each dataset as CSV and JSON, its
data dictionary, and the list as JSON; every download answers conditional requests (ETag,
Last-Modified, 304)."""

from __future__ import annotations

import hashlib
from datetime import UTC, datetime
from email.utils import format_datetime, parsedate_to_datetime
from typing import Annotated, Any

from fastapi import APIRouter, HTTPException, Query, Request, Response
from fastapi.responses import JSONResponse
from pydantic import BaseModel, ConfigDict, Field

from chiso.context import Runtime
from chiso.exports import changelog, ckan, dcat
from chiso.exports import datasets as ds
from chiso.web.deps import Rt, Today

router = APIRouter(tags=["open data"])

PERIOD = Query(description="2026 (year), 2026-Q1, 2026-03, …; empty: the current year")
MEDIA = {"csv": "text/csv; charset=utf-8", "json": "application/json",
         "xlsx": "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"}
RDF: dict[int | str, dict[str, Any]] = {
    200: {"content": {"text/turtle": {}, "application/ld+json": {}, "application/rdf+xml": {}}},
    304: {"description": "not modified"}}


class Resources(BaseModel):
    csv: str
    json_: str = Field(alias="json")
    xlsx: str
    dictionary: str


class DatasetSummary(BaseModel):
    """An open dataset: its titles, descriptions and keywords, and where its resources are."""

    id: str
    title_vi: str
    title_en: str
    description_vi: str
    description_en: str
    keywords: list[str]
    resources: Resources


class Dictionary(DatasetSummary):
    """The dataset's data dictionary: each column's name, type and meaning, in order; and the
    provenance columns every row carries."""

    fields: list[ds.Field]
    provenance: list[str]


class DatasetRows(BaseModel):
    """A dataset as JSON: its rows for a period, each with its provenance."""

    dataset: str
    period: str
    last_modified: str
    fields: list[str]
    rows: list[dict[str, Any]]


class CkanAnswer(BaseModel):
    """CKAN's envelope: ``result`` when ``success``, else ``error``."""

    model_config = ConfigDict(extra="allow")

    help: str
    success: bool
    result: Any = None
    error: dict[str, Any] | None = None


def _utc(t: datetime) -> datetime:
    # SQLite hands back naive times; chiso stores UTC
    return t.replace(tzinfo=UTC) if t.tzinfo is None else t.astimezone(UTC)


def _not_modified(request: Request, etag: str, last: datetime) -> bool:
    """RFC 9110: If-None-Match decides when present; else If-Modified-Since (seconds)."""
    match = request.headers.get("if-none-match")
    if match is not None:
        tags = {t.strip().removeprefix("W/") for t in match.split(",")}
        return "*" in tags or etag in tags
    since = request.headers.get("if-modified-since")
    if since is None:
        return False
    try:
        when = parsedate_to_datetime(since)
    except (TypeError, ValueError):
        return False  # an unreadable date is ignored, as RFC 9110 says
    return when.tzinfo is not None and last.replace(microsecond=0) <= when


def conditional(request: Request, body: bytes, media_type: str, last: datetime,
                filename: str | None = None) -> Response:
    """``body`` with its ETag and Last-Modified, or 304 when the reader holds it already."""
    etag = '"' + hashlib.sha256(body).hexdigest()[:32] + '"'
    last = _utc(last)
    headers = {"ETag": etag, "Last-Modified": format_datetime(last, usegmt=True),
               "Cache-Control": "public, max-age=60"}
    if filename:
        headers["Content-Disposition"] = f'attachment; filename="{filename}"'
    if _not_modified(request, etag, last):
        return Response(status_code=304, headers=headers)
    return Response(body, media_type=media_type, headers=headers)


def _table(rt: Runtime, dataset: str, period: str, today: Any) -> ds.Table:
    try:
        return ds.table(rt, dataset, period, today)
    except ds.DatasetError as exc:
        status = 404 if dataset not in ds.DATASETS else 422
        raise HTTPException(status, str(exc)) from exc


def _summary(d: ds.Dataset) -> dict[str, Any]:
    return {"id": d.id, "title_vi": d.title_vi, "title_en": d.title_en,
            "description_vi": d.description_vi, "description_en": d.description_en,
            "keywords": list(d.keywords),
            "resources": {"csv": f"/du-lieu-mo/{d.id}.csv", "json": f"/du-lieu-mo/{d.id}.json",
                          "xlsx": f"/du-lieu-mo/{d.id}.xlsx",
                          "dictionary": f"/du-lieu-mo/{d.id}/dictionary.json",
                          "changes_csv": f"/du-lieu-mo/{d.id}/changes.csv",
                          "changes_json": f"/du-lieu-mo/{d.id}/changes.json"}}


@router.get("/api/v1/opendata", response_model=list[DatasetSummary])
def list_datasets() -> list[dict[str, Any]]:
    """The open datasets with their titles (vi, en) and the addresses of their resources."""
    return [_summary(d) for d in ds.DATASETS.values()]


@router.get("/du-lieu-mo/{dataset}/dictionary.json", response_model=Dictionary)
def dictionary(dataset: str) -> dict[str, Any]:
    """The dataset's data dictionary: each field's name, type and meaning (vi, en)."""
    try:
        d = ds.get(dataset)
    except ds.DatasetError as exc:
        raise HTTPException(404, str(exc)) from exc
    return {**_summary(d), "fields": [f.model_dump() for f in d.fields],
            "provenance": [f.name for f in ds.PROVENANCE]}


@router.get("/du-lieu-mo/{dataset}.csv", response_class=Response,
            responses={200: {"content": {"text/csv": {}}}})
def dataset_csv(dataset: str, request: Request, rt: Rt, today: Today,
                period: Annotated[str, PERIOD] = "") -> Response:
    """The dataset as UTF-8 CSV (one header row of the dictionary's field names)."""
    t = _table(rt, dataset, period, today)
    return conditional(request, t.csv(), MEDIA["csv"], t.last_modified,
                       f"{t.dataset.id}-{t.period}.csv")


@router.get("/du-lieu-mo/{dataset}.xlsx", response_class=Response,
            responses={200: {"content": {MEDIA["xlsx"]: {}}}})
def dataset_xlsx(dataset: str, request: Request, rt: Rt, today: Today,
                 period: Annotated[str, PERIOD] = "") -> Response:
    """The dataset as an Excel workbook: the CSV's rows with typed cells, and the data
    dictionary on a second sheet (for people; harvesters read the CSV or JSON)."""
    t = _table(rt, dataset, period, today)
    return conditional(request, t.xlsx(), MEDIA["xlsx"], t.last_modified,
                       f"{t.dataset.id}-{t.period}.xlsx")


@router.get("/du-lieu-mo/{dataset}.json", response_class=Response,
            responses={200: {"model": DatasetRows}, 304: {"description": "not modified"}})
def dataset_json(dataset: str, request: Request, rt: Rt, today: Today,
                 period: Annotated[str, PERIOD] = "") -> Response:
    """The dataset as JSON: ``{dataset, period, last_modified, fields, rows}``."""
    t = _table(rt, dataset, period, today)
    return conditional(request, t.json(), MEDIA["json"], t.last_modified)


@router.get("/du-lieu-mo/{dataset}/changes.{fmt}", response_class=Response,
            responses={200: {"content": {"text/csv": {}, "application/json": {}}}})
def dataset_changes(dataset: str, fmt: str, request: Request, rt: Rt,
                    period: Annotated[str, Query(description="only this period")] = ""
                    ) -> Response:
    """The dataset's change log, newest first: each published figure that later changed,
    with old and new value, when and why (csv or json)."""
    if fmt not in MEDIA:
        raise HTTPException(404, f"{fmt}: the change log is csv or json")
    try:
        with rt.read_engine.connect() as conn:  # a replica's, when one is set
            log = changelog.changes(conn, dataset, period or None)
    except ds.DatasetError as exc:
        raise HTTPException(404, str(exc)) from exc
    body = log.csv() if fmt == "csv" else log.json()
    return conditional(request, body, MEDIA[fmt], log.last_modified)


def public_base(request: Request, rt: Runtime) -> str:
    """chiso's public address: ``CHISO_PUBLIC_URL``, else the request's (its Host header)."""
    return (rt.settings.public_url or str(request.base_url)).rstrip("/")


def site(request: Request, rt: Runtime) -> ckan.Site:
    """The catalog's absolute address (behind a proxy: its root path) and licence."""
    s = rt.settings
    return ckan.Site(public_base(request, rt), s.opendata_licence_id,
                     s.opendata_licence_title, s.opendata_licence_url)


@router.get("/api/3/action/{action}", response_model=CkanAnswer)
def ckan_action(action: str, request: Request, rt: Rt) -> JSONResponse:
    """CKAN's Action API, read side: status_show, package_list, package_show, package_search
    (q, fq on metadata_modified, rows ≤ 1000, start, sort), current_package_list_with_resources,
    organization_list, organization_show; CKAN's envelope, errors with ``success: false``."""
    help_url = f"{public_base(request, rt)}/api/3/action/help_show?name={action}"
    params = dict(request.query_params)
    try:
        return JSONResponse(ckan.call(rt, site(request, rt), action, params, help_url))
    except ckan.CkanError as exc:
        return JSONResponse({"help": help_url, "success": False, "error": exc.error},
                            status_code=exc.status)


def _rdf(request: Request, g: Any, fmt: str, last: datetime) -> Response:
    try:
        body, media = dcat.serialize(g, fmt)
    except dcat.DcatError as exc:
        raise HTTPException(404, str(exc)) from exc
    return conditional(request, body, media, last)


@router.get("/catalog.{fmt}", response_class=Response, responses=RDF)
def dcat_catalog(fmt: str, request: Request, rt: Rt,
                 page: Annotated[int, Query(description="Hydra page, from 1")] = 1,
                 modified_since: Annotated[datetime | None, Query(
                     description="only datasets modified at or after this ISO time")] = None,
                 ) -> Response:
    """The DCAT-AP 3 catalog in Turtle (ttl), JSON-LD (jsonld) or RDF/XML (xml), paged with
    Hydra."""
    if fmt not in dcat.FORMATS:
        raise HTTPException(404, f"format: give one of {', '.join(dcat.FORMATS)}")
    try:
        got = dcat.catalog(rt, site(request, rt), page, modified_since)
    except dcat.DcatError as exc:
        raise HTTPException(404, str(exc)) from exc
    return _rdf(request, got.graph, fmt, got.last_modified)


@router.get("/dataset/{dataset}.{fmt}", response_class=Response, responses=RDF)
def dcat_dataset(dataset: str, fmt: str, request: Request, rt: Rt) -> Response:
    """One dataset in DCAT-AP 3: Turtle (ttl), JSON-LD (jsonld) or RDF/XML (xml)."""
    if fmt not in dcat.FORMATS:
        raise HTTPException(404, f"format: give one of {', '.join(dcat.FORMATS)}")
    try:
        g, last = dcat.dataset(rt, site(request, rt), dataset)
    except dcat.DcatError as exc:
        raise HTTPException(404, str(exc)) from exc
    return _rdf(request, g, fmt, last)
