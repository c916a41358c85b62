"""The SME support system of plan 232 (Kế hoạch 232/KH-UBND): support given to enterprises,
the consultant network and the exemplary SMEs, as the ``sme.*`` feeds' contracts describe them.

    records = sme_feeds(seed=2026, start=date(2026, 1, 1), now=datetime.now(VN), scale=0.02)
    records["sme.support"]      # support records, with later versions carrying the results

Deterministic for a seed. The enterprises are a fixed population per commune; a few of them
are supported again and again across the years (a heavy tail: one enterprise in ten takes
about half the support), so counting enterprises, not support events, matters. A readiness
assessment is sent when it is done, then again with ``readiness_after`` when the
re-assessment comes in (a later ``updated_at``): the result is known after the support. The
pace is ``scale`` times what reaching 120.000 enterprises by 2030 would need, a little behind
it, so the programme's milestones are worth watching. Only records whose ``updated_at`` is
before ``now`` are returned, oldest first.
"""

from __future__ import annotations

import random
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from typing import Any

from chiso_sim.hanoi import VN, communes

SECTORS = "ACCCCGGGGHIJKMMPQ"  # level-1 sections, weighted toward trade and manufacturing
KINDS = ["readiness_assessment", "consulting", "training", "solution_application",
         "legal_financial"]
KIND_WEIGHTS = [30, 25, 20, 20, 5]
PROVIDERS = ["Trung tâm Hỗ trợ doanh nghiệp nhỏ và vừa Hà Nội", "Hiệp hội Doanh nghiệp nhỏ và vừa",
             "Công ty Cổ phần Trung tâm Đổi mới sáng tạo Hà Nội",
             "Liên hiệp các Hội Khoa học và Kỹ thuật Hà Nội"]
SOLUTIONS = ["Phần mềm kế toán điện tử", "Nền tảng bán hàng trực tuyến", "Hóa đơn điện tử",
             "Phần mềm quản trị nguồn lực (ERP)", "Trợ lý AI chăm sóc khách hàng",
             "Nền tảng quản lý kho và vận chuyển"]
PER_MONTH_AT_FULL_SCALE = 2000  # 120.000 enterprises over 60 months
PACE = 0.9  # a little behind the linear path


@dataclass(frozen=True)
class Enterprise:
    tax_code: str
    unit: str
    size_class: str
    sector: str


def enterprises(seed: int, n: int) -> list[Enterprise]:
    rng = random.Random(seed + 232)
    units = [code for code, _ in communes()]
    return [Enterprise(f"01{rng.randrange(10**8):08d}", rng.choice(units),
                       rng.choices(["micro", "small", "medium"], [70, 25, 5])[0],
                       rng.choice(SECTORS)) for i in range(n)]


def _months(start: date, now: datetime) -> Iterator[date]:
    d = date(start.year, start.month, 1)
    while d <= now.date():
        yield d
        d = date(d.year + d.month // 12, d.month % 12 + 1, 1)


def _at(day: date, rng: random.Random) -> datetime:
    return datetime.combine(day, time(8 + rng.randrange(9), rng.randrange(60)), tzinfo=VN)


def support_records(seed: int, start: date, now: datetime, scale: float = 0.02
                    ) -> list[dict[str, Any]]:
    """``sme.support`` records (first versions and result updates), oldest first."""
    rng = random.Random(seed + 2321)
    per_month = max(1, round(PER_MONTH_AT_FULL_SCALE * scale * PACE))
    population = enterprises(seed, per_month * 70)
    regulars = population[: len(population) // 10]  # supported again and again
    out: list[dict[str, Any]] = []
    level: dict[str, int] = {}
    for n, month in enumerate(_months(start, now)):
        fresh = population[n * per_month // 2 % len(population):][: per_month]
        for i in range(per_month + per_month // 2):
            e = fresh[i % len(fresh)] if i < per_month else rng.choice(regulars)
            day = month + timedelta(days=rng.randrange(28))
            at = _at(day, rng)
            kind = rng.choices(KINDS, KIND_WEIGHTS)[0]
            rec: dict[str, Any] = {
                "id": f"HT-{seed}-{len(out):07d}", "unit": e.unit, "tax_code": e.tax_code,
                "size_class": e.size_class, "sector": e.sector, "kind": kind,
                "provider": rng.choice(PROVIDERS), "supported_at": at.isoformat(),
                "updated_at": at.isoformat()}
            if kind == "solution_application":
                rec["solution"] = rng.choice(SOLUTIONS)
                rec["contract_signed"] = rng.random() < 0.6
            out.append(rec)
            if kind == "readiness_assessment":
                before = level.get(e.tax_code, rng.choice([0, 1, 1, 2]))
                rec["readiness_before"] = before
                later = at + timedelta(days=30 + rng.randrange(60))
                after = min(5, before + rng.choice([0, 1, 1, 2]))
                level[e.tax_code] = after
                out.append({**rec, "readiness_after": after, "updated_at": later.isoformat()})
    return _until(out, now)


def consultant_records(seed: int, start: date, now: datetime) -> list[dict[str, Any]]:
    """``sme.consultant``: two or three members admitted a month, one in twelve withdrawing."""
    rng = random.Random(seed + 2322)
    out: list[dict[str, Any]] = []
    for month in _months(start, now):
        for _ in range(2 + rng.randrange(2)):
            i = len(out)
            at = _at(month + timedelta(days=rng.randrange(28)), rng)
            organisation = rng.random() < 0.4
            rec: dict[str, Any] = {
                "id": f"TV-{i:05d}", "unit": "SKHCN",
                "name": (f"Công ty Tư vấn chuyển đổi số số {i}" if organisation
                         else f"Chuyên gia tư vấn {i}"),
                "member_kind": "organisation" if organisation else "individual",
                "qualification": "Đạt chuẩn tư vấn viên chuyển đổi số",
                "admitted_at": at.isoformat(), "status": "active",
                "updated_at": at.isoformat()}
            out.append(rec)
            if rng.random() < 1 / 12:
                gone = at + timedelta(days=90 + rng.randrange(200))
                out.append({**rec, "status": "withdrawn", "withdrawn_at": gone.isoformat(),
                            "updated_at": gone.isoformat()})
    return _until(out, now)


def exemplary_records(seed: int, start: date, now: datetime) -> list[dict[str, Any]]:
    """``sme.exemplary``: about ten recognitions a year (June to October), one later revoked."""
    rng = random.Random(seed + 2323)
    pool = enterprises(seed, 400)
    out: list[dict[str, Any]] = []
    for year in range(start.year, now.year + 1):
        for _ in range(8 + rng.randrange(5)):
            e = rng.choice(pool)
            at = _at(date(year, 6, 15) + timedelta(days=rng.randrange(120)), rng)
            out.append({"id": f"QD-{year}-{len(out):04d}", "unit": e.unit,
                        "tax_code": e.tax_code, "sector": e.sector,
                        "recognised_at": at.isoformat(), "status": "recognised",
                        "updated_at": at.isoformat()})
        if out:
            revoked = dict(out[-1])
            later = datetime.fromisoformat(revoked["recognised_at"]) + timedelta(days=120)
            out.append({**revoked, "status": "revoked", "updated_at": later.isoformat()})
    return _until(out, now)


def _until(records: list[dict[str, Any]], now: datetime) -> list[dict[str, Any]]:
    return sorted((r for r in records if datetime.fromisoformat(r["updated_at"]) <= now),
                  key=lambda r: (datetime.fromisoformat(r["updated_at"]), r["id"]))


def sme_feeds(seed: int, start: date, now: datetime, scale: float = 0.02
              ) -> dict[str, list[dict[str, Any]]]:
    """The three feeds' records up to ``now``, keyed by feed."""
    return {"sme.support": support_records(seed, start, now, scale),
            "sme.consultant": consultant_records(seed, start, now),
            "sme.exemplary": exemplary_records(seed, start, now)}
