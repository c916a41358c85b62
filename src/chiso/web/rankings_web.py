"""Rankings pages and the tasks-and-deadlines view (issue 7)."""

from __future__ import annotations

from fastapi import APIRouter

router = APIRouter()
