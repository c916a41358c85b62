"""Deadline words as Vietnamese plans write them, turned into dates."""

from __future__ import annotations

from datetime import date

import pytest

from chiso.catalog.deadlines import parse_deadline
from chiso.catalog.loader import Catalog


@pytest.mark.parametrize(
    ("words", "kind", "day"),
    [
        ("Quý III/2026", "date", date(2026, 9, 30)),
        ("Quý IV/2026", "date", date(2026, 12, 31)),
        ("Quý II năm 2026", "date", date(2026, 6, 30)),
        ("quý I, II/2026", "date", date(2026, 6, 30)),
        ("Theo yêu cầu của các Bộ, ngành", "per_schedule", None),
        ("tháng 5/2026", "date", date(2026, 5, 31)),
        ("Tháng 2/2028", "date", date(2028, 2, 29)),
        ("6/2026", "date", date(2026, 6, 30)),
        ("Năm 2026", "date", date(2026, 12, 31)),
        ("01/01/2027", "date", date(2027, 1, 1)),
        ("2026-2030", "date", date(2030, 12, 31)),
        ("Từ Quý II/2026", "starts", date(2026, 6, 30)),
        ("dự kiến triển khai từ quý II/2026", "starts", date(2026, 6, 30)),
        ("Thường xuyên", "recurring", None),
        ("Hằng năm", "recurring", None),
        ("Thực hiện theo tiến độ và hướng dẫn của từng ngành", "per_schedule", None),
        ("Quý V/2026", "none", None),
        ("tháng 13/2026", "none", None),
        ("31/02/2026", "none", None),
        (None, "none", None),
        ("", "none", None),
    ],
)
def test_deadline_words(words: str | None, kind: str, day: date | None) -> None:
    parsed = parse_deadline(words)
    assert (parsed.kind, parsed.date) == (kind, day)


def test_every_catalog_task_deadline_is_understood(catalog: Catalog) -> None:
    """A task whose deadline words exist but parse to nothing would be silently undated."""
    lost = [
        f"{number} {task.id}: {task.deadline_text!r}"
        for number, entry in catalog.plans.items()
        for task in entry.tasks
        if task.deadline_text and task.deadline.kind == "none"
    ]
    assert lost == []
