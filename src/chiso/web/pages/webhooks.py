"""The operator's page of webhook subscriptions (``/admin/webhooks``): list them, add one,
turn one off or on again, and see each one's deliveries with every attempt; a subscription
turned off after repeated failures is shown as a notice at the top with why. The JSON side is
``chiso.web.api.webhooks``; both call ``chiso.store.webhooks`` and ``chiso.store.outbox``.
Contract: docs/webhooks.md ("The operator's page").
"""

from __future__ import annotations

import secrets
from datetime import UTC, datetime
from typing import Annotated, Any

from fastapi import APIRouter, Form, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from sqlalchemy import Connection

from chiso.access.guard import principal
from chiso.clock import VIETNAM
from chiso.store import outbox, webhooks
from chiso.web.deps import Conn, Id, Rt
from chiso.web.render import Locale, render

router = APIRouter(include_in_schema=False)

#: Deliveries shown on a subscription's page.
DELIVERIES = 50


def vn_time(t: datetime | None) -> datetime | None:
    """An instant in Vietnamese time, as the pages show times."""
    return None if t is None else t.astimezone(VIETNAM)


def _list_page(request: Request, lang: str, conn: Connection, *, status: int = 200,
               error: str = "", made: webhooks.Subscription | None = None,
               secret: str = "", form: dict[str, Any] | None = None) -> HTMLResponse:
    subs = webhooks.listing(conn)
    page = render(request, lang, "webhooks.html", subscriptions=subs,
                  disabled=[s for s in subs if not s.active and s.disabled_reason],
                  events=webhooks.EVENTS, csrf=principal(request).csrf or "", error=error,
                  made=made, secret=secret, form=form or {}, min_secret=webhooks.MIN_SECRET,
                  vn_time=vn_time)
    page.status_code = status
    return page


@router.get("/admin/webhooks", response_class=HTMLResponse)
def webhooks_page(request: Request, lang: Locale, conn: Conn) -> HTMLResponse:
    """Every subscription; the ones turned off after repeated failures first, as a notice."""
    return _list_page(request, lang, conn)


@router.post("/admin/webhooks")
def webhooks_add(request: Request, lang: Locale, rt: Rt,
                 url: Annotated[str, Form(max_length=2000)],
                 events: Annotated[list[str] | None, Form(max_length=20)] = None,
                 secret: Annotated[str, Form(max_length=200)] = "",
                 description: Annotated[str, Form(max_length=500)] = "") -> Response:
    """Subscribe; a secret chiso makes is shown once on the answer. A field at fault shows
    the form again (422) with the operator's input and what is wrong."""
    chosen = secret.strip() or secrets.token_urlsafe(32)
    try:
        with rt.engine.begin() as conn:
            made = webhooks.create(conn, url=url.strip(), secret=chosen, events=events or [],
                                   by=principal(request).name, now=datetime.now(UTC),
                                   description=description.strip())
    except webhooks.WebhookError as exc:
        with rt.engine.connect() as conn:
            return _list_page(request, lang, conn, status=422, error=exc.field,
                              form={"url": url, "events": events or [],
                                    "description": description})
    with rt.engine.connect() as conn:
        return _list_page(request, lang, conn, status=201, made=made,
                          secret="" if secret.strip() else chosen)


@router.get("/admin/webhooks/{subscription_id}", response_class=HTMLResponse)
def webhook_page(request: Request, lang: Locale, conn: Conn,
                 subscription_id: Id) -> HTMLResponse:
    """One subscription: why it is off (if it is), turn it off or on, its newest deliveries
    with every attempt."""
    found = webhooks.get(conn, subscription_id)
    if found is None:
        page = render(request, lang, "error.html",
                      detail=f"webhook {subscription_id}: no such subscription")
        page.status_code = 404
        return page
    sent = outbox.messages(conn, channel=webhooks.channel(subscription_id), limit=DELIVERIES)
    tries = outbox.attempts(conn, [m.id for m in sent], limit=DELIVERIES * 20)
    return render(request, lang, "webhook.html", sub=found, csrf=principal(request).csrf or "",
                  vn_time=vn_time,
                  deliveries=[(m, sorted((a for a in tries if a.message_id == m.id),
                                         key=lambda a: a.attempt)) for m in sent])


def _switch(rt: Any, subscription_id: int, active: bool) -> Response:
    with rt.engine.begin() as conn:
        found = webhooks.change(conn, subscription_id, active=active)
    if found is None:
        return RedirectResponse("/admin/webhooks", status_code=303)
    return RedirectResponse(f"/admin/webhooks/{subscription_id}", status_code=303)


@router.post("/admin/webhooks/{subscription_id}/disable")
def webhook_disable(rt: Rt, subscription_id: Id) -> Response:
    """Turn it off: no new events are written for it."""
    return _switch(rt, subscription_id, active=False)


@router.post("/admin/webhooks/{subscription_id}/enable")
def webhook_enable(rt: Rt, subscription_id: Id) -> Response:
    """Turn it on again (after the receiver is fixed); clears why it was turned off."""
    return _switch(rt, subscription_id, active=True)
