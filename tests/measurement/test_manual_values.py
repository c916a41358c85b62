"""A value typed by hand (file door, with evidence) never outranks the figure a statistical
system published for the same period, on the incremental path and after a full recompute."""

from __future__ import annotations

from typing import Any

from fastapi.testclient import TestClient
from sqlalchemy import Engine
from tests.factories import feed_contract

from chiso.catalog.loader import Catalog
from chiso.intake.doors import ingest_file
from chiso.intake.pipeline import Provenance, ingest
from chiso.intake.settings import IntakeSettings
from chiso.measurement.recompute import recompute

STATS = feed_contract("stats.value")
SETTINGS = IntakeSettings(pseudonym_key="manual-values-key")  # type: ignore[arg-type]
URL = "/api/v1/indicators/stats.vneid_share/values"


def _official(engine: Engine, period: str, num: float, at: str) -> None:
    record: dict[str, Any] = {"indicator": "vneid_share", "unit": "00070", "period": period,
                              "value": num / 100, "numerator": num, "denominator": 100,
                              "source_ref": "C06", "published_at": at}
    out = ingest(engine, STATS, [record], Provenance("c06", "push"), b"{}", "application/json")
    assert out.accepted, out.as_dict()


def _typed(engine: Engine, catalog: Catalog, period: str, num: int, day: str) -> None:
    csv_text = ("Mã chỉ tiêu;Kỳ;Giá trị;Tử số;Mẫu số;Nguồn;Ngày công bố\n"
                f"vneid_share;{period};{num / 100:.2f};{num};100;Báo cáo 9/BC-UBND;{day}\n")
    out, _ = ingest_file(engine, STATS, csv_text.encode(), "v.csv", "00070",
                         frozenset(catalog.units.units), SETTINGS,
                         evidence=b"%PDF-1.4 report", evidence_name="bc.pdf")
    assert out.accepted, [str(p) for p in out.problems]


def _value(api: TestClient, period: str) -> float | None:
    values = api.get(URL, params={"period": period, "unit": "00070"}).json()["values"]
    return values[0]["value"] if values else None


def test_a_hand_typed_value_never_replaces_the_published_figure(
    fresh_engine: Engine, fresh_client: TestClient, catalog: Catalog
) -> None:
    _official(fresh_engine, "2026-10", 10, "2026-11-05T00:00:00+07:00")
    _typed(fresh_engine, catalog, "2026-10", 100, "20/11/2026")  # later, by hand: 100%
    assert _value(fresh_client, "2026-10") == 10.0
    # a period no system has published yet: the hand-typed value stands (and is marked)
    _typed(fresh_engine, catalog, "2026-11", 60, "02/12/2026")
    assert _value(fresh_client, "2026-11") == 60.0
    # the system's revision still replaces its own figure
    _official(fresh_engine, "2026-10", 12, "2026-11-25T00:00:00+07:00")
    assert _value(fresh_client, "2026-10") == 12.0
    recompute(fresh_engine, catalog.measurement, ["stats.vneid_share"])  # type: ignore[arg-type]
    assert (_value(fresh_client, "2026-10"), _value(fresh_client, "2026-11")) == (12.0, 60.0)
