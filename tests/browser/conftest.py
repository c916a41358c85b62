"""A live chiso server fed by the simulators, and Debian's Chromium driven by Playwright (no
browser is downloaded).

``fed_server`` is chiso as the demo runs it: a real ``uvicorn`` process on a fresh SQLite file,
its sources registered with ``chiso sources add``, fed by the simulated Hanoi systems through
the push API, with local accounts for each role (``FedServer.users``) and the commune boundary
files configured. ``start_server`` starts another one with other settings (for example without
boundary files).

Without Chromium the browser tests are skipped locally; with CHISO_REQUIRE_BROWSER=1 (set by
.ci/run) they fail instead. Screenshots go to artifacts/screenshots/.
"""

from __future__ import annotations

import contextlib
import os
import shutil
import socket
import subprocess
import sys
import time
import zlib
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import date
from pathlib import Path

import httpx
import pytest
from playwright.sync_api import Browser, Page, sync_playwright

ROOT = Path(__file__).resolve().parents[2]
SCREENSHOTS = ROOT / "artifacts" / "screenshots"
CHROMIUM = os.environ.get("CHISO_CHROMIUM", "/usr/bin/chromium")
# Headless, and quiet on a closed network: no background calls to Google's hosts.
CHROMIUM_ARGS = ["--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
                 "--disable-background-networking", "--disable-component-update",
                 "--disable-sync"]


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


BOUNDARIES = ROOT.parent / "shared" / "data" / "hanoi" / "geojson"
PASSWORD = "mật-khẩu-thử-2026"  # every test account's password
# role -> (account name, unit or None)
ACCOUNTS = {"leader": ("lanhdao", None), "operator": ("vanhanh", None),
            "viewer": ("theodoi", None), "unit_officer": ("canbo-hadong", "09556"),
            "data_steward": ("dulieu", None), "auditor": ("kiemtra", None)}


@dataclass
class FedServer:
    url: str
    db: Path
    env: dict[str, str]
    tokens: dict[str, str] = field(default_factory=dict)  # source name -> bearer token
    users: dict[str, str] = field(default_factory=dict)  # role -> account name

    def chiso(self, *args: str, stdin: str | None = None) -> str:
        return _chiso(self.env, *args, stdin=stdin)

    def push(self, feed: str, records: list[dict[str, object]]) -> dict[str, object]:
        """Push records as the source registered for ``feed`` does."""
        source = next(name for name, f in SOURCES if f == feed)
        r = httpx.post(f"{self.url}/api/v1/feeds/{feed}/records", json=records, timeout=30,
                       headers={"Authorization": f"Bearer {self.tokens[source]}"})
        r.raise_for_status()
        result: dict[str, object] = r.json()
        return result


SOURCES = [("dvc", "tthc.dossier"), ("ihanoi", "ihanoi.feedback"),
           ("eoffice", "eoffice.document"), ("hop", "meetings.meeting"),
           ("thongke", "stats.value")]


def _chiso(env: dict[str, str], *args: str, stdin: str | None = None) -> str:
    done = subprocess.run([str(Path(sys.executable).parent / "chiso"), *args], env=env, cwd=ROOT,
                          input=stdin, capture_output=True, text=True, check=False)
    if done.returncode != 0:
        pytest.fail(f"chiso {' '.join(args)} failed: {done.stderr}")
    return done.stdout.strip()


def sign_in(page: Page, server: FedServer, role: str) -> None:
    """Sign the page's browser context in with the test account of ``role``."""
    page.goto(server.url + "/signin")
    page.fill("input[name=name]", server.users[role])
    page.fill("input[name=password]", PASSWORD)
    page.locator("form[action='/signin'] button[type=submit]").click()
    page.wait_for_load_state()


START_SECONDS = 60  # a loaded two-core machine takes a while to import and migrate


@contextlib.contextmanager
def start_server(env_extra: dict[str, str], db: Path) -> Iterator[str]:
    """chiso serving on loopback from the SQLite file ``db``; yields its base URL."""
    port = _free_port()
    env = {**os.environ, "CHISO_DATABASE_URL": f"sqlite:///{db}", **env_extra}
    proc = subprocess.Popen(
        [sys.executable, "-m", "uvicorn", "chiso.runtime:create_app", "--factory",
         "--host", "127.0.0.1", "--port", str(port), "--log-level", "warning"],
        env=env, cwd=ROOT)
    base = f"http://127.0.0.1:{port}"
    try:
        for _ in range(START_SECONDS * 5):
            try:
                if httpx.get(f"{base}/api/v1/health", timeout=1).status_code == 200:
                    break
            except httpx.HTTPError:
                pass
            if proc.poll() is not None:
                pytest.fail("chiso exited while starting")
            time.sleep(0.2)
        else:
            pytest.fail(f"chiso did not start within {START_SECONDS} s")
        yield base
    finally:
        proc.terminate()
        proc.wait(timeout=10)


@pytest.fixture(scope="session")
def live_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """chiso serving on loopback from a fresh SQLite database, with no data fed."""
    with start_server({}, tmp_path_factory.mktemp("live") / "chiso.db") as base:
        yield base


FEED_START = date(2026, 1, 5)


def _sample(records: Iterator[dict[str, object]], one_in: int) -> Iterator[dict[str, object]]:
    """One record in ``one_in`` (all versions of a kept record): a smaller city, same shape."""
    return (r for r in records if zlib.crc32(str(r["id"]).encode()) % one_in == 0)


@pytest.fixture(scope="session")
def fed_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[FedServer]:
    """chiso fed by the simulators (about 11 months of every feed, a small Hanoi; every
    ``stats.*`` indicator for each month published so far, with iHanoi's accounts), with the
    boundary files configured and an account per role."""
    from chiso_sim.hanoi import (  # the simulators, as the demo uses them
        document_versions,
        dossier_stream,
        feedback_versions,
        meeting_versions,
    )
    from chiso_sim.servers import batches
    from chiso_sim.statistics import city_statistics, fetch_definitions

    db = tmp_path_factory.mktemp("fed") / "chiso.db"
    env = {**os.environ, "CHISO_DATABASE_URL": f"sqlite:///{db}",
           "CHISO_SCORES_FOLLOW": "1", "CHISO_DASHBOARD_FOLLOW": "1"}
    if BOUNDARIES.is_dir():
        env["CHISO_BOUNDARIES_DIR"] = str(BOUNDARIES)
    _chiso(env, "db", "upgrade")
    tokens = {name: _chiso(env, "sources", "add", name, "--feed", feed).splitlines()[-1]
              for name, feed in SOURCES}
    users = {}
    for role, (name, unit) in ACCOUNTS.items():
        _chiso(env, "users", "add", name, stdin=f"{PASSWORD}\n{PASSWORD}\n")
        _chiso(env, "users", "grant", name, role,
               *(["--unit", unit] if unit else []))
        users[role] = name
    days = (date.today() - FEED_START).days
    with start_server({k: v for k, v in env.items() if k.startswith("CHISO_")}, db) as base:
        server = FedServer(base, db, env, tokens, users)
        definitions, targets = fetch_definitions(base)  # what chiso asks of the publisher
        feeds = [("tthc.dossier", dossier_stream(2026, FEED_START, days, scale=0.015)),
                 ("ihanoi.feedback", _sample(feedback_versions(2026, FEED_START, days), 10)),
                 ("eoffice.document", _sample(document_versions(2026, FEED_START, days), 5)),
                 ("meetings.meeting", meeting_versions(2026, FEED_START, days)),
                 ("stats.value", city_statistics(definitions, targets, 2026,
                                                 date.today().year))]
        for feed, records in feeds:
            for batch in batches(records, 2000):
                server.push(feed, batch)
        yield server


@pytest.fixture(scope="session")
def browser() -> Iterator[Browser]:
    if not Path(CHROMIUM).exists() and not shutil.which("chromium"):
        if os.environ.get("CHISO_REQUIRE_BROWSER") == "1":
            pytest.fail(f"Chromium is required (CHISO_REQUIRE_BROWSER=1) but not at {CHROMIUM}")
        pytest.skip("Chromium not installed: apt-get install -y chromium")
    with sync_playwright() as p:
        chromium = p.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        yield chromium
        chromium.close()


@pytest.fixture
def page(browser: Browser) -> Iterator[Page]:
    context = browser.new_context(viewport={"width": 1280, "height": 900}, locale="vi-VN")
    pg = context.new_page()
    yield pg
    context.close()


AXE = ROOT / "frontend" / "node_modules" / "axe-core" / "axe.min.js"


def serious_violations(page: Page) -> list[str]:
    """axe-core's serious and critical violations on the page as it stands."""
    if not AXE.exists():
        pytest.fail("axe-core missing: run scripts/build-assets (it runs npm ci)")
    # Evaluated through the driver: a <script> element added to the page would be refused by
    # chiso's Content-Security-Policy (no inline scripts).
    page.evaluate(AXE.read_text(encoding="utf-8") + "\n;undefined")
    result = page.evaluate("async () => await axe.run(document, {resultTypes: ['violations']})")
    return [f"{v['id']} ({v['impact']}): {v['help']} — {len(v['nodes'])} node(s)"
            for v in result["violations"] if v["impact"] in ("serious", "critical")]


README_SHOTS = ROOT / "docs" / "screenshots"  # what the README shows a newcomer


def screenshot(page: Page, name: str, readme: bool = False) -> Path:
    """The whole page into artifacts/screenshots/; with ``readme``, also the first screen
    (the window as a visitor sees it on opening) into docs/screenshots/ for the README."""
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    path = SCREENSHOTS / f"{name}.png"
    page.screenshot(path=str(path), full_page=True)
    if readme:
        README_SHOTS.mkdir(parents=True, exist_ok=True)
        page.screenshot(path=str(README_SHOTS / f"{name}.png"))
    return path
