"""The localnet's wire layer: one aiohttp server speaking Hyperliquid's protocol in front of the
in-memory exchange core (`LocalExchange`).

    POST /info       -> LocalExchange.handle_info (InfoError -> HTTP 422 with its text)
    POST /exchange   -> envelope check, expiry, nonce window, signer recovery (auth.py),
                        resolve_account, per-signer nonces, LocalExchange.handle_action
    GET  /ws         -> subscriptions fed by the core's events (ws.py)
    POST /_localnet  -> control messages (control.py)

Three ways to run it: `serve(...)` blocks (the `mirrorbot localnet` command); `running_localnet(...)`
is an async context manager for asyncio code; `LocalnetThread` runs it on a thread of its own for
synchronous callers such as the hyperliquid SDK in tests. Everything that touches the core runs on
the server's event loop, one request at a time, so the core needs no locks.
"""

from __future__ import annotations

import asyncio
import contextlib
import ipaddress
import json
import logging
import signal
import threading
import time
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from decimal import Decimal
from pathlib import Path
from types import TracebackType
from typing import Any, Literal, TypeVar
from urllib.parse import urlsplit

from aiohttp import web

from adapters.localnet.auth import (
    MALFORMED_BODY,
    SIGNATURE_MODES,
    MalformedRequest,
    SignatureError,
    SignatureMode,
    SignedRequest,
    candidate_domains,
    is_user_signed,
    parse_signed_request,
    recover_signer,
)
from adapters.localnet.control import ControlError, apply_control
from adapters.localnet.exchange import LocalExchange
from adapters.localnet.faults import SERVER_ERROR, TOO_MANY_REQUESTS, Faults
from adapters.localnet.nodefiles import NodeFillsWriter
from adapters.localnet.nonces import NonceBook, NonceError
from adapters.localnet.stats import ExchangeRecord, ExchangeStats
from adapters.localnet.types import ExchangeError, InfoError
from adapters.localnet.universe import instruments_for
from adapters.localnet.ws import WsHub
from bot.domain import wirejson

log = logging.getLogger(__name__)

T = TypeVar("T")
JSON = "application/json"
ACTION_EXPIRED = "Action already expired"
FORBIDDEN = "The localnet serves loopback clients only (start it with --allow-remote to serve others)"
# A browser names the page that sent a request in `Origin`: a web page open on the operator's machine
# (or one reaching 127.0.0.1 by DNS rebinding) must not fund, reset or inject faults (docs/localnet.md).
FOREIGN_ORIGIN = "The localnet refuses requests sent by web pages whose Origin is not on this machine"
NOT_JSON = "Content-Type: expected application/json"
SERVE_PRICE_WALK_MS = 1000  # `mirrorbot localnet` moves prices by itself; embedded uses start still
HOUSEKEEPING_S = 0.5  # how often due scheduleCancel deadlines are enforced without a request
SHUTDOWN_GRACE_S = 0.5  # in-flight requests (e.g. held by an injected latency) get this long at stop


def wall_clock_ms() -> int:
    return time.time_ns() // 1_000_000


def is_loopback(remote: str | None) -> bool:
    """Whether a peer address (as aiohttp's `request.remote` gives it) is on this machine."""
    if not remote:
        return False
    try:
        address = ipaddress.ip_address(remote.split("%", 1)[0])
    except ValueError:
        return False
    if isinstance(address, ipaddress.IPv6Address) and address.ipv4_mapped is not None:
        return address.ipv4_mapped.is_loopback
    return address.is_loopback


def is_loopback_origin(origin: str | None) -> bool:
    """Whether a request's `Origin` header is absent (not a browser) or a page served from this machine."""
    if origin is None:
        return True
    try:
        host = urlsplit(origin).hostname
    except ValueError:
        return False
    return host is not None and (host == "localhost" or host.endswith(".localhost") or is_loopback(host))


def _bound_address(sockaddr: Any) -> str:
    host, port = sockaddr[0], sockaddr[1]
    return f"[{host}]:{port}" if ":" in host else f"{host}:{port}"


def _json_response(payload: Any, status: int = 200) -> web.Response:
    return web.Response(
        body=json.dumps(payload, separators=(",", ":")).encode(), status=status, content_type=JSON
    )


def _note_refused(raw: bytes, record: ExchangeRecord) -> None:
    """A request answered with an injected HTTP error still shows its action, nonce and cloids in
    `stats` (a client resending the same request is visible as such); nothing of it was executed."""
    with contextlib.suppress(ValueError, TypeError, AttributeError):
        request = parse_signed_request(wirejson.loads(raw))
        record.action, record.nonce = request.action, request.nonce


def _decimal_default(value: Any) -> Any:
    if isinstance(value, Decimal):
        return str(value)
    raise TypeError(f"not JSON serialisable: {type(value).__name__}")


class Localnet:
    """One localnet: the exchange core plus the wire state (nonces, stats, faults, websockets)."""

    def __init__(
        self,
        *,
        seed: int = 0,
        signatures: SignatureMode = "testnet",
        allow_remote: bool = False,
        price_walk_ms: int = 0,
        clock_ms: Callable[[], int] | None = None,
        universe: str = "default",
        node_data: Path | None = None,
    ) -> None:
        if signatures not in SIGNATURE_MODES:
            raise ValueError(f"signatures: expected one of {', '.join(SIGNATURE_MODES)}, got {signatures!r}")
        self.seed = seed
        self.signatures: SignatureMode = signatures
        self.allow_remote = allow_remote
        self._clock_ms = clock_ms or wall_clock_ms
        self.exchange = LocalExchange(
            seed=seed, clock_ms=self._clock_ms, instruments=instruments_for(universe)
        )
        self.nonces = NonceBook()
        self.stats = ExchangeStats()
        self.faults = Faults(seed)
        self.hub = WsHub(
            self.faults, self.exchange.handle_info, self.exchange.user_fills, self.exchange.ws_view
        )
        self.exchange.add_listener(self.hub.publish, books=self.hub.watches_book)
        # `node_data`: every fill also written as a node's node_fills_by_block files (nodefiles.py).
        self.node_writer = None if node_data is None else NodeFillsWriter(node_data)
        if self.node_writer is not None:
            self.exchange.add_block_listener(self.node_writer.write_block)
        self._default_reject_message = self.exchange.reject_message
        self._start_price_walk_ms = price_walk_ms
        self.price_walk_ms = 0
        self._walker: asyncio.Task[None] | None = None
        self._housekeeper: asyncio.Task[None] | None = None
        self._runner: web.AppRunner | None = None
        self.url = ""  # how clients on this machine reach it
        self.bound: list[str] = []  # the addresses actually listened on (0.0.0.0:8787: every interface)

    # --- lifecycle ---
    def app(self) -> web.Application:
        app = web.Application(client_max_size=1 << 20)
        app.router.add_post("/info", self._handle_info)
        app.router.add_post("/exchange", self._handle_exchange)
        app.router.add_get("/ws", self._handle_ws)
        app.router.add_post("/_localnet", self._handle_control)
        return app

    async def start(self, host: str = "127.0.0.1", port: int = 0) -> None:
        self.hub.bind(asyncio.get_running_loop())
        self._runner = web.AppRunner(
            self.app(), access_log=None, handle_signals=False, shutdown_timeout=SHUTDOWN_GRACE_S
        )
        await self._runner.setup()
        site = web.TCPSite(self._runner, host, port)
        await site.start()
        self.bound = [_bound_address(a) for a in self._runner.addresses]
        bound_port = self._runner.addresses[0][1]
        url_host = "127.0.0.1" if host in ("", "0.0.0.0") else "[::1]" if host == "::" else host
        if ":" in url_host and not url_host.startswith("["):
            url_host = f"[{url_host}]"
        self.url = f"http://{url_host}:{bound_port}"
        self.set_price_walk(self._start_price_walk_ms)
        self._housekeeper = asyncio.create_task(self._housekeeping())

    async def stop(self) -> None:
        tasks = (self._walker, self._housekeeper)
        self._walker = self._housekeeper = None
        for task in tasks:
            if task is not None:
                task.cancel()
                with contextlib.suppress(asyncio.CancelledError):
                    await task
        await self.hub.close()
        if self.node_writer is not None:
            self.node_writer.close()
        if self._runner is not None:
            await self._runner.cleanup()
            self._runner = None

    # --- control support ---
    def set_price_walk(self, interval_ms: int) -> None:
        """Run the seeded random walk every `interval_ms` (0 stops it)."""
        if self._walker is not None:
            self._walker.cancel()
            self._walker = None
        self.price_walk_ms = interval_ms
        if interval_ms > 0:
            self._walker = asyncio.create_task(self._walk(interval_ms / 1000))

    def clear_faults(self) -> None:
        """Every fault off; userFills pushes held back by a fault are sent now (late, not lost)."""
        self.faults.clear()
        self.hub.release_held()
        self.exchange.reject_next_orders = 0
        self.exchange.reject_message = self._default_reject_message
        self.exchange.partial_fill_ratio = None
        self.exchange.set_outlier_mids({})

    def fault_report(self) -> dict[str, Any]:
        ratio = self.exchange.partial_fill_ratio
        return {
            **self.faults.to_json(),
            "rejectNext": self.exchange.reject_next_orders,
            "rejectMessage": self.exchange.reject_message,
            "partialFillRatio": None if ratio is None else str(ratio),
            "heldWsFills": self.hub.held_fill_pushes,
            "outlierMids": {coin: str(px) for coin, px in self.exchange.outlier_mids.items()},
        }

    def reset(self) -> None:
        """Back to the state just after start: fresh core, no nonces, stats or faults; websocket
        clients stay connected and subscribed."""
        self.exchange.reset()
        self.nonces.clear()
        self.stats.clear()
        self.hub.fill_pushes.clear()
        self.hub.forget_held()
        self.clear_faults()
        self.faults.reset()
        self.set_price_walk(self._start_price_walk_ms)

    async def _walk(self, interval_s: float) -> None:
        while True:
            await asyncio.sleep(interval_s)
            try:
                self.exchange.step_prices()
            except Exception:
                log.exception("localnet: price step failed")

    async def _housekeeping(self) -> None:
        while True:
            await asyncio.sleep(HOUSEKEEPING_S)
            try:
                self.exchange.scheduled_cancel_due(self._clock_ms())
            except Exception:
                log.exception("localnet: scheduled cancel failed")

    # --- HTTP handlers ---
    def _refused(self, request: web.Request) -> str | None:
        """Why a request is refused (403), or None: a client off this machine unless allowed, and any
        request from a web page not served from this machine (even with --allow-remote)."""
        if not self.allow_remote and not is_loopback(request.remote):
            return FORBIDDEN
        if not is_loopback_origin(request.headers.get("Origin")):
            return FOREIGN_ORIGIN
        return None

    async def _injected_fault(self, endpoint: Literal["exchange", "info"]) -> int | None:
        """Sleep the added latency, then draw an HTTP error to answer instead (None: serve)."""
        if not self.faults.active or not self.faults.applies_to(endpoint):
            return None
        latency = self.faults.settings.latency_ms
        if latency > 0:
            await asyncio.sleep(latency / 1000)
        return self.faults.draw_http_error()

    @staticmethod
    def _fault_response(status: int) -> web.Response:
        return web.Response(status=status, text=TOO_MANY_REQUESTS if status == 429 else SERVER_ERROR)

    async def _handle_info(self, request: web.Request) -> web.Response:
        if refusal := self._refused(request):
            return web.Response(status=403, text=refusal)
        fault = await self._injected_fault("info")
        if fault is not None:
            return self._fault_response(fault)
        try:
            body = wirejson.loads(await request.read())
        except ValueError:
            return web.Response(status=422, text=MALFORMED_BODY)
        if not isinstance(body, dict):
            return web.Response(status=422, text=MALFORMED_BODY)
        try:
            result = self.exchange.handle_info(body)
        except InfoError as exc:
            return web.Response(status=422, text=str(exc))
        self.stats.info_requests[str(body.get("type"))] += 1  # answered: a type the localnet knows
        return _json_response(result)

    async def _handle_exchange(self, request: web.Request) -> web.Response:
        record = self.stats.open(time.time_ns())  # first: the receive time precedes all processing
        if refusal := self._refused(request):
            record.http_status, record.response = 403, refusal
            return web.Response(status=403, text=refusal)
        # The body is read before any fault: a client that times out during the added latency has still
        # delivered its order, as on the real venue (the answer is lost, the order is not).
        raw = await request.read()
        faulty = self.faults.active and self.faults.applies_to("exchange")
        fault = self.faults.draw_http_error() if faulty else None
        if fault is not None:  # refused before execution: the order did not reach the book
            _note_refused(raw, record)
            record.http_status = fault
            record.response = TOO_MANY_REQUESTS if fault == 429 else SERVER_ERROR
            return self._fault_response(fault)
        try:
            response = self._execute(raw, record)
        except MalformedRequest as exc:
            record.http_status, record.response = 422, str(exc)
            return web.Response(status=422, text=str(exc))
        except Exception:
            log.exception("localnet: /exchange failed")
            record.http_status, record.response = 500, "Internal error"
            return web.Response(status=500, text="Internal error (see the localnet log)")
        record.response = response
        if faulty and self.faults.settings.latency_ms > 0:
            # Latency on the way back: the order has executed; a client timing out sees an unknown outcome.
            await asyncio.sleep(self.faults.settings.latency_ms / 1000)
        return _json_response(response)

    def _execute(self, raw: bytes, record: ExchangeRecord) -> dict[str, Any]:
        """The /exchange pipeline, synchronous so no other request interleaves with it."""
        try:
            request = parse_signed_request(wirejson.loads(raw))
        except ValueError:
            raise MalformedRequest(MALFORMED_BODY) from None
        record.action, record.nonce = request.action, request.nonce
        now_ms = self._clock_ms()
        try:
            if request.expires_after is not None and request.expires_after < now_ms:
                raise ExchangeError(ACTION_EXPIRED)
            self.nonces.check_window(request.nonce, now_ms)
            signer, account = self._authenticate(request)
            record.signer, record.user = signer, account
            self.nonces.check_signer(signer, request.nonce)
            self.nonces.commit(signer, request.nonce)
            response: dict[str, Any] = self.exchange.handle_action(
                account, signer, request.action, request.nonce
            )
            return response
        except (ExchangeError, NonceError, SignatureError) as exc:
            return {"status": "err", "response": str(exc)}

    def _authenticate(self, request: SignedRequest) -> tuple[str, str]:
        """(signer, account). With `signatures="any"` the first domain whose recovered signer the
        core knows wins; a signer unknown in every domain gets the core's refusal for the first."""
        user_signed = is_user_signed(request)
        first_refusal: ExchangeError | None = None
        for mainnet in candidate_domains(self.signatures, request):
            signer = recover_signer(request, mainnet=mainnet)
            try:
                account = self.exchange.resolve_account(
                    signer, None if user_signed else request.vault_address
                )
            except ExchangeError as exc:
                first_refusal = first_refusal or exc
                continue
            # A user-signed action (approveAgent) acts for the key that signed it.
            return signer, signer if user_signed else account.lower()
        assert first_refusal is not None
        raise first_refusal

    async def _handle_ws(self, request: web.Request) -> web.StreamResponse:
        if refusal := self._refused(request):
            return web.Response(status=403, text=refusal)
        return await self.hub.handle(request)

    async def _handle_control(self, request: web.Request) -> web.Response:
        if refusal := self._refused(request):
            return web.Response(status=403, text=refusal)
        if request.content_type != JSON:  # a page may POST text/plain cross-site without asking first
            return _json_response({"error": NOT_JSON}, status=415)
        try:
            message = wirejson.loads(await request.read(), parse_float=Decimal)
        except ValueError:
            return _json_response({"error": "body: expected a JSON object with a 'type'"}, status=400)
        try:
            answer = apply_control(self, message)
        except ControlError as exc:
            return _json_response({"error": str(exc)}, status=400)
        return web.Response(body=json.dumps(answer, default=_decimal_default).encode(), content_type=JSON)


@asynccontextmanager
async def running_localnet(
    host: str = "127.0.0.1",
    port: int = 0,
    seed: int = 0,
    signatures: SignatureMode = "testnet",
    allow_remote: bool = False,
    price_walk_ms: int = 0,
    clock_ms: Callable[[], int] | None = None,
    universe: str = "default",
    node_data: Path | None = None,
) -> AsyncIterator[Localnet]:
    """A started localnet (port 0: any free port; see `.url`), stopped cleanly on exit."""
    net = Localnet(
        seed=seed,
        signatures=signatures,
        allow_remote=allow_remote,
        price_walk_ms=price_walk_ms,
        clock_ms=clock_ms,
        universe=universe,
        node_data=node_data,
    )
    await net.start(host, port)
    try:
        yield net
    finally:
        await net.stop()


class LocalnetThread:
    """A localnet on its own thread and event loop, for synchronous code (the SDK uses `requests` and
    a websocket thread). Use as a context manager, or `start()` / `stop()`. Touch `.exchange` only
    through `call(fn)`, which runs `fn` on the server's loop."""

    def __init__(
        self,
        host: str = "127.0.0.1",
        port: int = 0,
        seed: int = 0,
        signatures: SignatureMode = "testnet",
        allow_remote: bool = False,
        price_walk_ms: int = 0,
        clock_ms: Callable[[], int] | None = None,
        universe: str = "default",
        node_data: Path | None = None,
    ) -> None:
        self._options: dict[str, Any] = {
            "universe": universe,
            "node_data": node_data,
            "host": host,
            "port": port,
            "seed": seed,
            "signatures": signatures,
            "allow_remote": allow_remote,
            "price_walk_ms": price_walk_ms,
            "clock_ms": clock_ms,
        }
        self._ready = threading.Event()
        self._error: BaseException | None = None
        self._net: Localnet | None = None
        self._loop: asyncio.AbstractEventLoop | None = None
        self._stopping: asyncio.Event | None = None
        self._thread = threading.Thread(target=self._run, name="localnet", daemon=True)

    @property
    def net(self) -> Localnet:
        if self._net is None:
            raise RuntimeError("the localnet is not running")
        return self._net

    @property
    def url(self) -> str:
        return self.net.url

    @property
    def exchange(self) -> LocalExchange:
        return self.net.exchange

    def start(self, timeout: float = 30.0) -> LocalnetThread:
        self._thread.start()
        if not self._ready.wait(timeout):
            raise TimeoutError("the localnet did not start in time")
        if self._error is not None:
            self._thread.join()
            raise RuntimeError(f"the localnet failed to start: {self._error}") from self._error
        return self

    def stop(self, timeout: float = 30.0) -> None:
        if self._loop is not None and self._stopping is not None and self._thread.is_alive():
            self._loop.call_soon_threadsafe(self._stopping.set)
        if self._thread.is_alive():
            self._thread.join(timeout)

    def call(self, fn: Callable[[], T], timeout: float = 30.0) -> T:
        """Run `fn()` on the server's event loop (between requests) and return its result."""
        if self._loop is None:
            raise RuntimeError("the localnet is not running")

        async def run() -> T:
            return fn()

        return asyncio.run_coroutine_threadsafe(run(), self._loop).result(timeout)

    def _run(self) -> None:
        asyncio.run(self._main())

    async def _main(self) -> None:
        self._loop = asyncio.get_running_loop()
        self._stopping = asyncio.Event()
        try:
            async with running_localnet(**self._options) as net:
                self._net = net
                self._ready.set()
                await self._stopping.wait()
        except BaseException as exc:  # reported to the starting thread
            self._error = exc
        finally:
            self._ready.set()

    def __enter__(self) -> LocalnetThread:
        return self.start()

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.stop()


def serve(
    host: str = "127.0.0.1",
    port: int = 8787,
    seed: int = 0,
    signatures: str = "testnet",
    allow_remote: bool = False,
    universe: str = "default",
    node_data: Path | None = None,
) -> None:
    """Run until interrupted (Ctrl-C or SIGTERM): the `mirrorbot localnet` command. `universe`:
    see adapters/localnet/universe.py (the command does not offer it yet)."""
    instruments_for(universe)  # an unknown universe is refused before anything starts
    if signatures not in SIGNATURE_MODES:
        raise ValueError(f"signatures: expected one of {', '.join(SIGNATURE_MODES)}, got {signatures!r}")
    mode: SignatureMode = "any" if signatures == "any" else "testnet"
    with contextlib.suppress(KeyboardInterrupt):
        asyncio.run(_serve_until_stopped(host, port, seed, mode, allow_remote, universe, node_data))


async def _serve_until_stopped(
    host: str,
    port: int,
    seed: int,
    signatures: SignatureMode,
    allow_remote: bool,
    universe: str = "default",
    node_data: Path | None = None,
) -> None:
    stopping = asyncio.Event()
    loop = asyncio.get_running_loop()
    for signum in (signal.SIGINT, signal.SIGTERM):
        with contextlib.suppress(NotImplementedError, RuntimeError):
            loop.add_signal_handler(signum, stopping.set)
    async with running_localnet(
        host,
        port,
        seed,
        signatures,
        allow_remote,
        price_walk_ms=SERVE_PRICE_WALK_MS,
        universe=universe,
        node_data=node_data,
    ) as net:
        remote = "any client" if allow_remote else "loopback clients only"
        bound = ", ".join(net.bound)
        where = net.url if net.url.endswith(f"//{bound}") else f"{bound} (from this machine: {net.url})"
        print(
            f"localnet serving on {where} (seed {seed}, signatures {signatures}, {remote}); "
            f"control: POST {net.url}/_localnet; "
            + (f"node fills files under {node_data}; " if node_data is not None else "")
            + "Ctrl-C stops",
            flush=True,
        )
        await stopping.wait()
    print("localnet stopped", flush=True)
