"""A PostgreSQL primary and its streaming replica, each a cluster of its own on a free port,
started for a test and stopped after it (the server binaries run as the ``postgres`` user)."""

from __future__ import annotations

import glob
import os
import shutil
import socket
import subprocess
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path


def server_binaries() -> Path | None:
    """The newest installed PostgreSQL's bin directory with what the test needs, or None."""
    for found in sorted(glob.glob("/usr/lib/postgresql/*/bin"), reverse=True):
        if all((Path(found) / b).exists() for b in ("initdb", "pg_ctl", "pg_basebackup", "psql")):
            return Path(found)
    return None


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port: int = s.getsockname()[1]
        return port


@dataclass
class Pair:
    primary_url: str
    replica_url: str


def _as_postgres(*command: str | Path) -> None:
    prefix = ["runuser", "-u", "postgres", "--"] if os.geteuid() == 0 else []
    subprocess.run([*prefix, *map(str, command)], check=True, capture_output=True, timeout=120)


@contextmanager
def primary_and_replica(bin_dir: Path, database: str = "chiso") -> Iterator[Pair]:
    """A fresh primary (``wal_level=replica``) holding ``database``, and a replica made of it
    by ``pg_basebackup -R`` that streams from it; both stopped and removed on leaving."""
    base = Path(tempfile.mkdtemp(prefix="chiso-replica-"))
    if os.geteuid() == 0:
        shutil.chown(base, "postgres")
    primary, replica = base / "primary", base / "replica"
    p1, p2 = _free_port(), _free_port()
    started: list[Path] = []
    try:
        _as_postgres(bin_dir / "initdb", "-D", primary, "-A", "trust", "-U", "postgres",
                     "--no-sync")
        with (primary / "postgresql.conf").open("a") as conf:
            conf.write(f"port = {p1}\nlisten_addresses = '127.0.0.1'\n"
                       f"unix_socket_directories = '{base}'\nwal_level = replica\n"
                       "max_wal_senders = 4\nfsync = off\nshared_buffers = 16MB\n")
        _as_postgres(bin_dir / "pg_ctl", "-D", primary, "-l", base / "primary.log", "-w",
                     "start")
        started.append(primary)
        _as_postgres(bin_dir / "psql", "-h", "127.0.0.1", "-p", str(p1), "-U", "postgres",
                     "-c", f'CREATE DATABASE "{database}"')
        _as_postgres(bin_dir / "pg_basebackup", "-h", "127.0.0.1", "-p", str(p1), "-U",
                     "postgres", "-D", replica, "-R", "-X", "stream", "--no-sync")
        with (replica / "postgresql.conf").open("a") as conf:
            conf.write(f"port = {p2}\nhot_standby = on\n")
        _as_postgres(bin_dir / "pg_ctl", "-D", replica, "-l", base / "replica.log", "-w",
                     "start")
        started.append(replica)
        url = "postgresql+psycopg://postgres@127.0.0.1:{}/" + database
        yield Pair(url.format(p1), url.format(p2))
    finally:
        for cluster in reversed(started):
            _as_postgres(bin_dir / "pg_ctl", "-D", cluster, "-m", "immediate", "-w", "stop")
        shutil.rmtree(base, ignore_errors=True)
