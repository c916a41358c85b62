"""The simulated SME support system: its records go through the push API whole, and chiso
counts each enterprise once however often the simulator supported it."""

from __future__ import annotations

from collections import Counter
from datetime import date, datetime

from fastapi.testclient import TestClient
from sqlalchemy import Engine

from chiso.intake.sources import add_source
from chiso_sim.hanoi import VN
from chiso_sim.servers import batches
from chiso_sim.sme import sme_feeds

NOW = datetime(2027, 3, 20, 10, 0, tzinfo=VN)


def _latest(records: list[dict[str, object]]) -> dict[object, dict[str, object]]:
    out: dict[object, dict[str, object]] = {}
    for r in records:  # oldest first: the last version of an id wins
        out[r["id"]] = r
    return out


def test_sme_records_are_accepted_and_enterprises_counted_once(
    fresh_client: TestClient, fresh_engine: Engine,
) -> None:
    feeds = sme_feeds(2026, date(2026, 1, 1), NOW, scale=0.01)
    assert feeds == sme_feeds(2026, date(2026, 1, 1), NOW, scale=0.01)
    support = feeds["sme.support"]
    assert all(datetime.fromisoformat(str(r["updated_at"])) <= NOW for r in support)
    latest = _latest(support).values()
    times = Counter(r["tax_code"] for r in latest)
    years: dict[object, set[str]] = {}
    for r in latest:
        years.setdefault(r["tax_code"], set()).add(str(r["supported_at"])[:4])
    assert max(times.values()) >= 5
    assert any(len(y) == 2 for y in years.values())  # supported in 2026 and again in 2027
    assert any("readiness_after" in r for r in support)

    for feed, records in feeds.items():
        token = add_source(fresh_engine, feed.replace(".", "-"), [feed], None)
        for batch in batches(records, 500):
            r = fresh_client.post(f"/api/v1/feeds/{feed}/records", json=batch,
                                  headers={"Authorization": f"Bearer {token}"})
            assert r.status_code == 200, r.text[:2000]

    span = "2026-01-01..2027-03-20"
    got = fresh_client.get(f"/api/v1/indicators/sme.enterprises_supported/values?period={span}")
    assert got.status_code == 200, got.text
    assert got.json()["values"][0]["value"] == len(times)
    applying = {r["tax_code"] for r in latest if r["kind"] == "solution_application"}
    got = fresh_client.get(
        f"/api/v1/indicators/sme.enterprises_applying_digital/values?period={span}")
    assert got.json()["values"][0]["value"] == len(applying)
    raised = {r["tax_code"] for r in latest
              if "readiness_after" in r and int(str(r["readiness_after"]))
              > int(str(r["readiness_before"]))}
    got = fresh_client.get(
        f"/api/v1/indicators/sme.enterprises_readiness_raised/values?period={span}")
    assert got.json()["values"][0]["value"] == len(raised)
    members = _latest(feeds["sme.consultant"]).values()
    got = fresh_client.get(f"/api/v1/indicators/sme.consultants_active/values?period={span}")
    assert got.json()["values"][0]["value"] == sum(m["status"] == "active" for m in members)
