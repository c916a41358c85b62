"""A task several units lead: each lead unit's evidence closes its own part, never its
co-leads'; the city sees the task done when every lead unit has closed its part (the
reports' task tally, the task warnings and the scores' task criteria read the same rule)."""

from __future__ import annotations

from datetime import UTC, date, datetime, time, timedelta

from sqlalchemy import select

from chiso.context import Runtime
from chiso.outlook import evidence
from chiso.outlook.answers import task_warnings
from chiso.outlook.tally import task_tally
from chiso.store.catalog_sync import plan_key
from chiso.store.evidence_reads import Evidence, completed_on
from chiso.store.tables import assignments


def test_the_rule() -> None:
    leads = {"A", "B"}
    a = Evidence("T", date(2026, 3, 1), completes=True, unit="A")
    b = Evidence("T", date(2026, 4, 1), completes=True, unit="B")
    city = Evidence("T", date(2026, 5, 1), completes=True, unit=None)
    note = Evidence("T", date(2026, 2, 1), completes=False, unit="B")
    assert completed_on([a], leads, {"A"}) == date(2026, 3, 1)
    assert completed_on([a], leads, {"B"}) is None  # A's evidence is not B's
    assert completed_on([a, note], leads) is None  # the city waits for B
    assert completed_on([a, b], leads) == date(2026, 4, 1)  # the last lead's day
    assert completed_on([a, city], leads, {"B"}) == date(2026, 5, 1)  # the operator's: all
    assert completed_on([a], set()) == date(2026, 3, 1)  # a task no unit leads


def _shared_task(rt: Runtime) -> tuple[str, str, date, list[str]]:
    """A dated task of a plan that two or more units lead, its date and its lead units."""
    with rt.engine.connect() as conn:
        rows = conn.execute(select(assignments.c.plan_key, assignments.c.item_id,
                                   assignments.c.unit_code).where(
            assignments.c.item_kind == "task", assignments.c.role == "lead")).all()
    leads: dict[tuple[str, str], list[str]] = {}
    for key, task, unit in rows:
        leads.setdefault((key, task), []).append(unit)
    dated = {(plan_key(n), t.id): t.deadline.date for n, e in rt.catalog.plans.items()
             for t in e.tasks if t.deadline.kind == "date" and t.deadline.date is not None}
    key, task = next(k for k, units in sorted(leads.items()) if len(units) >= 2 and k in dated)
    return key, task, dated[(key, task)], sorted(leads[(key, task)])


def test_one_lead_unit_does_not_close_a_task_for_its_co_leads(fresh_runtime: Runtime) -> None:
    rt = fresh_runtime
    key, task, due, (first, second, *_rest) = _shared_task(rt)
    number = next(n for n in rt.catalog.plans if plan_key(n) == key)
    today = due + timedelta(days=20)
    nxt = (today + timedelta(days=40), today + timedelta(days=70))

    def state(unit: str | None) -> str:
        with rt.engine.connect() as conn:
            tally = task_tally(conn, rt.catalog, unit, today, *nxt)
        return next(s.state for s in tally.states if (s.plan, s.task) == (number, task))

    def warned(unit: str | None) -> bool:
        with rt.engine.connect() as conn:
            found = task_warnings(conn, rt.catalog, unit, today, 30)
        return any(w["task"] == task and w["plan"] == number and w["kind"] == "overdue"
                   for w in found.model_dump()["warnings"])

    assert (state(first), state(second), state(None)) == ("overdue",) * 3
    with rt.engine.begin() as conn:
        evidence.attach(conn, key, task, uploaded_by="officer", unit=first,
                        url="https://example.org/bien-ban", completes=True,
                        now=datetime.combine(due + timedelta(days=10), time(3), UTC))
    assert state(first) == "done_late"
    assert state(second) == "overdue"  # its co-lead's evidence is not its own
    assert state(None) == "overdue"  # the city waits for every lead unit
    assert not warned(first)
    assert warned(second)
    assert warned(None)
