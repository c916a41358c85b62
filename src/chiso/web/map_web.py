"""The commune map: values per commune coloured on the boundaries, or a tile grid (issue 7)."""

from __future__ import annotations

from fastapi import APIRouter

router = APIRouter()
