"""Indicator pages: city to unit to indicator to the records behind a number (issue 7)."""

from __future__ import annotations

from fastapi import APIRouter

router = APIRouter()
