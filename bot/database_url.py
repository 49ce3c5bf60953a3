"""MIRROR_DATABASE_URL's spelling rules, once: the forms accepted and the async driver each one means.

Here, in the base layer, because two layers need them: the settings check the URL when they load
(bot/config.py), and the ledger connects with it (bot/ledger/db.py, whose `ledger_url` raises its own
`LedgerConfigError`). Only the standard library: the settings must not depend on the ledger or on
SQLAlchemy to say whether a URL is usable.
"""

from __future__ import annotations

import re
from urllib.parse import unquote

from bot.redaction import redact_url

# The spellings MIRROR_DATABASE_URL accepts, and the driver each one means.
_SCHEMES = {
    "sqlite": "sqlite+aiosqlite",
    "sqlite+aiosqlite": "sqlite+aiosqlite",
    "postgresql": "postgresql+asyncpg",
    "postgres": "postgresql+asyncpg",
    "postgresql+asyncpg": "postgresql+asyncpg",
}
ACCEPTED_URLS = (
    "accepted: sqlite:///path/to/mirrorbot.db or postgresql://user:password@host:5432/dbname "
    "(also spelled sqlite+aiosqlite://, postgres://, postgresql+asyncpg://)"
)
# What follows `scheme://`, as SQLAlchemy's URL parser reads it (RFC 1738):
# [user[:password]@][host | [ipv6]][:port][/database][?query]
_AFTER_SCHEME = re.compile(
    r"(?:[^:/]*(?::[^@]*)?@)?(?:(?:\[[^/?]+\]|[^/:?]+)?(?::(?P<port>[^/?]*))?)?(?:/(?P<database>[^?]*))?"
)


class DatabaseUrlError(ValueError):
    """The database URL is not one the ledger can use; the message says which forms are accepted."""


def database_url(url: str) -> str:
    """`url` in the ledger's driver spelling: `sqlite:///…` → aiosqlite, `postgresql://` and
    `postgres://` → asyncpg. Anything else is refused in one line naming the accepted forms (the URL's
    password is never repeated)."""
    shown = redact_url(url.strip())
    scheme, sep, rest = url.strip().partition("://")
    driver = _SCHEMES.get(scheme.lower()) if sep else None
    if driver is None:
        what = f"unsupported database URL scheme {scheme + sep!r}" if sep else "not a database URL"
        raise DatabaseUrlError(f"MIRROR_DATABASE_URL: {what} (got {shown!r}); {ACCEPTED_URLS}")
    parts = _AFTER_SCHEME.match(rest)
    assert parts is not None  # every part is optional: the pattern matches any text
    port, database = parts["port"], parts["database"]
    try:
        if port is not None:  # a `:` with no number after it too
            int(port)
    except ValueError:
        problem = f"MIRROR_DATABASE_URL: malformed URL (got {shown!r}); {ACCEPTED_URLS}"
        raise DatabaseUrlError(problem) from None
    if driver.startswith("postgresql") and not (database and unquote(database)):
        raise DatabaseUrlError(f"MIRROR_DATABASE_URL: no database name (got {shown!r}); {ACCEPTED_URLS}")
    return f"{driver}://{rest}"
