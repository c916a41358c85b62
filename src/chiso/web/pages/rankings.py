"""Rankings pages and the tasks-and-deadlines view (docs/dashboard-rankings.md).

Every page here reads the typed answers ``/api/v1/rankings``, ``/api/v1/scores`` and
``/api/v1/tasks/warnings`` serve (``chiso.scoring.answers``, ``chiso.outlook.answers``),
formatted for a person. Task evidence is read from the outlook room (``outlook.evidence``), and
only for a principal the policy lets read that API for the task (``may_read_evidence``).
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import date
from typing import Annotated, Any

from fastapi import APIRouter, HTTPException, Query, Request
from fastapi.responses import HTMLResponse
from sqlalchemy import Connection

from chiso.access import policy
from chiso.access.guard import principal
from chiso.access.roles import Principal
from chiso.catalog.methods import Method, Node
from chiso.context import Runtime
from chiso.measurement.periods import Period, PeriodError
from chiso.outlook import answers as outlooks
from chiso.outlook import evidence as ev
from chiso.scoring import answers
from chiso.store import catalog_reads as reads
from chiso.store.catalog_sync import plan_key
from chiso.text import vi_key
from chiso.web.deps import Conn, Rt, Today
from chiso.web.render import Locale, NotFound, render

router = APIRouter(include_in_schema=False)


KINDS = ("department", "agency", "commune")  # the order pages list them in
WARNING_KINDS = ("overdue", "due_soon_no_evidence", "milestone_slipping")
EVIDENCE_ROUTE = ("GET", "/api/v1/plans/{key}/tasks/{task_id}/evidence")


# -- methods as the catalog holds them --------------------------------------------------------

def _methods(rt: Runtime) -> dict[str, list[Method]]:
    return rt.catalog.methods.versions if rt.catalog.methods is not None else {}


def method_in_force(rt: Runtime, code: str, day: date) -> Method | None:
    """The version of ``code`` in force on ``day`` (else its latest version); None if unknown."""
    versions = _methods(rt).get(code)
    if not versions:
        return None
    try:
        return rt.catalog.methods.in_force(code, day)  # type: ignore[union-attr]
    except KeyError:
        return versions[-1]


def english_names(method: Method | None) -> dict[str, str]:
    """Criterion and group code -> English name, for the reader who chose English (the API's
    trees carry the Vietnamese name only)."""
    out: dict[str, str] = {}

    def walk(nodes: Iterable[Node]) -> None:
        for n in nodes:
            if n.name_en:
                out[n.code] = n.name_en
            walk(n.children)

    if method is not None:
        for nodes in method.kinds.values():
            walk(nodes)
    return out


def period_choices(day: date) -> list[str]:
    """Periods a reader can pick, newest first (:meth:`Period.choices`)."""
    return [p.label for p in Period.choices(day)]


# -- the pages ---------------------------------------------------------------------------------

@router.get("/rankings", response_class=HTMLResponse)
def rankings_index(request: Request, lang: Locale, rt: Rt, day: Today) -> HTMLResponse:
    """Every scoring method, what it measures, and a link to its ranking for each kind."""
    methods = [m for m in (method_in_force(rt, code, day) for code in sorted(_methods(rt)))
               if m is not None]
    return render(request, lang, "rankings.html", methods=methods, kinds=KINDS,
                  english=english_names)


@router.get("/rankings/{method}", response_class=HTMLResponse)
def ranking_page(method: str, request: Request, lang: Locale, rt: Rt, conn: Conn, day: Today,
                 kind: str = "commune", period: str = "") -> HTMLResponse:
    """The ranking of one kind of unit by one method for a period: what
    ``GET /api/v1/rankings/{method}`` answers, with the change and its explanation in words."""
    found = method_in_force(rt, method, day)
    if found is None:
        raise NotFound("method", method)
    kinds = [k for k in KINDS if k in found.kinds]
    if kind not in kinds:
        raise NotFound("kind", kind)
    try:
        data = answers.ranking(rt, method, kind, answers.period_of(period, day), day)
    except PeriodError as exc:
        page = render(request, lang, "ranking.html", data=None, problem=exc.args[0],
                      method=found, kinds=kinds, kind=kind, period=period,
                      periods=period_choices(day), english={})
        page.status_code = 422
        return page
    except answers.ScoringError as exc:
        raise HTTPException(404, str(exc)) from exc
    return render(request, lang, "ranking.html", data=data, problem=None, method=found,
                  kinds=kinds, kind=kind, period=data.period, periods=period_choices(day),
                  english=english_names(found) if lang == "en" else {})


@router.get("/units/{code}/scores/{method}", response_class=HTMLResponse)
def score_page(code: str, method: str, request: Request, lang: Locale, rt: Rt, conn: Conn,
               day: Today, period: str = "") -> HTMLResponse:
    """A unit's score tree: what ``GET /api/v1/scores/{method}/{unit}`` answers."""
    found = method_in_force(rt, method, day)
    if found is None:
        raise NotFound("method", method)
    try:
        data = answers.unit_score(conn, rt, method, code, answers.period_of(period, day), day)
    except PeriodError as exc:
        page = render(request, lang, "ranking.html", data=None, problem=exc.args[0],
                      method=found, kinds=[k for k in KINDS if k in found.kinds],
                      kind="commune", period=period, periods=period_choices(day), english={})
        page.status_code = 422
        return page
    except answers.ScoringError as exc:
        raise HTTPException(404, str(exc)) from exc
    return render(request, lang, "score.html", data=data, method=found, period=data.period,
                  periods=period_choices(day),
                  english=english_names(found) if lang == "en" else {})


# -- tasks and deadlines -----------------------------------------------------------------------

def may_read_evidence(who: Principal, leads: set[str]) -> bool:
    """Would the evidence API answer this principal for a task led by ``leads``? The same
    decision the guard takes: the policy's roles for that route, then its ``task`` scope
    (a unit-limited grant must name one of the task's lead units)."""
    rule = policy.rule_for(*EVIDENCE_ROUTE)
    if rule is None or not who.allowed(rule.roles):
        return False
    units = who.scope(rule.roles)
    return units is None or bool(units & leads)


@dataclass
class UnitGroup:
    """The warnings of the tasks one unit leads (as the catalog names the lead unit)."""

    code: str | None
    name: str
    rows: list[dict[str, Any]] = field(default_factory=list)

    def count(self, kind: str) -> int:
        return sum(1 for r in self.rows if r["kind"] == kind)


def _evidence(conn: Connection, who: Principal, key: str, task_id: str
              ) -> dict[str, Any] | None:
    """The task's evidence as its API lists it (count, latest item), or None when the
    principal may not read it."""
    leads = ev.lead_units(conn, key, task_id)
    if not may_read_evidence(who, leads):
        return None
    items = ev.listing(conn, key, task_id)
    return {"count": len(items), "latest": items[-1] if items else None}


def group_warnings(conn: Connection, who: Principal, warnings: list[outlooks.TaskWarning],
                   day: date) -> list[UnitGroup]:
    """The API's warnings per lead unit (a task led by two units is under both), each row
    with its task's link and, where the principal may read it, its evidence. Units with the
    most overdue tasks first."""
    tasks = {(t["plan_key"], t["id"]): t
             for t in reads.list_tasks(conn, today=day, limit=100_000).items}
    groups: dict[str | None, UnitGroup] = {}
    evidence: dict[tuple[str, str], dict[str, Any] | None] = {}
    for warning in warnings:
        w = warning.model_dump(mode="json")
        key = plan_key(w["plan"])
        task = tasks.get((key, w["task"]), {})
        if (key, w["task"]) not in evidence:
            evidence[(key, w["task"])] = _evidence(conn, who, key, w["task"])
        row = {**w, "plan_key": key, "evidence": evidence[(key, w["task"])],
               "deadline_text": task.get("data", {}).get("deadline_text")}
        leads = task.get("units", {}).get("lead") or [{"code": None, "name": None}]
        for lead in leads:
            group = groups.setdefault(lead["code"], UnitGroup(lead["code"], lead["name"] or ""))
            group.rows.append(row)
    order = {k: i for i, k in enumerate(WARNING_KINDS)}
    for g in groups.values():
        g.rows.sort(key=lambda r: (order.get(r["kind"], 9), -r["days"] if r["kind"] !=
                                   "due_soon_no_evidence" else r["days"], r["plan"], r["task"]))
    return sorted(groups.values(), key=lambda g: (g.code is None, -g.count("overdue"),
                                                  -len(g.rows), g.name))


@router.get("/deadlines", response_class=HTMLResponse)
def deadlines(request: Request, lang: Locale, rt: Rt, conn: Conn, day: Today,
              unit: str | None = None,
              days: Annotated[int, Query(ge=0, le=366)] = 30) -> HTMLResponse:
    """Tasks overdue, due soon with no evidence, milestones slipping, per lead unit: what
    ``GET /api/v1/tasks/warnings`` answers; evidence as ``GET …/evidence`` lists it, for those
    who may read it."""
    try:
        data = outlooks.task_warnings(conn, rt.catalog, unit or None, day, days)
    except outlooks.OutlookError as exc:
        raise HTTPException(404, str(exc)) from exc
    who = principal(request)
    groups = group_warnings(conn, who, data.warnings, day)
    units = sorted((u for u in reads.list_units(conn) if u["kind"] in
                    ("department", "agency", "commune", "group")),
                   key=lambda u: vi_key(u["name"]))
    evidence_rule = policy.rule_for(*EVIDENCE_ROUTE)
    sees_evidence = evidence_rule is not None and who.allowed(evidence_rule.roles)
    return render(request, lang, "deadlines.html", data=data, groups=groups, units=units,
                  unit=unit or "", days=days, kinds=WARNING_KINDS, sees_evidence=sees_evidence,
                  signed_in=who.kind != "anonymous")
