"""A real SMTP server on loopback that keeps what it receives (alerts, reports)."""

from __future__ import annotations

from email import message_from_bytes
from typing import Any


class Inbox:
    def __init__(self) -> None:
        self.messages: list[Any] = []

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:  # noqa: N802
        self.messages.append(message_from_bytes(envelope.content))
        return "250 OK"
