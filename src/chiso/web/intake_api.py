"""Intake over HTTP: the push API for source systems and the upload page for data stewards.

``POST /api/v1/feeds/{feed}/records`` takes a batch (JSON array, ``{"records": [...]}`` or
NDJSON with ``Content-Type: application/x-ndjson``) with ``Authorization: Bearer <token>``.
The batch is accepted whole (200, after the commit) or refused whole (422 listing every bad
record by index and field; 400 for a malformed body); the raw body is archived either way.
"""

from __future__ import annotations

import html
from typing import Annotated, Any
from urllib.parse import quote

from fastapi import APIRouter, Depends, File, Form, Header, HTTPException, Query, Request
from fastapi.concurrency import run_in_threadpool
from fastapi.responses import HTMLResponse, JSONResponse, Response
from sqlalchemy import select

from chiso.access.guard import principal
from chiso.context import Runtime
from chiso.intake import quality
from chiso.intake.contracts import contracts, get_contract
from chiso.intake.doors import ingest_body, ingest_file
from chiso.intake.pipeline import NOT_KEPT, Outcome, Provenance, read_raw
from chiso.intake.settings import get_intake_settings
from chiso.intake.sources import Source, source_for_token
from chiso.intake.validate import Scope
from chiso.store.tables import intake_batches, intake_raw
from chiso.web.api import runtime

router = APIRouter()

RuntimeDep = Annotated[Runtime, Depends(runtime)]


def _known_units(rt: Runtime) -> frozenset[str]:
    return frozenset(rt.catalog.units.units)


def _outcome_response(outcome: Outcome) -> JSONResponse:
    body = outcome.as_dict()
    if outcome.accepted:
        return JSONResponse(body, status_code=200)
    whole = any(p.index < 0 for p in outcome.problems)
    status = 400 if whole and outcome.records == 0 else 422
    body["detail"] = ("The batch was refused whole; nothing was stored. Fix every listed "
                      "record and send the batch again.")
    return JSONResponse(body, status_code=status)


async def _authorised(rt: Runtime, authorization: str | None, feed: str) -> Source:
    if not authorization or not authorization.lower().startswith("bearer "):
        raise HTTPException(401, "send the source token as 'Authorization: Bearer <token>'",
                            headers={"WWW-Authenticate": "Bearer"})
    source = await run_in_threadpool(source_for_token, rt.engine, authorization[7:].strip())
    if source is None:
        raise HTTPException(401, "unknown or revoked token", headers={"WWW-Authenticate":
                                                                     "Bearer"})
    if feed not in source.feeds:
        raise HTTPException(403, f"source {source.name!r} may not send feed {feed!r}; its "
                                 f"token covers: {', '.join(sorted(source.feeds))}")
    return source


async def _bounded_body(request: Request, limit: int) -> bytes:
    """The body, read chunk by chunk and refused (413) as soon as it passes ``limit``: a
    chunked body declares no length, so the count is kept while reading."""
    chunks: list[bytes] = []
    size = 0
    async for chunk in request.stream():
        size += len(chunk)
        if size > limit:
            raise HTTPException(413, f"body larger than {limit} bytes; split the batch")
        chunks.append(chunk)
    return b"".join(chunks)


@router.post("/api/v1/feeds/{feed}/records", tags=["intake"],
             responses={400: {"description": "malformed body"}, 401: {}, 403: {}, 404: {},
                        413: {}, 422: {"description": "bad records, listed by index and field"}})
async def push_records(
    feed: str, request: Request, rt: RuntimeDep,
    authorization: Annotated[str | None, Header()] = None,
    content_type: Annotated[str, Header()] = "application/json",
) -> JSONResponse:
    """Accept a batch of records of a feed, whole or not at all; 200 means committed."""
    try:
        contract = get_contract(feed)
    except KeyError as exc:
        raise HTTPException(404, str(exc.args[0])) from exc
    source = await _authorised(rt, authorization, feed)
    settings = get_intake_settings()
    declared = request.headers.get("content-length")
    if declared and declared.isdigit() and int(declared) > settings.max_upload_bytes:
        raise HTTPException(413, f"body larger than {settings.max_upload_bytes} bytes; "
                                 "split the batch")
    body = await _bounded_body(request, settings.max_upload_bytes)
    connector = request.headers.get("x-chiso-connector")
    prov = Provenance(source.name, "push", connector=connector)
    scope = Scope(units=source.units, known_units=_known_units(rt))
    outcome = await run_in_threadpool(ingest_body, rt.engine, contract, body, content_type,
                                      prov, scope, settings)
    return _outcome_response(outcome)


@router.get("/api/v1/feeds", tags=["intake"])
def list_feeds() -> list[dict[str, Any]]:
    """The data contracts (SPEC §3), as the contract files hold them."""
    return [c.model_dump(mode="json") for c in contracts().values()]


@router.get("/api/v1/feeds/{feed}", tags=["intake"])
def feed_contract(feed: str) -> dict[str, Any]:
    try:
        return get_contract(feed).model_dump(mode="json")
    except KeyError as exc:
        raise HTTPException(404, str(exc.args[0])) from exc


@router.get("/api/v1/intake/batches", tags=["intake"])
def list_batches(
    rt: RuntimeDep, feed: str | None = None, source: str | None = None,
    status: str | None = None, limit: Annotated[int, Query(ge=1, le=500)] = 50,
    unit: str | None = None,
) -> list[dict[str, Any]]:
    """Recent batches with their provenance and, for refused ones, every problem; ``unit``:
    the files uploaded for that unit only (a unit-scoped steward always gets its own)."""
    query = select(intake_batches).order_by(intake_batches.c.id.desc()).limit(limit)
    if unit:
        query = query.where(intake_batches.c.unit == unit)
    if feed:
        query = query.where(intake_batches.c.feed == feed)
    if source:
        query = query.where(intake_batches.c.source == source)
    if status:
        query = query.where(intake_batches.c.status == status)
    with rt.engine.connect() as conn:
        rows = conn.execute(query).mappings().all()
    return [{k: (v.isoformat() if hasattr(v, "isoformat") else v) for k, v in r.items()}
            for r in rows]


@router.get("/api/v1/intake/raw/{sha256}", tags=["intake"])
def raw_payload(sha256: str, rt: RuntimeDep) -> Response:
    """A raw payload exactly as archived (identifiers pseudonymised unless the operator keeps
    them): what a source sent, accepted or refused, for inspection."""
    with rt.engine.connect() as conn:
        row = conn.execute(select(intake_raw.c.media_type).where(
            intake_raw.c.sha256 == sha256)).first()
        content = read_raw(conn, sha256)
    if row is not None and row.media_type.endswith(NOT_KEPT):
        raise HTTPException(410, "only the hash and size of this payload were kept: it was "
                                 "refused before it could be read, so its personal data could "
                                 "not be pseudonymised; ask the sender for the file")
    if row is None or content is None:
        raise HTTPException(404, f"no raw payload {sha256}")
    media = row.media_type.split(";")[0]
    return Response(content, media_type=media if "/" in media else "application/octet-stream",
                    headers={"X-Chiso-Archive": quote(row.media_type, safe=" ;=/,+-._%")})


@router.get("/api/v1/data-quality", tags=["intake"])
def data_quality(
    rt: RuntimeDep, unit: str | None = None, feed: str | None = None,
    period: Annotated[str, Query(pattern="^(day|month)$")] = "month",
    start: str | None = None, end: str | None = None,
) -> dict[str, Any]:
    """Completeness, timeliness and outliers per unit and feed (plan 131, section V.3)."""
    feeds = [feed] if feed else list(contracts())
    for f in feeds:
        if f not in contracts():
            raise HTTPException(404, f"unknown feed {f!r}")
    if unit and unit not in rt.catalog.units.units:
        raise HTTPException(404, f"unknown unit {unit!r}")
    try:
        return quality.report(rt.engine, feeds, unit, period, start, end)
    except quality.RangeError as exc:
        raise HTTPException(422, str(exc)) from exc


# -- the data steward's upload page --------------------------------------------------------
_PAGE = """<!doctype html><html lang="vi"><head><meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>Tải tệp dữ liệu — chiso</title><link rel="stylesheet" href="/static/chiso.css"></head>
<body><main id="main"><h1>Tải tệp dữ liệu lên <small lang="en">(upload a data file)</small></h1>
<p>Tệp CSV (UTF-8 hoặc Windows-1258) hoặc XLSX; ngày dạng dd/mm/yyyy; tiêu đề cột tiếng Việt.
Tệp có lỗi bị từ chối toàn bộ, kèm danh sách dòng và cột cần sửa.</p>
<form method="post" action="/intake/upload" enctype="multipart/form-data">
<input type="hidden" name="csrf" value="{csrf}">
<p><label>Luồng dữ liệu (feed) <select name="feed" required>{options}</select></label></p>
<p><label>Mã đơn vị <input name="unit" required value="{unit}" size="10"></label></p>
<p><label>Tệp dữ liệu <input type="file" name="file" required accept=".csv,.xlsx"></label></p>
<p><label>Tệp minh chứng (bắt buộc với số liệu nhập tay stats.value)
<input type="file" name="evidence"></label></p>
<p><button type="submit">Tải lên</button></p></form>{result}</main></body></html>"""


def _page(request: Request, result: str = "", unit: str = "", feed: str = "") -> str:
    """The form, carrying the session's CSRF token (a browser's post is refused without)."""
    options = "".join(
        f'<option value="{c.feed}"{" selected" if c.feed == feed else ""}>'
        f"{html.escape(c.feed)} — {html.escape(c.title)}</option>"
        for c in contracts().values())
    return _PAGE.format(options=options, unit=html.escape(unit), result=result,
                        csrf=html.escape(principal(request).csrf or ""))


@router.get("/intake/upload", response_class=HTMLResponse, include_in_schema=False)
def upload_page(request: Request) -> str:
    return _page(request)


@router.post("/intake/upload", include_in_schema=False)
async def upload_file(
    rt: RuntimeDep,
    feed: Annotated[str, Form()],
    unit: Annotated[str, Form()],
    file: Annotated[bytes, File()],
    request: Request,
    evidence: Annotated[bytes | None, File()] = None,
) -> HTMLResponse:
    try:
        contract = get_contract(feed)
    except KeyError as exc:
        raise HTTPException(404, str(exc.args[0])) from exc
    form = await request.form()
    upload = form.get("file")
    filename = getattr(upload, "filename", None) or "upload"
    ev = form.get("evidence")
    ev_name = getattr(ev, "filename", None)
    outcome, info = await run_in_threadpool(
        ingest_file, rt.engine, contract, file, filename, unit.strip(), _known_units(rt),
        get_intake_settings(), evidence=evidence or None, evidence_name=ev_name)
    unused = info.get("unmapped_columns") or []
    if outcome.accepted:
        result = (f'<p role="status">Đã nhận {outcome.records} dòng ({outcome.new_versions} '
                  f"phiên bản mới). Lô số {outcome.batch_id}.</p>")
        if unused:
            result += ("<p>Các cột không thuộc trường nào của hợp đồng dữ liệu, không được "
                       f"đọc: {html.escape(', '.join(unused))}.</p>")
        return HTMLResponse(_page(request, result, unit, feed), status_code=200)
    items = "".join(f"<li>{html.escape(str(p))}</li>" for p in outcome.problems[:500])
    result = (f'<div role="alert"><p>Tệp bị từ chối, chưa lưu dòng nào (lô {outcome.batch_id}).'
              f" Sửa các lỗi sau rồi tải lại:</p><ul>{items}</ul></div>")
    return HTMLResponse(_page(request, result, unit, feed), status_code=422)


@router.get("/intake/data-quality", response_class=HTMLResponse, include_in_schema=False)
def data_quality_page(
    rt: RuntimeDep, unit: str | None = None, feed: str = "tthc.dossier",
    period: Annotated[str, Query(pattern="^(day|month)$")] = "month",
) -> str:
    """Completeness, timeliness and outliers, for unit heads (plan 131, section V.3)."""
    if feed not in contracts():
        raise HTTPException(404, f"unknown feed {feed!r}")
    if unit and unit not in rt.catalog.units.units:
        raise HTTPException(404, f"unknown unit {unit!r}")
    data = quality.report(rt.engine, [feed], unit or None, period)
    names = rt.catalog.units

    def pct(v: Any) -> str:
        return "—" if v is None else f"{float(v) * 100:.1f}%".replace(".", ",")

    body = "".join(
        f"<tr><td>{html.escape(r['unit'])} {html.escape(names.name_of(r['unit']))}</td>"
        f"<td>{html.escape(str(r.get('period', r.get('indicator', ''))))}</td>"
        f"<td>{r.get('records', r.get('periods', ''))}</td>"
        f"<td>{pct(r.get('completeness', r.get('from_systems_share')))}</td>"
        f"<td>{pct(r.get('on_time_share'))}</td>"
        f"<td>{'—' if r.get('mean_delay_hours') is None else r['mean_delay_hours']}</td></tr>"
        for r in data["rows"][:2000])
    flagged = "".join(
        f"<li>{html.escape(o['unit'])}: {html.escape(str(o.get('day', o.get('period'))))} "
        f"— {o['value']} (z = {o['z']})</li>" for o in data["outliers"][:200])
    options = "".join(f'<option value="{c}"{" selected" if c == feed else ""}>{c}</option>'
                      for c in contracts())
    return (
        '<!doctype html><html lang="vi"><head><meta charset="utf-8"><title>Chất lượng dữ liệu'
        ' — chiso</title><link rel="stylesheet" href="/static/chiso.css"></head><body>'
        '<main id="main"><h1>Chất lượng dữ liệu <small lang="en">(data accountability)</small>'
        '</h1><p>Đủ dữ liệu (completeness) và kịp thời (timeliness) theo đơn vị, theo Kế hoạch '
        '131, mục V.3.</p><form method="get"><label>Luồng <select name="feed">'
        f'{options}</select></label> <label>Mã đơn vị <input name="unit" size="8" '
        f'value="{html.escape(unit or "")}"></label> <label>Kỳ <select name="period">'
        f'<option value="month"{" selected" if period == "month" else ""}>tháng</option>'
        f'<option value="day"{" selected" if period == "day" else ""}>ngày</option></select>'
        '</label> <button>Xem</button></form><table><thead><tr><th>Đơn vị</th><th>Kỳ</th>'
        '<th>Bản ghi</th><th>Đủ dữ liệu</th><th>Đúng hạn</th><th>Độ trễ TB (giờ)</th></tr>'
        f'</thead><tbody>{body}</tbody></table><h2>Bất thường (outliers)</h2>'
        f'<ul>{flagged or "<li>Không có</li>"}</ul></main></body></html>')
