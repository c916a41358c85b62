"""QĐ 766's satisfaction (100% minus the overdue and complaint shares, full at 90%) and
digitised dossier components (full at 80%), over the optional dossier fields
``complaints`` and ``components_digitised``: through the real intake path, on SQLite and on
PostgreSQL, then scored by dvc-766."""

from __future__ import annotations

from datetime import UTC, date, datetime
from typing import Any

import pytest
from sqlalchemy import Engine
from tests.factories import feed_contract
from tests.measurement.due_data import _city, _dossier, _resolved, _send, _units

from chiso.catalog.loader import Catalog
from chiso.intake.pipeline import Provenance, ingest
from chiso.scoring.live import unit_score

AT = datetime(2026, 12, 5, 5, 0, tzinfo=UTC)  # noon in Hanoi, 5 December
SAT = "tthc.satisfaction_index"
DIG = "tthc.digitised_component_rate"


def _d(i: str, unit: str, due: str, complaints: int | None, digitised: int | None,
       **over: Any) -> dict[str, Any]:
    return _dossier(i, unit, due, complaints=complaints, components_digitised=digitised,
                    **over)


DOSSIERS = [
    # 00070: four due; one overdue (open past due), one complained about: 100 − 25 − 25 = 50
    _d("S1", "00070", "2026-12-02", 0, 4, **_resolved("2026-12-01T09:00:00+07:00")),
    _d("S2", "00070", "2026-12-02", 0, 2),  # open past its date: overdue
    _d("S3", "00070", "2026-12-03", 2, 4, **_resolved("2026-12-02T09:00:00+07:00")),
    _d("S4", "00070", "2026-12-03", 0, 2,
       **_resolved("2026-12-03T09:00:00+07:00", "rejected")),  # refused in time: not overdue
    # 00004: one both late and complained about: subtracted once, 0%, never below
    _d("S5", "00004", "2026-12-02", 1, None, **_resolved("2026-12-04T09:00:00+07:00")),
    # 00008: not yet due, open: not judged; a source without complaints: outside
    _d("S6", "00008", "2026-12-20", 0, 3),
    _d("S7", "00008", "2026-12-02", None, None, **_resolved("2026-12-01T09:00:00+07:00")),
]


def test_satisfaction_is_100_minus_overdue_and_complaint_shares(fresh_engine: Engine,
                                                                 catalog: Catalog) -> None:
    _send(fresh_engine, "tthc.dossier", DOSSIERS)
    v = _city(fresh_engine, catalog, SAT, "2026-12", AT)
    # S1..S5 judged; S1 and S4 neither overdue nor complained about
    assert (v.numerator, v.denominator) == (2.0, 5.0)
    assert _units(fresh_engine, catalog, SAT, "2026-12", AT) == {"00070": 50.0, "00004": 0.0}


def test_digitised_components_are_a_ratio_of_sums(fresh_engine: Engine,
                                                  catalog: Catalog) -> None:
    _send(fresh_engine, "tthc.dossier", DOSSIERS)
    v = _city(fresh_engine, catalog, DIG, "2026-11", AT)
    # received in November, digitised reported: S1 S2 S3 S4 S6 (4 components each)
    assert (v.numerator, v.denominator) == (15.0, 20.0)
    assert _units(fresh_engine, catalog, DIG, "2026-11", AT) == {"00070": 75.0, "00008": 75.0}


def test_digitised_components_cannot_exceed_the_total(fresh_engine: Engine) -> None:
    out = ingest(fresh_engine, feed_contract("tthc.dossier"),
                 [_d("X1", "00070", "2026-12-02", 0, 9)], Provenance("t", "push"), b"{}",
                 "application/json")
    assert not out.accepted
    assert "components_digitised" in str(out.as_dict())


def test_766_scores_satisfaction_and_digitisation(fresh_engine: Engine,
                                                  catalog: Catalog) -> None:
    # all settled: judged whatever the as-of time
    dec = {"received_at": "2026-12-01T08:00:00+07:00", **_resolved("2026-12-01T09:00:00+07:00")}
    _send(fresh_engine, "tthc.dossier", [
        _d(f"K{i}", "00070", "2026-12-02", 0, 3, **dec) for i in range(9)]
        + [_d("K9", "00070", "2026-12-02", 1, 4, **dec)])
    with fresh_engine.connect() as conn:
        tree = unit_score(conn, catalog, "dvc-766", "00070", "2026-12",
                          date(2026, 12, 5))["tree"]
    nodes = {c["code"]: c for g in tree["children"] for c in g.get("children", [])}
    # nine of ten neither overdue nor complained about: 90% earns the full 9 points
    assert nodes["5.1"]["value"] == pytest.approx(90.0)
    assert nodes["5.1"]["points"] == pytest.approx(9.0)
    assert nodes["5.1"]["input"] == {"indicator": SAT}
    # 31 of 40 components digitised: 77.5% of the way to 80% on 11 points
    assert nodes["4.1"]["value"] == pytest.approx(77.5)
    assert nodes["4.1"]["points"] == pytest.approx(11 * 77.5 / 80, abs=1e-4)  # 4 places
    assert not nodes["4.1"]["missing"]
