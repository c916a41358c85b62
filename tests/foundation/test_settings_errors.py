"""A settings mistake answers every command with one line that says what to do, no traceback."""

from __future__ import annotations

import os
import shutil
import socket
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest
from typer.testing import CliRunner

from chiso.cli import app
from chiso.config import get_settings


@pytest.fixture(autouse=True)
def _fresh_settings() -> Iterator[None]:
    get_settings.cache_clear()
    yield
    get_settings.cache_clear()


def _closed_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])  # nothing listens once the socket is closed


def _one_line(args: list[str]) -> str:
    result = CliRunner().invoke(app, args)
    assert result.exit_code == 2, result.output
    assert result.exception is None or isinstance(result.exception, SystemExit)
    lines = [line for line in result.output.splitlines() if line.strip()]
    assert len(lines) == 1, result.output
    return lines[0]


@pytest.mark.parametrize("command", [["units", "list"], ["catalog", "stats"], ["db", "upgrade"],
                                     ["serve", "--port", "1"], ["sources", "list"]])
def test_a_data_folder_without_catalog(command: list[str], tmp_path: Path,
                                       monkeypatch: pytest.MonkeyPatch) -> None:
    (tmp_path / "notes.txt").write_text("not a catalog", encoding="utf-8")
    monkeypatch.setenv("CHISO_DATA_DIR", str(tmp_path))
    line = _one_line(command)
    assert line.startswith(f"Settings: CHISO_DATA_DIR={tmp_path}: no catalog there")
    assert "unset it" in line


@pytest.mark.parametrize(("url", "says"), [
    ("bogus://somewhere/db", "names the database driver 'bogus'"),
    ("not a url at all", "is not a database URL"),
])
def test_a_database_url_that_is_not_one(url: str, says: str,
                                        monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("CHISO_DATABASE_URL", url)
    line = _one_line(["db", "upgrade"])
    assert line.startswith("Settings: CHISO_DATABASE_URL")
    assert says in line
    assert "sqlite:///" in line
    assert "postgresql+psycopg://" in line


def test_a_setting_of_the_wrong_type(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("CHISO_SCORES_DEBOUNCE", "two seconds")
    line = _one_line(["units", "list"])
    assert line.startswith("Settings: CHISO_SCORES_DEBOUNCE='two seconds': ")
    assert line.endswith("fix or unset it")


def test_a_missing_boundaries_folder(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("CHISO_BOUNDARIES_DIR", str(tmp_path / "nowhere"))
    line = _one_line(["units", "list"])
    assert line.startswith(f"Settings: CHISO_BOUNDARIES_DIR={tmp_path / 'nowhere'}: no such")


@pytest.mark.parametrize("command", [["db", "upgrade"], ["serve", "--port", "1"]])
def test_a_database_server_that_does_not_answer(command: list[str],
                                                monkeypatch: pytest.MonkeyPatch) -> None:
    port = _closed_port()
    monkeypatch.setenv("CHISO_DATABASE_URL",
                       f"postgresql+psycopg://chiso:secret@127.0.0.1:{port}/chiso")
    line = _one_line(command)
    assert line.startswith(f"Database: cannot open the database postgresql+psycopg://chiso:***@"
                           f"127.0.0.1:{port}/chiso (")
    assert "secret" not in line
    assert line.endswith("check CHISO_DATABASE_URL and that the database server is running")


def test_the_installed_command_prints_no_traceback(tmp_path: Path) -> None:
    chiso = shutil.which("chiso") or str(Path(sys.executable).parent / "chiso")
    env = {**os.environ, "CHISO_DATA_DIR": str(tmp_path)}
    done = subprocess.run([chiso, "units", "find", "ha dong"], env=env, capture_output=True,
                          text=True, timeout=120, check=False)
    assert done.returncode == 2
    assert done.stdout == ""
    assert done.stderr.strip().startswith("Settings: CHISO_DATA_DIR=")
    assert len(done.stderr.strip().splitlines()) == 1, done.stderr
