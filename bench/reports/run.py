"""Reports benchmark: the city's monthly report (DOCX, XLSX and PDF) on the full Hanoi
dataset, beside baselines measured in the same run; then unit monthly reports, per-report
median and the figure for all of them.

    uv run python bench/reports/run.py                                  # SQLite, scale 0.1
    uv run python bench/reports/run.py --scale 1 --backend postgresql
    uv run python bench/reports/run.py --scale 1 --backend postgresql \\
        --template chiso_bench_hanoi_postgresql_s1_seed2026_20261204_4c5adcde

The dataset is ``bench/_dataset.py``'s (built or found in its cache). ``--template`` (PostgreSQL)
copies an already built dataset database instead (``CREATE DATABASE … TEMPLATE``, which reads
it only), for a run whose migrations differ from the cached build's. The copy is migrated,
measured and dropped. Baselines: a sequential scan of the dossier versions (``count(*)``) and
gathering the report's figures without writing any file. Bar (SPEC C8): the city's monthly
report ≤ 10 s, as an official asks for it: the first build in a started service (which loads
the forecasting models at start, ``chiso.stat_models.load``, timed apart) and
again.
"""

from __future__ import annotations

import argparse
import os
import shutil
import statistics
import sys
import tempfile
import time
from datetime import date
from pathlib import Path

from sqlalchemy import create_engine, text
from sqlalchemy.engine import make_url

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "simulators"))

from bench._dataset import DEFAULT_PG_URL, add_arguments, ensure  # noqa: E402

from chiso import stat_models  # noqa: E402
from chiso.config import Settings  # noqa: E402
from chiso.reports.build import build, issuing_units  # noqa: E402
from chiso.reports.content import gather  # noqa: E402
from chiso.runtime import open_runtime  # noqa: E402

BAR_SECONDS = 10.0


def _copy(template: str) -> tuple[str, str]:
    name = f"chiso_bench_reports_{os.getpid()}"
    admin = create_engine(make_url(DEFAULT_PG_URL).set(database="postgres"),
                          isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(text(f'DROP DATABASE IF EXISTS "{name}"'))
        conn.execute(text(f'CREATE DATABASE "{name}" TEMPLATE "{template}"'))
    admin.dispose()
    return make_url(DEFAULT_PG_URL).set(database=name).render_as_string(
        hide_password=False), name


def _drop(name: str) -> None:
    admin = create_engine(make_url(DEFAULT_PG_URL).set(database="postgres"),
                          isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
    admin.dispose()


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    add_arguments(parser)
    parser.add_argument("--template", help="PostgreSQL: copy this built dataset database")
    parser.add_argument("--period", default="2026-11", help="the month reported on")
    parser.add_argument("--units", type=int, default=10,
                        help="unit reports to time (0: every issuing unit)")
    parser.add_argument("--keep", type=Path, help="copy the city's report and the first unit's "
                        "(DOCX, XLSX, PDF) into this folder")
    args = parser.parse_args()
    copied = None
    if args.template:
        url, copied = _copy(args.template)
        print(f"dataset: a copy of {args.template}", flush=True)
    else:
        ds = ensure(args.scale, args.backend, args.seed)
        print(ds.describe(), flush=True)
        url = ds.url
    try:
        rt = open_runtime(Settings(database_url=url, scores_follow=False,
                                   reports_schedule=False))
        t = time.perf_counter()
        rt.start()  # as a serving process does: its services load the models
        stat_models.load()  # returns once the service's import is done
        print(f"service start: forecasting models loaded in {time.perf_counter() - t:.2f} s "
              "(before any report)", flush=True)
        with rt.engine.connect() as conn:
            t = time.perf_counter()
            versions = conn.execute(text("SELECT count(*) FROM feed_tthc_dossier_versions")
                                    ).scalar_one()
            scan = time.perf_counter() - t
        print(f"baseline  count(*) over {versions:,} dossier versions: {scan:.2f} s")
        issued = date.fromisoformat(f"{args.period}-01")
        with tempfile.TemporaryDirectory(prefix="chiso-bench-reports-") as folder:
            out = Path(folder)
            t = time.perf_counter()
            first = build(rt, "monthly", args.period, "city", out / "a", issued=issued)
            cold = time.perf_counter() - t
            t = time.perf_counter()
            gather(rt, "monthly", args.period, "city")
            figures = time.perf_counter() - t
            t = time.perf_counter()
            build(rt, "monthly", args.period, "city", out / "b", issued=issued)
            warm = time.perf_counter() - t
            sizes = ", ".join(f"{p.suffix[1:]} {p.stat().st_size / 1024:,.0f} KiB"
                              for p in first.paths[:3])
            print(f"baseline  the city's figures gathered (no file written): {figures:.2f} s")
            print(f"city monthly report {args.period}, DOCX + XLSX + PDF ({sizes}): "
                  f"first {cold:.2f} s, again {warm:.2f} s (bar {BAR_SECONDS:g} s: "
                  f"{'met' if max(cold, warm) <= BAR_SECONDS else 'NOT met'})", flush=True)
            units = [u for u in issuing_units(rt, "monthly") if u != "city"]
            timed = units if args.units == 0 else units[:: max(1, len(units) // args.units)]
            times = []
            for i, code in enumerate(timed):
                t = time.perf_counter()
                build(rt, "monthly", args.period, code, out / f"u{i}", issued=issued)
                times.append(time.perf_counter() - t)
            if args.keep:
                args.keep.mkdir(parents=True, exist_ok=True)
                for p in [*first.paths[:3], *sorted((out / "u0").rglob("*.*"))]:
                    shutil.copy2(p, args.keep / p.name)
                print(f"kept in {args.keep}: the city's report and a unit's")
            median = statistics.median(times)
            print(f"unit monthly reports: {len(times)} of {len(units)} timed, median "
                  f"{median:.2f} s, max {max(times):.2f} s; all {len(units)} ≈ "
                  f"{median * len(units) / 60:.1f} min at the median")
        rt.stop()
        rt.engine.dispose()
    finally:
        if copied:
            _drop(copied)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
