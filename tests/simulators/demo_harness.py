"""The demo (``chiso_sim.demo``) started as its own process, for the tests that watch it."""

from __future__ import annotations

import json
import os
import queue
import subprocess
import sys
import threading
import time
from pathlib import Path

import httpx

from chiso_sim.servers import free_port

ROOT = Path(__file__).resolve().parents[2]


class Demo:
    """``python -m chiso_sim.demo`` with its output read line by line."""

    def __init__(self, tmp_path: Path, *args: str) -> None:
        self.port = free_port()
        env = {**os.environ, "PYTHONPATH": str(ROOT / "simulators"),
               "CHISO_DASHBOARD_FOLLOW": "1", "CHISO_SCORES_FOLLOW": "1"}
        env.pop("CHISO_RANKINGS_RECHECK", None)
        env.pop("CHISO_BOUNDARIES_DIR", None)
        self.proc = subprocess.Popen(
            [sys.executable, "-m", "chiso_sim.demo", "--db", str(tmp_path / "demo.db"),
             "--port", str(self.port), "--days", "2", "--scale", "0.02", "--every", "2", *args],
            cwd=ROOT, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
        self.lines: queue.Queue[str] = queue.Queue()
        self.seen: list[str] = []
        threading.Thread(target=self._read, daemon=True).start()

    def _read(self) -> None:
        assert self.proc.stdout is not None
        for line in self.proc.stdout:
            self.lines.put(line.rstrip("\n"))

    def wait_for(self, done: set[str], seconds: float) -> None:
        """Read lines until every text of ``done`` has appeared in one."""
        deadline = time.monotonic() + seconds
        missing = set(done)
        while missing:
            left = deadline - time.monotonic()
            assert left > 0, "\n".join(self.seen)
            assert self.proc.poll() is None, "\n".join(self.seen)
            try:
                line = self.lines.get(timeout=min(left, 1))
            except queue.Empty:
                continue
            self.seen.append(line)
            missing = {text for text in missing if text not in line}

    def descendants(self) -> set[int]:
        """Every process under the demo (its children start sessions of their own)."""
        parents: dict[int, int] = {}
        for stat in Path("/proc").glob("[0-9]*/stat"):
            try:
                fields = stat.read_text().rsplit(")", 1)[1].split()
            except OSError:
                continue
            parents[int(stat.parent.name)] = int(fields[1])
        found: set[int] = set()
        frontier = {self.proc.pid}
        while frontier:
            frontier = {pid for pid, ppid in parents.items() if ppid in frontier} - found
            found |= frontier
        return found

    def tiles(self) -> dict[str, object]:
        board = httpx.get(f"http://127.0.0.1:{self.port}/api/v1/dashboard", timeout=30).json()
        return {t["id"]: json.dumps([t.get("value"), t.get("records")])
                for g in board["groups"] for t in g["tiles"]}
