"""What the benchmarks share to run chiso as production runs it: ``chiso serve`` server
processes of their own on loopback, started, waited for and stopped."""

from __future__ import annotations

import os
import shutil
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import httpx

CHISO = shutil.which("chiso") or str(Path(sys.executable).parent / "chiso")


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port: int = s.getsockname()[1]
        return port


@dataclass
class Server:
    """One ``chiso serve`` (its own process group), at ``url``."""

    url: str
    process: subprocess.Popen[bytes]
    log: Path


@contextmanager
def serve(database_url: str, log_dir: Path, *, workers: int = 1, name: str = "server",
          env: Mapping[str, str] | None = None, wait: float = 120.0) -> Iterator[Server]:
    """Start ``chiso serve --workers N`` on a free port, wait until ``/api/v1/health`` answers,
    and stop it (SIGTERM, then SIGKILL) on leaving."""
    port = free_port()
    log = log_dir / f"{name}.log"
    full = {**os.environ, "CHISO_DATABASE_URL": database_url, **(env or {})}
    with log.open("wb") as out:
        proc = subprocess.Popen([CHISO, "serve", "--port", str(port), "--workers",
                                 str(workers)], env=full, stdout=out, stderr=subprocess.STDOUT,
                                start_new_session=True)
    server = Server(f"http://127.0.0.1:{port}", proc, log)
    try:
        deadline = time.monotonic() + wait
        while True:
            if proc.poll() is not None:
                raise RuntimeError(f"{name} stopped at start (exit {proc.returncode}); "
                                   f"see {log}:\n{log.read_text(errors='replace')[-2000:]}")
            try:
                if httpx.get(server.url + "/api/v1/health", timeout=2).status_code == 200:
                    break
            except httpx.HTTPError:
                pass
            if time.monotonic() > deadline:
                raise RuntimeError(f"{name} did not answer within {wait:g} s; see {log}")
            time.sleep(0.2)
        yield server
    finally:
        stop(proc)


def stop(proc: subprocess.Popen[bytes], grace: float = 15.0) -> None:
    """Stop a server started by :func:`serve` and everything it started."""
    if proc.poll() is None:
        os.killpg(proc.pid, signal.SIGTERM)
        try:
            proc.wait(grace)
        except subprocess.TimeoutExpired:
            os.killpg(proc.pid, signal.SIGKILL)
            proc.wait()
