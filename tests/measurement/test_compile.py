"""The condition language compiles to SQL on both dialects, and I.11's rule counts right."""

from __future__ import annotations

from datetime import datetime

import pytest
from sqlalchemy import create_engine, func, select
from sqlalchemy.dialects import postgresql, sqlite

from chiso.catalog.indicators import Measurement
from chiso.catalog.loader import load_catalog
from chiso.measurement.compile import compile_condition
from chiso.store.tables import FEED_TABLES, feed_tthc_dossier


def _measurement() -> Measurement:
    m = load_catalog().measurement
    assert isinstance(m, Measurement)
    return m


@pytest.mark.parametrize("dialect", ["sqlite", "postgresql"])
def test_every_condition_compiles(dialect: str) -> None:
    d = sqlite.dialect() if dialect == "sqlite" else postgresql.dialect()
    for ind in _measurement().indicators.values():
        table = FEED_TABLES[ind.feed][0]
        for cond in [ind.where] + [m.where for _, m in ind.measures()]:
            expr = compile_condition(cond, table, dialect, ind.working_days)
            assert str(expr.compile(dialect=d)), ind.code


def test_on_time_rule_on_sqlite() -> None:
    ind = _measurement().indicators["tthc.on_time_rate"]
    assert ind.numerator is not None
    engine = create_engine("sqlite://")
    feed_tthc_dossier.create(engine)
    base = {"source": "s", "unit": "u", "door": "push", "batch_id": 1,
            "ingested_at": datetime(2026, 5, 1), "procedure": "p", "channel": "online",
            "fully_online": True, "components_total": 1, "components_reused": 1,
            "received_at": datetime(2026, 4, 1), "due_at": datetime(2026, 4, 10),
            "updated_at": datetime(2026, 4, 20)}
    rows = [  # (id, status, resolved_at, supplement_requests, supplement_days, on time?)
        ("a", "resolved", datetime(2026, 4, 9), 0, 0, True),
        ("b", "resolved", datetime(2026, 4, 12), 1, 3, True),  # waiting days not counted
        ("c", "resolved", datetime(2026, 4, 12), 1, 1, False),
        ("d", "resolved", datetime(2026, 4, 9), 2, 0, False),  # second supplement request
        ("e", "processing", None, 0, 0, False),
        ("f", "withdrawn", None, 0, 0, None),  # not in the denominator
    ]
    with engine.begin() as conn:
        for rid, status, resolved, req, days, _ in rows:
            conn.execute(feed_tthc_dossier.insert().values(
                base | {"record_id": rid, "id": rid, "status": status, "resolved_at": resolved,
                        "supplement_requests": req, "supplement_days": days}))
        where = compile_condition(ind.where, feed_tthc_dossier, "sqlite")
        num = compile_condition(ind.numerator.where, feed_tthc_dossier, "sqlite")
        got = conn.execute(select(func.count()).where(where, num)).scalar_one()
        total = conn.execute(select(func.count()).where(where)).scalar_one()
    assert (got, total) == (2, 5)
