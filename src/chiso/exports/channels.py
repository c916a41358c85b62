"""Where outbox messages go: a channel's name says who it is (``export:<name>`` for a
configured exporter, ``webhook:<id>`` for a subscription, ``alerts:webhook`` for the alert
webhook, ``mail:alerts`` for alert e-mails), and this module finds the key that signs its
messages. :func:`deliverer` builds the delivery worker of a runtime's settings.
"""

from __future__ import annotations

from sqlalchemy import Connection, Engine

from chiso.config import Exporter, Settings
from chiso.exports import mail
from chiso.exports.delivery import Deliverer, OnDead, RetryPolicy, SecretOf
from chiso.outlook import alerts
from chiso.store import webhooks

EXPORT = "export"
WEBHOOK = webhooks.CHANNEL


def export_channel(name: str) -> str:
    return f"{EXPORT}:{name}"


def exporters(settings: Settings) -> dict[str, Exporter]:
    """The configured exporters that are on, by name."""
    return {e.name: e for e in settings.exporters if e.enabled}


def secret_of(settings: Settings, webhook_secret: SecretOf | None = webhooks.secret_of
              ) -> SecretOf:
    """The secret of a channel: an exporter's from the settings, a subscription's from
    ``webhook_secret``; ``None`` for a channel that does not (or no longer) exist."""
    configured = exporters(settings)

    def resolve(conn: Connection, channel: str) -> str | None:
        kind, _, name = channel.partition(":")
        if kind == EXPORT:
            found = configured.get(name)
            return None if found is None else found.secret
        if kind == WEBHOOK and webhook_secret is not None:
            return webhook_secret(conn, channel)
        if channel == alerts.WEBHOOK_CHANNEL:
            return settings.alert_webhook_secret if settings.alert_webhook_url else None
        if channel == alerts.MAIL_CHANNEL:
            return ""  # e-mail is not signed; the SMTP server is the deployment's own
        return None

    return resolve


def policy(settings: Settings) -> RetryPolicy:
    return RetryPolicy(max_attempts=settings.outbox_max_attempts,
                       initial=settings.outbox_backoff_initial,
                       maximum=settings.outbox_backoff_max)


def deliverer(settings: Settings, engine: Engine, *,
              webhook_secret: SecretOf | None = webhooks.secret_of,
              on_dead: OnDead | None = webhooks.on_dead) -> Deliverer:
    """The delivery worker for ``settings`` on ``engine``."""
    return Deliverer(engine, secret_of(settings, webhook_secret), policy=policy(settings),
                     timeout=settings.outbox_timeout, on_dead=on_dead,
                     transports={mail.SCHEME: mail.smtp(settings.smtp_host, settings.smtp_port,
                                                        settings.outbox_timeout)})
