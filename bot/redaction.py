"""One redaction for every text the product prints: logs, `mirrorbot config`, error messages.

Masked: anything that looks like a private key (64 hex digits, with or without `0x`), a Telegram bot
token, the literal secrets a caller registers, and the secrets inside URLs — the password of a URL's
userinfo (`postgresql://user:PASSWORD@host/db`), a token-like userinfo or path segment (an RPC
provider's API key: `https://arb-mainnet.g.alchemy.com/v2/KEY`, `https://mainnet.infura.io/v3/KEY`)
and a query value whose name says it is secret or that looks like a key (`?apikey=…`, `?token=…`).

Kept: the ids the product itself emits. A decision (instruction) id is 64 hex digits like a key; it is
kept when it is written in its prefixed form `instruction:<id>` (what `mirrorbot why` accepts, and how
alerts and logs write it), and a structured log field named as an id (`decision_id`, `instruction_id`,
`id`, …) keeps a 64-hex value (bot/logs.py).
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from typing import Final

__all__ = ["ID_PREFIX", "MASK", "redact_text", "redact_url"]

MASK: Final = "[REDACTED]"
ID_PREFIX: Final = "instruction:"  # the prefixed form of a decision id, kept by the redaction

# A private key: 64 hex digits not inside a longer hex run (a signature or a hash *prefix* of one is not
# masked; a tx hash is, as it cannot be told apart from a key). The SDK's `key.hex()` has no `0x`.
# A decision id in its prefixed form (`instruction:<64 hex>`) is the product's own, not a key.
_PRIVATE_KEY = re.compile(r"(?<![0-9A-Fa-fxX])(?<!instruction:)(?:0[xX])?[0-9A-Fa-f]{64}(?![0-9A-Fa-f])")
# A Telegram bot token: `<bot id>:<35 url-safe characters>` (also inside `.../bot<token>/getMe`).
_BOT_TOKEN = re.compile(r"(?<![0-9])[0-9]{6,12}:[A-Za-z0-9_-]{30,}")
# A URL anywhere in a text (up to the first blank, quote or bracket that cannot be part of it).
_URL = re.compile(r"\b[A-Za-z][A-Za-z0-9+.\-]*://[^\s'\"<>`\\]+")
# A path segment, userinfo or query value that looks like an API key: long, url-safe, letters and digits.
_TOKEN_LIKE = re.compile(r"^(?=[A-Za-z0-9_\-]*[0-9])(?=[A-Za-z0-9_\-]*[A-Za-z])[A-Za-z0-9_\-]{20,}$")
_SECRET_PARAM = re.compile(
    r"(?:^|[_\-])(?:key|apikey|secret|password|passwd|pass|pwd|token|auth|signature|sig|credential)s?$",
    re.I,
)


def _redact_authority(authority: str) -> str:
    if "@" not in authority:
        return authority
    userinfo, _, host = authority.rpartition("@")  # a password may hold an unencoded `@`: the last ends it
    user, colon, _password = userinfo.partition(":")
    if colon:
        return f"{user}:{MASK}@{host}"
    return f"{MASK if _TOKEN_LIKE.match(user) else user}@{host}"


def _redact_query(query: str) -> str:
    parts = []
    for item in query.split("&"):
        name, eq, value = item.partition("=")
        secret = eq and value and (_SECRET_PARAM.search(name) or _TOKEN_LIKE.match(value))
        parts.append(f"{name}={MASK}" if secret else item)
    return "&".join(parts)


def redact_url(url: str) -> str:
    """`url` with its userinfo password, token-like path segments and secret query values masked."""
    scheme, sep, rest = url.partition("://")
    if not sep:
        return url
    rest, hash_, fragment = rest.partition("#")
    rest, question, query = rest.partition("?")
    authority, slash, path = rest.partition("/")
    segments = [MASK if _TOKEN_LIKE.match(s) else s for s in path.split("/")] if slash else []
    out = f"{scheme}://{_redact_authority(authority)}"
    if slash:
        out += "/" + "/".join(segments)
    if question:
        out += "?" + _redact_query(query)
    if hash_:
        out += "#" + fragment
    return out


def redact_text(text: str, secrets: Iterable[str] = ()) -> str:
    """`text` with private keys, bot tokens, URL secrets and the given literal secrets masked."""
    for secret in secrets:
        if secret:
            text = text.replace(secret, MASK)
    text = _URL.sub(lambda m: redact_url(m.group(0)), text)
    text = _PRIVATE_KEY.sub(MASK, text)
    return _BOT_TOKEN.sub(MASK, text)
