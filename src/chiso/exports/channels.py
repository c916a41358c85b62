"""Where outbox messages go: a channel's name says who it is (``export:<name>`` for a
configured exporter, ``webhook:<id>`` for a subscription, ``alerts:webhook`` for the alert
webhook, ``mail:<purpose>`` for e-mails: alerts, notices to the operator), and this module
finds the key that signs its messages. :func:`deliverer` builds the delivery worker of a
runtime's settings; a subscription it turns off after repeated failures is announced to the
operator by e-mail (:func:`notify_disabled`), written in the same transaction.
"""

from __future__ import annotations

from datetime import UTC, datetime

from sqlalchemy import Connection, Engine

from chiso.clock import VIETNAM
from chiso.config import Exporter, Settings
from chiso.exports import mail
from chiso.exports.delivery import Deliverer, OnDead, RetryPolicy, SecretOf
from chiso.outlook import alerts
from chiso.store import outbox, webhooks

EXPORT = "export"
WEBHOOK = webhooks.CHANNEL
MAIL = "mail"
#: The outbox channel of notices to the operator (a subscription turned off, …).
NOTICE_CHANNEL = f"{MAIL}:notices"


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
        if kind == MAIL:
            return ""  # e-mail is not signed; the SMTP server is the deployment's own
        return None

    return resolve


def policy(settings: Settings) -> RetryPolicy:
    return RetryPolicy(max_attempts=settings.outbox_max_attempts,
                       initial=settings.outbox_backoff_initial,
                       maximum=settings.outbox_backoff_max)


def disabled_notice(sub: webhooks.Subscription, to: str, sender: str) -> dict[str, object]:
    """The e-mail telling the operator that a subscription was turned off, and why."""
    when = (sub.disabled_at or datetime.now(UTC)).astimezone(VIETNAM)
    return {"from": sender, "to": to,
            "subject": f"[chiso] Đăng ký webhook số {sub.id} đã bị tắt do gửi thất bại "
                       "nhiều lần",
            "headers": {"X-Chiso-Notice": f"webhook.disabled:{sub.id}"},
            "text": f"Đăng ký webhook số {sub.id} ({sub.url}) đã bị tắt lúc "
                    f"{when:%H:%M ngày %d/%m/%Y} vì một thông điệp gửi thất bại nhiều lần.\n"
                    f"Lý do: {sub.disabled_reason or ''}\n\n"
                    "Sau khi hệ thống nhận hoạt động trở lại, bật lại đăng ký và gửi lại các "
                    f"thông điệp lỗi tại trang /admin/webhooks/{sub.id}.\n"}


def notify_disabled(settings: Settings, then: OnDead | None = webhooks.on_dead) -> OnDead:
    """``then`` (by default: turn the subscription off), and when that turned a subscription
    off, an e-mail notice to the operator through the outbox, in the same transaction."""
    to = alerts.load_rules(settings.alert_rules).operator_email

    def on_dead(conn: Connection, message: outbox.Message) -> object:
        turned_off = then(conn, message) if then is not None else None
        if isinstance(turned_off, webhooks.Subscription):
            outbox.enqueue(conn, channel=NOTICE_CHANNEL, event="webhook.disabled",
                           url=f"mailto:{to}",
                           key=f"webhook.disabled:{turned_off.id}:{message.id}",
                           payload=disabled_notice(turned_off, to, settings.mail_from),
                           now=message.next_at)
        return turned_off

    return on_dead


def deliverer(settings: Settings, engine: Engine, *,
              webhook_secret: SecretOf | None = webhooks.secret_of,
              on_dead: OnDead | None = webhooks.on_dead) -> Deliverer:
    """The delivery worker for ``settings`` on ``engine``; ``on_dead`` runs when a message is
    dead-lettered, followed by the operator's notice when it turned a subscription off."""
    return Deliverer(engine, secret_of(settings, webhook_secret), policy=policy(settings),
                     timeout=settings.outbox_timeout, on_dead=notify_disabled(settings, on_dead),
                     transports={mail.SCHEME: mail.smtp(settings.smtp_host, settings.smtp_port,
                                                        settings.outbox_timeout)})
