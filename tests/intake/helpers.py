"""Record makers shared by the intake tests."""

from __future__ import annotations

import uuid
from typing import Any


def uid(prefix: str = "t") -> str:
    return f"{prefix}-{uuid.uuid4().hex[:10]}"


def dossier(i: int = 0, **over: Any) -> dict[str, Any]:
    rec: dict[str, Any] = {
        "id": f"HS-{i:06d}", "unit": "00070", "procedure": "1.001234",
        "received_at": "2026-03-02T08:30:00+07:00", "due_at": "2026-03-09T17:00:00+07:00",
        "resolved_at": None, "status": "processing", "channel": "online",
        "fully_online": True, "supplement_requests": 0, "supplement_days": 0,
        "result_electronic": None, "paid_online": None, "components_total": 4,
        "components_reused": 2, "updated_at": "2026-03-02T09:00:00+07:00",
    }
    rec.update(over)
    return rec
