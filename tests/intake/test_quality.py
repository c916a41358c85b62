"""Data accountability: completeness, timeliness and outliers per unit and feed."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

from fastapi.testclient import TestClient
from sqlalchemy import Engine
from tests.factories import dossier, uid

from chiso.intake.sources import add_source

VN = ZoneInfo("Asia/Ho_Chi_Minh")
UNIT = "00664"  # used by no other intake test


def test_completeness_timeliness_and_outliers(client: TestClient, engine: Engine,
                                              steward_headers: dict[str, str]) -> None:
    token = add_source(engine, uid("dq"), ["tthc.dossier"], [UNIT])
    # 21 working days: 3 dossiers a day, except a day with none (a gap) and a day with 40
    # (an outlier); all sent now, so the older days' records are late.
    today = datetime.now(VN).replace(hour=9, minute=0, second=0, microsecond=0)
    days = []
    d = today - timedelta(days=1)
    while len(days) < 21:
        if d.weekday() < 5:
            days.append(d)
        d -= timedelta(days=1)
    days.reverse()
    gap, spike = days[5], days[12]
    records = []
    for n, day in enumerate(days):
        if day == gap:
            continue
        count = 40 if day == spike else 3
        for i in range(count):
            received = day
            records.append(dossier(
                n * 100 + i, id=f"DQ-{n}-{i}", unit=UNIT,
                received_at=received.isoformat(),
                due_at=(received + timedelta(days=5)).isoformat(),
                updated_at=received.isoformat()))
    r = client.post("/api/v1/feeds/tthc.dossier/records", json=records,
                    headers={"Authorization": f"Bearer {token}"})
    assert r.status_code == 200, r.text
    report = client.get("/api/v1/data-quality", params={
        "unit": UNIT, "feed": "tthc.dossier", "period": "day",
        "start": days[0].date().isoformat(), "end": days[-1].date().isoformat()},
        headers=steward_headers).json()
    rows = {row["period"]: row for row in report["rows"]}
    assert len(rows) == 21  # working days only
    assert rows[gap.date().isoformat()]["completeness"] == 0
    assert rows[gap.date().isoformat()]["records"] == 0
    assert rows[days[0].date().isoformat()]["records"] == 3
    assert rows[days[0].date().isoformat()]["completeness"] == 1
    # everything arrived now, long after the older days' events: late
    assert rows[days[0].date().isoformat()]["on_time_share"] == 0
    assert rows[days[0].date().isoformat()]["mean_delay_hours"] > 24
    flagged = {o["day"] for o in report["outliers"]}
    assert spike.date().isoformat() in flagged
    assert days[0].date().isoformat() not in flagged
    monthly = client.get("/api/v1/data-quality", params={"unit": UNIT, "feed": "tthc.dossier"},
                         headers=steward_headers)
    # other tests' simulators also send for this commune (other months): at least ours
    assert sum(row["records"] for row in monthly.json()["rows"]) >= len(records)
    assert client.get("/api/v1/data-quality", params={"unit": "nope"},
                      headers=steward_headers).status_code == 404


def test_fresh_records_are_on_time(client: TestClient, engine: Engine,
                                   steward_headers: dict[str, str]) -> None:
    unit = "00685"
    token = add_source(engine, uid("dq"), ["tthc.dossier"], [unit])
    now = datetime.now(UTC) - timedelta(hours=1)
    records = [dossier(i, id=uid("DQ"), unit=unit, received_at=now.isoformat(),
                       due_at=(now + timedelta(days=3)).isoformat(),
                       updated_at=now.isoformat()) for i in range(4)]
    assert client.post("/api/v1/feeds/tthc.dossier/records", json=records,
                       headers={"Authorization": f"Bearer {token}"}).status_code == 200
    day = now.astimezone(VN).date().isoformat()
    report = client.get("/api/v1/data-quality", params={"unit": unit, "feed": "tthc.dossier",
                                                        "period": "day", "start": day,
                                                        "end": day},
                        headers=steward_headers).json()
    (row,) = [r for r in report["rows"] if r["records"]]
    assert row["on_time_share"] == 1
    assert 0.9 < row["mean_delay_hours"] < 1.1


def test_data_quality_page(client: TestClient, steward_headers: dict[str, str]) -> None:
    page = client.get("/intake/data-quality", params={"feed": "tthc.dossier", "period": "day"},
                      headers=steward_headers)
    assert page.status_code == 200
    assert "Trách nhiệm giải trình về dữ liệu" in page.text
    assert client.get("/intake/data-quality", params={"feed": "x.y"},
                      headers=steward_headers).status_code == 404
