"""E-mail as an outbox transport: a message whose URL is ``mailto:<recipient>`` carries an
e-mail as its body (``from``, ``to``, ``subject``, ``text``, ``headers``), and :func:`smtp`
sends it to the configured SMTP server. The e-mail's ``Message-ID`` is derived from the
message's idempotency key, so a resend after a lost acknowledgement is recognisable as the
same e-mail. Contract: docs/outbox.md ("E-mail").
"""

from __future__ import annotations

import hashlib
import json
import smtplib
from collections.abc import Callable
from email.message import EmailMessage

from chiso.exports.delivery import Outcome
from chiso.store import outbox

SCHEME = "mailto"

#: Sends one outbox message as an e-mail; what happened.
Sender = Callable[[outbox.Message], Outcome]


def email(msg: outbox.Message) -> EmailMessage:
    """The e-mail an outbox message carries; ``ValueError`` for a body that is not one."""
    body = json.loads(msg.body)
    if not isinstance(body, dict) or not all(isinstance(body.get(k), str)
                                             for k in ("from", "to", "subject", "text")):
        raise ValueError(f"message {msg.id} is not an e-mail (from, to, subject, text)")
    out = EmailMessage()
    out["From"] = body["from"]
    out["To"] = body["to"]
    out["Subject"] = body["subject"]
    digest = hashlib.sha256(msg.idempotency_key.encode()).hexdigest()[:32]
    out["Message-ID"] = f"<{digest}@chiso.outbox>"
    out["X-Chiso-Message"] = str(msg.id)
    for name, value in (body.get("headers") or {}).items():
        out[str(name)] = str(value)
    out.set_content(body["text"])
    return out


def smtp(host: str, port: int, timeout: float) -> Sender:
    """A sender through the SMTP server at ``host:port``; a refused connection, a timeout or
    a refusal by the server is a failed attempt (retried by the outbox); no connection at all
    marks the attempt ``unreachable``."""

    def send(msg: outbox.Message) -> Outcome:
        try:
            message = email(msg)
        except ValueError as exc:
            return Outcome(False, None, str(exc))
        try:
            server = smtplib.SMTP(host, port, timeout=timeout)
        except (OSError, smtplib.SMTPException) as exc:  # no server to talk to
            return Outcome(False, None, f"{type(exc).__name__}: {exc}".strip(),
                           unreachable=True)
        try:
            with server:
                server.send_message(message)
        except smtplib.SMTPResponseException as exc:
            return Outcome(False, exc.smtp_code, f"SMTP {exc.smtp_code}: {exc.smtp_error!r}")
        except (OSError, smtplib.SMTPException) as exc:
            return Outcome(False, None, f"{type(exc).__name__}: {exc}".strip())
        return Outcome(True, 250, "")

    return send
