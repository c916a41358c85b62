"""The real OpenID Connect provider of the sign-in tests: ``simulators/oidc/provider.js``
(the npm package ``oidc-provider``, installed from the lock file with ``npm ci`` when
``node_modules`` is missing), started on a free loopback port and stopped afterwards.

Sign-in at the provider goes through its own interaction pages (the package's built-in login
and consent forms, "devInteractions"): :func:`provider_login` fills them in as a browser would.
"""

from __future__ import annotations

import re
import shutil
import socket
import subprocess
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from urllib.parse import urljoin

import httpx
import pytest

SIMULATOR = Path(__file__).resolve().parents[2] / "simulators" / "oidc"
REDIRECT_URI = "https://testserver/signin/oidc/callback"
CLIENTS = {"chiso": "chiso-test-secret", "other-app": "other-app-secret"}


def _installed() -> None:
    if shutil.which("node") is None or shutil.which("npm") is None:
        pytest.fail("Node.js and npm are needed for the OpenID Connect tests "
                    "(apt-get install -y nodejs npm)")
    if not (SIMULATOR / "node_modules" / "oidc-provider").is_dir():
        subprocess.run(["npm", "ci", "--no-audit", "--no-fund", "--loglevel=error"],
                       cwd=SIMULATOR, check=True, stdout=subprocess.DEVNULL)


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port: int = s.getsockname()[1]
        return port


@contextmanager
def running_provider(log_dir: Path, *options: str) -> Iterator[str]:
    """Start provider.js with ``options`` (``--clock-skew=-900``…); yields its issuer URL."""
    _installed()
    port = _free_port()
    issuer = f"http://127.0.0.1:{port}"
    log = (log_dir / f"oidc-provider-{port}.log").open("w")
    proc = subprocess.Popen(["node", "provider.js", f"--port={port}",
                             f"--redirect-uri={REDIRECT_URI}", *options],
                            cwd=SIMULATOR, stdout=log, stderr=subprocess.STDOUT)
    try:
        deadline = time.monotonic() + 20
        while True:
            try:
                if httpx.get(issuer + "/.well-known/openid-configuration",
                             timeout=1).status_code == 200:
                    break
            except httpx.HTTPError:
                pass
            if proc.poll() is not None or time.monotonic() > deadline:
                log.flush()
                pytest.fail("the OpenID Connect provider did not start: "
                            + (log_dir / f"oidc-provider-{port}.log").read_text()[-2000:])
            time.sleep(0.1)
        yield issuer
    finally:
        proc.terminate()
        try:
            proc.wait(timeout=5)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()
        log.close()


def provider_login(authorize_url: str, login: str) -> str:
    """Follow the authorization request through the provider's login and consent pages as
    ``login`` (a test user of provider.js); returns the URL the provider sends back to."""
    with httpx.Client(follow_redirects=False, timeout=10) as browser:
        answer = browser.get(authorize_url)
        for _ in range(12):
            if answer.status_code in (302, 303):
                target = urljoin(str(answer.url), answer.headers["location"])
                if target.startswith(REDIRECT_URI):
                    return target
                answer = browser.get(target)
                continue
            assert answer.status_code == 200, answer.text[:500]
            action = re.search(r'<form[^>]*action="([^"]+)"', answer.text)
            prompt = re.search(r'name="prompt" value="(\w+)"', answer.text)
            assert action, answer.text[:500]
            assert prompt, answer.text[:500]
            form = {"prompt": prompt.group(1)}
            if prompt.group(1) == "login":
                form.update(login=login, password="any password")  # devInteractions
            answer = browser.post(urljoin(str(answer.url), action.group(1)), data=form)
    raise AssertionError("the provider never sent the browser back")
