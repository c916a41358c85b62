"""The JSON API under ``/api/v1`` (and the open-data doors harvesters speak: CKAN's Action API,
DCAT-AP, the dataset downloads). A module per room it serves; each handler reads that room's
typed answers and turns the room's errors into 4xx. Never imports ``chiso.web.pages``."""

from __future__ import annotations

from fastapi import APIRouter

from chiso.web.api import (
    access,
    catalog,
    dashboard,
    decisions,
    intake,
    map,
    mappings,
    measurement,
    opendata,
    outbox,
    pull,
    records,
    reports,
    scoring,
    users,
    webhooks,
)

#: Every API router, in the order the app includes them.
ROUTERS: tuple[APIRouter, ...] = (
    catalog.router, intake.router, measurement.router, records.router, scoring.router,
    access.router, dashboard.router, map.router, decisions.router, opendata.router,
    reports.router, outbox.router, webhooks.router, pull.router, users.router,
    mappings.router)
