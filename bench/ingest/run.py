"""Intake benchmark: push-API throughput on SQLite and PostgreSQL, and the PostgreSQL bulk
backfill beside a raw COPY of the same rows into a bare table, in the same run.

    uv run python bench/ingest/run.py                 # small (default --size 50000)
    uv run python bench/ingest/run.py --size 5000000  # a Hanoi-year of dossiers

``--size`` is the number of dossiers of the backfill (each has about 3-4 versions);
``--push`` the number of record versions pushed through the API per database. PostgreSQL comes
from ./scripts/pg-setup (``--pg-url``); the run uses a database of its own (chiso_bench).
"""

from __future__ import annotations

import argparse
import itertools
import os
import subprocess
import sys
import tempfile
import threading
import time
from datetime import date
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT / "simulators"))
sys.path.insert(0, str(ROOT / "bench"))

from _common import CHISO, bulk_backfill, prepare, raw_copy, year_csv  # noqa: E402
from _pg import fresh_pg  # noqa: E402
from chiso_sim.hanoi import dossier_stream  # noqa: E402
from chiso_sim.servers import Pusher, free_port  # noqa: E402


def push_rate(url: str, n: int, clients: int, batch: int) -> float:
    """Records/s accepted and committed by ``chiso serve`` through the push API."""
    prepare(url)
    env = {**os.environ, "CHISO_DATABASE_URL": url, "CHISO_PSEUDONYM_KEY": "bench"}
    token = subprocess.run([CHISO, "sources", "add", "bench", "--feed", "tthc.dossier"], env=env,
                           check=True, capture_output=True, text=True).stdout.strip()
    port = free_port()
    server = subprocess.Popen([CHISO, "serve", "--port", str(port)], env=env,
                              stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    import httpx

    base = f"http://127.0.0.1:{port}"
    for _ in range(300):
        try:
            httpx.get(base + "/api/v1/feeds", timeout=1)
            break
        except httpx.HTTPError:
            time.sleep(0.1)
    records = list(itertools.islice(dossier_stream(42, date(2026, 3, 2), 60), n))
    shards = [records[i::clients] for i in range(clients)]
    pushers = [Pusher(base, token, "tthc.dossier", timeout=60) for _ in range(clients)]
    start = time.perf_counter()
    threads = [threading.Thread(target=p.run, args=(s, batch)) for p, s in zip(pushers, shards,
                                                                                strict=True)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    elapsed = time.perf_counter() - start
    server.terminate()
    server.wait()
    acked = sum(len(b) for p in pushers for b in p.acked)
    assert acked == len(records), f"only {acked} of {len(records)} acknowledged"
    return len(records) / elapsed


def bulk_vs_copy(pg_url: str, path: Path, rows: int) -> dict[str, float]:
    from chiso.store.db import make_engine

    prepare(pg_url)
    engine = make_engine(pg_url)
    copy_s = raw_copy(engine, path)
    result, bulk_s = bulk_backfill(engine, path)
    engine.dispose()
    return {"rows": rows, "copy_rows_s": rows / copy_s, "bulk_rows_s": rows / bulk_s,
            "copy_s": copy_s, "bulk_s": bulk_s, "bulk_copy_s": result.seconds_copy,
            "bulk_merge_s": result.seconds_merge, "new_versions": result.new_versions,
            "latest": result.latest_changed}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--size", type=int, default=50_000, help="dossiers in the backfill")
    parser.add_argument("--push", type=int, default=20_000, help="versions pushed per database")
    parser.add_argument("--clients", type=int, default=4)
    parser.add_argument("--batch", type=int, default=1000)
    parser.add_argument("--pg-url", default=os.environ.get(
        "CHISO_TEST_PG_URL", "postgresql+psycopg://chiso:chiso@127.0.0.1:5432/chiso_test"))
    parser.add_argument("--skip-push", action="store_true")
    args = parser.parse_args()

    print(f"chiso intake bench: {os.cpu_count()} cores, push {args.push} versions "
          f"({args.clients} clients, batches of {args.batch}), backfill {args.size} dossiers",
          flush=True)
    with tempfile.TemporaryDirectory() as tmp:
        if not args.skip_push:
            sqlite = push_rate(f"sqlite:///{tmp}/bench.db", args.push, args.clients, args.batch)
            print(f"push API, SQLite     : {sqlite:10,.0f} records/s", flush=True)
            pg = push_rate(fresh_pg(args.pg_url, "chiso_bench"), args.push, args.clients,
                           args.batch)
            print(f"push API, PostgreSQL : {pg:10,.0f} records/s", flush=True)
        path = Path(tmp) / "year.csv"
        rows, gen_s = year_csv(args.size, path)
        print(f"generated {rows:,} versions of {args.size:,} dossiers in {gen_s:.1f} s "
              f"({path.stat().st_size / 1e6:.0f} MB CSV; not timed below)", flush=True)
        r = bulk_vs_copy(fresh_pg(args.pg_url, "chiso_bench"), path, rows)
        print(f"raw COPY into a bare table : {r['copy_rows_s']:10,.0f} rows/s "
              f"({r['copy_s']:.1f} s)")
        print(f"bulk backfill (validated)  : {r['bulk_rows_s']:10,.0f} rows/s "
              f"({r['bulk_s']:.1f} s: COPY to staging + checks {r['bulk_copy_s']:.1f} s, "
              f"set-based upserts {r['bulk_merge_s']:.1f} s; {r['new_versions']:,} versions, "
              f"{r['latest']:,} latest)")
        print(f"ratio bulk / raw COPY      : {r['bulk_rows_s'] / r['copy_rows_s']:.2f} "
              "(goal >= 0.5)")


if __name__ == "__main__":
    main()
