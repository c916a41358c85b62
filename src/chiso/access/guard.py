"""The one gate every request goes through: authenticate, authorise against the policy table,
apply unit scope, check CSRF on form posts, and set the audit context for the commit hook.

An ASGI middleware (not a per-route dependency) so that nothing escapes it: the OpenAPI
document, static files and routes added later included. A route the policy does not name is
refused (deny by default).
"""

from __future__ import annotations

import hmac
import json
import re
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any
from urllib.parse import parse_qsl, urlencode

from fastapi.routing import iter_route_contexts
from sqlalchemy import Engine, or_, select
from starlette._utils import get_route_path
from starlette.concurrency import run_in_threadpool
from starlette.datastructures import FormData
from starlette.exceptions import HTTPException
from starlette.requests import Request
from starlette.routing import BaseRoute, Match, Mount, Route
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from chiso.access import accounts, audit
from chiso.access.policy import Rule, rule_for
from chiso.access.roles import ANONYMOUS, Principal
from chiso.store.db import RETRY_AFTER, is_busy
from chiso.store.tables import (
    FEED_TABLES,
    assignments,
    decisions,
    intake_batches,
    reports,
    tasks,
)

SESSION_COOKIE = "chiso_session"
CSRF_COOKIE = "chiso_csrf"
CSRF_FIELD = "csrf"
CSRF_HEADER = "x-csrf-token"
SAFE = frozenset({"GET", "HEAD", "OPTIONS"})

Refusal = Callable[[Request, int, str], Awaitable[Any]]



#: The largest id an INTEGER column holds (PostgreSQL refuses a larger one in a query).
MAX_ID = 2**31 - 1

def principal(request: Request) -> Principal:
    """Who is asking (set by the guard before any handler runs)."""
    found = getattr(request.state, "principal", None)
    return found if isinstance(found, Principal) else ANONYMOUS


def record_subjects(request: Request, subjects: set[str], target: str | None = None,
                    unit: str | None = None) -> None:
    """A handler reading personal data names whose: the guard audits it before the answer."""
    note = request.state.audit_read if hasattr(request.state, "audit_read") else None
    if note is not None:
        note["subjects"].update(subjects)
        note["target"] = target or note["target"]
        note["unit"] = unit or note["unit"]


def record_unit(engine: Engine, params: dict[str, Any]) -> str | None:
    tables = FEED_TABLES.get(str(params.get("feed")))
    if tables is None:
        return None
    latest = tables[0]
    with engine.connect() as conn:
        unit: str | None = conn.execute(select(latest.c.unit).where(
            latest.c.source == params.get("source"),
            latest.c.record_id == params.get("record_id"))).scalar()
    return unit


#: A row id as the guard reads it: digits, no sign, no leading zero, no decimal point.
_ROW_ID = re.compile(r"[1-9][0-9]{0,18}")


def _unit_of_row(engine: Engine, raw_id: object, unit_column: Any) -> str | None:
    """``unit_column`` of the row whose integer ``id`` is ``raw_id`` (a path parameter); None
    when there is no such row, or the id is not one an INTEGER column can hold."""
    try:
        row_id = int(str(raw_id))
    except ValueError:
        return None
    if not 0 < row_id <= MAX_ID:  # beyond the column's range: no such row
        return None
    with engine.connect() as conn:
        unit: str | None = conn.execute(select(unit_column).where(
            unit_column.table.c.id == row_id)).scalar()
    return unit


def report_unit(engine: Engine, params: dict[str, Any]) -> str | None:
    """The unit a stored report is of ('city' for the city's), None: no such report."""
    return _unit_of_row(engine, params.get("report_id"), reports.c.unit)


def decision_unit(engine: Engine, params: dict[str, Any]) -> str | None:
    """The unit a decision names as the one that must act (None: no such decision, or none
    named)."""
    return _unit_of_row(engine, params.get("decision_id"), decisions.c.acting_unit)


def raw_units(engine: Engine, params: dict[str, Any]) -> set[str]:
    """The units of the batches a raw payload belongs to (its file or its evidence); a push
    or pull batch names no unit, so only city-wide grants reach its payload."""
    sha = params.get("sha256")
    with engine.connect() as conn:
        return {u for (u,) in conn.execute(select(intake_batches.c.unit).where(
            or_(intake_batches.c.raw_sha256 == sha, intake_batches.c.evidence_sha256 == sha),
            intake_batches.c.unit.is_not(None)).distinct())}


def task_lead_units(engine: Engine, params: dict[str, Any]) -> set[str] | None:
    """The lead units of the task a route names (``key``: the plan key, ``task_id``); None
    when the plan has no such task. A task may exist with no lead unit (an empty set)."""
    key, task_id = params.get("key"), params.get("task_id")
    with engine.connect() as conn:
        if conn.execute(select(tasks.c.id).where(tasks.c.plan_key == key,
                                                 tasks.c.id == task_id)).first() is None:
            return None
        return {u for (u,) in conn.execute(select(assignments.c.unit_code).where(
            assignments.c.plan_key == key, assignments.c.item_kind == "task",
            assignments.c.item_id == task_id, assignments.c.role == "lead"))}


def _bounded(receive: Receive, limit: int) -> Receive:
    """``receive`` refusing (413, through the app's error handler) once the body read so far
    passes ``limit`` bytes."""
    size = 0

    async def bounded() -> Message:
        nonlocal size
        message = await receive()
        if message["type"] == "http.request":
            size += len(message.get("body", b""))
            if size > limit:
                raise HTTPException(413, f"the request body is larger than the limit of "
                                         f"{limit} bytes")
        return message

    return bounded


async def _never(scope: Scope, receive: Receive, send: Send) -> None:
    raise RuntimeError("the guard's route table only matches; the app's router answers")


@dataclass(frozen=True)
class RouteEntry:
    """One route as the router sees it: the template the policy names ("/plans/{key}",
    "/static/{path}") and a Starlette route on that same path, whose ``matches`` is the
    router's own matching (the root path and a mount prefix stripped the same way)."""

    path: str
    matcher: BaseRoute

    @property
    def methods(self) -> frozenset[str] | None:
        """The methods the route takes (HEAD with GET); None: any (a mount)."""
        found = getattr(self.matcher, "methods", None)
        return frozenset(found) if found else None


def routes_of(app: Any) -> list[RouteEntry]:
    """Every route of the app, flattened through included routers and mounts, in the order
    the router tries them."""
    entries = []
    for ctx in iter_route_contexts(app.routes):
        route = ctx.original_route
        if isinstance(route, Mount):
            entries.append(RouteEntry(route.path + "/{path}", Mount(route.path, app=_never)))
            continue
        path = ctx.path
        if path is None:
            continue
        methods = sorted(ctx.methods) if ctx.methods else None
        entries.append(RouteEntry(path, Route(path, _never, methods=methods)))
    return entries


def _signature(app: Any) -> tuple[int, ...]:
    return (len(app.routes), *(len(getattr(r, "original_router", r).routes)
                               if hasattr(r, "original_router") else 1 for r in app.routes))


def route_of(app: Any, scope: Scope) -> tuple[str, dict[str, Any]] | Match:
    """The template of the route that will answer and its parameters, as the router picks it
    (the first full match in router order); otherwise ``Match.PARTIAL`` (a route takes the
    path but not the method: 405) or ``Match.NONE`` (404)."""
    signature = _signature(app)
    cached = getattr(app.state, "route_table", None)
    if cached is None or cached[0] != signature:
        cached = (signature, routes_of(app), {})
        app.state.route_table = cached
    # Matching walks every route's pattern; the answer depends on the method and path only,
    # so it is kept per (method, root path, path), a bounded number of them.
    known: dict[tuple[str, str, str], tuple[str, dict[str, Any]] | Match] = cached[2]
    key = (scope["method"], scope.get("root_path", ""), scope["path"])
    found = known.get(key)
    if found is not None:
        return (found[0], dict(found[1])) if isinstance(found, tuple) else found
    if len(known) >= _KNOWN_PATHS:
        known.clear()
    found = _match(cached[1], scope)
    known[key] = found
    return (found[0], dict(found[1])) if isinstance(found, tuple) else found


_KNOWN_PATHS = 4096


def _match(entries: list[RouteEntry], scope: Scope) -> tuple[str, dict[str, Any]] | Match:
    probe = {**scope, "path_params": {}}
    seen = Match.NONE
    for entry in entries:
        match, child = entry.matcher.matches(probe)
        if match is Match.FULL:
            return entry.path, dict(child.get("path_params", {}))
        if match is Match.PARTIAL:
            seen = Match.PARTIAL
    return seen


class AccessGuard:
    def __init__(self, app: ASGIApp, engine_of: Callable[[Any], Engine],
                 refuse: Refusal | None = None, max_form_bytes: int = 60 * 1024 * 1024) -> None:
        self.app = app
        self.engine_of = engine_of
        self.refuse = refuse
        self.max_form_bytes = max_form_bytes

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        found = route_of(scope["app"], scope)
        if isinstance(found, Match):  # no route takes it: refused here, never passed through
            await self._refuse(scope, receive, send, *(
                (405, "this method is not allowed here") if found is Match.PARTIAL
                else (404, "not found")))
            return
        template, params = found
        method = scope["method"]
        request = Request(scope, receive)
        ip = request.client.host if request.client else None
        rule = rule_for(method, template)
        if rule is None:
            await self._refuse(scope, receive, send, 403,
                               "no access rule names this route: refused (deny by default)")
            return
        engine = self.engine_of(scope["app"])
        try:
            who = await self._authenticate(request, engine)
        except Exception as exc:
            if not is_busy(exc):
                raise
            # Answered as the app answers a busy database: nothing was done, send it again.
            await self._refuse(scope, receive, send, 503, "the database is busy; send the "
                               f"request again in {RETRY_AFTER} seconds (nothing was done)",
                               headers={"Retry-After": str(RETRY_AFTER)})
            return
        if who is None:
            await self._refuse(scope, receive, send, 401, "unknown, expired or revoked "
                               "credentials", www=True)
            return
        action = f"{method} {template}"
        if not who.allowed(rule.roles):
            status = 401 if who.kind == "anonymous" else 403
            await self._deny(engine, who, action, request.url.path, ip, status, rule)
            await self._refuse(scope, receive, send, status,
                               "sign in first" if status == 401 else
                               "your roles do not allow this", www=status == 401)
            return

        # Every body is bounded, whoever sends it: a declared length over the limit is
        # refused before reading; a body read on (chunked, or by the handler) is counted.
        too_large = f"the request body is larger than the limit of {self.max_form_bytes} bytes"
        declared = request.headers.get("content-length", "")
        if method not in SAFE and declared.isdigit() and int(declared) > self.max_form_bytes:
            await self._refuse(scope, receive, send, 413, too_large)
            return
        # Bodies of unsafe requests by browsers: read once (CSRF, unit in the form), replayed.
        form: FormData | None = None
        if method not in SAFE and (who.via in ("session", "anonymous") or rule.scope == "form"):
            body, form = await self._read_form(scope, receive)
            if body is None:
                await self._refuse(scope, receive, send, 413, too_large)
                return
            receive = _replay(body)
            if who.via in ("session", "anonymous") and not self._csrf_ok(request, who, form):
                await self._deny(engine, who, action, request.url.path, ip, 403, rule)
                await self._refuse(scope, receive, send, 403,
                                   "the form's CSRF token is missing or wrong: reload the page")
                return
        elif method not in SAFE:
            receive = _bounded(receive, self.max_form_bytes)

        unit, problem = await self._scope(rule, who, scope, params, form, engine)
        if problem is not None:
            status, message = problem
            await self._deny(engine, who, action, request.url.path, ip, status, rule)
            await self._refuse(scope, receive, send, status, message)
            return

        scope.setdefault("state", {})["principal"] = who
        roles = ",".join(sorted(who.roles))
        token = audit.current.set(audit.Context(who.actor, roles, action, ip,
                                                target=request.url.path, unit=unit))
        try:
            if rule.personal:
                await self._audited_read(scope, receive, send, engine, who, action, ip, unit)
            else:
                await self.app(scope, receive, send)
        finally:
            audit.current.reset(token)

    # -- parts -------------------------------------------------------------------------------
    async def _authenticate(self, request: Request, engine: Engine) -> Principal | None:
        header = request.headers.get("authorization")
        if header:
            kind, _, value = header.partition(" ")
            if kind.lower() != "bearer" or not value.strip():
                return None
            return await run_in_threadpool(accounts.principal_for_token, engine, value.strip())
        cookie = request.cookies.get(SESSION_COOKIE)
        if cookie:
            found = await run_in_threadpool(accounts.principal_for_session, engine, cookie)
            return found or ANONYMOUS  # an expired session browses as anonymous
        return ANONYMOUS

    def _csrf_ok(self, request: Request, who: Principal, form: FormData | None) -> bool:
        sent = request.headers.get(CSRF_HEADER) or (
            str(form.get(CSRF_FIELD) or "") if form is not None else "")
        expected = who.csrf if who.via == "session" else request.cookies.get(CSRF_COOKIE)
        return bool(sent and expected and hmac.compare_digest(sent, expected))

    async def _read_form(self, scope: Scope, receive: Receive
                         ) -> tuple[bytes | None, FormData | None]:
        chunks: list[bytes] = []
        size = 0
        while True:
            message = await receive()
            if message["type"] == "http.disconnect":
                break
            chunk = message.get("body", b"")
            size += len(chunk)
            if size > self.max_form_bytes:
                return None, None
            chunks.append(chunk)
            if not message.get("more_body"):
                break
        body = b"".join(chunks)
        ctype = Request(scope).headers.get("content-type", "")
        if not ctype.startswith(("application/x-www-form-urlencoded", "multipart/form-data")):
            return body, None
        try:
            form = await Request(scope, _replay(body)).form(max_part_size=self.max_form_bytes)
        except Exception:  # a malformed form: let the handler answer it
            return body, None
        return body, form

    async def _scope(self, rule: Rule, who: Principal, scope: Scope, params: dict[str, Any],
                     form: FormData | None, engine: Engine
                     ) -> tuple[str | None, tuple[int, str] | None]:
        """(the unit concerned, or a refusal). Forces ``unit=`` on scoped list queries."""
        if rule.scope == "feed":  # an unknown feed goes on to its handler's 404
            feed = params.get("feed")
            if who.kind != "source" or (feed in FEED_TABLES and feed not in who.feeds):
                return None, (403, f"this token may not send feed {params.get('feed')!r}; "
                                   f"it covers: {', '.join(sorted(who.feeds))}")
            return None, None
        units = who.scope(rule.roles)
        query = dict(parse_qsl(scope.get("query_string", b"").decode(), keep_blank_values=True))
        asked = query.get("unit") or None
        if units is None or rule.scope == "none":
            # ``unit=`` names the unit concerned only where the route reads it (query scope);
            # elsewhere it is the client's text and never reaches the audit entry.
            if rule.scope == "form":
                sent = str(form.get("unit") or "").strip() if form is not None else ""
                return sent or None, None
            return (asked if rule.scope == "query" else None), None
        mine = ", ".join(sorted(units))
        if rule.scope == "query":
            if asked is None:
                if len(units) != 1:
                    return None, (400, f"choose one of your units with unit=: {mine}")
                asked = next(iter(units))
                pairs = [(k, v) for k, v in parse_qsl(scope.get("query_string", b"").decode(),
                                                      keep_blank_values=True) if k != "unit"]
                scope["query_string"] = urlencode([*pairs, ("unit", asked)]).encode()
                return asked, None
            if asked not in units:
                return asked, (403, f"you may see only your units' data: {mine}")
            return asked, None
        if rule.scope.startswith("path:"):
            code = str(params.get(rule.scope[5:]))
            return (code, None) if code in units else (code, (404, "not found"))
        if rule.scope == "form":
            sent = str(form.get("unit") or "").strip() if form is not None else ""
            if sent not in units:
                return sent or None, (403, f"you may send data only for your units: {mine}")
            return sent, None
        if rule.scope == "record":
            unit = await run_in_threadpool(record_unit, engine, params)
            if unit is None or unit not in units:
                return None, (404, "not found")  # another unit's record reads as missing
            return unit, None
        if rule.scope in ("report", "decision") and not _ROW_ID.fullmatch(
                str(params.get(f"{rule.scope}_id"))):
            # an id the guard cannot read exactly as written ("5.0", "05") could still be
            # one the handler reads: it reaches nothing a unit's grant does not cover
            return None, (404, "not found")
        if rule.scope == "report":
            owner = await run_in_threadpool(report_unit, engine, params)
            if owner is None:  # no such report: its handler answers 404
                return None, None
            if owner not in units:
                return None, (404, "not found")  # another unit's report reads as missing
            return owner, None
        if rule.scope == "decision":
            unit = await run_in_threadpool(decision_unit, engine, params)
            if unit is None or unit not in units:
                return None, (404, "not found")  # another unit's decision reads as missing
            return unit, None
        if rule.scope == "raw":
            owners = await run_in_threadpool(raw_units, engine, params)
            ours = sorted(owners & units)
            return (ours[0], None) if ours else (None, (404, "not found"))
        if rule.scope == "task":
            leads = await run_in_threadpool(task_lead_units, engine, params)
            if leads is None:  # no such task: its handler answers 404
                return None, None
            if not leads:  # no unit leads it: it is the city's, not any one unit's
                return None, (403, "no unit leads this task: only the city's operator or a "
                                   "city-wide data steward may act on it")
            ours = sorted(leads & units)
            if not ours:
                return None, (403, f"only an officer of a lead unit of this task may: {mine}")
            return ours[0], None
        return None, (403, f"unknown scope {rule.scope!r}: refused")

    async def _deny(self, engine: Engine, who: Principal, action: str, path: str,
                    ip: str | None, status: int, rule: Rule) -> None:
        """Refused writes and refused reads of personal data leave a trace too."""
        if action.split(" ", 1)[0] in SAFE and not rule.personal:
            return
        await run_in_threadpool(audit.record, engine, actor=who.actor, roles=who.roles,
                                action=action, result=f"denied {status}", target=path, ip=ip)

    async def _audited_read(self, scope: Scope, receive: Receive, send: Send, engine: Engine,
                            who: Principal, action: str, ip: str | None,
                            unit: str | None) -> None:
        """The read is audited before its answer leaves: no trace, no data."""
        note: dict[str, Any] = {"subjects": set(), "target": None, "unit": unit}
        scope["state"]["audit_read"] = note
        path = scope["path"]

        async def send_after_audit(message: Message) -> None:
            if message["type"] == "http.response.start":
                await run_in_threadpool(
                    audit.record, engine, actor=who.actor, roles=who.roles, action=action,
                    result=str(message["status"]), target=note["target"] or path,
                    unit=note["unit"], subjects=note["subjects"], ip=ip,
                    detail={"query": scope.get("query_string", b"").decode()})
            await send(message)

        await self.app(scope, receive, send_after_audit)

    async def _refuse(self, scope: Scope, receive: Receive, send: Send, status: int,
                      message: str, www: bool = False,
                      headers: dict[str, str] | None = None) -> None:
        request = Request(scope, receive)
        if self.refuse is not None and not get_route_path(scope).startswith("/api/"):
            response = await self.refuse(request, status, message)
        else:
            from starlette.responses import Response

            response = Response(json.dumps({"detail": message}), status_code=status,
                                media_type="application/json")
            if www:
                response.headers["WWW-Authenticate"] = "Bearer"
        response.headers.update(headers or {})
        await response(scope, receive, send)


def _replay(body: bytes) -> Receive:
    sent = False

    async def receive() -> Message:
        nonlocal sent
        if not sent:
            sent = True
            return {"type": "http.request", "body": body, "more_body": False}
        return {"type": "http.disconnect"}

    return receive
