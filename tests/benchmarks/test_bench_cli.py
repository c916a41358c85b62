"""The read benchmarks (bench/api, bench/page) start and describe themselves; they are run by
hand (bench/README.md), never here."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]


@pytest.mark.parametrize("module", ["bench.api", "bench.page", "bench._dataset"])
def test_help(module: str) -> None:
    done = subprocess.run([sys.executable, "-m", module, "--help"], cwd=ROOT,
                          capture_output=True, text=True, check=False, timeout=120)
    assert done.returncode == 0, done.stderr
    assert "--scale" in done.stdout
    assert "--backend" in done.stdout
