"""Structured logging: stdlib `logging`, configured once from the settings.

- `MIRROR_LOG_FORMAT=json`: one JSON object per line — `ts` (UTC ISO-8601, ms), `level`, `logger`,
  `msg`, then every `extra` field (Decimals as exact strings, enums as their value, times ISO-8601).
- `MIRROR_LOG_FORMAT=console`: the same facts on one readable line (`key=value` after the message).
- Every record is redacted before it is formatted, whoever logged it (our code, httpx, the SDK), by
  bot/redaction.py: a private key (64 hex digits, with or without `0x`), a Telegram bot token, a URL's
  password or API key, or a secret registered with `configure_logging(secrets=...)` is masked in the
  message, the fields and the traceback; a field whose *name* says it is secret (`key`, `password`,
  `token`, …) is masked whole. The product's own ids stay readable: `instruction:<id>` in a text, and a
  decision id in a field named as an id (`decision_id`, `instruction_id`, `id`).
- `log_event(logger, "order_placed", coin="ETH", size=Decimal("0.1"))` logs one event with its fields.
"""

from __future__ import annotations

import dataclasses
import json
import logging
import re
import sys
from collections.abc import Iterable, Mapping
from datetime import UTC, date, datetime
from decimal import Decimal
from enum import Enum
from pathlib import PurePath
from typing import Any, Final, TextIO

from bot.config import LogFormat, Settings
from bot.redaction import MASK, redact_text

__all__ = [
    "MASK",
    "ConsoleFormatter",
    "JsonFormatter",
    "RedactionFilter",
    "configure_from_settings",
    "configure_logging",
    "log_event",
    "redact_text",
]

FIELDS_ATTR: Final = "mirror_fields"  # where `log_event` puts its fields (no clash with LogRecord's own)
REDACTED_ATTR: Final = "_mirror_redacted"  # a record already redacted (several handlers)

_SECRET_NAME = re.compile(
    r"(?:^|_)(?:key|private_?key|secret|password|passphrase|token|mnemonic|seed_phrase)$", re.I
)
_NOT_SECRET_NAME = re.compile(r"(?:^|_)(?:public_key|key_id|token_count|tokens)$", re.I)
# A field named as an id keeps a 64-hex value: a decision id the product emits (`why instruction:<id>`).
_ID_NAME = re.compile(r"(?:^|_)(?:id|ids)$", re.I)
_PRODUCT_ID = re.compile(r"^[0-9a-f]{64}$")

# LogRecord attributes: everything else on a record came from `extra`.
_STANDARD_ATTRS: Final = frozenset(vars(logging.LogRecord("", 0, "", 0, "", (), None))) | {
    "message",
    "asctime",
    FIELDS_ATTR,
}
_BASE_KEYS: Final = ("ts", "level", "logger", "msg")
# Libraries whose INFO is per-request or start-up chatter: shown only at DEBUG.
_QUIET_LIBRARIES: Final = (
    "httpx",
    "httpcore",
    "aiohttp.access",
    "websockets",
    "asyncio",
    "urllib3",
    "apscheduler",
    "alembic",
)


def _is_secret_name(name: str) -> bool:
    return bool(_SECRET_NAME.search(name)) and not _NOT_SECRET_NAME.search(name)


def _plain(value: Any) -> Any:
    """A JSON-able rendering: Decimal → exact string, enum → value, time → ISO-8601, dataclass → dict."""
    if isinstance(value, bool | int | str) or value is None:
        return value
    if isinstance(value, Decimal):
        return str(value)
    if isinstance(value, float):
        return repr(value)  # never let a float pose as an exact amount
    if isinstance(value, Enum):
        return _plain(value.value)
    if isinstance(value, datetime):
        return value.astimezone(UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z")
    if isinstance(value, date | PurePath):
        return str(value)
    if dataclasses.is_dataclass(value) and not isinstance(value, type):
        return {f.name: _plain(getattr(value, f.name)) for f in dataclasses.fields(value) if f.repr}
    if isinstance(value, Mapping):
        return {str(k): _plain(v) for k, v in value.items()}
    if isinstance(value, list | tuple | set | frozenset):
        return [_plain(v) for v in value]
    return str(value)


def _redact_value(value: Any, secrets: tuple[str, ...], *, is_id: bool = False) -> Any:
    """A plain value with secrets masked, recursively; secret-named keys masked whole; an id-named key
    keeps a decision id (64 lower-case hex digits, exactly what `instruction_id` makes)."""
    if isinstance(value, str):
        return value if is_id and _PRODUCT_ID.match(value) else redact_text(value, secrets)
    if isinstance(value, dict):
        return {
            k: MASK
            if _is_secret_name(k) and v is not None
            else _redact_value(v, secrets, is_id=bool(_ID_NAME.search(k)))
            for k, v in value.items()
        }
    if isinstance(value, list):
        return [_redact_value(v, secrets, is_id=is_id) for v in value]
    return value


def record_fields(record: logging.LogRecord) -> dict[str, Any]:
    """The `extra` fields of a record (and `log_event`'s), in the order given."""
    fields = {k: v for k, v in vars(record).items() if k not in _STANDARD_ATTRS and not k.startswith("_")}
    fields.update(getattr(record, FIELDS_ATTR, None) or {})
    return fields


class RedactionFilter(logging.Filter):
    """Masks secrets in a record in place (message, args, fields, traceback) before any formatter runs.
    Attach it to the handler, so records of every logger pass through it."""

    def __init__(self, secrets: Iterable[str] = ()) -> None:
        super().__init__()
        self.secrets = tuple(s for s in secrets if s)

    def filter(self, record: logging.LogRecord) -> bool:
        if getattr(record, REDACTED_ATTR, False):
            return True
        record.msg = redact_text(record.getMessage(), self.secrets)
        record.args = None
        if record.exc_info and not record.exc_text:
            record.exc_text = logging.Formatter().formatException(record.exc_info)
        record.exc_info = None  # the formatted (and redacted) text stands in for it
        if record.exc_text:
            record.exc_text = redact_text(record.exc_text, self.secrets)
        if record.stack_info:
            record.stack_info = redact_text(record.stack_info, self.secrets)
        fields = _redact_value(_plain(record_fields(record)), self.secrets)
        for name in list(vars(record)):
            if name not in _STANDARD_ATTRS and not name.startswith("_"):
                delattr(record, name)
        setattr(record, FIELDS_ATTR, fields)
        setattr(record, REDACTED_ATTR, True)
        return True


def _timestamp(record: logging.LogRecord) -> str:
    moment = datetime.fromtimestamp(record.created, UTC)
    return moment.isoformat(timespec="milliseconds").replace("+00:00", "Z")


def _traceback(record: logging.LogRecord) -> str | None:
    if record.exc_info and not record.exc_text:
        record.exc_text = logging.Formatter().formatException(record.exc_info)
    return record.exc_text or None


class JsonFormatter(logging.Formatter):
    """One JSON object per line. Fields that clash with the base keys get a trailing `_`."""

    def format(self, record: logging.LogRecord) -> str:
        out: dict[str, Any] = {
            "ts": _timestamp(record),
            "level": record.levelname,
            "logger": record.name,
            "msg": record.getMessage(),
        }
        for name, value in record_fields(record).items():
            out[f"{name}_" if name in _BASE_KEYS else name] = _plain(value)
        trace = _traceback(record)
        if trace:
            out["exc"] = trace
        if record.stack_info:
            out["stack"] = record.stack_info
        return json.dumps(out, ensure_ascii=False, separators=(",", ":"))


class ConsoleFormatter(logging.Formatter):
    """`2024-05-01T12:00:00.123Z INFO    bot.runner: msg coin=ETH size=0.1` (+ traceback)."""

    def format(self, record: logging.LogRecord) -> str:
        parts = [f"{_timestamp(record)} {record.levelname:<7} {record.name}: {record.getMessage()}"]
        for name, value in record_fields(record).items():
            if name == "event" and value == record.getMessage():
                continue  # `log_event`'s message already says it
            plain = _plain(value)
            text = plain if isinstance(plain, str) else json.dumps(plain, separators=(",", ":"))
            parts.append(f"{name}={json.dumps(text) if not text or ' ' in text else text}")
        line = " ".join(parts)
        trace = _traceback(record)
        return f"{line}\n{trace}" if trace else line


def configure_logging(
    level: str = "INFO",
    fmt: LogFormat = LogFormat.CONSOLE,
    *,
    stream: TextIO | None = None,
    secrets: Iterable[str] = (),
) -> logging.Handler:
    """Route the root logger to one handler on `stream` (stderr by default) in `fmt`, redacting.
    Calling it again replaces the handler it installed before (and nothing else)."""
    root = logging.getLogger()
    for old in [h for h in root.handlers if getattr(h, "_mirror_handler", False)]:
        root.removeHandler(old)
        old.close()
    handler = logging.StreamHandler(stream if stream is not None else sys.stderr)
    handler._mirror_handler = True  # type: ignore[attr-defined]
    handler.addFilter(RedactionFilter(secrets))
    handler.setFormatter(JsonFormatter() if fmt is LogFormat.JSON else ConsoleFormatter())
    root.addHandler(handler)
    root.setLevel(level.upper())
    # Per-request chatter of HTTP/websocket libraries only when debugging.
    for name in _QUIET_LIBRARIES:
        logging.getLogger(name).setLevel(logging.DEBUG if level.upper() == "DEBUG" else logging.WARNING)
    return handler


def configure_from_settings(settings: Settings, *, stream: TextIO | None = None) -> logging.Handler:
    """`configure_logging` with `MIRROR_LOG_LEVEL`, `MIRROR_LOG_FORMAT`, and the configured secrets."""
    secrets = [
        s.get_secret_value()
        for s in (settings.telegram_token, settings.keystore_password)
        if s is not None and s.get_secret_value()
    ]
    return configure_logging(settings.log_level, settings.log_format, stream=stream, secrets=secrets)


def log_event(logger: logging.Logger, event: str, *, level: int = logging.INFO, **fields: Any) -> None:
    """Log `event` (the message) with `fields` as structured fields (plus `event` itself). Field names
    may be anything, even LogRecord's own (`name`, `msg`): they travel apart from the record's."""
    if logger.isEnabledFor(level):
        logger.log(level, event, extra={FIELDS_ATTR: {"event": event, **fields}}, stacklevel=2)
