"""Bounded work: a range or date the data-quality report cannot take is a 422 saying the
limit, answered before any work (SQLite and PostgreSQL)."""

from __future__ import annotations

import time

import pytest
from fastapi.testclient import TestClient

from chiso.intake.quality import MAX_SPAN_DAYS

URL = "/api/v1/data-quality"


@pytest.mark.parametrize(("start", "end", "said"), [
    ("0001-01-01", "9999-12-31", "outside 2000-2100"),
    ("2000-01-01", "2100-12-31", f"at most {MAX_SPAN_DAYS} days"),
    ("2026-13-01", "2026-12-31", "is not a date"),
    ("2026-03-01", "2026-02-01", "before start"),
])
def test_a_bad_or_huge_range_is_a_422(client: TestClient, steward_headers: dict[str, str],
                                      start: str, end: str, said: str) -> None:
    began = time.perf_counter()
    r = client.get(URL, params={"start": start, "end": end, "feed": "tthc.dossier"},
                   headers=steward_headers)
    assert time.perf_counter() - began < 2.0
    assert r.status_code == 422, r.text
    assert said in r.json()["detail"]


def test_a_range_within_the_limit_is_answered(client: TestClient,
                                              steward_headers: dict[str, str]) -> None:
    r = client.get(URL, params={"start": "2026-01-01", "end": "2026-03-31",
                                "feed": "tthc.dossier"}, headers=steward_headers)
    assert r.status_code == 200, r.text
