"""A report's figures gathered from the rooms as of its cut-off: the task tally counts
evidence up to that day only; a report asked wrongly says what to change."""

from __future__ import annotations

from datetime import UTC, date, datetime

import pytest

from chiso.catalog.loader import Catalog
from chiso.catalog.models import Task
from chiso.context import Runtime
from chiso.measurement.periods import parse_period
from chiso.outlook import evidence
from chiso.reports.content import ReportError, following, gather
from chiso.store.catalog_sync import plan_key

PLAN = "131/KH-UBND"
CUT = date(2026, 11, 30)


def _dated(catalog: Catalog, before: date) -> list[Task]:
    return [t for t in catalog.plan(PLAN).tasks if t.deadline.kind == "date"
            and t.deadline.date is not None and t.deadline.date < before]


def _done(rt: Runtime, task: Task, on: date) -> None:
    with rt.engine.begin() as conn:
        evidence.attach(conn, plan_key(PLAN), task.id, uploaded_by="test", unit=None,
                        url="https://example.org/bien-ban", completes=True,
                        now=datetime(on.year, on.month, on.day, 3, tzinfo=UTC))


def test_tasks_done_on_time_late_and_after_the_cut_off(fresh_runtime: Runtime) -> None:
    rt = fresh_runtime
    before = gather(rt, "monthly", "2026-11", "city").tasks
    first, second, third = _dated(rt.catalog, CUT)[:3]
    assert first.deadline.date is not None
    _done(rt, first, first.deadline.date)  # on its day: on time
    _done(rt, second, CUT)  # its date is before the cut-off: late
    _done(rt, third, date(2026, 12, 5))  # after the cut-off: not yet done in November
    after = gather(rt, "monthly", "2026-11", "city").tasks
    assert after.done == before.done + 2
    assert after.done_on_time == before.done_on_time + 1
    assert after.done_late == before.done_late + 1
    assert after.overdue == before.overdue - 2
    assert after.dated == before.dated
    december = gather(rt, "monthly", "2026-12", "city").tasks
    assert december.done == before.done + 3


def test_what_falls_due_next_month(runtime: Runtime) -> None:
    data = gather(runtime, "monthly", "2026-11", "city")
    assert (data.next_start, data.next_end) == (date(2026, 12, 1), date(2026, 12, 31))
    assert data.tasks.due_next
    assert all(data.next_start <= d.due <= data.next_end for d in data.tasks.due_next)
    assert all(d.plan in data.plans for d in data.tasks.due_next)


def test_a_unit_reports_on_its_own_targets_and_tasks(runtime: Runtime) -> None:
    city = gather(runtime, "monthly", "2026-11", "city")
    unit = gather(runtime, "monthly", "2026-11", "SNV")
    assert unit.scope == "department"
    assert unit.unit_name_vi == "Sở Nội vụ"
    assert 0 < len(unit.targets) < len(city.targets)
    assert 0 < unit.tasks.tasks < city.tasks.tasks
    assert [s.kind for s in unit.standings] == ["department"]
    assert [r.unit for r in unit.standings[0].leading] == ["SNV"]
    assert {s.kind for s in city.standings} == {"department", "commune"}


@pytest.mark.parametrize(("kind", "period", "unit", "words"), [
    ("monthly", "2026-Q4", "city", "is for a month"),
    ("monthly", "2026-13", "city", "not a real period"),
    ("monthly", "2026-11", "NOPE", "no unit 'NOPE'"),
    ("monthly", "2026-11", "BCTR", "has no scope 'central'"),
    ("weekly", "2026-11", "city", "no report kind 'weekly'"),
])
def test_a_report_asked_wrongly_says_what_to_change(runtime: Runtime, kind: str, period: str,
                                                   unit: str, words: str) -> None:
    with pytest.raises(ReportError, match=words):
        gather(runtime, kind, period, unit)


@pytest.mark.parametrize(("label", "start", "end"), [
    ("2026-11", date(2026, 12, 1), date(2026, 12, 31)),
    ("2026-12", date(2027, 1, 1), date(2027, 1, 31)),
    ("2026-Q4", date(2027, 1, 1), date(2027, 3, 31)),
    ("2026-H1", date(2026, 7, 1), date(2026, 12, 31)),
    ("2026", date(2027, 1, 1), date(2027, 12, 31)),
])
def test_the_following_period(label: str, start: date, end: date) -> None:
    assert following(parse_period(label)) == (start, end)


def test_binding_notes_travel_with_the_values_into_the_report(runtime: Runtime) -> None:
    from chiso.reports.wording import compose

    m = runtime.catalog.measurement
    assert m is not None
    data = gather(runtime, "monthly", "2026-11", "city")
    noted = {x.target: x.outlook.note for x in data.targets if x.outlook.note}
    noted_vi = {x.target: x.outlook.note_vi for x in data.targets if x.outlook.note_vi}
    pb = m.plans["131/KH-UBND"]
    # III.7 is bound to "cashless" payments with a caveat on what the feed covers
    assert noted["III.7"] == pb.bindings["III.7"].note
    assert all(note == m.plans[x.plan].bindings[x.target].note
               for x in data.targets if (note := x.outlook.note))
    letter = compose(data, runtime.catalog, "vi", date(2026, 12, 5))
    items = [b.text for b in letter.blocks if b.kind == "item"]
    assert "Ghi chú về cách đo các chỉ tiêu:" in items
    assert f"- III.7: {noted_vi['III.7']}" in items
    assert noted_vi["III.7"] == pb.bindings["III.7"].note_vi
    english = compose(data, runtime.catalog, "en", date(2026, 12, 5))
    assert "How the targets are measured:" in [b.text for b in english.blocks]
    assert f"- III.7: {noted['III.7']}" in [b.text for b in english.blocks]
