"""The full Hanoi dataset the read benchmarks (``bench/api``, ``bench/page``) measure on, and a
chiso server serving it.

The dataset is a Hanoi-year's shape: all 126 communes and the departments, every day from
2026-01-05 to the day before today (Vietnam time), every feed (dossiers, iHanoi feedback,
e-office documents, meetings, published statistics) from the simulators
(``simulators/chiso_sim/hanoi.py``, seed ``--seed``). Records go in through chiso's real doors:

* SQLite: the push API (``POST /api/v1/feeds/{feed}/records`` with a source token from
  ``chiso sources add``) of a ``uvicorn`` chiso started for the build, batches of 2,000;
* PostgreSQL: the bulk backfill (``chiso.intake.bulk.backfill_csv``, as ``bench/backfill``
  drives it), one streamed CSV per feed, into a fresh database (``bench/_pg.py``); except
  ``stats.value``, which goes through the push API as on SQLite (the bulk path leaves the
  versions table's ``manual`` column NULL for that feed and PostgreSQL refuses it).

Then ``chiso recompute`` (every indicator's day state) and ``chiso scores compute`` for the
periods the dashboard shows (this month and the one before, this quarter and the one before,
the year to date).

``--scale`` multiplies the dossier volume only (the simulators' ``scale``: 1 is about 4,000
dossiers a working day: 735,000 dossiers and 2.4 million versions up to 2026-11-23; the
SPEC's Hanoi-year is about 5 million dossiers, seven times that). The other feeds are
always at their full simulated volume.

The built database is cached under ``var/bench/datasets/`` (gitignored), keyed by backend,
scale, seed, the last day and a fingerprint of the schema migrations and the catalog data, so a
second run starts in seconds. A key's manifest (``<key>.json``) is written last: a database
without one is an interrupted build and is built again.

    uv run python -m bench._dataset --scale 0.1 --backend sqlite   # build (or find) and print
"""

from __future__ import annotations

import argparse
import contextlib
import hashlib
import json
import os
import queue
import re
import socket
import subprocess
import sys
import threading
import time
from collections.abc import Callable, Iterable, Iterator
from dataclasses import asdict, dataclass, field
from datetime import date, datetime, timedelta
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import httpx

ROOT = Path(__file__).resolve().parents[1]
if str(ROOT / "simulators") not in sys.path:
    sys.path.insert(0, str(ROOT / "simulators"))

from chiso_sim.hanoi import (  # noqa: E402
    DEPARTMENTS,
    communes,
    document_versions,
    dossier_stream,
    feedback_versions,
    is_working_day,
    meeting_versions,
    profiles,
    stats_values,
)

CHISO = str(Path(sys.executable).parent / "chiso")
CACHE = ROOT / "var" / "bench" / "datasets"
START = date(2026, 1, 5)
VN = ZoneInfo("Asia/Ho_Chi_Minh")
DEFAULT_SCALE = 0.1
DEFAULT_SEED = 2026
DEFAULT_PG_URL = os.environ.get(
    "CHISO_BENCH_PG_URL", "postgresql+psycopg://chiso:chiso@127.0.0.1:5432/chiso")
FEEDS = ["tthc.dossier", "ihanoi.feedback", "eoffice.document", "meetings.meeting",
         "stats.value"]
PUSH_BATCH = 2000
# Feeds the PostgreSQL build sends through the bulk backfill; the others go through the push API.
BULK_FEEDS = ["tthc.dossier", "ihanoi.feedback", "eoffice.document", "meetings.meeting"]


def today_vn() -> date:
    return datetime.now(VN).date()


@dataclass
class Dataset:
    key: str
    backend: str
    url: str
    scale: float
    seed: int
    start: str
    end: str  # the last day fed (inclusive)
    periods: list[str]
    counts: dict[str, Any] = field(default_factory=dict)
    build_seconds: dict[str, float] = field(default_factory=dict)
    built_at: str = ""

    def describe(self) -> str:
        c = self.counts
        feeds = ", ".join(f"{f} {n['records']:,}/{n['versions']:,}"
                          for f, n in c.get("feeds", {}).items())
        built = " + ".join(f"{k} {v:.0f} s" for k, v in self.build_seconds.items())
        return (f"dataset {self.key} ({self.backend}, scale {self.scale:g}, seed {self.seed}, "
                f"{self.start} .. {self.end}):\n"
                f"  {c.get('records', 0):,} records, {c.get('versions', 0):,} versions "
                f"[records/versions per feed: {feeds}]\n"
                f"  {c.get('m_day', 0):,} day-state rows (m_day), {c.get('m_distinct', 0):,} "
                f"m_distinct rows, {c.get('scores', 0):,} scores ({', '.join(self.periods)}); "
                f"database {c.get('bytes', 0) / 2**20:,.0f} MiB; built in {built}")


# -- the cache key ------------------------------------------------------------------------------

def fingerprint() -> str:
    """Schema migrations and catalog data: a change to either makes a new dataset."""
    h = hashlib.sha256()
    for base in (ROOT / "src" / "chiso" / "store" / "migrations" / "versions",
                 ROOT / "src" / "chiso" / "data"):
        for p in sorted(base.rglob("*")):
            if p.is_file() and "__pycache__" not in p.parts:
                h.update(str(p.relative_to(ROOT)).encode())
                h.update(p.read_bytes())
    return h.hexdigest()[:8]


def dataset_key(backend: str, scale: float, seed: int, end: date) -> str:
    return f"hanoi-{backend}-s{scale:g}-seed{seed}-{end:%Y%m%d}-{fingerprint()}"


def dashboard_periods(today: date) -> list[str]:
    """This month and the previous one, this quarter and the previous one, the year to date."""
    y, m = today.year, today.month
    q = (m - 1) // 3 + 1
    prev_m = f"{y - 1}-12" if m == 1 else f"{y}-{m - 1:02d}"
    prev_q = f"{y - 1}-Q4" if q == 1 else f"{y}-Q{q - 1}"
    return [f"{y}-{m:02d}", prev_m, f"{y}-Q{q}", prev_q, f"{y}-YTD"]


# -- the records --------------------------------------------------------------------------------

def feed_records(feed: str, seed: int, scale: float, days: int,
                 end: date) -> Iterator[dict[str, Any]]:
    if feed == "tthc.dossier":
        return dossier_stream(seed, START, days, scale=scale)
    if feed == "ihanoi.feedback":
        return feedback_versions(seed, START, days)
    if feed == "eoffice.document":
        return document_versions(seed, START, days)
    if feed == "meetings.meeting":
        return meeting_versions(seed, START, days)
    # Monthly statistics for every month already published (35 days after the month starts).
    months = max(1, end.month - 1) if end.year == START.year else 12
    return stats_values(seed, START.year, months)


def estimate(feed: str, seed: int, scale: float, days: int, end: date) -> int:
    """About how many versions a feed sends (for the progress bar only)."""
    working = sum(is_working_day(START + timedelta(n)) for n in range(days))
    if feed == "tthc.dossier":
        return int(sum(p.size for p in profiles(seed)) * scale * working * 3.25)
    if feed == "ihanoi.feedback":
        return int(len(communes()) * 1.5 * days * 2)
    if feed == "eoffice.document":
        return int((len(communes()) + len(DEPARTMENTS)) * 2 * working)
    if feed == "meetings.meeting":
        return int((len(communes()) + len(DEPARTMENTS)) * 0.3 * working)
    return len(communes()) * (max(1, end.month - 1) if end.year == START.year else 12)


# -- a chiso server -----------------------------------------------------------------------------

def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def chiso_env(url: str, **extra: str) -> dict[str, str]:
    env = {**os.environ, "CHISO_DATABASE_URL": url, **extra}
    env.setdefault("CHISO_PSEUDONYM_KEY", "bench")
    return env


def run_chiso(url: str, *args: str, show: bool = False) -> str:
    """A ``chiso`` command on the dataset's database; its output is shown when ``show``."""
    done = subprocess.run([CHISO, *args], env=chiso_env(url, COLUMNS="100"), cwd=ROOT, text=True,
                          stdout=None if show else subprocess.PIPE, stderr=subprocess.PIPE,
                          check=False)
    if done.returncode != 0:
        raise SystemExit(f"chiso {' '.join(args)} failed ({done.returncode}): {done.stderr}")
    return done.stdout or ""


@dataclass
class Server:
    url: str
    proc: subprocess.Popen[bytes]

    @property
    def pid(self) -> int:
        return self.proc.pid

    def rss(self) -> tuple[int, int]:
        """(resident bytes now, peak resident bytes) of the server process (VmRSS, VmHWM)."""
        return rss_of(self.pid)


def rss_of(pid: int) -> tuple[int, int]:
    now = peak = 0
    with contextlib.suppress(OSError), open(f"/proc/{pid}/status") as f:
        for line in f:
            if line.startswith("VmRSS:"):
                now = int(line.split()[1]) * 1024
            elif line.startswith("VmHWM:"):
                peak = int(line.split()[1]) * 1024
    return now, peak


@contextlib.contextmanager
def serve(url: str, *, follow: bool = False, log: Path | None = None,
          board: bool = True, workers: int = 1) -> Iterator[Server]:
    """chiso as production runs it, ``chiso serve --workers N`` on loopback (on PostgreSQL:
    N serving processes and a work process), on the database ``url``, in a process of its own;
    yields when ``/api/v1/health`` answers. ``board`` False: no dashboard follower (its first
    refresh, before the server answers, computes live rankings over every record when no score
    is stored yet)."""
    port = free_port()
    env = chiso_env(url, CHISO_SCORES_FOLLOW="1" if follow else "0",
                    CHISO_DASHBOARD_FOLLOW="1" if board else "0")
    out = open(log, "ab") if log else subprocess.DEVNULL  # noqa: SIM115
    cmd = [CHISO, "serve", "--port", str(port), "--workers", str(workers)]
    proc = subprocess.Popen(cmd, env=env, cwd=ROOT, stdout=out, stderr=out)
    base = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 600  # a loaded machine imports slowly
        while True:
            try:
                if httpx.get(f"{base}/api/v1/health", timeout=2).status_code == 200:
                    break
            except httpx.HTTPError:
                pass
            if proc.poll() is not None:
                raise SystemExit(f"chiso exited while starting (code {proc.returncode})"
                                 + (f"; see {log}" if log else ""))
            if time.monotonic() > deadline:
                raise SystemExit("chiso did not answer /api/v1/health within 600 s")
            time.sleep(0.2)
        yield Server(base, proc)
    finally:
        proc.terminate()
        try:
            proc.wait(timeout=15)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()
        if log and not isinstance(out, int):
            out.close()


# -- building -----------------------------------------------------------------------------------

def _progress() -> Any:
    from rich.progress import (
        BarColumn,
        MofNCompleteColumn,
        Progress,
        TaskProgressColumn,
        TextColumn,
        TimeElapsedColumn,
    )
    return Progress(TextColumn("[bold]{task.description:<18}"), BarColumn(),
                    MofNCompleteColumn(), TaskProgressColumn(), TextColumn("{task.fields[rate]}"),
                    TimeElapsedColumn())


def _counted(records: Iterable[dict[str, Any]], tick: Callable[[int], None],
             every: int = 5000) -> Iterator[dict[str, Any]]:
    n = 0
    for r in records:
        yield r
        n += 1
        if n % every == 0:
            tick(every)
    tick(n % every)


def _push_feeds(url: str, seed: int, scale: float, days: int, end: date,
                feeds: list[str]) -> None:
    """``feeds`` through the push API of a chiso server started for the build."""
    from chiso_sim.servers import Pusher, batches

    tokens = {feed: run_chiso(url, "sources", "add", f"bench-{feed}", "--feed", feed)
              .strip().splitlines()[-1] for feed in feeds}
    with serve(url, log=CACHE / "build-server.log", board=False) as server, _progress() as bar:
        for feed in feeds:
            total = estimate(feed, seed, scale, days, end)
            task = bar.add_task(feed, total=total, rate="")
            pusher = Pusher(server.url, tokens[feed], feed, timeout=300)
            pending: queue.Queue[list[dict[str, Any]] | None] = queue.Queue(maxsize=2)
            failed: list[str] = []
            t0 = time.perf_counter()
            sent = 0

            def post(p: Pusher = pusher, q: queue.Queue[Any] = pending,
                     errs: list[str] = failed) -> None:
                while (batch := q.get()) is not None:
                    if p.push(batch) is None:
                        errs.append(json.dumps(p.refused[-1] if p.refused else "stopped")[:300])
                    p.acked.clear()  # Pusher keeps acknowledged batches; the build does not

            worker = threading.Thread(target=post, daemon=True)
            worker.start()
            for batch in batches(feed_records(feed, seed, scale, days, end), PUSH_BATCH):
                pending.put(batch)
                sent += len(batch)
                rate = sent / (time.perf_counter() - t0)
                bar.update(task, completed=sent, total=max(total, sent),
                           rate=f"{rate:,.0f} rec/s")
                if failed:
                    break
            pending.put(None)
            worker.join()
            if failed:
                raise SystemExit(f"{feed}: a batch was refused: {failed[0]}")
            bar.update(task, completed=sent, total=sent)


def _bulk_feeds(url: str, seed: int, scale: float, days: int, end: date,
                feeds: list[str]) -> None:
    """``feeds`` through the bulk backfill (PostgreSQL; a streamed CSV, one batch per feed)."""
    from chiso.catalog.loader import load_catalog
    from chiso.intake.bulk import backfill_csv
    from chiso.store.db import make_engine
    from chiso_sim.files import contract_csv_chunks

    engine = make_engine(url)
    units = frozenset(load_catalog().units.units)
    with _progress() as bar:
        for feed in feeds:
            total = estimate(feed, seed, scale, days, end)
            task = bar.add_task(feed, total=total, rate="")
            t0 = time.perf_counter()
            sent = 0

            def tick(n: int, task: Any = task, t0: float = t0, total: int = total) -> None:
                nonlocal sent
                sent += n
                bar.update(task, completed=sent, total=max(total, sent),
                           rate=f"{sent / (time.perf_counter() - t0):,.0f} rec/s")

            contract = load_catalog().contract(feed)
            records = _counted(feed_records(feed, seed, scale, days, end), tick)
            backfill_csv(engine, contract, "backfill",
                         contract_csv_chunks(records, list(contract.fields), 20_000),
                         f"bench-{feed}.csv", units)
            bar.update(task, total=sent, rate=f"{sent / (time.perf_counter() - t0):,.0f} "
                       "rec/s (COPY + merge)")
    engine.dispose()


def count(url: str) -> dict[str, Any]:
    from sqlalchemy import func, select, text

    from chiso.store.db import make_engine
    from chiso.store.tables import FEED_TABLES, m_day, m_distinct, scores

    engine = make_engine(url)
    out: dict[str, Any] = {"feeds": {}}
    with engine.connect() as conn:
        for feed, (latest, versions) in FEED_TABLES.items():
            out["feeds"][feed] = {
                "records": conn.execute(select(func.count()).select_from(latest)).scalar_one(),
                "versions": conn.execute(select(func.count()).select_from(versions))
                .scalar_one()}
        out["records"] = sum(f["records"] for f in out["feeds"].values())
        out["versions"] = sum(f["versions"] for f in out["feeds"].values())
        for name, table in (("m_day", m_day), ("m_distinct", m_distinct), ("scores", scores)):
            out[name] = conn.execute(select(func.count()).select_from(table)).scalar_one()
        if engine.dialect.name == "postgresql":
            out["bytes"] = conn.execute(text("SELECT pg_database_size(current_database())"))\
                .scalar_one()
    engine.dispose()
    if url.startswith("sqlite:///"):
        path = Path(url.removeprefix("sqlite:///"))
        out["bytes"] = sum(p.stat().st_size for p in path.parent.glob(path.name + "*"))
    return out


def _prune(backend: str, scale: float, seed: int, keep: str, pg_url: str) -> None:
    """Remove older builds of the same backend, scale and seed (other days or fingerprints)."""
    prefix = f"hanoi-{backend}-s{scale:g}-seed{seed}-"
    for manifest in CACHE.glob(prefix + "*.json"):
        key = manifest.stem
        if key == keep:
            continue
        if backend == "sqlite":
            for p in CACHE.glob(key + ".db*"):
                p.unlink(missing_ok=True)
        else:
            with contextlib.suppress(Exception):
                _drop_pg(pg_url, _pg_name(key))
        manifest.unlink(missing_ok=True)


def _pg_name(key: str) -> str:
    return "chiso_bench_" + re.sub(r"[^a-z0-9]+", "_", key.lower())[:50]


def _drop_pg(url: str, name: str) -> None:
    from sqlalchemy import create_engine, text
    from sqlalchemy.engine import make_url

    admin = create_engine(make_url(url).set(database="postgres"), isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
    admin.dispose()


def _pg_exists(url: str, name: str) -> bool:
    from sqlalchemy import create_engine, text
    from sqlalchemy.engine import make_url

    admin = create_engine(make_url(url).set(database="postgres"))
    with admin.connect() as conn:
        found = conn.execute(text("SELECT 1 FROM pg_database WHERE datname = :n"),
                             {"n": name}).first()
    admin.dispose()
    return found is not None


def ensure(scale: float = DEFAULT_SCALE, backend: str = "sqlite", seed: int = DEFAULT_SEED,
           pg_url: str = DEFAULT_PG_URL, rebuild: bool = False) -> Dataset:
    """The dataset for (backend, scale, seed, yesterday): from the cache, else built now."""
    from bench._pg import fresh_pg

    today = today_vn()
    end = today - timedelta(days=1)
    days = (today - START).days
    key = dataset_key(backend, scale, seed, end)
    CACHE.mkdir(parents=True, exist_ok=True)
    manifest = CACHE / f"{key}.json"
    if backend == "sqlite":
        db = CACHE / f"{key}.db"
        url = f"sqlite:///{db}"
    else:
        from sqlalchemy.engine import make_url
        url = make_url(pg_url).set(database=_pg_name(key)).render_as_string(hide_password=False)
    if manifest.exists() and not rebuild and (
            (backend == "sqlite" and db.exists())
            or (backend == "postgresql" and _pg_exists(pg_url, _pg_name(key)))):
        found = Dataset(**json.loads(manifest.read_text()))
        found.url = url
        return found

    print(f"building dataset {key}: {days} days from {START} to {end}, dossier scale {scale:g}"
          f" ({'push API' if backend == 'sqlite' else 'bulk backfill'}); cached in {CACHE}",
          flush=True)
    manifest.unlink(missing_ok=True)
    if backend == "sqlite":
        for p in CACHE.glob(key + ".db*"):
            p.unlink()
    else:
        url = fresh_pg(pg_url, _pg_name(key))
    ds = Dataset(key, backend, url, scale, seed, START.isoformat(), end.isoformat(),
                 dashboard_periods(today))
    t = time.perf_counter()
    run_chiso(url, "db", "upgrade")
    if backend == "sqlite":
        _push_feeds(url, seed, scale, days, end, FEEDS)
    else:
        _bulk_feeds(url, seed, scale, days, end, BULK_FEEDS)
        _push_feeds(url, seed, scale, days, end, [f for f in FEEDS if f not in BULK_FEEDS])
    ds.build_seconds["ingest"] = time.perf_counter() - t
    t = time.perf_counter()
    print("chiso recompute", flush=True)
    run_chiso(url, "recompute", show=True)
    ds.build_seconds["recompute"] = time.perf_counter() - t
    t = time.perf_counter()
    print(f"chiso scores compute {' '.join('-p ' + p for p in ds.periods)}", flush=True)
    run_chiso(url, "scores", "compute", *(a for p in ds.periods for a in ("-p", p)), show=True)
    ds.build_seconds["scores"] = time.perf_counter() - t
    ds.counts = count(url)
    ds.built_at = datetime.now(VN).isoformat(timespec="seconds")
    manifest.write_text(json.dumps(asdict(ds), indent=1))
    _prune(backend, scale, seed, key, pg_url)
    return ds


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--scale", type=float, default=DEFAULT_SCALE,
                        help="dossier volume, a fraction of the simulators' full Hanoi "
                        f"(~4,000 dossiers/working day at 1; default {DEFAULT_SCALE:g})")
    parser.add_argument("--backend", choices=["sqlite", "postgresql"], default="sqlite")
    parser.add_argument("--seed", type=int, default=DEFAULT_SEED)
    parser.add_argument("--pg-url", default=DEFAULT_PG_URL,
                        help="a PostgreSQL server (the dataset gets a database of its own on it;"
                        " ./scripts/pg-setup starts one)")
    parser.add_argument("--rebuild", action="store_true", help="ignore the cached dataset")


def from_args(args: argparse.Namespace) -> Dataset:
    return ensure(args.scale, args.backend, args.seed, args.pg_url, args.rebuild)


def main() -> None:
    parser = argparse.ArgumentParser(description="Build (or find in the cache) the full Hanoi "
                                     "dataset of the read benchmarks and print its size.")
    add_arguments(parser)
    ds = from_args(parser.parse_args())
    print(ds.describe())


if __name__ == "__main__":
    main()
