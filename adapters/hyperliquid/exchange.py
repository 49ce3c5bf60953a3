"""Async client for Hyperliquid's `POST /exchange`: signed actions over a keep-alive HTTP transport.

The transport is its own aiohttp connection pool (`KeepAlivePost`), not the venue's shared httpx client:
httpcore's pool rescans every pooled connection on every request (a `poll` and a `getpeername` each),
~3 ms of CPU per order with 16 in flight — it dominated a fan-out to 1,000 followers
(docs/decisions/hotpath.md §5). An httpx client can still be given (`client=`: tests observe its bytes).

What an answer means, and what we do (the contract the OMS relies on):

| what happened                                      | reached the venue? | we                           |
|----------------------------------------------------|--------------------|------------------------------|
| HTTP 200 `{"status": "ok", ...}`                   | yes                | map each order's status      |
| HTTP 200 `{"status": "err", "response": text}`     | yes, refused whole | REJECTED with the venue's text|
| HTTP 429                                           | no (rate limiter)  | wait, resend the SAME bytes  |
| connection refused / connect timeout / pool full   | no (never sent)    | wait, resend the SAME bytes  |
| read/write timeout, connection lost, HTTP 5xx      | maybe              | UNKNOWN: never resend        |

Resending the SAME signed body (same nonce, same signature) is safe even if our reading were wrong: the
venue accepts a nonce once, so a second copy can never execute twice. After an UNKNOWN the caller must
look the order up by cloid (`order_status`) before anything new is signed. Resends are bounded
(`max_resends`, each wait capped) so that the nonce stays among the signer's 100 newest.

No private key ever reaches a log line or an exception: signers are cached under a digest of the key,
and errors carry the venue's text, the signer's address and the action type only.
"""

from __future__ import annotations

import asyncio
import hashlib
import json
import logging
from collections.abc import Awaitable, Callable, Mapping, Sequence
from dataclasses import dataclass
from decimal import Decimal
from pathlib import Path
from typing import Any, Final, Protocol

import aiohttp
import httpx

from adapters.hyperliquid.budget import WeightBudget, exchange_weight
from adapters.hyperliquid.faults import (
    RATE_LIMITED,
    VENUE_5XX,
    VENUE_TIMEOUT,
    VENUE_UNREACHABLE,
    FaultRelay,
)
from adapters.hyperliquid.info import parse_retry_after
from adapters.hyperliquid.nonces import (
    DEFAULT_LEASE_MS,
    SHARED_MARK_FILE,
    FileNonceStore,
    NonceLease,
    NonceManager,
    wall_clock_ms,
)
from adapters.hyperliquid.signer import Signer, exchange_body
from adapters.hyperliquid.wire import (
    BuilderWire,
    OrderWire,
    cancel_action,
    cancel_by_cloid_action,
    noop_action,
    order_action,
    order_wire,
    schedule_cancel_action,
    trigger_order_wire,
    update_leverage_action,
)
from bot.domain import OrderRequest, OrderResult, OrderStatus
from bot.domain.refusals import CONNECTION_FAILED_WORDS, RATE_LIMITED_WORDS

__all__ = [
    "EXCHANGE_PATH",
    "ExchangeClient",
    "ExchangeRefused",
    "HttpAnswer",
    "HttpxPost",
    "KeepAlivePost",
    "NotSent",
    "OutcomeUnknown",
    "PostTransport",
    "SignerSlot",
    "order_results",
    "request_wire",
]

log = logging.getLogger(__name__)

EXCHANGE_PATH: Final = "/exchange"
_JSON_HEADERS: Final = {"Content-Type": "application/json"}
_HTTPX_NOT_SENT: Final = (httpx.ConnectError, httpx.ConnectTimeout, httpx.PoolTimeout)
# Connection refused / unresolvable, or no connection within the connect timeout (that timeout also
# covers waiting for a free connection of the pool): the request never left.
_AIOHTTP_NOT_SENT: Final = (aiohttp.ClientConnectorError, aiohttp.ConnectionTimeoutError)


class ExchangeError(Exception):
    """Base of this module's errors; messages never contain a key or a signature."""


class ExchangeRefused(ExchangeError):
    """The venue answered and refused the action as a whole; `str(exc)` is its text."""

    def __init__(self, action_type: str, text: str) -> None:
        super().__init__(text)
        self.action_type = action_type
        self.text = text


class OutcomeUnknown(ExchangeError):
    """The request may or may not have executed (timeout, lost connection, 5xx): look it up first."""


class NotSent(ExchangeError):
    """The request certainly did not execute (429s or connection failures beyond the resend budget)."""


@dataclass(slots=True)
class SignerSlot:
    """A signer and its nonces. Built once per key: constructing a `Signer` costs a key derivation."""

    signer: Signer
    nonces: NonceManager

    @property
    def address(self) -> str:
        return self.signer.address


@dataclass(frozen=True, slots=True)
class HttpAnswer:
    """An HTTP answer as the exchange client reads it, whatever the transport."""

    status: int
    content: bytes
    retry_after: str | None = None  # the `Retry-After` header

    @property
    def text(self) -> str:
        return self.content.decode("utf-8", "replace")


class ConnectFailed(Exception):
    """The transport certainly did not send the request (`str(exc)`: the underlying error's name)."""


class NoAnswer(Exception):
    """The request may have reached the venue, but no answer came (`str(exc)`: the error's name)."""


class PostTransport(Protocol):
    """POSTs a JSON body; raises `ConnectFailed` (never sent) or `NoAnswer` (maybe sent), else answers."""

    async def post(self, url: str, content: bytes, timeout_s: float) -> HttpAnswer: ...

    async def aclose(self) -> None: ...


class KeepAlivePost:
    """The order path's transport: aiohttp keep-alive connections, at most `max_connections` at once.

    aiohttp keeps idle connections in a per-host list and hands the newest out without scanning the
    others, so the CPU per request does not grow with the pool. Built on first use (a session belongs
    to the event loop it was created in: a new loop gets a new session)."""

    def __init__(self, max_connections: int = 32, keepalive_s: float = 15.0) -> None:
        self._max_connections = max_connections
        self._keepalive_s = keepalive_s
        self._session: aiohttp.ClientSession | None = None
        self._loop: asyncio.AbstractEventLoop | None = None

    def _session_now(self) -> aiohttp.ClientSession:
        loop = asyncio.get_running_loop()
        if self._session is None or self._session.closed or self._loop is not loop:
            connector = aiohttp.TCPConnector(
                limit=self._max_connections, limit_per_host=0, keepalive_timeout=self._keepalive_s
            )
            # No cookies: the venue sets none, and the jar's per-request filtering costs CPU.
            self._session = aiohttp.ClientSession(connector=connector, cookie_jar=aiohttp.DummyCookieJar())
            self._loop = loop
        return self._session

    async def post(self, url: str, content: bytes, timeout_s: float) -> HttpAnswer:
        # `connect` bounds the wait for a pooled connection plus a new connection's set-up; `sock_read`
        # the wait for the answer; `total` is a safety net for a write that never completes.
        timeout = aiohttp.ClientTimeout(total=3 * timeout_s, connect=timeout_s, sock_read=timeout_s)
        try:
            async with self._session_now().post(
                url, data=content, headers=_JSON_HEADERS, timeout=timeout
            ) as response:
                body = await response.read()
                return HttpAnswer(response.status, body, response.headers.get("Retry-After"))
        except _AIOHTTP_NOT_SENT as exc:
            raise ConnectFailed(type(exc).__name__) from None
        except (aiohttp.ClientError, TimeoutError) as exc:
            raise NoAnswer(type(exc).__name__) from None

    async def aclose(self) -> None:
        if self._session is not None:
            await self._session.close()
            self._session = None


class HttpxPost:
    """An httpx client as the transport (the caller owns it and closes it)."""

    def __init__(self, client: httpx.AsyncClient) -> None:
        self._client = client

    async def post(self, url: str, content: bytes, timeout_s: float) -> HttpAnswer:
        try:
            response = await self._client.post(
                url, content=content, headers=_JSON_HEADERS, timeout=httpx.Timeout(timeout_s)
            )
        except _HTTPX_NOT_SENT as exc:
            raise ConnectFailed(type(exc).__name__) from None
        except httpx.HTTPError as exc:
            raise NoAnswer(type(exc).__name__) from None
        return HttpAnswer(response.status_code, response.content, response.headers.get("Retry-After"))

    async def aclose(self) -> None:
        """Nothing: the client is the caller's."""


async def _sleep(seconds: float) -> None:
    await asyncio.sleep(seconds)


class ExchangeClient:
    """Signs and posts actions. `nonce_dir=None` keeps nonces in memory only (tests, throwaway keys);
    else every signer's nonces are covered by one lease saved there (`nonce_clock`, `nonce_lease_ms`:
    their clock and lease).
    The transport: `transport` if given, else `client` (an httpx client) if given, else its own
    `KeepAlivePost` with `max_connections`, closed by `aclose`."""

    def __init__(
        self,
        base_url: str,
        *,
        client: httpx.AsyncClient | None = None,
        transport: PostTransport | None = None,
        max_connections: int = 32,
        budget: WeightBudget,
        is_mainnet: bool,
        nonce_dir: Path | None,
        nonce_clock: Callable[[], int] = wall_clock_ms,
        nonce_lease_ms: int = DEFAULT_LEASE_MS,
        timeout_s: float = 5.0,
        max_resends: int = 3,
        resend_wait_s: float = 0.25,
        max_resend_wait_s: float = 5.0,
        sleep: Callable[[float], Awaitable[Any]] = _sleep,
        faults: FaultRelay | None = None,
    ) -> None:
        self._url = base_url.rstrip("/") + EXCHANGE_PATH
        self.faults = faults or FaultRelay()  # every 429, 5xx, timeout and failed connection, reported
        if transport is None:
            transport = HttpxPost(client) if client is not None else KeepAlivePost(max_connections)
        self.transport = transport
        self._budget = budget
        self._is_mainnet = is_mainnet
        self._nonce_dir = nonce_dir
        self._nonce_clock = nonce_clock
        self._nonce_lease_ms = nonce_lease_ms
        self._nonce_lease: NonceLease | None = None  # read on first use: a bad mark stops the signing
        self._timeout_s = timeout_s
        self._max_resends = max_resends
        self._resend_wait_s = resend_wait_s
        self._max_resend_wait_s = max_resend_wait_s
        self._sleep = sleep
        self._slots: dict[bytes, SignerSlot] = {}
        self._nonces_by_address: dict[str, NonceManager] = {}

    # --- signers ---
    def signer(self, key: str) -> SignerSlot:
        """The cached signer for a private key (cached under a digest, never the key itself)."""
        digest = hashlib.sha256(key.encode()).digest()
        slot = self._slots.get(digest)
        if slot is None:
            signer = Signer(key, is_mainnet=self._is_mainnet)
            slot = SignerSlot(signer, self._nonce_manager(signer.address))
            self._slots[digest] = slot
        return slot

    def one_off_signer(self, key: str) -> SignerSlot:
        """A signer for one user-signed action of a master key: not cached, so nothing holds the key
        once the caller drops it (its nonces are the address's, shared with any cached signer)."""
        signer = Signer(key, is_mainnet=self._is_mainnet)
        return SignerSlot(signer, self._nonce_manager(signer.address))

    def _nonce_manager(self, address: str) -> NonceManager:
        # One manager per address: two Signer objects for one key must never hand out the same nonce.
        manager = self._nonces_by_address.get(address.lower())
        if manager is None:
            directory, clock = self._nonce_dir, self._nonce_clock
            if self._nonce_lease is None:
                store = None if directory is None else FileNonceStore(directory / SHARED_MARK_FILE)
                self._nonce_lease = NonceLease(store, clock=clock, lease_ms=self._nonce_lease_ms)
            # The signer's own mark file, from before the shared lease: read only, as a floor.
            floor = None if directory is None else FileNonceStore.for_signer(directory, address).load()
            manager = NonceManager(lease=self._nonce_lease, clock=clock, floor=floor)
            self._nonces_by_address[address.lower()] = manager
        return manager

    # --- posting ---
    async def post_l1(
        self,
        slot: SignerSlot,
        action: Mapping[str, Any],
        *,
        vault_address: str | None = None,
        weight: int = 1,
    ) -> Any:
        """Sign an L1 action with a fresh nonce and post it; the `ok` answer's `response` field."""
        body = slot.signer.sign_l1_body(action, slot.nonces.next(), vault_address)
        return await self._post(body, str(action["type"]), slot.address, weight)

    async def _post(self, body: dict[str, Any], action_type: str, signer: str, weight: int) -> Any:
        content = json.dumps(body, separators=(",", ":")).encode()
        await self._budget.acquire(weight)
        resends = 0
        while True:
            try:
                answer = await self.transport.post(self._url, content, self._timeout_s)
            except ConnectFailed as exc:
                reason = f"{CONNECTION_FAILED_WORDS} ({exc})"
                wait = None
                self.faults(VENUE_UNREACHABLE, f"/exchange {action_type}: {reason}; not sent")
            except NoAnswer as exc:  # sent, or partly: the venue may have executed it
                detail = f"/exchange {action_type} by {signer}: no answer ({exc})"
                self.faults(VENUE_TIMEOUT, f"{detail}; the order is looked up by cloid, not resent")
                raise OutcomeUnknown(f"{detail}; look the order up before resending") from None
            else:
                if answer.status >= 500:
                    self.faults(
                        VENUE_5XX,
                        f"/exchange {action_type}: HTTP {answer.status}; "
                        "the order is looked up by cloid before anything is resent",
                    )
                if answer.status != 429:
                    return self._answer(answer, action_type, signer)
                reason, wait = f"HTTP 429 {RATE_LIMITED_WORDS}", parse_retry_after(answer.retry_after)
            if resends >= self._max_resends:
                raise NotSent(
                    f"/exchange {action_type} by {signer}: not sent after {resends} resends: {reason}"
                )
            wait = min(
                self._max_resend_wait_s, wait if wait is not None else self._resend_wait_s * 2**resends
            )
            if reason.startswith("HTTP 429"):
                self._budget.pause(wait)  # every request of this IP is over the limit, not only this one
                self.faults(
                    RATE_LIMITED,
                    f"/exchange {action_type}: HTTP 429 (not executed); every request paused {wait:.2f}s, "
                    "then the same signed request is resent",
                )
            log.warning(
                "/exchange %s by %s: %s; resending the same request in %.2fs",
                action_type,
                signer,
                reason,
                wait,
            )
            await self._sleep(wait)
            resends += 1

    async def aclose(self) -> None:
        """Close the transport (its own connections; an httpx client given is the caller's)."""
        await self.transport.aclose()

    @staticmethod
    def _answer(answer: HttpAnswer, action_type: str, signer: str) -> Any:
        if answer.status >= 500:
            raise OutcomeUnknown(
                f"/exchange {action_type} by {signer}: HTTP {answer.status}; "
                "look the order up before resending"
            )
        try:
            payload = json.loads(answer.content, parse_float=Decimal)
        except ValueError:
            payload = None
        if answer.status != 200 or not isinstance(payload, dict):
            # A 4xx other than 429 is the venue refusing the request's shape: it did not execute.
            raise ExchangeRefused(action_type, f"HTTP {answer.status}: {answer.text[:300]}")
        if payload.get("status") == "err":
            raise ExchangeRefused(action_type, str(payload.get("response")))
        if payload.get("status") != "ok":
            raise OutcomeUnknown(
                f"/exchange {action_type} by {signer}: unexpected answer {str(payload)[:300]}"
            )
        return payload.get("response")

    # --- actions ---
    async def place(
        self,
        slot: SignerSlot,
        orders: Sequence[OrderRequest],
        assets: Mapping[str, int],
        *,
        vault_address: str | None = None,
    ) -> list[OrderResult]:
        """One `order` action for the batch; one result per order, in order. Never raises for the
        venue's answers: a refusal is REJECTED, no answer is UNKNOWN, not sent is REJECTED with why."""
        wires = [request_wire(o, assets[o.coin]) for o in orders]
        builders = {o.builder for o in orders}
        if len(builders) > 1:  # one `order` action names one builder
            return [OrderResult(OrderStatus.REJECTED, o.cloid, error="one builder per batch") for o in orders]
        named = next(iter(builders), None)
        builder: BuilderWire | None = None if named is None else {"b": named.address, "f": named.tenths_bp}
        try:
            response = await self.post_l1(
                slot,
                order_action(wires, builder=builder),
                vault_address=vault_address,
                weight=exchange_weight(len(wires)),
            )
        except OutcomeUnknown as exc:
            return [OrderResult(OrderStatus.UNKNOWN, o.cloid, error=str(exc)) for o in orders]
        except (ExchangeRefused, NotSent) as exc:
            return [OrderResult(OrderStatus.REJECTED, o.cloid, error=str(exc)) for o in orders]
        return order_results(response, orders)

    async def cancel_by_cloid(
        self, slot: SignerSlot, cancels: Sequence[tuple[int, str]], *, vault_address: str | None = None
    ) -> list[str | None]:
        """One `cancelByCloid` action; per cancel None on success, else the venue's error text."""
        response = await self.post_l1(
            slot,
            cancel_by_cloid_action(list(cancels)),
            vault_address=vault_address,
            weight=exchange_weight(len(cancels)),
        )
        return _cancel_results(response, len(cancels))

    async def cancel_by_oid(
        self, slot: SignerSlot, cancels: Sequence[tuple[int, int]], *, vault_address: str | None = None
    ) -> list[str | None]:
        response = await self.post_l1(
            slot,
            cancel_action(list(cancels)),
            vault_address=vault_address,
            weight=exchange_weight(len(cancels)),
        )
        return _cancel_results(response, len(cancels))

    async def schedule_cancel(
        self, slot: SignerSlot, at_ms: int | None, *, vault_address: str | None = None
    ) -> None:
        """Arm (or with None disarm) the dead-man switch: every open order is cancelled at `at_ms`."""
        await self.post_l1(slot, schedule_cancel_action(at_ms), vault_address=vault_address)

    async def update_leverage(
        self, slot: SignerSlot, asset: int, leverage: int, is_cross: bool, *, vault_address: str | None = None
    ) -> None:
        await self.post_l1(
            slot, update_leverage_action(asset, leverage, is_cross), vault_address=vault_address
        )

    async def noop(self, slot: SignerSlot) -> None:
        """Spend a nonce (e.g. to make an in-flight request with a lower nonce unexecutable)."""
        await self.post_l1(slot, noop_action())

    async def approve_agent(self, master: SignerSlot, agent_address: str, name: str | None = None) -> None:
        """The master (user-signed, through the SDK's signer) lets `agent_address` trade for it."""
        nonce = master.nonces.next()
        action, signature = master.signer.sign_approve_agent(agent_address, nonce, name)
        await self._post(exchange_body(action, signature, nonce), "approveAgent", master.address, 1)

    async def approve_builder_fee(self, master: SignerSlot, builder: str, max_fee_rate: str) -> None:
        """The master (user-signed, through the SDK's signer) lets `builder` charge up to the rate."""
        nonce = master.nonces.next()
        action, signature = master.signer.sign_approve_builder_fee(builder, max_fee_rate, nonce)
        await self._post(exchange_body(action, signature, nonce), "approveBuilderFee", master.address, 1)


def request_wire(order: OrderRequest, asset: int) -> OrderWire:
    """One request's wire form: a limit order, or a trigger order when `order.trigger` is set."""
    trigger = order.trigger
    if trigger is None:
        return order_wire(
            asset, order.is_buy, order.limit_px, order.size, order.reduce_only, order.tif.value, order.cloid
        )
    return trigger_order_wire(
        asset,
        order.is_buy,
        order.limit_px,
        order.size,
        order.reduce_only,
        trigger.trigger_px,
        trigger.tpsl.value,
        trigger.is_market,
        order.cloid,
    )


def _statuses(response: Any, expected: int) -> list[Any] | None:
    try:
        statuses = response["data"]["statuses"]
    except (KeyError, TypeError):
        return None
    return statuses if isinstance(statuses, list) and len(statuses) == expected else None


def _decimal(value: Any) -> Decimal | None:
    try:
        return Decimal(str(value)) if value is not None else None
    except ArithmeticError:
        return None


def order_results(response: Any, orders: Sequence[OrderRequest]) -> list[OrderResult]:
    """The `statuses` of an ok order answer → one `OrderResult` per order. An answer we cannot read
    is UNKNOWN (the venue accepted the request, so the orders may exist)."""
    statuses = _statuses(response, len(orders))
    if statuses is None:
        text = f"unreadable order answer: {str(response)[:300]}"
        return [OrderResult(OrderStatus.UNKNOWN, o.cloid, error=text) for o in orders]
    results: list[OrderResult] = []
    for order, status in zip(orders, statuses, strict=True):
        if isinstance(status, dict) and isinstance(status.get("filled"), dict):
            filled = status["filled"]
            size = _decimal(filled.get("totalSz"))
            results.append(
                OrderResult(
                    OrderStatus.FILLED,
                    order.cloid,
                    filled.get("oid"),
                    size if size is not None else Decimal(0),
                    _decimal(filled.get("avgPx")),
                )
            )
        elif isinstance(status, dict) and isinstance(status.get("resting"), dict):
            results.append(OrderResult(OrderStatus.RESTING, order.cloid, status["resting"].get("oid")))
        elif isinstance(status, dict) and "error" in status:
            results.append(OrderResult(OrderStatus.REJECTED, order.cloid, error=str(status["error"])))
        elif status in ("waitingForFill", "waitingForTrigger"):
            results.append(OrderResult(OrderStatus.RESTING, order.cloid))
        else:
            results.append(OrderResult(OrderStatus.UNKNOWN, order.cloid, error=f"unknown status {status!r}"))
    return results


def _cancel_results(response: Any, expected: int) -> list[str | None]:
    statuses = _statuses(response, expected)
    if statuses is None:
        raise OutcomeUnknown(f"unreadable cancel answer: {str(response)[:300]}")
    return [
        None if status == "success" else str(status.get("error") if isinstance(status, dict) else status)
        for status in statuses
    ]
