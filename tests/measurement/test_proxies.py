"""Targets measured as the plan words them, not by a proxy: III.7 counts payments without
cash (a card or QR code at the counter is cashless, not only a payment online), III.11
counts accounts held by adults (not every account) over the adult population; what still
differs from the plan's words is a note on the target's page. On SQLite and PostgreSQL."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import Engine
from tests.measurement.due_data import _city, _dossier, _resolved, _send

from chiso.catalog.loader import Catalog

AT = datetime(2026, 12, 5, 5, 0, tzinfo=UTC)


def test_cashless_counts_card_qr_and_transfer(fresh_engine: Engine, catalog: Catalog) -> None:
    paid = _resolved("2026-11-27T09:00:00+07:00")
    _send(fresh_engine, "tthc.dossier", [
        _dossier("P1", "00070", "2026-12-02", paid_online=True, payment_method="online", **paid),
        _dossier("P2", "00070", "2026-12-02", paid_online=False, payment_method="card", **paid),
        _dossier("P3", "00070", "2026-12-02", paid_online=False, payment_method="qr", **paid),
        _dossier("P4", "00070", "2026-12-02", paid_online=False, payment_method="cash", **paid),
        _dossier("P5", "00070", "2026-12-02", **paid),  # no fee: outside
    ])
    cashless = _city(fresh_engine, catalog, "tthc.cashless_payment_rate", "2026-11", AT)
    assert (cashless.numerator, cashless.denominator) == (3.0, 4.0)
    online = _city(fresh_engine, catalog, "tthc.online_payment_rate", "2026-11", AT)
    assert (online.numerator, online.denominator) == (1.0, 4.0)  # the old proxy: 25%
    assert catalog.measurement is not None
    binding = catalog.measurement.plans["131/KH-UBND"].bindings["III.7"]
    assert binding.indicators == ["tthc.cashless_payment_rate"]


def test_adult_accounts_are_not_all_accounts(fresh_engine: Engine, catalog: Catalog,
                                             fresh_client: TestClient) -> None:
    def stat(code: str, value: float) -> dict[str, Any]:
        return {"indicator": code, "unit": "00070", "period": "2026-10", "value": value,
                "source_ref": "iHanoi 10/2026", "published_at": "2026-11-05T09:00:00+07:00"}

    _send(fresh_engine, "stats.value", [
        stat("ihanoi_accounts", 9_500), stat("ihanoi_adult_accounts", 8_000),
        stat("adult_population", 10_000)])
    v = _city(fresh_engine, catalog, "stats.ihanoi_adult_account_share", "2026", AT)
    assert v.value == pytest.approx(80.0)  # not 95%: minors' accounts are not counted

    page = fresh_client.get("/plans/131-KH-UBND/targets/III.7")
    assert page.status_code == 200
    assert "data-binding-note" in page.text
    # the coverage still short of the plan, in the reader's language
    assert "giao dịch tiện ích công chưa có nguồn dữ liệu" in page.text
