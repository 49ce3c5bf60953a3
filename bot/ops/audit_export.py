"""The audit export (SPEC §15): one JSON line per conversion (leader event → decision → order →
fills), accounts pseudonymised, every line chained to the one before it by SHA-256.

File layout, one JSON object per line:
- a header (`"type": "header"`: the period, when it was made, the format version);
- one `"type": "conversion"` line per decision recorded in the period, oldest first, numbered `seq`;
- an end line (`"type": "end"`: how many conversions, and a MAC of the chain under the export key).
Every line but the first carries `prev`, the SHA-256 of the previous line's exact bytes, so an edited,
removed or reordered line breaks the chain at that point; the end line's count and MAC catch a cut
tail and a chain rebuilt by someone without the key.

Pseudonyms: whatever leads to a person or an account — addresses, Telegram ids and other actors, and
the ids a public explorer would resolve to an account (decision ids, cloids, venue order and trade ids,
source event ids) — is written as an HMAC-SHA256 under a random per-export key. The same value gets
the same pseudonym throughout one export (an auditor can follow one account), a different one in the
next. The key is written to a file for the operator only: with it (and the ledger) a pseudonym can be
traced back, and `verify` checks the MAC.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import re
import secrets
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from decimal import Decimal
from pathlib import Path
from typing import Any

from bot.ledger import Lineage
from bot.service import inputs
from bot.service.errors import InvalidInput

FORMAT = "mirrorbot-audit/1"
GENESIS = "0" * 64
KEY_BYTES = 32
# A conversion line is a few KiB (a decision, an order with its status changes, its fills); a line past
# this is not one of ours, and is refused before it is parsed (or, read from a file, before it is held).
MAX_LINE_CHARS = 1024 * 1024
_ADDRESS = re.compile(r"0x[0-9a-fA-F]{40}(?![0-9a-fA-F])")


class AuditFileError(Exception):
    """The export is not intact: the message names the first line that breaks it."""


@dataclass(frozen=True, slots=True)
class Pseudonyms:
    key: bytes

    @classmethod
    def fresh(cls) -> Pseudonyms:
        return cls(secrets.token_bytes(KEY_BYTES))

    def of(self, kind: str, value: object) -> str | None:
        """`kind:` + 16 hex of HMAC-SHA256(key, kind:value); None stays None."""
        if value is None:
            return None
        text = str(value).strip().lower()
        digest = hmac.new(self.key, f"{kind}:{text}".encode(), hashlib.sha256).hexdigest()
        return f"{kind}:{digest[:16]}"

    def account(self, address: str | None) -> str | None:
        return self.of("acct", address)

    def actor(self, actor: str | None) -> str | None:
        """`telegram:123` → `telegram:<pseudonym>`: the channel stays, the person does not."""
        if actor is None:
            return None
        channel, _, who = actor.partition(":")
        return f"{channel}:{self.of('actor', actor)}" if who else self.of("actor", actor)

    def text(self, value: str | None) -> str | None:
        """Free text (a venue's error) with any address in it replaced by the account's pseudonym."""
        if value is None:
            return None
        return _ADDRESS.sub(lambda m: str(self.account(m.group(0))), value)

    def mac(self, head: str) -> str:
        return hmac.new(self.key, head.encode(), hashlib.sha256).hexdigest()


def _num(value: Decimal | int | None) -> str | None:
    return None if value is None else str(value)


def _time(value: datetime | None) -> str | None:
    return None if value is None else value.astimezone(UTC).isoformat(timespec="milliseconds")


def conversion(chain: Lineage, names: Pseudonyms) -> dict[str, Any]:
    """One conversion as the export writes it (before `seq` and `prev`)."""
    decision = chain.instruction
    assert decision is not None, "conversions are read by decision"
    event, plan, intent, order = chain.leader_event, chain.plan, chain.intent, chain.order
    return {
        "leader_event": None
        if event is None
        else {
            "venue": event.venue,
            "source": names.account(event.source),
            "event_id": names.of("event", event.event_id),
            "coin": event.coin,
            "old_size": _num(event.old_size),
            "new_size": _num(event.new_size),
            "avg_px": _num(event.avg_px),
            "venue_time": _time(event.time),
            "ledger_time": _time(event.received_at),
        },
        "decision": {
            "id": names.of("decision", decision.id),
            "ledger_time": _time(decision.created_at),
            "follower": names.account(decision.follower),
            "source": names.account(decision.source),
            "coin": decision.coin,
            "strategy": decision.strategy,
            "event_kind": decision.event_kind,
            "revision": decision.revision,
            "plan_version": decision.plan_version,
            "plan_actor": names.actor(plan.actor) if plan is not None else None,
            "ratio": _num(decision.ratio),
            "target_before": _num(decision.target_before),
            "target_after": _num(decision.target_after),
            "position": _num(decision.position),
            "delta": _num(decision.delta),
            "mid": _num(decision.mid),
            "guards": list(decision.guards or []),
            "reason": decision.reason,
        },
        "order": None
        if intent is None
        else {
            "cloid": names.of("cloid", intent.cloid),
            "venue": intent.venue,
            "side": intent.side,
            "size": _num(intent.size),
            "limit_px": _num(intent.limit_px),
            "tif": intent.tif,
            "reduce_only": intent.reduce_only,
            "status": intent.status,
            "error": names.text(intent.error),
            "ledger_time": _time(intent.created_at),
            "oid": names.of("oid", order.oid) if order is not None else None,
            "venue_status": order.status if order is not None else None,
            "statuses": [{"status": s.status, "ledger_time": _time(s.time)} for s in chain.statuses],
        },
        "fills": [
            {
                "trade_id": names.of("trade", f.trade_id),
                "side": f.side,
                "price": _num(f.price),
                "size": _num(f.size),
                "fee": _num(f.fee),
                "fee_token": f.fee_token,
                "closed_pnl": _num(f.closed_pnl),
                "venue_time": _time(f.time),
            }
            for f in chain.fills
        ],
    }


def _line(doc: dict[str, Any]) -> str:
    return json.dumps(doc, sort_keys=True, separators=(",", ":"), ensure_ascii=False)


def _sha(line: str) -> str:
    return hashlib.sha256(line.encode()).hexdigest()


def chain_lines(
    records: Iterable[dict[str, Any]],
    names: Pseudonyms,
    *,
    since: datetime,
    until: datetime,
    made_at: datetime,
) -> Iterator[str]:
    """The export's lines (without newlines): header, the records chained, the end line."""
    header = _line(
        {
            "type": "header",
            "format": FORMAT,
            "since": _time(since),
            "until": _time(until),
            "made_at": _time(made_at),
        }
    )
    yield header
    prev, count = _sha(header), 0
    for count, record in enumerate(records, start=1):
        line = _line({"type": "conversion", "seq": count} | record | {"prev": prev})
        yield line
        prev = _sha(line)
    yield _line({"type": "end", "conversions": count, "prev": prev, "mac": names.mac(prev)})


def export_lines(
    chains: Sequence[Lineage], names: Pseudonyms, *, since: datetime, until: datetime, made_at: datetime
) -> Iterator[str]:
    return chain_lines(
        (conversion(c, names) for c in chains if c.instruction is not None),
        names,
        since=since,
        until=until,
        made_at=made_at,
    )


def _parsed(number: int, line: str) -> dict[str, Any]:
    """One line of the file as a JSON object, refused (naming the line) when too long, nested past the
    input boundary's depth, or holding a number literal past its length, before any parser recursion."""
    where = f"line {number}"
    if len(line) > MAX_LINE_CHARS:
        raise AuditFileError(f"{where}: longer than any export line ({MAX_LINE_CHARS} characters)")
    try:
        doc = json.loads(
            inputs.text_nesting(line, where), parse_int=inputs.json_number, parse_float=inputs.json_number
        )
    except InvalidInput as exc:
        raise AuditFileError(f"{where}: {str(exc).removeprefix(where + ': ')}") from None
    except ValueError:
        doc = None
    if not isinstance(doc, dict):
        raise AuditFileError(f"{where}: not a JSON object")
    return doc


@dataclass(frozen=True, slots=True)
class Verified:
    conversions: int
    head: str  # SHA-256 of the last conversion line (the header's when none)
    mac_checked: bool


def read_lines(path: Path) -> Iterator[str]:
    """The lines of an export file, read one at a time (any size, in bounded memory): only "\n" ends a
    line (a value may hold U+2028 and the like, written as they are); a line past `MAX_LINE_CHARS`
    bytes (a device that never ends too) or not UTF-8 is refused naming it. OSError: cannot open."""
    with path.open("rb") as handle:
        number = 0
        while raw := handle.readline(MAX_LINE_CHARS + 1):
            number += 1
            if len(raw) > MAX_LINE_CHARS and not raw.endswith(b"\n"):
                raise AuditFileError(f"line {number}: longer than any export line ({MAX_LINE_CHARS} bytes)")
            try:
                yield raw.removesuffix(b"\n").decode("utf-8")
            except UnicodeDecodeError:
                raise AuditFileError(f"line {number}: not UTF-8 text") from None


def verify_text(text: str, key: bytes | None = None) -> Verified:
    """`verify_lines` over an export's text (lines end in "\n" only, as `read_lines` reads them)."""
    lines = text.split("\n")
    if lines and lines[-1] == "":
        lines.pop()
    return verify_lines(lines, key)


def verify_lines(lines: Iterable[str], key: bytes | None = None) -> Verified:
    """Check an export line by line; raise AuditFileError naming the first line (1-based) that breaks it."""
    prev, done, number = "", None, 0
    for number, line in enumerate(lines, start=1):
        if done is not None:
            raise AuditFileError(f"line {number}: a line after the end line")
        doc = _parsed(number, line)
        if number == 1:
            if doc.get("type") != "header" or doc.get("format") != FORMAT:
                raise AuditFileError(f"line 1: not an audit export header ({FORMAT})")
            prev = _sha(line)
            continue
        if doc.get("prev") != prev:
            raise AuditFileError(
                f"line {number}: the chain breaks here (line {number - 1} was edited, or a line was "
                "removed or moved)"
            )
        if doc.get("type") == "end":
            done = _end(number, line, doc, prev, key)
            continue
        if doc.get("type") != "conversion" or doc.get("seq") != number - 1:
            raise AuditFileError(f"line {number}: expected conversion {number - 1}")
        prev = _sha(line)
    if number == 0:
        raise AuditFileError("the file is empty")
    if done is None:
        raise AuditFileError(f"line {number}: no end line after it (the file was cut)")
    return done


def _end(number: int, line: str, doc: dict[str, Any], prev: str, key: bytes | None) -> Verified:
    if doc.get("conversions") != number - 2:
        counted = inputs.shown(doc.get("conversions"))
        raise AuditFileError(f"line {number}: the end line counts {counted} conversions")
    if line != _line({"type": "end", "conversions": number - 2, "prev": prev, "mac": doc.get("mac")}):
        raise AuditFileError(f"line {number}: the end line was edited")
    if key is not None and not hmac.compare_digest(str(doc.get("mac")), Pseudonyms(key).mac(prev)):
        raise AuditFileError(f"line {number}: the MAC does not match this key (the chain was rebuilt)")
    return Verified(number - 2, prev, key is not None)
