"""A deployment refuses to start on keys published in the repository, or on none; only
CHISO_ENV=demo or CHISO_ENV=test may (the tests set test, the demo sets demo)."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from chiso.config import Settings, SettingsError
from chiso.intake.settings import DEV_PSEUDONYM_KEY
from chiso.runtime import require_own_keys

OWN_KEY = "k3y-of-this-deployment-0123456789-abcdefghij"
CHISO = Path(sys.executable).parent / "chiso"


@pytest.fixture
def deployment(monkeypatch: pytest.MonkeyPatch) -> pytest.MonkeyPatch:
    """An environment with no CHISO_ENV and no keys, as a fresh install has."""
    for name in ("CHISO_ENV", "CHISO_PSEUDONYM_KEY", "CHISO_ALERT_WEBHOOK_URL",
                 "CHISO_ALERT_WEBHOOK_SECRET"):
        monkeypatch.delenv(name, raising=False)
    return monkeypatch


@pytest.mark.parametrize(("key", "problem"), [
    (None, "CHISO_PSEUDONYM_KEY is not set"),
    (DEV_PSEUDONYM_KEY, "CHISO_PSEUDONYM_KEY is the development key"),
    ("short-key", "CHISO_PSEUDONYM_KEY is shorter than 32 characters"),
])
def test_no_own_pseudonym_key_refuses(deployment: pytest.MonkeyPatch, key: str | None,
                                      problem: str) -> None:
    if key is not None:
        deployment.setenv("CHISO_PSEUDONYM_KEY", key)
    for env in (None, "production", "development"):
        if env is not None:
            deployment.setenv("CHISO_ENV", env)
        with pytest.raises(SettingsError, match=problem) as refused:
            require_own_keys(Settings())
        assert "\n" not in str(refused.value)
        assert "CHISO_ENV=demo" in str(refused.value)


def test_a_webhook_needs_its_signing_key(deployment: pytest.MonkeyPatch) -> None:
    deployment.setenv("CHISO_PSEUDONYM_KEY", OWN_KEY)
    require_own_keys(Settings())  # own key, no webhook: fine
    deployment.setenv("CHISO_ALERT_WEBHOOK_URL", "https://hook.example/chiso")
    with pytest.raises(SettingsError, match="CHISO_ALERT_WEBHOOK_SECRET is not set"):
        require_own_keys(Settings())
    deployment.setenv("CHISO_ALERT_WEBHOOK_SECRET", "shared-with-the-receiver")
    require_own_keys(Settings())


@pytest.mark.parametrize("env", ["demo", "test"])
def test_demo_and_test_run_on_the_development_keys(deployment: pytest.MonkeyPatch,
                                                   env: str) -> None:
    deployment.setenv("CHISO_ENV", env)
    deployment.setenv("CHISO_ALERT_WEBHOOK_URL", "https://hook.example/chiso")
    require_own_keys(Settings())


def test_serve_refuses_with_one_line(tmp_path: Path) -> None:
    env = {k: v for k, v in os.environ.items()
           if k not in ("CHISO_ENV", "CHISO_PSEUDONYM_KEY")}
    env["CHISO_DATABASE_URL"] = f"sqlite:///{tmp_path / 'chiso.db'}"
    done = subprocess.run([str(CHISO), "serve", "--port", "9"], env=env, cwd=tmp_path,
                          capture_output=True, text=True, timeout=120, check=False)
    assert done.returncode == 2
    lines = done.stderr.strip().splitlines()
    assert len(lines) == 1
    assert "CHISO_PSEUDONYM_KEY is not set" in lines[0]
    assert "Traceback" not in done.stderr
    assert not (tmp_path / "chiso.db").exists()  # refused before anything was written
