"""A report's content hash: rebuilding from the same data gives the same hash; evidence dated
after the cut-off day changes nothing; evidence before it changes the hash. The manifest
records the request, the cut-off, the catalog and method versions and each file's hash; a
rebuild from the same data writes the same bytes."""

from __future__ import annotations

import hashlib
import json
from datetime import UTC, date, datetime
from pathlib import Path

from chiso.context import Runtime
from chiso.outlook import evidence
from chiso.reports.build import build
from chiso.store.catalog_sync import plan_key

PLAN = "131/KH-UBND"


def _attach(rt: Runtime, task: str, on: datetime) -> None:
    with rt.engine.begin() as conn:
        evidence.attach(conn, plan_key(PLAN), task, uploaded_by="test", unit=None,
                        url="https://example.org/minh-chung", completes=True, now=on)


def test_same_data_same_hash_later_data_no_change(fresh_runtime: Runtime,
                                                  tmp_path: Path) -> None:
    rt = fresh_runtime
    first = build(rt, "monthly", "2026-11", "city", tmp_path / "a", issued=date(2026, 12, 5))
    again = build(rt, "monthly", "2026-11", "city", tmp_path / "b", issued=date(2026, 12, 9))
    assert first.content_hash == again.content_hash
    task = next(t for t in rt.catalog.plan(PLAN).tasks if t.deadline.kind == "date")
    _attach(rt, task.id, datetime(2026, 12, 3, 9, tzinfo=UTC))  # after the cut-off
    later = build(rt, "monthly", "2026-11", "city", tmp_path / "c", issued=date(2026, 12, 9))
    assert later.content_hash == first.content_hash
    _attach(rt, task.id, datetime(2026, 11, 20, 9, tzinfo=UTC))  # before it
    changed = build(rt, "monthly", "2026-11", "city", tmp_path / "d", issued=date(2026, 12, 9))
    assert changed.content_hash != first.content_hash


def test_the_manifest(runtime: Runtime, tmp_path: Path) -> None:
    got = build(runtime, "monthly", "2026-11", "00070", tmp_path, issued=date(2026, 12, 5))
    facts = json.loads(got.paths[-1].read_text(encoding="utf-8"))
    assert facts["kind"] == "monthly"
    assert facts["period"] == "2026-11"
    assert facts["unit"] == "00070"
    assert facts["as_of"] == "2026-11-30"
    assert facts["catalog"] == runtime.catalog.digest
    assert set(facts["methods"]) == {"plan-completion"}
    assert facts["content_sha256"] == got.content_hash
    assert facts["files"] == {p.name: hashlib.sha256(p.read_bytes()).hexdigest()
                              for p in got.paths[:3]}
    # rebuilt from the same data, the same day: the same bytes, DOCX and XLSX (zip) too
    again = build(runtime, "monthly", "2026-11", "00070", tmp_path / "again",
                  issued=date(2026, 12, 5))
    assert [p.read_bytes() for p in again.paths[:3]] == [p.read_bytes() for p in got.paths[:3]]
