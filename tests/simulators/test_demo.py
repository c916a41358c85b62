"""The live demo as a visitor runs it: after the backlog the tiles keep changing, and SIGTERM
(or a child dying) stops every process it started."""

from __future__ import annotations

import os
import signal
import time
from pathlib import Path

import pytest
from tests.simulators.demo_harness import Demo

from chiso_sim.demo import FEEDS

pytestmark = pytest.mark.slow  # the demo's setup starts seven chiso processes




def _alive(pid: int) -> bool:
    try:
        state = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
    except OSError:
        return False
    return state != "Z"


def test_tiles_keep_changing_after_the_backlog_and_sigterm_leaves_no_process(
        tmp_path: Path) -> None:
    demo = Demo(tmp_path, "--speed", "1800")
    try:
        demo.wait_for({f"{feed}: backlog sent" for feed in FEEDS}, seconds=900)
        children = demo.descendants()
        assert len(children) >= 2  # chiso serve and chiso pull
        before = demo.tiles()
        changed: set[str] = set()
        deadline = time.monotonic() + 120
        while not changed and time.monotonic() < deadline:
            time.sleep(3)
            now = demo.tiles()
            changed = {tile for tile, value in now.items() if before.get(tile) != value}
        assert changed, "no tile changed after the backlog"

        demo.proc.send_signal(signal.SIGTERM)
        assert demo.proc.wait(timeout=90) == 0
        assert not [pid for pid in children if _alive(pid)]
    finally:
        if demo.proc.poll() is None:
            demo.proc.kill()


def test_a_child_dying_stops_the_demo_and_its_other_processes(tmp_path: Path) -> None:
    demo = Demo(tmp_path, "--speed", "60")
    try:
        demo.wait_for({"Ctrl-C stops everything"}, seconds=900)
        children = demo.descendants()
        server = next(pid for pid in children
                      if b"serve" in Path(f"/proc/{pid}/cmdline").read_bytes())
        os.kill(server, signal.SIGKILL)
        assert demo.proc.wait(timeout=90) == 1
        assert not [pid for pid in children if _alive(pid)]
    finally:
        if demo.proc.poll() is None:
            demo.proc.kill()
