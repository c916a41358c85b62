"""Hanoi as the simulators see it: the 126 communes, departments, behaviours, calendar, and a
deterministic generator of record versions for every feed.

Everything is a pure function of the seed: the same seed gives the same records, so that the
demo, the tests and the benchmarks are reproducible.
"""

from __future__ import annotations

import csv
import random
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

VN = ZoneInfo("Asia/Ho_Chi_Minh")
COMMUNES_CSV = (Path(__file__).resolve().parents[2] / "src" / "chiso" / "data" / "units"
                / "communes.csv")
DEPARTMENTS = ["SKHCN", "STC", "SNV", "SCT", "SYT", "SGDDT", "SVHTT", "SDL", "SNNMT", "STP",
               "SXD", "SQHKT", "SDTTG"]

# Tết Nguyên Đán 2026 (17/02/2026) and the public holidays in the simulated years.
HOLIDAYS = {
    *(date(2026, 2, 14) + timedelta(n) for n in range(9)),  # Tết: 14-22/02/2026
    date(2026, 1, 1), date(2026, 4, 26), date(2026, 4, 30), date(2026, 5, 1),
    date(2026, 9, 1), date(2026, 9, 2),
    *(date(2027, 2, 5) + timedelta(n) for n in range(9)),  # Tết 2027 (06/02/2027)
    date(2027, 1, 1),
}


def is_working_day(day: date) -> bool:
    return day.weekday() < 5 and day not in HOLIDAYS


@dataclass(frozen=True)
class UnitProfile:
    code: str
    name: str
    kind: str  # commune | department
    size: float  # dossiers per working day
    on_time: float  # share resolved on time at the start of the year
    trend: float  # change of on_time per 100 days (improving > 0, slipping < 0)
    online: float  # share filed online
    behaviour: str  # prompt | late | silent (stops reporting for weeks)


def communes() -> list[tuple[str, str]]:
    with COMMUNES_CSV.open(encoding="utf-8") as f:
        return [(row["code"], row["name"]) for row in csv.DictReader(f)]


def profiles(seed: int) -> list[UnitProfile]:
    rng = random.Random(seed)
    out = []
    for code, name in communes():
        ward = name.startswith("Phường")
        size = rng.lognormvariate(3.4 if ward else 2.6, 0.5)  # ~30 / ~14 per day
        behaviour = rng.choices(["prompt", "late", "silent"], [0.8, 0.14, 0.06])[0]
        out.append(UnitProfile(code, name, "commune", size, rng.uniform(0.82, 0.99),
                               rng.uniform(-0.06, 0.08), rng.uniform(0.4, 0.95), behaviour))
    for code in DEPARTMENTS:
        out.append(UnitProfile(code, code, "department", rng.lognormvariate(3.0, 0.6),
                               rng.uniform(0.85, 0.99), rng.uniform(-0.04, 0.06),
                               rng.uniform(0.6, 0.99), rng.choices(["prompt", "late"],
                                                                   [0.85, 0.15])[0]))
    return out


PROCEDURES = [f"1.{n:06d}" for n in range(1001, 1061)]
LATE_DAYS = 3
SILENT_DAYS = 21


def _at(day: date, rng: random.Random, start_hour: int = 8, end_hour: int = 17) -> datetime:
    minute = rng.randrange(start_hour * 60, end_hour * 60)
    return datetime(day.year, day.month, day.day, minute // 60, minute % 60, tzinfo=VN)


def _next_working(day: date, n: int) -> date:
    while n > 0:
        day += timedelta(1)
        if is_working_day(day):
            n -= 1
    return day


def dossier_versions(profile: UnitProfile, day: date, seq: int, rng: random.Random,
                     start: date) -> list[dict[str, Any]]:
    """The versions of one dossier received on ``day``: one per status change."""
    received = _at(day, rng)
    days_allowed = rng.choice([1, 3, 5, 7, 10, 15])
    due = datetime.combine(_next_working(day, days_allowed), datetime.min.time(),
                           tzinfo=VN).replace(hour=17)
    progress = (day - start).days / 100
    on_time = min(0.999, max(0.3, profile.on_time + profile.trend * progress))
    online = rng.random() < profile.online
    total = rng.randint(1, 8)
    base = {
        "id": f"{profile.code}-{day:%y%m%d}-{seq:05d}", "unit": profile.code,
        "procedure": rng.choice(PROCEDURES), "received_at": received.isoformat(),
        "due_at": due.isoformat(), "resolved_at": None, "status": "received",
        "channel": "online" if online else rng.choice(["direct", "direct", "postal"]),
        "fully_online": online and rng.random() < 0.7, "supplement_requests": 0,
        "supplement_days": 0, "result_electronic": None, "paid_online": None,
        "components_total": total, "components_reused": rng.randint(0, total),
        "updated_at": received.isoformat(),
    }
    # the two optional fields draw from a generator of their own, so that adding them left
    # every other field of the stream as it was
    extra = random.Random(base["id"])
    base["components_digitised"] = max(base["components_reused"],
                                       round(total * extra.uniform(0.5, 1.0)))
    base["complaints"] = 0
    versions = [dict(base)]
    t = received + timedelta(hours=rng.uniform(0.5, 20))
    versions.append({**versions[-1], "status": "processing", "updated_at": t.isoformat()})
    supplements = 0
    if rng.random() < 0.15:
        supplements = 1 + int(rng.random() < 0.2)
        wait = rng.uniform(1, 6)
        t += timedelta(days=rng.uniform(0.5, 2))
        versions.append({**versions[-1], "status": "supplement",
                         "supplement_requests": supplements, "updated_at": t.isoformat()})
        t += timedelta(days=wait)
        versions.append({**versions[-1], "status": "processing", "supplement_days":
                         round(wait, 2), "updated_at": t.isoformat()})
    if rng.random() < 0.03:
        t += timedelta(days=rng.uniform(0.2, 3))
        versions.append({**versions[-1], "status": "withdrawn", "updated_at": t.isoformat()})
        return versions
    late = rng.random() > on_time
    span = (due - t).total_seconds() / 86400
    finish = t + timedelta(days=(span * rng.uniform(0.2, 0.95)) if not late and span > 0
                           else max(span, 0) + rng.uniform(0.5, 6))
    finish = max(finish, t + timedelta(minutes=30))
    status = "rejected" if rng.random() < 0.04 else "resolved"
    electronic = online or rng.random() < 0.3  # drawn in this order since the first version
    paid_online = (online and rng.random() < 0.8) if rng.random() < 0.6 else None
    versions.append({**versions[-1], "status": status, "resolved_at": finish.isoformat(),
                     "complaints": int(extra.random() < (0.08 if late else 0.01)),
                     "result_electronic": electronic,
                     "paid_online": paid_online, "payment_method": None if paid_online is None
                     else "online" if paid_online
                     else extra.choice(["card", "qr", "qr", "transfer", "cash", "cash"]),
                     "updated_at": finish.isoformat()})
    return versions


def dossier_stream(seed: int, start: date, days: int, scale: float = 1.0,
                   units: list[str] | None = None) -> Iterator[dict[str, Any]]:
    """Every dossier version of ``days`` days from ``start``, in the order a source system
    sends them: dossier by dossier (versions of one dossier together, in order), day by day.
    ``scale`` multiplies every unit's size. Behaviours: a ``late`` unit's records of a day are
    sent ``LATE_DAYS`` days later; a ``silent`` unit sends nothing for ``SILENT_DAYS`` days
    from a day of its own (its dossiers of those days are never sent)."""
    rng = random.Random(seed)
    chosen = [p for p in profiles(seed) if units is None or p.code in units]
    silence = {p.code: rng.randrange(0, max(days - SILENT_DAYS, 1)) for p in chosen
               if p.behaviour == "silent"}
    held: dict[int, list[dict[str, Any]]] = {}
    for n in range(days):
        yield from held.pop(n, [])
        day = start + timedelta(n)
        if not is_working_day(day):
            continue
        for profile in chosen:
            count = max(0, round(rng.gauss(profile.size * scale, profile.size * scale * 0.2)))
            quiet = profile.code in silence and 0 <= n - silence[profile.code] < SILENT_DAYS
            for seq in range(count):
                versions = dossier_versions(profile, day, seq, rng, start)
                if quiet:
                    continue
                if profile.behaviour == "late":
                    held.setdefault(n + LATE_DAYS, []).extend(versions)
                else:
                    yield from versions
    for n in sorted(held):
        yield from held[n]


def feedback_versions(seed: int, start: date, days: int) -> Iterator[dict[str, Any]]:
    rng = random.Random(seed + 1)
    for n in range(days):
        day = start + timedelta(n)
        for code, _name in communes():
            for seq in range(rng.randint(0, 3)):
                received = _at(day, rng, 0, 24)
                due = received + timedelta(days=15)
                base = {"id": f"PA-{code}-{day:%y%m%d}-{seq}", "unit": code,
                        "received_at": received.isoformat(), "due_at": due.isoformat(),
                        "closed_at": None, "published": rng.random() < 0.9, "satisfied": None,
                        "updated_at": received.isoformat()}
                yield base
                closed = received + timedelta(days=rng.uniform(0.5, 20))
                yield {**base, "closed_at": closed.isoformat(), "satisfied": rng.random() < 0.85,
                       "updated_at": closed.isoformat()}


def document_versions(seed: int, start: date, days: int) -> Iterator[dict[str, Any]]:
    rng = random.Random(seed + 2)
    kinds = ["cong_van", "quyet_dinh", "ke_hoach", "bao_cao", "to_trinh", "thong_bao",
             "lay_y_kien"]
    units = [c for c, _ in communes()] + DEPARTMENTS
    for n in range(days):
        day = start + timedelta(n)
        if not is_working_day(day):
            continue
        for code in units:
            for seq in range(rng.randint(0, 4)):
                sent = _at(day, rng)
                yield {"id": f"VB-{code}-{day:%y%m%d}-{seq}", "unit": code,
                       "kind": rng.choice(kinds), "electronic": rng.random() < 0.97,
                       "signed_digitally": rng.random() < 0.9, "sent_at": sent.isoformat(),
                       "updated_at": sent.isoformat()}


def meeting_versions(seed: int, start: date, days: int) -> Iterator[dict[str, Any]]:
    rng = random.Random(seed + 3)
    units = [c for c, _ in communes()] + DEPARTMENTS
    for n in range(days):
        day = start + timedelta(n)
        if not is_working_day(day):
            continue
        for code in units:
            if rng.random() < 0.3:
                starts = _at(day, rng)
                yield {"id": f"CH-{code}-{day:%y%m%d}", "unit": code,
                       "starts_at": starts.isoformat(), "minutes": rng.choice([30, 60, 90, 120]),
                       "mode": rng.choice(["online", "in_person", "hybrid"]),
                       "updated_at": starts.isoformat()}


def stats_values(seed: int, year: int = 2026, months: int = 10) -> Iterator[dict[str, Any]]:
    rng = random.Random(seed + 4)
    for code, _name in communes():
        accounts = rng.randint(5_000, 60_000)
        for m in range(1, months + 1):
            accounts = int(accounts * rng.uniform(1.005, 1.04))
            published = datetime(year, m, 1, tzinfo=VN) + timedelta(days=35)
            yield {"indicator": "ihanoi_accounts", "unit": code, "period": f"{year}-{m:02d}",
                   "value": accounts, "source_ref": f"iHanoi {m:02d}/{year}",
                   "published_at": published.isoformat()}
