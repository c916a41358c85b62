"""The operations dashboard: the home page's tiles, their API and their live stream (issue 7)."""

from __future__ import annotations

from fastapi import APIRouter

router = APIRouter()
