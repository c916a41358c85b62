"""The decision log: decisions taken from a dashboard tile, and their counts (issue 7)."""

from __future__ import annotations

from fastapi import APIRouter

router = APIRouter()
