"""Recompute equals incremental: random batches of records, new versions, late older
versions and re-sent records go through the real intake path (``ingest``, which keeps the day
state in its transaction); a full recompute must then give exactly the same day state, on
SQLite and on PostgreSQL. SME support records spread over 2026-2030, with a few enterprises
supported many times, check that distinct counts over the five years stay exact: equal to
counting distinct enterprises in the latest records directly."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sqlalchemy import Engine, delete, func, select
from tests.factories import feed_contract

from chiso.catalog.loader import Catalog
from chiso.intake.pipeline import Provenance, ingest
from chiso.measurement import engine as eng
from chiso.measurement import grdp
from chiso.measurement import values as mv
from chiso.measurement.periods import parse_period
from chiso.measurement.recompute import recompute
from chiso.store.tables import (
    FEED_TABLES,
    feed_sme_support,
    m_day,
    m_distinct,
    m_month,
    m_pending,
    m_published,
)

BASE = datetime(2026, 3, 1, 1, 0, tzinfo=UTC)
LATER = date(2027, 1, 5)  # every period asked is over: only figures inside it count
UNITS = ["00070", "00004"]
IDS = ["HS-1", "HS-2", "HS-3", "HS-4"]
STATUSES = ["received", "processing", "supplement", "resolved", "rejected", "withdrawn"]


def _iso(dt: datetime) -> str:
    return dt.astimezone(UTC).isoformat()


@st.composite
def dossier(draw: st.DrawFn) -> dict[str, Any]:
    received = BASE + timedelta(hours=draw(st.integers(-24 * 4, 24 * 5)))  # across 1 March
    due = received + timedelta(hours=draw(st.integers(0, 24 * 4)))
    status = draw(st.sampled_from(STATUSES))
    resolved = (received + timedelta(hours=draw(st.integers(0, 24 * 8)))
                if status in ("resolved", "rejected") or draw(st.booleans()) else None)
    total = draw(st.integers(0, 4))
    return {
        "id": draw(st.sampled_from(IDS)), "unit": draw(st.sampled_from(UNITS)),
        "procedure": draw(st.sampled_from(["1.001", "1.002", "2.003"])),
        "received_at": _iso(received), "due_at": _iso(due),
        "resolved_at": _iso(resolved) if resolved else None, "status": status,
        "channel": draw(st.sampled_from(["online", "direct", "postal"])),
        "fully_online": draw(st.booleans()),
        "supplement_requests": draw(st.integers(0, 2)),
        "supplement_days": draw(st.sampled_from([0, 0.5, 1, 2])),
        "result_electronic": draw(st.sampled_from([None, True, False])),
        "paid_online": draw(st.sampled_from([None, True, False])),
        "components_total": total, "components_reused": draw(st.integers(0, total)),
        "updated_at": _iso(received + timedelta(hours=draw(st.integers(0, 24 * 6)))),
    }


@st.composite
def stat(draw: st.DrawFn) -> dict[str, Any]:
    den = draw(st.integers(1, 1000))
    return {
        "indicator": draw(st.sampled_from(["vneid_share", "ihanoi_accounts",
                                           "adult_population"])),
        "unit": draw(st.sampled_from([*UNITS, "UBNDTP"])),
        "period": draw(st.sampled_from(["2026-01", "2026-Q1", "2026"])),
        "value": float(den), "numerator": float(draw(st.integers(0, den))),
        "denominator": float(den), "source_ref": "test",
        "published_at": _iso(BASE + timedelta(hours=draw(st.integers(0, 48)))),
    }


@st.composite
def grdp_figure(draw: st.DrawFn) -> dict[str, Any]:
    """A GRDP release's figure, the digital economy's value added among them (II.1, II.2)."""
    return {
        "unit": draw(st.sampled_from([*UNITS, "UBNDTP"])),
        "period": draw(st.sampled_from(["2026-Q1", "2026-Q2", "2026-6T"])),
        "sector": draw(st.sampled_from(["TOTAL", "KTS", "KV1", "KTS-KV1", "KV2", "KTS-KV2",
                                        "KV3", "KTS-KV3"])),
        "price_basis": draw(st.sampled_from(["current", "current", "comparable"])),
        "value": float(draw(st.integers(1, 5000))), "release": "Thông cáo",
        "released_at": _iso(BASE + timedelta(hours=draw(st.integers(0, 48)))),
    }


SME_KINDS = ["readiness_assessment", "solution_application", "consulting", "training",
             "legal_financial"]
SPAN = "2026-01-01..2030-12-31"


@st.composite
def support(draw: st.DrawFn) -> dict[str, Any]:
    at = BASE + timedelta(days=draw(st.integers(0, 365 * 5 - 70)), hours=draw(st.integers(0, 23)))
    kind = draw(st.sampled_from(SME_KINDS))
    return {
        "id": f"HT-{draw(st.integers(1, 6))}", "unit": draw(st.sampled_from(UNITS)),
        "tax_code": draw(st.sampled_from(["0101", "0202", "0303"])),
        "size_class": "small", "sector": draw(st.sampled_from(["C", "G"])), "kind": kind,
        "provider": "Trung tâm", "supported_at": _iso(at),
        "readiness_before": draw(st.sampled_from([None, 1, 2])),
        "readiness_after": draw(st.sampled_from([None, 1, 3])),
        "solution": "Giải pháp" if kind == "solution_application" else None,
        "contract_signed": draw(st.sampled_from([None, True, False])),
        "updated_at": _iso(at + timedelta(hours=draw(st.integers(0, 6)))),
    }


# A step: ("d", records) a dossier batch, ("s", records) a stats batch, ("m", records) an SME
# support batch, ("g", records) a GRDP release, ("again", i) re-send an earlier batch
# (identical records), ("late", i) re-send an earlier batch's records with older versions.
step = st.one_of(
    st.tuples(st.just("d"), st.lists(dossier(), min_size=1, max_size=5)),
    st.tuples(st.just("s"), st.lists(stat(), min_size=1, max_size=3)),
    st.tuples(st.just("m"), st.lists(support(), min_size=1, max_size=6)),
    st.tuples(st.just("g"), st.lists(grdp_figure(), min_size=1, max_size=8)),
    st.tuples(st.just("again"), st.integers(0, 10)),
    st.tuples(st.just("late"), st.integers(0, 10)),
)


def _state(engine: Engine) -> dict[str, list[tuple[Any, ...]]]:
    with engine.connect() as conn:
        return {
            "day": sorted(tuple(r) for r in conn.execute(select(
                m_day.c.indicator, m_day.c.unit, m_day.c.day, m_day.c.records, m_day.c.num,
                m_day.c.den))),
            "month": sorted(tuple(r) for r in conn.execute(select(
                m_month.c.indicator, m_month.c.unit, m_month.c.month, m_month.c.records,
                m_month.c.num, m_month.c.den))),
            "distinct": sorted(tuple(r) for r in conn.execute(select(
                m_distinct.c.indicator, m_distinct.c.unit, m_distinct.c.day, m_distinct.c.key,
                m_distinct.c.records))),
            "pending": sorted(tuple(r) for r in conn.execute(select(
                m_pending.c.indicator, m_pending.c.unit, m_pending.c.day, m_pending.c.due_day,
                m_pending.c.records, m_pending.c.num, m_pending.c.den))),
            "published": sorted(tuple(r) for r in conn.execute(select(
                m_published.c.indicator, m_published.c.side, m_published.c.source,
                m_published.c.record_id, m_published.c.unit, m_published.c.period,
                m_published.c.value, m_published.c.published_at))),
        }


def _wipe(engine: Engine) -> None:
    with engine.begin() as conn:
        for t in (m_day, m_month, m_distinct, m_pending, m_published):
            conn.execute(delete(t))
        for latest, versions in FEED_TABLES.values():
            conn.execute(delete(latest))
            conn.execute(delete(versions))


def _older(rec: dict[str, Any]) -> dict[str, Any]:
    vfield = next(f for f in ("published_at", "released_at", "updated_at") if f in rec)
    out = dict(rec)
    out[vfield] = _iso(datetime.fromisoformat(rec[vfield]) - timedelta(minutes=30))
    if vfield == "updated_at":
        event = rec.get("received_at") or rec["supported_at"]
        out[vfield] = max(out[vfield], event)
    return out


@settings(deadline=None, max_examples=30,
          suppress_health_check=[HealthCheck.function_scoped_fixture,
                                 HealthCheck.too_slow])
@given(steps=st.lists(step, min_size=1, max_size=7))
def test_recompute_equals_incremental(fresh_engine: Engine, catalog: Catalog,
                                      steps: list[tuple[str, Any]]) -> None:
    engine = fresh_engine
    _wipe(engine)
    sent: list[tuple[str, list[dict[str, Any]]]] = []
    for kind, arg in steps:
        if kind in ("d", "s", "m", "g"):
            feed = {"d": "tthc.dossier", "s": "stats.value", "m": "sme.support",
                    "g": "stats.grdp"}[kind]
            records = arg
        elif not sent:
            continue
        else:
            feed, records = sent[arg % len(sent)]
            if kind == "late":
                records = [_older(r) for r in records]
        out = ingest(engine, feed_contract(feed), records, Provenance("sim", "push"), b"{}",
                     "application/json")
        assert out.accepted, out.as_dict()
        sent.append((feed, records))
    incremental = _state(engine)
    _months_are_sums_of_days(incremental)
    _periods_read_months_and_days_alike(engine, catalog)
    _distinct_over_five_years_is_exact(engine, catalog)
    shares = _digital_economy(engine, catalog)
    recompute(engine, catalog.measurement)  # type: ignore[arg-type]
    assert _state(engine) == incremental
    assert _digital_economy(engine, catalog) == shares


GRDP_CODES = ["stats.grdp_digital_economy_share", "stats.grdp_digital_economy_share_kv1",
              "stats.grdp_digital_economy_share_kv2", "stats.grdp_digital_economy_share_kv3",
              "stats.grdp_digital_economy_lowest_sector_share"]


def _digital_economy(engine: Engine, catalog: Catalog) -> dict[tuple[str, str], Any]:
    """II.1 and II.2 (and each sector's share) for every unit and period, and each equal to
    the share read straight from the latest figures (``grdp.digital_shares``)."""
    m = catalog.measurement
    assert m is not None
    out: dict[tuple[str, str], Any] = {}
    with engine.connect() as conn:
        for asked in ("2026-Q1", "2026-Q2", "2026-H1"):
            for code in GRDP_CODES:
                got = {v.unit: v.value for v in mv.values(conn, m, code, asked, level="units",
                                                          today=LATER)
                       if v.source is None}
                out[(code, asked)] = got
        for unit in [*UNITS, "UBNDTP"]:
            direct = {p: grdp.digital_shares(conn, unit, p)
                      for p in ("2026-Q1", "2026-Q2", "2026-6T")}
            for p in ("2026-Q1", "2026-Q2"):
                assert out[(GRDP_CODES[0], p)].get(unit) == _approx(direct[p].get("KTS"))
                sectors = [direct[p].get(f"KTS-KV{n}") for n in (1, 2, 3)]
                assert out[(GRDP_CODES[4], p)].get(unit) == _approx(
                    None if None in sectors else min(x for x in sectors if x is not None))
            # the half year: the cumulative 6 months, else the latest quarter with both sides
            half = next((direct[p]["KTS"] for p in ("2026-6T", "2026-Q2", "2026-Q1")
                         if "KTS" in direct[p]), None)
            assert out[(GRDP_CODES[0], "2026-H1")].get(unit) == _approx(half)
    return out


def _approx(x: float | None) -> Any:
    return None if x is None else pytest.approx(x)


def _months_are_sums_of_days(state: dict[str, list[tuple[Any, ...]]]) -> None:
    """Each ``m_month`` row is its month's ``m_day`` rows summed, and no month is left over."""
    want: dict[tuple[Any, ...], list[float]] = {}
    for ind, unit, day, records, num, den in state["day"]:
        acc = want.setdefault((ind, unit, day.replace(day=1)), [0, 0.0, 0.0])
        acc[0] += records
        acc[1] += num
        acc[2] += den
    assert state["month"] == sorted((*k, int(a[0]), a[1], a[2]) for k, a in want.items())


PERIODS = ["2026-02", "2026-03", "2026-Q1", "2026-02-27..2026-03-03", "2026-02-26..2026-03-31",
           "2026"]


def _periods_read_months_and_days_alike(engine: Engine, catalog: Catalog) -> None:
    """A period's value (whole months from ``m_month``, the rest from ``m_day``) has the
    numerator and denominator of its days' series added up, for the city and each unit."""
    m = catalog.measurement
    assert m is not None
    codes = [c for c, i in m.indicators.items()
             if i.feed == "tthc.dossier" and eng.shape(i) == "day"]
    with engine.connect() as conn:
        for code in codes:
            for period in PERIODS:
                for unit in [None, *UNITS]:
                    days = mv.day_series(conn, code, period, unit, m)
                    got = mv.values(conn, m, code, period, unit)
                    if not days:
                        assert not got or got[0].records == 0, (code, period, unit)
                        continue
                    v = got[0]
                    assert v.records == sum(d["records"] for d in days), (code, period, unit)
                    assert v.numerator == sum(d["numerator"] for d in days), (code, period)
                    if v.denominator is not None:
                        assert v.denominator == sum(d["denominator"] for d in days)


def _distinct_over_five_years_is_exact(engine: Engine, catalog: Catalog) -> None:
    """The day state's distinct counts over 2026-2030, for the city and each unit, equal the
    distinct enterprises of the latest records counted directly."""
    assert catalog.measurement is not None
    lo, hi = parse_period(SPAN).utc_bounds()
    t = feed_sme_support
    in_span = [t.c.supported_at >= lo, t.c.supported_at < hi, t.c.tax_code.is_not(None)]
    with engine.connect() as conn:
        for unit in [None, *UNITS]:
            where = [*in_span, *([t.c.unit == unit] if unit else [])]
            want = conn.execute(select(func.count(t.c.tax_code.distinct())).where(*where)).scalar()
            got = mv.values(conn, catalog.measurement, "sme.enterprises_supported", SPAN, unit)
            assert (got[0].value if got else 0) == want, unit
            applying = conn.execute(select(func.count(t.c.tax_code.distinct())).where(
                *where, t.c.kind == "solution_application")).scalar()
            got = mv.values(conn, catalog.measurement, "sme.enterprises_applying_digital", SPAN,
                            unit)
            assert (got[0].value if got else 0) == applying, unit
