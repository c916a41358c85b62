"""The open datasets' change log on both databases: figures published, then changed by late
records and by a correction, each logged with old and new value, time and reason, and served
as CSV and JSON resources of the dataset (and named in its CKAN metadata)."""

from __future__ import annotations

import csv
import io
from datetime import UTC, date, datetime

from fastapi.testclient import TestClient
from tests.exports.emc_support import HOAN_KIEM, send
from tests.factories import feed_contract

from chiso.context import Runtime
from chiso.exports import changelog
from chiso.exports import datasets as ds
from chiso.runtime import create_app

TODAY = date(2026, 4, 10)
T1 = datetime(2026, 4, 10, 1, 0, tzinfo=UTC)
T2 = datetime(2026, 4, 10, 2, 0, tzinfo=UTC)
T3 = datetime(2026, 4, 10, 3, 0, tzinfo=UTC)
KEY = f"tthc.on_time_rate|{HOAN_KIEM}|2026-03"


def test_late_records_and_a_correction_are_logged_and_served(fresh_runtime: Runtime) -> None:
    rt = fresh_runtime
    values = ds.INDICATOR_VALUES.id
    send(rt.engine, HOAN_KIEM, range(10), on_time=True)
    assert changelog.record(rt, values, "2026-03", TODAY, T1) == 0  # first publication
    assert changelog.record(rt, values, "2026-03", TODAY, T1) == 0  # nothing moved

    send(rt.engine, HOAN_KIEM, range(10, 20), on_time=False)  # late records: 10 more
    assert changelog.record(rt, values, "2026-03", TODAY, T2) > 0
    with rt.engine.connect() as conn:
        logged = changelog.changes(conn, values).rows
    late = {r["field"]: r for r in logged
            if r["key"] == KEY}
    assert (late["value"]["old_value"], late["value"]["new_value"]) == ("100.0", "50.0")
    assert late["value"]["reason"] == "late_records"
    assert late["value"]["changed_at"] == T2.isoformat()
    assert late["denominator"]["new_value"] == "20.0"

    # A correction: a dossier sent again, resolved late after all (same count, new value)
    from tests.factories import monthly_dossier

    from chiso.intake.pipeline import Provenance, ingest

    fixed = monthly_dossier(0, HOAN_KIEM, 3, on_time=False)
    fixed["updated_at"] = "2026-04-01T10:00:00+07:00"
    out = ingest(rt.engine, feed_contract("tthc.dossier"), [fixed], Provenance("t", "push"),
                 b"{}", "application/json")
    assert out.accepted, out.as_dict()
    assert changelog.record(rt, values, "2026-03", TODAY, T3) > 0
    with rt.engine.connect() as conn:
        log = changelog.changes(conn, values, "2026-03")
    newest = next(r for r in log.rows if r["key"] == KEY and r["field"] == "value")
    assert (newest["old_value"], newest["new_value"]) == ("50.0", "45.0")
    assert newest["reason"] == "correction"
    assert newest["reason_en"].startswith("correction")
    assert log.last_modified == T3

    with TestClient(create_app(rt.settings, rt)) as client:
        got = client.get(f"/du-lieu-mo/{values}/changes.csv", params={"period": "2026-03"})
        assert got.status_code == 200
        assert got.headers["content-type"].startswith("text/csv")
        rows = list(csv.DictReader(io.StringIO(got.content.decode("utf-8"))))
        assert list(rows[0]) == list(changelog.FIELDS)
        assert [r["reason"] for r in rows if r["key"] == KEY and r["field"] == "value"] == [
            "correction", "late_records"]
        again = client.get(f"/du-lieu-mo/{values}/changes.csv", params={"period": "2026-03"},
                           headers={"If-None-Match": got.headers["etag"]})
        assert again.status_code == 304
        body = client.get(f"/du-lieu-mo/{values}/changes.json").json()
        assert body["dataset"] == values
        assert len(body["rows"]) == len(log.rows)
        assert client.get("/du-lieu-mo/nope/changes.json").status_code == 404
        assert client.get(f"/du-lieu-mo/{values}/changes.xml").status_code == 404
        empty = client.get(f"/du-lieu-mo/{ds.SCORES.id}/changes.json")
        assert empty.status_code == 200
        assert empty.json()["rows"] == []
        assert "Last-Modified" in empty.headers


def test_the_data_mark_moves_with_new_data_and_the_day_only(fresh_runtime: Runtime) -> None:
    """The change log's publication waits while this mark stands: it must move with every
    kind of new data the datasets read, and with the day."""
    from chiso.outlook import evidence
    from chiso.scoring.follow import rescore

    rt = fresh_runtime

    def mark(today: date = TODAY) -> tuple[object, ...]:
        with rt.engine.connect() as conn:
            return changelog.data_mark(conn, today)

    first = mark()
    assert mark() == first  # nothing new: the same
    assert mark(date(2026, 4, 11)) != first  # the day moved on
    send(rt.engine, HOAN_KIEM, range(5), on_time=True)
    batch = mark()
    assert batch != first
    rescore(rt.engine, rt.catalog, TODAY)
    scored = mark()
    assert scored != batch
    plan, task = next((k, t.id) for k, e in rt.catalog.plans.items() for t in e.tasks)
    with rt.engine.begin() as conn:
        evidence.attach(conn, plan, task, uploaded_by="t", unit=None, url="https://x.vn/a")
    assert mark() != scored
