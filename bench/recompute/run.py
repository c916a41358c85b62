"""Measurement benchmark: full recompute beside a sequential scan, and the cost of incremental
maintenance (ingest with indicators on against off), on PostgreSQL and SQLite, same run.

    uv run python bench/recompute/run.py                 # small (default --size 20000)
    uv run python bench/recompute/run.py --size 5000000  # a Hanoi-year of dossiers

``--size`` is the number of dossiers (about 3-4 versions each) ingested through the real intake
path (``chiso.intake.pipeline.ingest``, batches of ``--batch``). Baselines measured in the same
run: ``SELECT count(*)`` over the latest records table (the recompute's aim: within 3x), and
the same ingest with the measurement hook off (aim: indicators on keep at least half).
"""

from __future__ import annotations

import argparse
import itertools
import os
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

from sqlalchemy import text

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT / "simulators"))
sys.path.insert(0, str(ROOT / "bench"))

from _common import dossier_year, feed_contract  # noqa: E402
from _pg import fresh_pg  # noqa: E402
from chiso.catalog.loader import load_catalog  # noqa: E402
from chiso.config import Settings  # noqa: E402
from chiso.intake.pipeline import (  # noqa: E402
    Provenance,
    ingest,
    off_store,
)
from chiso.measurement.recompute import recompute  # noqa: E402
from chiso.runtime import open_runtime  # noqa: E402


def records(size: int) -> list[dict[str, Any]]:
    return list(dossier_year(size))


def ingest_all(url: str, recs: list[dict[str, Any]], batch: int, on: bool) -> tuple[Any, float]:
    engine = open_runtime(Settings(database_url=url)).engine
    if not on:
        off_store(engine)
    contract = feed_contract("tthc.dossier")
    prov = Provenance("bench", "push")
    start = time.perf_counter()
    it = iter(recs)
    while chunk := list(itertools.islice(it, batch)):
        out = ingest(engine, contract, chunk, prov, b"{}", "application/json")
        assert out.accepted, out.problems[:3]
    elapsed = time.perf_counter() - start
    return engine, len(recs) / elapsed


def state(engine: Any) -> list[Any]:
    with engine.connect() as conn:
        return sorted(tuple(r) for r in conn.execute(text(
            "SELECT indicator, unit, day, records, num, den FROM m_day")))


def run(label: str, make_url_for: Any, recs: list[dict[str, Any]], batch: int) -> None:
    off_engine, off_rate = ingest_all(make_url_for("off"), recs, batch, on=False)
    off_engine.dispose()
    engine, on_rate = ingest_all(make_url_for("on"), recs, batch, on=True)
    incremental_state = state(engine)
    with engine.connect() as conn:
        rows = conn.execute(text("SELECT count(*) FROM feed_tthc_dossier")).scalar_one()
    scans = []
    for _ in range(3):
        t0 = time.perf_counter()
        with engine.connect() as conn:
            conn.execute(text("SELECT count(*) FROM feed_tthc_dossier")).scalar_one()
        scans.append(time.perf_counter() - t0)
    scan = min(scans)
    m = load_catalog().measurement
    assert m is not None
    codes = [c for c, i in m.indicators.items() if i.feed == "tthc.dossier"]
    t0 = time.perf_counter()
    recompute(engine, m, codes)
    rec_s = time.perf_counter() - t0
    equal = state(engine) == incremental_state
    engine.dispose()
    print(f"{label}: {len(recs):,} versions, {rows:,} dossiers (latest), batches of {batch}")
    print(f"  ingest, indicators off : {off_rate:10,.0f} records/s   (baseline)")
    print(f"  ingest, indicators on  : {on_rate:10,.0f} records/s   "
          f"ratio {on_rate / off_rate:.2f} (aim >= 0.5)")
    print(f"  SELECT count(*) latest : {scan * 1000:10.1f} ms        (baseline)")
    print(f"  recompute {len(codes)} tthc indicators: {rec_s * 1000:8.1f} ms        "
          f"ratio {rec_s / scan:.1f}x the scan (aim <= 3x)")
    print(f"  recompute == incremental: {equal}", flush=True)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--size", type=int, default=20_000, help="dossiers")
    parser.add_argument("--batch", type=int, default=1000)
    parser.add_argument("--pg-url", default=os.environ.get(
        "CHISO_TEST_PG_URL", "postgresql+psycopg://chiso:chiso@127.0.0.1:5432/chiso_test"))
    parser.add_argument("--skip-sqlite", action="store_true")
    args = parser.parse_args()
    os.environ.setdefault("CHISO_PSEUDONYM_KEY", "bench")
    recs = records(args.size)
    print(f"chiso recompute bench: {os.cpu_count()} cores, {args.size:,} dossiers", flush=True)
    run("PostgreSQL", lambda tag: fresh_pg(args.pg_url, f"chiso_bench_m_{tag}"), recs,
        args.batch)
    if not args.skip_sqlite:
        with tempfile.TemporaryDirectory() as tmp:
            run("SQLite", lambda tag: f"sqlite:///{tmp}/{tag}.db", recs, args.batch)


if __name__ == "__main__":
    main()
