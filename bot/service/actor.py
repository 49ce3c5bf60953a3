"""Who asked: every service call names its actor, and the audit log records it."""

from __future__ import annotations

import getpass
from dataclasses import dataclass

from bot.ledger import AuditChannel


@dataclass(frozen=True, slots=True)
class Actor:
    channel: AuditChannel
    who: str

    @property
    def name(self) -> str:
        """`cli:alice`, `telegram:12345`, `system:runner`: the audit log's actor column."""
        return f"{self.channel.value}:{self.who}"

    @classmethod
    def cli(cls, user: str | None = None) -> Actor:
        if user is None:
            try:
                user = getpass.getuser()
            except (KeyError, OSError):  # no passwd entry (containers) and no LOGNAME/USER
                user = "unknown"
        return cls(AuditChannel.CLI, user)

    @classmethod
    def telegram(cls, user_id: int) -> Actor:
        return cls(AuditChannel.TELEGRAM, str(user_id))

    @classmethod
    def system(cls, component: str) -> Actor:
        return cls(AuditChannel.SYSTEM, component)
