"""What tests make: records of the feeds, users with tokens, signed-in clients. Every test
module takes its makers from here (or from a conftest's fixtures), never from another test
module.

Records are plain dicts in the feed contract's own field names; ``over`` replaces any field.
"""

from __future__ import annotations

import re
import uuid
from functools import cache
from typing import Any

from fastapi.testclient import TestClient
from httpx import Response
from sqlalchemy import Engine

from chiso.access import accounts
from chiso.catalog.feeds import Contract
from chiso.catalog.loader import Catalog, load_catalog
from chiso.intake.pipeline import Provenance, ingest

UNIT_A = "00070"  # two communes of the test data
UNIT_B = "00082"
PASSWORD = "correct horse battery"


@cache
def default_catalog() -> Catalog:
    """The catalog shipped with chiso, loaded once per test run."""
    return load_catalog()


def feed_contract(feed: str) -> Contract:
    """A feed's contract as the shipped catalog holds it."""
    return default_catalog().contract(feed)


def uid(prefix: str = "t") -> str:
    """A record id no other test uses."""
    return f"{prefix}-{uuid.uuid4().hex[:10]}"


# -- tthc.dossier ------------------------------------------------------------------------------

def dossier(i: int = 0, **over: Any) -> dict[str, Any]:
    """A dossier of Hoàn Kiếm received on 2/3/2026, due 9/3, still being processed."""
    rec: dict[str, Any] = {
        "id": f"HS-{i:06d}", "unit": UNIT_A, "procedure": "1.001234",
        "received_at": "2026-03-02T08:30:00+07:00", "due_at": "2026-03-09T17:00:00+07:00",
        "resolved_at": None, "status": "processing", "channel": "online",
        "fully_online": True, "supplement_requests": 0, "supplement_days": 0,
        "result_electronic": None, "paid_online": None, "components_total": 4,
        "components_reused": 2, "updated_at": "2026-03-02T09:00:00+07:00",
    }
    rec.update(over)
    return rec


def monthly_dossier(i: int, unit: str, month: int, on_time: bool,
                    **over: Any) -> dict[str, Any]:
    """A dossier of 2026 received on the 2nd of ``month``, due the 20th, resolved on the 12th
    (on time) or the 25th (late)."""
    at = f"2026-{month:02d}-{12 if on_time else 25:02d}T10:00:00+07:00"
    return dossier(0, **{
        "id": f"HS-{unit}-{i}", "unit": unit, "procedure": "1.001",
        "received_at": f"2026-{month:02d}-02T08:30:00+07:00",
        "due_at": f"2026-{month:02d}-20T17:00:00+07:00", "resolved_at": at,
        "status": "resolved", "result_electronic": True, "updated_at": at, **over})


def send(engine: Engine, feed: str, records: list[dict[str, Any]],
         source: str = "t") -> None:
    """Store ``records`` through the real intake path (validation, versions, day state)."""
    out = ingest(engine, feed_contract(feed), records, Provenance(source, "push"), b"{}",
                 "application/json")
    assert out.accepted, out.as_dict()


def send_months(engine: Engine, unit: str, on_time_per_10: dict[int, int]) -> None:
    """Ten dossiers a month for ``unit``; ``on_time_per_10[month]`` of them on time."""
    send(engine, "tthc.dossier",
         [monthly_dossier(month * 100 + i, unit, month, i < k)
          for month, k in on_time_per_10.items() for i in range(10)])


# -- people ------------------------------------------------------------------------------------

def user_with_token(engine: Engine, role: str | None, unit: str | None = None,
                    password: str | None = None) -> tuple[str, str]:
    """(name, API token) of a new user holding ``role`` (None: no role but public)."""
    name = f"u-{role or 'none'}-{uuid.uuid4().hex[:8]}"
    with engine.begin() as conn:
        accounts.add_user(conn, name, password=password)
        if role is not None:
            accounts.grant(conn, name, role, unit)
        token = accounts.issue_token(conn, name, "test")
    return name, token


def bearer(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


def sign_in(client: TestClient, name: str, password: str) -> Response:
    """Sign in through the page, as a browser does (the form's CSRF token included)."""
    page = client.get("/signin")
    csrf = re.search(r'name="csrf" value="([^"]+)"', page.text)
    assert csrf
    return client.post("/signin", data={"name": name, "password": password, "next": "/",
                                        "csrf": csrf.group(1)}, follow_redirects=False)
