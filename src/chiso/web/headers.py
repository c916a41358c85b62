"""Security headers on every response the app sends.

Every page, API answer, static file and refusal (the guard's included, since this middleware
wraps it) carries a Content-Security-Policy without ``unsafe-inline`` (templates hold no inline
script or style: scripts and style sheets are files under ``/static``), ``frame-ancestors
'none'``, ``X-Content-Type-Options: nosniff`` and a Referrer-Policy. HSTS is sent only when
the request came over TLS, which includes a proxy in front saying ``X-Forwarded-Proto: https``
when the server trusts it (uvicorn's ``--forwarded-allow-ips``): a plain-HTTP answer cannot set
HSTS anyway.
"""

from __future__ import annotations

from collections.abc import Iterable

from starlette.datastructures import MutableHeaders
from starlette.types import ASGIApp, Message, Receive, Scope, Send

HSTS = "max-age=31536000; includeSubDomains"


def content_security_policy(form_targets: Iterable[str] = (),
                            script_origins: Iterable[str] = ()) -> str:
    """The policy: everything from this site only; no inline code, no framing, no plugins.
    ``form_targets``: other origins a form may lead to (the single sign-on provider, which
    signing out redirects to). ``script_origins``: other origins a script may come from and
    report to (the EMC monitoring code, when embedded): scripts, connections and images."""
    forms = " ".join(["'self'", *sorted(set(form_targets))])
    extra = "".join(f" {o}" for o in sorted(set(script_origins)))
    return "; ".join([
        "default-src 'self'",
        f"script-src 'self'{extra}",
        "style-src 'self'",
        f"img-src 'self' data:{extra}",
        "font-src 'self'",
        f"connect-src 'self'{extra}",
        "object-src 'none'",
        "base-uri 'none'",
        f"form-action {forms}",
        "frame-ancestors 'none'",
    ])


class SecurityHeaders:
    """ASGI middleware: adds the headers to every HTTP response (headers a handler set itself
    are left as they are)."""

    def __init__(self, app: ASGIApp, form_targets: Iterable[str] = (),
                 script_origins: Iterable[str] = ()) -> None:
        self.app = app
        self.fixed = {
            "content-security-policy": content_security_policy(form_targets, script_origins),
            "x-content-type-options": "nosniff",
            "x-frame-options": "DENY",  # for browsers that predate frame-ancestors
            "referrer-policy": "same-origin",
            "cross-origin-opener-policy": "same-origin",
        }

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        tls = scope.get("scheme") == "https"

        async def send_with_headers(message: Message) -> None:
            if message["type"] == "http.response.start":
                headers = MutableHeaders(scope=message)
                for name, value in self.fixed.items():
                    if name not in headers:
                        headers[name] = value
                if tls and "strict-transport-security" not in headers:
                    headers["strict-transport-security"] = HSTS
            await send(message)

        await self.app(scope, receive, send_with_headers)
