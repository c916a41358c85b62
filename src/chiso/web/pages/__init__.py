"""The server-rendered pages, Vietnamese first (``?lang=en`` for English). A module per part of
the interface; each handler reads the rooms' typed answers and renders a template. Never
imports ``chiso.web.api``."""

from __future__ import annotations

from fastapi import APIRouter

from chiso.web.pages import (
    access,
    alerts,
    catalog,
    decisions,
    home,
    indicators,
    intake,
    map,
    opendata,
    pull,
    rankings,
    reports,
    webhooks,
)

#: Every page router, in the order the app includes them.
ROUTERS: tuple[APIRouter, ...] = (
    catalog.router, intake.router, access.router, home.router, map.router, rankings.router,
    indicators.router, decisions.router, opendata.router, reports.router, webhooks.router,
    pull.router, alerts.router)
