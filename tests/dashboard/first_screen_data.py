"""Records and a fixed day for the first screens (the home page's and a unit's)."""

from __future__ import annotations

from datetime import date

from fastapi.testclient import TestClient
from sqlalchemy import Engine
from tests.factories import monthly_dossier

from chiso.intake.sources import add_source
from chiso.web import deps

TODAY = date(2026, 3, 28)


HOAN_KIEM, BA_DINH = "00070", "00004"


def _push(client: TestClient, engine: Engine, unit: str, per_month: dict[int, int]) -> None:
    token = add_source(engine, f"dvc-{unit}", ["tthc.dossier"], [unit])
    records = [monthly_dossier(m * 100 + i, unit, m, i < k) for m, k in per_month.items()
               for i in range(10)]
    r = client.post("/api/v1/feeds/tthc.dossier/records", json=records,
                    headers={"Authorization": f"Bearer {token}"})
    assert r.status_code == 200, r.text


def _on(client: TestClient, today: date) -> TestClient:
    client.app.dependency_overrides[deps.today] = lambda: today  # type: ignore[attr-defined]
    return client
