"""The demo as a visitor watches it in Chromium: the demo's own setup (``python -m
chiso_sim.demo``: chiso, the simulated systems, the pull connector) runs a few minutes of
simulated time; once the backlog is sent, the open dashboard's tiles keep changing without a
reload."""

from __future__ import annotations

import signal
from pathlib import Path

import pytest
from playwright.sync_api import Page
from tests.simulators.demo_harness import Demo

from chiso_sim.demo import FEEDS

pytestmark = [pytest.mark.browser, pytest.mark.slow]

VALUES = """() => Object.fromEntries([...document.querySelectorAll('[data-tile]')]
    .map(t => [t.dataset.tile, t.dataset.value]))"""


def test_the_open_dashboard_keeps_changing_after_the_demos_backlog(page: Page, tmp_path: Path
                                                                   ) -> None:
    demo = Demo(tmp_path, "--speed", "1800")  # half an hour of the city a second
    try:
        demo.wait_for({f"{feed}: backlog sent" for feed in FEEDS}, seconds=900)
        page.goto(f"http://127.0.0.1:{demo.port}/")
        page.wait_for_selector(".board[data-state=ready]")
        page.evaluate("window.__notReloaded = true")
        before = page.evaluate(VALUES)
        # The live records reach the page through the tile stream: some tile's value moves.
        page.wait_for_function(
            f"before => Object.entries(({VALUES})()).some(([id, v]) => before[id] !== v)",
            arg=before, timeout=180_000)
        assert page.evaluate("window.__notReloaded") is True
        changed = {k for k, v in page.evaluate(VALUES).items() if before.get(k) != v}
        assert changed
    finally:
        demo.proc.send_signal(signal.SIGTERM)
        try:
            demo.proc.wait(timeout=90)
        finally:
            if demo.proc.poll() is None:
                demo.proc.kill()
