"""What the benchmarks share beside the database: the Hanoi-year of dossier versions (from the
simulators' year generator), its CSV file, and the two PostgreSQL loads of that file: a raw
``COPY`` into a bare table (the baseline) and the product's bulk backfill."""

from __future__ import annotations

import functools
import os
import shutil
import subprocess
import sys
import time
from collections.abc import Iterator
from datetime import date
from pathlib import Path
from typing import Any

from sqlalchemy import Engine, text

ROOT = Path(__file__).resolve().parents[1]
if str(ROOT / "simulators") not in sys.path:
    sys.path.insert(0, str(ROOT / "simulators"))

from chiso_sim.files import contract_csv_chunks  # noqa: E402
from chiso_sim.hanoi import dossier_stream  # noqa: E402

CHISO = shutil.which("chiso") or str(Path(sys.executable).parent / "chiso")
DOSSIERS_PER_YEAR = 850_000  # what the generator makes in a year at scale 1



@functools.cache
def feed_contract(feed: str) -> Any:
    """A feed's contract, as the shipped catalog holds it."""
    from chiso.catalog.loader import load_catalog

    return load_catalog().contract(feed)

def prepare(url: str) -> None:
    """``chiso db upgrade`` on ``url``."""
    env = {**os.environ, "CHISO_DATABASE_URL": url}
    subprocess.run([CHISO, "db", "upgrade"], env=env, check=True, capture_output=True)


def dossier_year(size: int) -> Iterator[dict[str, Any]]:
    """Every version of the first ``size`` dossiers of a generated Hanoi-year (2026)."""
    scale = max(size / DOSSIERS_PER_YEAR, 0.01)
    ids: set[str] = set()
    for record in dossier_stream(2026, date(2026, 1, 1), 365, scale=scale):
        if record["id"] not in ids:
            if len(ids) >= size:
                return
            ids.add(record["id"])
        yield record


def year_csv(size: int, path: Path) -> tuple[int, float]:
    """Write ``size`` dossiers' versions as a CSV file; returns (rows, seconds)."""

    fields = list(feed_contract("tthc.dossier").fields)
    start = time.perf_counter()
    rows = 0

    def counted() -> Iterator[dict[str, Any]]:
        nonlocal rows
        for record in dossier_year(size):
            rows += 1
            yield record

    with path.open("wb") as f:
        for chunk in contract_csv_chunks(counted(), fields, 50_000):
            f.write(chunk)
    return rows, time.perf_counter() - start


def file_chunks(path: Path, size: int = 1 << 20) -> Iterator[bytes]:
    with path.open("rb") as f:
        while chunk := f.read(size):
            yield chunk


def raw_copy(engine: Engine, path: Path) -> float:
    """Seconds to ``COPY`` the CSV into a bare table typed like the dossier contract (no
    index, no check); the table is dropped afterwards."""

    contract = feed_contract("tthc.dossier")
    types = {"int": "integer", "number": "double precision", "bool": "boolean",
             "datetime": "timestamptz"}
    cols = ", ".join(f'"{f}" {types.get(s.type.value, "text")}'
                     for f, s in contract.fields.items())
    quoted = ", ".join(f'"{f}"' for f in contract.fields)
    with engine.begin() as conn:
        conn.execute(text(f"DROP TABLE IF EXISTS bench_raw_copy; CREATE TABLE bench_raw_copy "
                          f"({cols})"))
    start = time.perf_counter()
    with engine.begin() as conn:
        raw = conn.connection.driver_connection
        assert raw is not None
        with raw.cursor().copy(f"COPY bench_raw_copy ({quoted}) FROM STDIN WITH (FORMAT csv, "
                               "HEADER true)") as copy:
            for chunk in file_chunks(path):
                copy.write(chunk)
    seconds = time.perf_counter() - start
    with engine.begin() as conn:
        conn.execute(text("DROP TABLE bench_raw_copy"))
    return seconds


def bulk_backfill(engine: Engine, path: Path) -> tuple[Any, float]:
    """The product's bulk path (``chiso.intake.bulk.backfill_csv``) over the CSV; returns its
    ``BulkResult`` and the seconds it took."""
    from chiso.catalog.loader import load_catalog
    from chiso.intake.bulk import backfill_csv

    units = frozenset(load_catalog().units.units)
    start = time.perf_counter()
    result = backfill_csv(engine, feed_contract("tthc.dossier"), "backfill", file_chunks(path),
                          path.name, units)
    return result, time.perf_counter() - start
