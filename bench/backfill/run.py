"""Backfill benchmark (SPEC §4): a Hanoi-year of dossier versions loaded into PostgreSQL through
the bulk path and every indicator recomputed, beside a raw COPY of the same rows, same run.

    uv run python bench/backfill/run.py                  # small (default --size 100000)
    uv run python bench/backfill/run.py --size 5000000   # the SPEC's Hanoi-year (~30M versions)

``--size`` is the number of dossiers (the simulators' year generator, 3-4 versions each),
written once to a CSV file (not timed). Measured on one fresh database (``chiso_bench_backfill``
on the server of ``--pg-url``; ./scripts/pg-setup starts one):

1. raw ``COPY`` of the CSV into a bare table (the baseline: what the machine allows);
2. the bulk backfill (``chiso.intake.bulk.backfill_csv``: staging COPY, checks, history and
   latest upserts);
3. the full recompute of every indicator over the loaded records
   (``chiso.measurement.recompute.recompute``, as ``chiso recompute`` runs it).

It prints each time, rows/s, the ratio to raw COPY, the total (2)+(3) and its linear
extrapolation to 30 million versions against the SPEC's 5-minute bar, and where the
recompute's time goes (the slowest feeds).
"""

from __future__ import annotations

import argparse
import os
import sys
import tempfile
import time
from pathlib import Path

from sqlalchemy import text

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT / "simulators"))
sys.path.insert(0, str(ROOT / "bench"))

from _common import bulk_backfill, raw_copy, year_csv  # noqa: E402
from _pg import fresh_pg  # noqa: E402

BAR_S = 300.0  # SPEC §4: ingested and all indicators computed in under 5 minutes
YEAR_VERSIONS = 30_000_000  # SPEC §4: a Hanoi-year, order of 30 million record versions


def recompute_all(engine: object) -> tuple[float, list[tuple[float, str]], int]:
    """Every indicator, as ``chiso recompute`` runs it (one transaction per feed); (seconds,
    per-feed seconds, n)."""
    from chiso.catalog.loader import load_catalog
    from chiso.measurement.recompute import recompute

    m = load_catalog().measurement
    assert m is not None, "the catalog has no indicator definitions"
    times: dict[str, float] = {}
    last = time.perf_counter()

    def progress(ind: object) -> None:
        nonlocal last
        now = time.perf_counter()
        feed = getattr(ind, "feed", "?")
        times[feed] = times.get(feed, 0.0) + now - last
        last = now

    start = time.perf_counter()
    done = recompute(engine, m, None, progress=progress)  # type: ignore[arg-type]
    return time.perf_counter() - start, [(s, f) for f, s in times.items()], done


def line(label: str, seconds: float, rows: int, copy_s: float) -> str:
    return (f"{label:<34}: {seconds:8.1f} s  {rows / seconds:10,.0f} rows/s  "
            f"ratio to raw COPY {copy_s / seconds:5.2f}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--size", type=int, default=100_000, help="dossiers in the year")
    parser.add_argument("--pg-url", default=os.environ.get(
        "CHISO_BENCH_PG_URL", "postgresql+psycopg://chiso:chiso@127.0.0.1:5432/chiso"),
        help="a PostgreSQL server (the run creates and uses --db on it)")
    parser.add_argument("--db", default="chiso_bench_backfill",
                        help="PostgreSQL database to (re)create for the run (several people "
                        "sharing the server: one each)")
    parser.add_argument("--top", type=int, default=3, help="slowest feeds to list")
    args = parser.parse_args()
    os.environ.setdefault("CHISO_PSEUDONYM_KEY", "bench")

    from chiso.catalog.loader import load_catalog
    from chiso.store import migrate
    from chiso.store.catalog_sync import sync_catalog
    from chiso.store.db import make_engine

    print(f"chiso backfill bench: {os.cpu_count()} cores, {args.size:,} dossiers", flush=True)
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "year.csv"
        rows, gen_s = year_csv(args.size, path)
        print(f"generated {rows:,} versions (asked for {args.size:,} dossiers) in {gen_s:.1f} s "
              f"({path.stat().st_size / 1e6:.0f} MB CSV; not timed below)", flush=True)
        engine = make_engine(fresh_pg(args.pg_url, args.db))
        migrate.upgrade(engine)
        sync_catalog(engine, load_catalog())

        copy_s = raw_copy(engine, path)
        print(line("(1) raw COPY into a bare table", copy_s, rows, copy_s), flush=True)
        result, bulk_s = bulk_backfill(engine, path)
        print(line("(2) bulk backfill (validated)", bulk_s, rows, copy_s)
              + f"\n      staging COPY + checks {result.seconds_copy:.1f} s, set-based upserts "
              f"{result.seconds_merge:.1f} s; {result.new_versions:,} versions, "
              f"{result.latest_changed:,} latest (dossiers)", flush=True)
        rec_s, per_indicator, n = recompute_all(engine)
        with engine.connect() as conn:
            state = conn.execute(text("SELECT (SELECT count(*) FROM m_day), "
                                      "(SELECT count(*) FROM m_distinct)")).one()
        print(line(f"(3) recompute of {n} indicators", rec_s, rows, copy_s)
              + f"\n      {state[0]:,} m_day rows, {state[1]:,} m_distinct rows; slowest: "
              + ", ".join(f"{code} {s:.2f} s" for s, code in
                          sorted(per_indicator, reverse=True)[:args.top]), flush=True)
        engine.dispose()

    total = bulk_s + rec_s
    factor = YEAR_VERSIONS / rows
    print(line("(2)+(3) backfill + recompute", total, rows, copy_s))
    print(f"extrapolated to {YEAR_VERSIONS:,} versions (x{factor:.1f}, linear): "
          f"raw COPY {copy_s * factor:,.0f} s, backfill {bulk_s * factor:,.0f} s, "
          f"recompute {rec_s * factor:,.0f} s, total {total * factor:,.0f} s "
          f"against the bar of {BAR_S:.0f} s: "
          + ("met" if total * factor < BAR_S else f"NOT met ({total * factor / BAR_S:.1f}x)"))


if __name__ == "__main__":
    main()
