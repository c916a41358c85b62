"""The SME programme (plan 232) measured from its own records: enterprises counted once over
2026-2030 however often they are supported, results (readiness, solutions, contracts), the
consultant network and exemplary SMEs, on SQLite and PostgreSQL, through the real intake path."""

from __future__ import annotations

from datetime import date
from typing import Any

import pytest
from sqlalchemy import Engine
from tests.factories import feed_contract

from chiso.catalog.loader import Catalog
from chiso.intake.pipeline import Provenance, ingest
from chiso.measurement import values as mv
from chiso.measurement.progress import target_progress
from chiso.store.catalog_reads import get_target
from chiso.store.catalog_sync import plan_key

SPAN = "2026-01-01..2030-12-31"
TODAY = date(2030, 6, 30)


def _support(i: int, tax: str, unit: str, at: str, **over: Any) -> dict[str, Any]:
    rec: dict[str, Any] = {
        "id": f"HT-{i}", "unit": unit, "tax_code": tax, "size_class": "small", "sector": "C",
        "kind": "consulting", "provider": "Trung tâm Hỗ trợ DNNVV", "supported_at": at,
        "updated_at": at,
    }
    rec.update(over)
    return rec


def _send(engine: Engine, feed: str, records: list[dict[str, Any]]) -> Any:
    return ingest(engine, feed_contract(feed), records, Provenance("sme-sim", "push"), b"{}",
                  "application/json")


def _value(engine: Engine, catalog: Catalog, code: str, period: str = SPAN,
           unit: str | None = None) -> float | None:
    assert catalog.measurement is not None
    with engine.connect() as conn:
        got = mv.values(conn, catalog.measurement, code, period, unit, today=TODAY)
    return got[0].value if got else None


def test_an_enterprise_supported_five_times_counts_once(fresh_engine: Engine,
                                                        catalog: Catalog) -> None:
    # 0101 is supported five times across 2026, 2027 and 2029, in two communes; 0202 once.
    batch = [
        _support(1, "0101", "00070", "2026-03-02T09:00:00+07:00"),
        _support(2, "0101", "00070", "2026-09-10T09:00:00+07:00", kind="training"),
        _support(3, "0101", "00004", "2027-01-15T09:00:00+07:00"),
        _support(4, "0101", "00004", "2029-05-05T09:00:00+07:00",
                 kind="solution_application", solution="Phần mềm kế toán điện tử"),
        _support(5, "0101", "00070", "2029-11-20T09:00:00+07:00"),
        _support(6, "0202", "00070", "2027-06-01T09:00:00+07:00"),
    ]
    out = _send(fresh_engine, "sme.support", batch)
    assert out.accepted, out.as_dict()
    assert _value(fresh_engine, catalog, "sme.enterprises_supported") == 2
    assert _value(fresh_engine, catalog, "sme.support_given") == 6
    assert _value(fresh_engine, catalog, "sme.enterprises_supported", unit="00070") == 2
    assert _value(fresh_engine, catalog, "sme.enterprises_supported", unit="00004") == 1
    assert _value(fresh_engine, catalog, "sme.enterprises_supported", "2027") == 2
    assert _value(fresh_engine, catalog, "sme.enterprises_applying_digital") == 1
    # Re-sent identical: nothing changes.
    assert _send(fresh_engine, "sme.support", batch).accepted
    assert _value(fresh_engine, catalog, "sme.enterprises_supported") == 2
    assert _value(fresh_engine, catalog, "sme.support_given") == 6
    # Corrected: record 6 was 0303's support, not 0202's: 0202 leaves, 0303 arrives.
    fixed = _support(6, "0303", "00070", "2027-06-01T09:00:00+07:00",
                     updated_at="2027-06-02T09:00:00+07:00")
    assert _send(fresh_engine, "sme.support", [fixed]).accepted
    assert _value(fresh_engine, catalog, "sme.enterprises_supported") == 2
    # Corrected again: record 6 was in fact another support of 0101: one enterprise left.
    again = {**fixed, "tax_code": "0101", "updated_at": "2027-06-03T09:00:00+07:00"}
    assert _send(fresh_engine, "sme.support", [again]).accepted
    assert _value(fresh_engine, catalog, "sme.enterprises_supported") == 1
    assert _value(fresh_engine, catalog, "sme.support_given") == 6


def test_tax_codes_are_pseudonyms_and_a_record_without_one_is_refused(
    fresh_engine: Engine,
) -> None:
    from sqlalchemy import select

    from chiso.store.tables import feed_sme_support

    assert _send(fresh_engine, "sme.support",
                 [_support(1, "0101234567", "00070", "2026-03-02T09:00:00+07:00")]).accepted
    with fresh_engine.connect() as conn:
        stored = conn.execute(select(feed_sme_support.c.tax_code)).scalar_one()
    assert stored != "0101234567"
    assert len(stored) == 64
    no_tax = _support(2, "x", "00070", "2026-03-02T09:00:00+07:00")
    del no_tax["tax_code"]
    out = _send(fresh_engine, "sme.support", [no_tax])
    assert not out.accepted
    assert "tax_code" in str(out.as_dict())


def test_results_readiness_solutions_contracts(fresh_engine: Engine, catalog: Catalog) -> None:
    assert _send(fresh_engine, "sme.support", [
        _support(1, "A1", "00070", "2026-04-01T09:00:00+07:00", kind="readiness_assessment",
                 readiness_before=1, readiness_after=3),
        _support(2, "A1", "00070", "2026-08-01T09:00:00+07:00", kind="readiness_assessment",
                 readiness_before=3, readiness_after=4),
        _support(3, "B2", "00070", "2026-04-01T09:00:00+07:00", kind="readiness_assessment",
                 readiness_before=2, readiness_after=2),
        _support(4, "C3", "00004", "2026-05-01T09:00:00+07:00", readiness_before=2),
        _support(5, "C3", "00004", "2026-06-01T09:00:00+07:00", kind="solution_application",
                 solution="Nền tảng bán hàng trực tuyến", contract_signed=True),
        _support(6, "B2", "00070", "2026-07-01T09:00:00+07:00", contract_signed=False),
    ]).accepted
    assert _value(fresh_engine, catalog, "sme.enterprises_readiness_raised") == 1
    assert _value(fresh_engine, catalog, "sme.enterprises_applying_digital") == 1
    assert _value(fresh_engine, catalog, "sme.contracts_signed") == 1
    out = _send(fresh_engine, "sme.support", [
        _support(7, "D4", "00070", "2026-05-01T09:00:00+07:00", kind="solution_application"),
        _support(8, "D4", "00070", "2026-05-01T09:00:00+07:00", readiness_after=9),
    ])
    assert not out.accepted
    text = str(out.as_dict())
    assert "solution" in text
    assert "readiness_after" in text


def test_consultants_and_exemplary_smes(fresh_engine: Engine, catalog: Catalog) -> None:
    def member(i: int, status: str = "active", **over: Any) -> dict[str, Any]:
        rec: dict[str, Any] = {
            "id": f"TV-{i}", "unit": "SKHCN", "name": f"Tư vấn viên {i}",
            "member_kind": "individual" if i % 2 else "organisation",
            "admitted_at": "2026-05-01T09:00:00+07:00", "status": status,
            "updated_at": "2026-05-01T09:00:00+07:00"}
        rec.update(over)
        return rec

    assert _send(fresh_engine, "sme.consultant", [member(1), member(2), member(3)]).accepted
    assert _value(fresh_engine, catalog, "sme.consultants_active") == 3
    left = member(2, "withdrawn", withdrawn_at="2027-01-01T09:00:00+07:00",
                  updated_at="2027-01-01T09:00:00+07:00")
    assert _send(fresh_engine, "sme.consultant", [left]).accepted
    assert _value(fresh_engine, catalog, "sme.consultants_active") == 2
    bad = member(4, "withdrawn")
    assert not _send(fresh_engine, "sme.consultant", [bad]).accepted

    def exemplary(i: int, tax: str, status: str = "recognised", **over: Any) -> dict[str, Any]:
        rec: dict[str, Any] = {
            "id": f"QD-{i}", "unit": "00070", "tax_code": tax, "sector": "C",
            "recognised_at": "2027-10-10T09:00:00+07:00", "status": status,
            "updated_at": "2027-10-10T09:00:00+07:00"}
        rec.update(over)
        return rec

    # E1 recognised twice (2027 and 2029) counts once; E2's recognition is revoked.
    assert _send(fresh_engine, "sme.exemplary", [
        exemplary(1, "E1"), exemplary(2, "E1", recognised_at="2029-10-10T09:00:00+07:00",
                                      updated_at="2029-10-10T09:00:00+07:00"),
        exemplary(3, "E2", sector="G"),
        exemplary(4, "E2", "revoked", sector="G", recognised_at="2028-01-01T09:00:00+07:00",
                  updated_at="2028-01-01T09:00:00+07:00"),
        exemplary(5, "E3", sector="Q")]).accepted
    assert _value(fresh_engine, catalog, "sme.exemplary_enterprises") == 3


def test_the_four_targets_of_232_are_judged_over_2026_to_today(
    fresh_engine: Engine, catalog: Catalog,
) -> None:
    assert catalog.measurement is not None
    assert catalog.measurement.stats("232/KH-UBND") == {"bound_targets": 4, "awaiting_data": 0}
    assert _send(fresh_engine, "sme.support", [
        _support(1, "0101", "00070", "2026-03-02T09:00:00+07:00"),
        _support(2, "0101", "00070", "2028-03-02T09:00:00+07:00"),
        _support(3, "0202", "00004", "2029-03-02T09:00:00+07:00")]).accepted
    with fresh_engine.connect() as conn:
        target = get_target(conn, plan_key("232/KH-UBND"), "T1")
        assert target is not None
        got = target_progress(conn, catalog.measurement, target, TODAY)
    assert got is not None
    assert got["periods"] == ["2026-01-01..2030-06-30"]
    [city] = got["indicators"][0]["values"]
    assert city["value"] == 2
    assert city["met"] is False


@pytest.mark.parametrize("target", ["T1", "T2", "T3", "T4"])
def test_each_target_binds_a_cumulative_window_from_2026(catalog: Catalog, target: str) -> None:
    assert catalog.measurement is not None
    b = catalog.measurement.binding("232/KH-UBND", target)
    assert b.cumulative
    assert b.window_start == "2026-01-01"
    assert mv.judged_periods(b, date(2030, 12, 31), date(2027, 2, 1)) == [
        "2026-01-01..2027-02-01"]


def test_the_file_door_reads_a_commune_sheet_with_vietnamese_headers(
    fresh_engine: Engine, catalog: Catalog,
) -> None:
    from chiso.intake.doors import ingest_file
    from chiso.intake.settings import IntakeSettings

    sheet = (
        "Mã hỗ trợ;Xã, phường;Mã số thuế;Quy mô;Mã ngành cấp 1;Hình thức hỗ trợ;Đơn vị hỗ trợ;"
        "Ngày hỗ trợ;Mức độ sẵn sàng trước hỗ trợ;Mức độ sẵn sàng sau hỗ trợ;"
        "Giải pháp được áp dụng;Đã ký hợp đồng;Ngày cập nhật\n"
        "HT-1;00070;0101234567;Nhỏ;C;Đánh giá mức độ sẵn sàng;Trung tâm;02/03/2026 09:00;1;3;;;"
        "02/03/2026 09:00\n"
        "HT-2;00070;0101234567;Nhỏ;C;Ứng dụng sản phẩm, giải pháp công nghệ số;Trung tâm;"
        "05/06/2027 10:00;;;Hóa đơn điện tử;Có;05/06/2027 10:00\n"
        "HT-3;00070;0109999999;Siêu nhỏ;G;Tư vấn;Trung tâm;31/02/2027 10:00;;;;;"
        "31/02/2027 10:00\n").encode()
    settings = IntakeSettings(env="test")
    units = frozenset(catalog.units.units)
    bad, _ = ingest_file(fresh_engine, feed_contract("sme.support"), sheet, "ho-tro.csv",
                         "00070", units, settings, source="xa-00070")
    assert not bad.accepted
    assert {p.row for p in bad.problems} == {4}  # 31/02 is no date: the row is named
    good_sheet = sheet.rsplit(b"\nHT-3", 1)[0] + b"\n"
    ok, _ = ingest_file(fresh_engine, feed_contract("sme.support"), good_sheet, "ho-tro.csv",
                        "00070", units, settings, source="xa-00070")
    assert ok.accepted, ok.as_dict()
    assert _value(fresh_engine, catalog, "sme.enterprises_supported", unit="00070") == 1
    assert _value(fresh_engine, catalog, "sme.enterprises_readiness_raised") == 1
    assert _value(fresh_engine, catalog, "sme.contracts_signed") == 1
