"""The reduction of manual reporting (plan 131, Appendix 02, row 7: cut the digital
transformation reports typed by hand by at least 80–90%), measured from what chiso records.

For each report kind, the reports the plans require for its latest period that has ended are
one per issuing unit (the city and every scored unit whose kind the kind has a scope for);
those chiso wrote are the units with a stored report of that kind and period (any edition,
draft or issued: its figures come from the systems' data, only section IV is typed by a
person). The share written is the indicator, shown as the dashboard tile of chiso's own
result ``reports_written`` (``chiso.dashboard.own``); the plan's bar is :data:`TARGET`.
"""

from __future__ import annotations

from datetime import date, datetime

from pydantic import Field
from sqlalchemy import Connection, distinct, func, select

from chiso.catalog.loader import Catalog
from chiso.catalog.reports import last_period
from chiso.context import Answer
from chiso.store.tables import reports

#: The plan's bar: at least 80% of the required reports written without typing.
TARGET = 0.8
CITY = "city"  # the unit a city-wide report is stored under


class KindCount(Answer):
    kind: str
    title_vi: str
    title_en: str
    period: str = Field(description="the kind's latest period that has ended")
    required: int = Field(description="reports the plans require: one per issuing unit")
    written: int = Field(description="of those, the units chiso has written a report for")
    built_at: datetime | None = Field(description="when the newest of those was built")


class Reduction(Answer):
    today: date
    kinds: list[KindCount]
    required: int
    written: int
    share: float | None = Field(description="written / required, 0 to 1; None: none required")
    target: float = Field(description="the plan's bar for the share (plan 131, Appendix 02, "
                                      "row 7)")
    met: bool | None
    built_at: datetime | None = Field(description="when the newest report counted was built")


def reduction(conn: Connection, catalog: Catalog, today: date) -> Reduction:
    """The share of the required periodic reports that chiso wrote, per kind and in all, for
    each kind's latest period ended before ``today``."""
    units = catalog.units.units.values()
    kinds: list[KindCount] = []
    for kind in sorted(catalog.reports.values(), key=lambda k: k.id):
        issuers = {u.code for u in units if u.scored and str(u.kind) in kind.scopes}
        if "city" in kind.scopes:
            issuers.add(CITY)
        period = last_period(kind, today)
        written, built = conn.execute(select(
            func.count(distinct(reports.c.unit)), func.max(reports.c.built_at)).where(
            reports.c.kind == kind.id, reports.c.period == period,
            reports.c.unit.in_(sorted(issuers)))).one() if issuers else (0, None)
        kinds.append(KindCount(kind=kind.id, title_vi=kind.title_vi, title_en=kind.title_en,
                               period=period, required=len(issuers), written=int(written),
                               built_at=built))
    required = sum(k.required for k in kinds)
    written = sum(k.written for k in kinds)
    share = written / required if required else None
    latest = max((k.built_at for k in kinds if k.built_at is not None), default=None)
    return Reduction(today=today, kinds=kinds, required=required, written=written, share=share,
                     target=TARGET, met=None if share is None else share >= TARGET,
                     built_at=latest)
