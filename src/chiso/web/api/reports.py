"""Stored reports: the API under ``/api/v1/reports`` (list, build a draft, read, download a
file, issue); the page is ``chiso.web.pages.reports``. Everything reads
:mod:`chiso.reports.archive`; who may call what is the guard's business
(``chiso.access.policy``): a unit officer sees its unit's reports, the city's are for
city-wide roles. See docs/reports.md.
"""

from __future__ import annotations

from datetime import date
from typing import Annotated

from fastapi import APIRouter, HTTPException, Query, Request
from fastapi.responses import Response
from pydantic import AwareDatetime, BaseModel, ConfigDict, Field

from chiso.access.guard import principal
from chiso.dashboard.reduction import Reduction, reduction
from chiso.reports import archive, delivery
from chiso.reports.archive import ReportStateError, StoredReport
from chiso.reports.content import ReportError
from chiso.web.deps import Conn, Id, Rt, Today

router = APIRouter()


def _unprocessable(exc: ReportError, where: str) -> HTTPException:
    """422 in FastAPI's own shape; the message names the field it is about."""
    return HTTPException(422, [{"loc": [where], "msg": str(exc), "type": "value_error"}])


class BuildIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    kind: str = Field(description="a report kind, e.g. monthly (docs/reports.md)")
    period: str = Field(description="e.g. 2026-11, 2026-Q4, 2026-H1, 2026-9M, 2026")
    unit: str = Field(default="city", description="'city' or a unit code")
    cut_off: AwareDatetime | None = Field(
        default=None, description="read the records received up to this time (default: the "
                                  "report's cut-off, the start of its due day, or now before "
                                  "then); a later time restates an issued report")


class IssueIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    number: str = Field(description="the register number, before '/BC-…'", max_length=64)
    signer: str = Field(description="the name of the person who signs", max_length=200)
    issued_on: date | None = Field(default=None, description="default: today in Vietnam")
    proposals: str | None = Field(default=None, max_length=archive.PROPOSALS_MAX,
                                  description="section IV, Đề xuất, kiến nghị: a paragraph "
                                              "a line")


@router.get("/api/v1/reports", tags=["reports"])
def list_reports(conn: Conn,
                 kind: Annotated[str | None, Query(description="e.g. monthly")] = None,
                 period: Annotated[str | None, Query(description="e.g. 2026-11")] = None,
                 unit: Annotated[str | None, Query(
                     description="'city' or a unit code; unit officers: theirs")] = None,
                 status: Annotated[str | None, Query(pattern="^(draft|issued)$")] = None,
                 page: Annotated[int, Query(ge=1, le=1_000_000)] = 1,
                 size: Annotated[int, Query(ge=1, le=archive.PAGE)] = archive.PAGE,
                 *, response: Response) -> list[StoredReport]:
    """Stored reports, newest period first: each edition's status, number, hashes, catalog
    and method versions, restated figures and files; ``size`` a page (at most 200).
    ``X-Total-Count`` says how many match in all."""
    kind, period, unit = kind or None, period or None, unit or None
    response.headers["X-Total-Count"] = str(archive.count(
        conn, kind=kind, period=period, unit=unit, status=status))
    return archive.listing(conn, kind=kind, period=period, unit=unit, status=status,
                           limit=size, offset=(page - 1) * size)


@router.post("/api/v1/reports", status_code=201, tags=["reports"])
def build_report(body: BuildIn, rt: Rt, today: Today) -> StoredReport:
    """Build a report now from the data as it stands and store it: the draft of its period
    (rebuilt in place), or, after an issued edition whose figures changed, the next edition
    listing each changed figure. 422 says what to change in the request."""
    try:
        return archive.save(rt, body.kind, body.period, body.unit, today=today,
                            cut_off=body.cut_off)
    except ReportError as exc:
        raise _unprocessable(exc, "body") from exc


@router.get("/api/v1/reports/reduction", tags=["reports"])
def report_reduction(rt: Rt, conn: Conn, today: Today) -> Reduction:
    """The reduction of manual reporting: per report kind, the reports its latest ended
    period requires (one per issuing unit) and those chiso wrote; the share in all against
    the plan's bar (plan 131, Appendix 02, row 7: 80–90%)."""
    return reduction(conn, rt.catalog, today)


def _found(conn: Conn, report_id: int) -> StoredReport:
    got = archive.get(conn, report_id)
    if got is None:
        raise HTTPException(404, f"no report {report_id}")
    return got


@router.get("/api/v1/reports/{report_id}", tags=["reports"])
def read_report(report_id: Id, conn: Conn) -> StoredReport:
    """One stored report."""
    return _found(conn, report_id)


@router.get("/api/v1/reports/{report_id}/files/{name}", tags=["reports"],
            response_class=Response, responses={200: {"content": {
                "application/vnd.openxmlformats-officedocument.wordprocessingml.document": {},
                "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet": {},
                "application/pdf": {}, "application/json": {}},
                "description": "the file as it was stored"}})
def report_file(report_id: Id, name: str, conn: Conn) -> Response:
    """A report's DOCX, XLSX, PDF or manifest, as stored."""
    got = archive.file(conn, report_id, name)
    if got is None:
        raise HTTPException(404, f"report {report_id} has no file {name!r}")
    info, body = got
    return Response(body, media_type=info.media_type, headers={
        "Content-Disposition": f'attachment; filename="{info.name}"',
        "ETag": f'"{info.sha256}"'})


@router.post("/api/v1/reports/{report_id}/issue", tags=["reports"])
def issue_report(report_id: Id, body: IssueIn, request: Request, rt: Rt,
                 today: Today) -> StoredReport:
    """Issue a draft with its number, date and signer (and the operator's proposals): its
    files are written again from the figures the draft showed, and it never changes again;
    it is then e-mailed to its kind's recipients (``delivery`` records each). 409 when it is
    already issued."""
    try:
        issued = archive.issue(rt, report_id, number=body.number, signer=body.signer,
                               issued_on=body.issued_on or today,
                               by=principal(request).actor, proposals=body.proposals)
    except LookupError as exc:
        raise HTTPException(404, f"no report {report_id}") from exc
    except ReportStateError as exc:
        raise HTTPException(409, str(exc)) from exc
    except ReportError as exc:
        raise _unprocessable(exc, "body") from exc
    if not delivery.deliver(rt, report_id):
        return issued
    with rt.engine.connect() as conn:
        return _found(conn, report_id)
