"""The SME programme's own questions (plan 232), answered from its records: :func:`programme`.

* **This year against its milestone**: enterprises supported since the plan's start (each
  counted once) beside this year's milestone of target T1 (operator's or the linear default,
  said which, :mod:`chiso.outlook.milestones`).
* **Communes that lag**: each commune's enterprises supported since the start against its
  share of this year's milestone. The plan sets no commune quota, so the share is equal
  (milestone / number of communes) and said so (``share_basis``); lowest progress first.
* **Sectors that lag**: the plan's own ratio says how many of the supported should be
  applying digital solutions (T2 / T1: 72.000 of 120.000, 60%); a sector (level-1 section
  A-U) whose supported enterprises apply digital solutions at a lower rate lags.
* **Exemplary SMEs by sector**: recognitions since the start not revoked, per sector.
* **Is support producing results**: of the enterprises assessed before and after a support,
  how many reached a higher readiness level, and the contracts signed between
  digital-technology firms and SMEs (appendix row 19), this year and since the start.

Enterprises are distinct tax-code pseudonyms of the records' current versions (a re-sent or
corrected record replaces the earlier one), so an enterprise supported five times counts once.
``unit`` narrows every figure to one commune's records (its page); the milestone stays the
city's. Reads are the room's typed answer for the API, the pages, the tiles and the reports.
"""

from __future__ import annotations

from datetime import date, datetime, time, timedelta
from typing import Any

from pydantic import Field
from sqlalchemy import Connection, and_, func, select
from sqlalchemy.sql.elements import ColumnElement

from chiso.catalog.loader import Catalog
from chiso.clock import VIETNAM
from chiso.context import Answer
from chiso.measurement import grdp
from chiso.numbers import percent
from chiso.outlook.milestones import milestones
from chiso.store.catalog_sync import plan_key
from chiso.store.tables import feed_sme_exemplary, feed_sme_support

PLAN = "232/KH-UBND"
FEEDS = ("sme.support", "sme.exemplary")  # the records the answer reads
SUPPORTED, APPLYING = "T1", "T2"
SHARE_BASIS = "equal"  # a commune's share of the city's milestone: 1 / number of communes


class SmeProgrammeError(LookupError):
    """The catalog does not measure plan 232, or no such commune."""


class SectorName(Answer):
    vi: str
    en: str


class Milestone(Answer):
    year: int
    value: float
    source: str = Field(description="operator | linear_default")


class CommuneProgress(Answer):
    unit: str
    name: str
    supported: int = Field(description="enterprises supported since the start, each once")
    share: float | None = Field(description="its equal share of this year's milestone")
    progress: float | None = Field(description="supported / share, in % (None: no milestone)")
    lagging: bool


class SectorRow(Answer):
    code: str
    name: SectorName
    supported: int
    applying_digital: int
    applying_rate: float | None = Field(description="applying / supported, in %")
    readiness_raised: int
    contracts: int = Field(description="contracts signed since the start")
    exemplary: int = Field(description="exemplary enterprises recognised, not revoked")
    lagging: bool = Field(description="applying rate below the plan's ratio T2/T1")


class Results(Answer):
    """Whether support changes the enterprises, over one span."""

    period: str
    assessed: int = Field(description="enterprises assessed before and after a support")
    readiness_raised: int
    raised_rate: float | None = Field(description="raised / assessed, in %")
    applying_digital: int
    contracts: int


class SmeProgramme(Answer):
    plan: str
    today: date
    unit: str | None = Field(description="None: the city")
    since: date = Field(description="the plan's start: every count runs from it")
    supported: int
    supported_this_year: int
    milestone: Milestone | None = Field(description="this year's milestone of T1 (the city)")
    milestone_progress: float | None = Field(description="supported / milestone, in %")
    plan_ratio: float = Field(description="T2 / T1 in %: the applying rate a sector should reach")
    share_basis: str = Field(description="how a commune's share of the milestone is set")
    communes: list[CommuneProgress] = Field(description="lowest progress first")
    sectors: list[SectorRow] = Field(description="lagging first, then by applying rate")
    this_year: Results
    since_start: Results

    @property
    def lagging_communes(self) -> list[CommuneProgress]:
        return [c for c in self.communes if c.lagging]

    @property
    def lagging_sectors(self) -> list[SectorRow]:
        return [s for s in self.sectors if s.lagging]


def _instant(day: date) -> datetime:
    return datetime.combine(day, time(0), tzinfo=VIETNAM)


def _window(column: ColumnElement[datetime], start: date, end: date) -> ColumnElement[bool]:
    """Vietnamese days ``start`` to ``end`` inclusive (instants are stored in UTC)."""
    return and_(column >= _instant(start), column < _instant(end + timedelta(days=1)))


def _rate(part: int, whole: int) -> float | None:
    return part / whole * 100 if whole else None


def _results(conn: Connection, start: date, end: date, unit: str | None) -> Results:
    t = feed_sme_support
    where = [_window(t.c.supported_at, start, end), t.c.tax_code.is_not(None)]
    if unit is not None:
        where.append(t.c.unit == unit)

    def distinct(*more: ColumnElement[bool]) -> int:
        return int(conn.execute(select(func.count(t.c.tax_code.distinct())).where(
            *where, *more)).scalar_one())

    assessed = distinct(t.c.readiness_before.is_not(None), t.c.readiness_after.is_not(None))
    raised = distinct(t.c.readiness_after > t.c.readiness_before)
    contracts = int(conn.execute(select(func.count()).where(
        *where, t.c.contract_signed.is_(True))).scalar_one())
    return Results(period=f"{start.isoformat()}..{end.isoformat()}", assessed=assessed,
                   readiness_raised=raised, raised_rate=_rate(raised, assessed),
                   applying_digital=distinct(t.c.kind == "solution_application"),
                   contracts=contracts)


def _sectors(conn: Connection, start: date, end: date, unit: str | None,
             plan_ratio: float) -> list[SectorRow]:
    t, x = feed_sme_support, feed_sme_exemplary
    where = [_window(t.c.supported_at, start, end), t.c.tax_code.is_not(None)]
    xwhere = [_window(x.c.recognised_at, start, end), x.c.tax_code.is_not(None),
              x.c.status == "recognised"]
    if unit is not None:
        where.append(t.c.unit == unit)
        xwhere.append(x.c.unit == unit)

    def by_sector(*more: ColumnElement[bool]) -> dict[str, int]:
        q = select(t.c.sector, func.count(t.c.tax_code.distinct())).where(
            *where, *more).group_by(t.c.sector)
        return {s: int(n) for s, n in conn.execute(q)}

    supported = by_sector()
    applying = by_sector(t.c.kind == "solution_application")
    raised = by_sector(t.c.readiness_after > t.c.readiness_before)
    contracts = {s: int(n) for s, n in conn.execute(select(t.c.sector, func.count()).where(
        *where, t.c.contract_signed.is_(True)).group_by(t.c.sector))}
    exemplary = {s: int(n) for s, n in conn.execute(select(
        x.c.sector, func.count(x.c.tax_code.distinct())).where(*xwhere).group_by(x.c.sector))}
    names = {i["code"]: i for i in grdp.classification()["industries"]}
    rows = []
    for code in sorted(set(supported) | set(exemplary)):
        n = supported.get(code, 0)
        rate = _rate(applying.get(code, 0), n)
        info = names.get(code, {"name_vi": code, "name_en": code})
        rows.append(SectorRow(
            code=code, name=SectorName(vi=info["name_vi"], en=info["name_en"]), supported=n,
            applying_digital=applying.get(code, 0), applying_rate=rate,
            readiness_raised=raised.get(code, 0), contracts=contracts.get(code, 0),
            exemplary=exemplary.get(code, 0),
            lagging=n > 0 and (rate or 0.0) < plan_ratio))
    rows.sort(key=lambda r: (not r.lagging, r.applying_rate or 0.0, r.code))
    return rows


def _communes(conn: Connection, catalog: Catalog, start: date, end: date,
              milestone: Milestone | None, unit: str | None) -> list[CommuneProgress]:
    t = feed_sme_support
    q = select(t.c.unit, func.count(t.c.tax_code.distinct())).where(
        _window(t.c.supported_at, start, end), t.c.tax_code.is_not(None)).group_by(t.c.unit)
    counts = {u: int(n) for u, n in conn.execute(q)}
    communes = catalog.units.communes()
    share = milestone.value / len(communes) if milestone and communes else None
    rows = []
    for c in communes:
        if unit is not None and c.code != unit:
            continue
        n = counts.get(c.code, 0)
        progress = n / share * 100 if share else None
        rows.append(CommuneProgress(unit=c.code, name=c.name, supported=n, share=share,
                                    progress=progress,
                                    lagging=progress is not None and progress < 100))
    rows.sort(key=lambda r: (r.progress if r.progress is not None else 0.0, r.supported,
                             r.unit))
    return rows


def _milestone(conn: Connection, catalog: Catalog, today: date) -> Milestone | None:
    m = catalog.measurement
    entry = catalog.plans[PLAN]
    target = next(t for t in entry.targets if t.id == SUPPORTED)
    assert m is not None
    got = milestones(conn, plan_key(PLAN), target, m.binding(PLAN, SUPPORTED))
    now = next((x for x in got if x.year == today.year), None)
    return None if now is None else Milestone(year=now.year, value=now.value, source=now.source)


def programme(conn: Connection, catalog: Catalog, today: date,
              unit: str | None = None) -> SmeProgramme:
    """Plan 232's questions answered as of ``today`` for the city, or for commune ``unit``."""
    m = catalog.measurement
    if m is None or PLAN not in m.plans or PLAN not in catalog.plans:
        raise SmeProgrammeError(f"the catalog does not measure plan {PLAN}")
    if unit is not None and unit not in {c.code for c in catalog.units.communes()}:
        raise SmeProgrammeError(f"no commune {unit!r}")
    start = date.fromisoformat(m.binding(PLAN, SUPPORTED).window_start or f"{today.year}-01-01")
    year_start = max(start, date(today.year, 1, 1))
    thresholds = {t.id: float(t.threshold or 0) for t in catalog.plans[PLAN].targets}
    plan_ratio = thresholds[APPLYING] / thresholds[SUPPORTED] * 100
    milestone = _milestone(conn, catalog, today) if today >= start else None
    since, this_year = (_results(conn, start, today, unit), _results(conn, year_start, today, unit))
    t = feed_sme_support
    where = [t.c.tax_code.is_not(None)] + ([t.c.unit == unit] if unit else [])
    supported = int(conn.execute(select(func.count(t.c.tax_code.distinct())).where(
        _window(t.c.supported_at, start, today), *where)).scalar_one())
    this = int(conn.execute(select(func.count(t.c.tax_code.distinct())).where(
        _window(t.c.supported_at, year_start, today), *where)).scalar_one())
    return SmeProgramme(
        plan=PLAN, today=today, unit=unit, since=start, supported=supported,
        supported_this_year=this, milestone=milestone,
        milestone_progress=(supported / milestone.value * 100
                            if milestone and milestone.value and unit is None else None),
        plan_ratio=plan_ratio, share_basis=SHARE_BASIS,
        communes=_communes(conn, catalog, start, today, milestone, unit),
        sectors=_sectors(conn, start, today, unit, plan_ratio),
        this_year=this_year, since_start=since)


# -- the SME group's tiles ----------------------------------------------------------------
def _both(vi: str, en: str) -> dict[str, str]:
    return {"vi": vi, "en": en}


def tile_body(answer: SmeProgramme, show: str, where: int) -> dict[str, Any]:
    """One SME tile's figures (the board's tile shape) from the programme's answer."""
    period = f"{answer.since.isoformat()}..{answer.today.isoformat()}"
    base: dict[str, Any] = {"period": period, "as_of": None, "drill": "/sme"}
    if show == "lagging_communes":
        lag = answer.lagging_communes
        return {**base, "value": float(len(lag)) if answer.milestone else None,
                "of": len(answer.communes), "unit_of_measure": "xã, phường",
                "where": [{"unit": c.unit, "name": c.name, "value": float(c.supported),
                           "drill": f"/units/{c.unit}",
                           "detail": _both(
                               f"đạt {percent(c.progress, 'vi')} phần mốc được chia",
                               f"{percent(c.progress, 'en')} of its share")
                           if c.progress is not None else None}
                          for c in lag[:where]]}
    if show == "lagging_sectors":
        slow = answer.lagging_sectors
        return {**base, "value": float(len(slow)) if answer.sectors else None,
                "of": len(answer.sectors), "unit_of_measure": "ngành",
                "where": [{"name": f"{s.code}. {s.name.vi}", "name_en": f"{s.code}. {s.name.en}",
                           "value": float(s.supported),
                           "detail": _both(
                               f"{percent(s.applying_rate or 0, 'vi')} ứng dụng giải pháp số "
                               f"(kế hoạch: {percent(answer.plan_ratio, 'vi', 0)})",
                               f"{percent(s.applying_rate or 0, 'en')} applying digital "
                               f"solutions (plan: {percent(answer.plan_ratio, 'en', 0)})")}
                          for s in slow[:where]]}
    if show == "exemplary_by_sector":
        rows = sorted((s for s in answer.sectors if s.exemplary),
                      key=lambda s: (-s.exemplary, s.code))
        total = sum(s.exemplary for s in rows)
        return {**base, "value": float(total) if rows else None, "unit_of_measure":
                "doanh nghiệp", "where": [{"name": f"{s.code}. {s.name.vi}",
                                            "name_en": f"{s.code}. {s.name.en}",
                                            "value": float(s.exemplary)} for s in rows[:where]]}
    r = answer.this_year
    return {**base, "period": r.period, "value": r.raised_rate, "unit_of_measure": "%",
            "numerator": r.readiness_raised, "denominator": r.assessed,
            "where": [{"name": vi, "name_en": en, "value": float(n)} for vi, en, n in (
                ("Doanh nghiệp được đánh giá trước và sau hỗ trợ",
                 "Enterprises assessed before and after support", r.assessed),
                ("Nâng được mức độ sẵn sàng", "Readiness level raised", r.readiness_raised),
                ("Ứng dụng giải pháp số", "Applying digital solutions", r.applying_digital),
                ("Hợp đồng đã ký", "Contracts signed", r.contracts))][:where]}
