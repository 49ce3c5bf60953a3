"""The one place venue clients are built from the settings, and the only module of `bot/` that names a
venue: everything else reaches a venue through the `Venue` protocol (bot/domain/) and asks its
`capabilities` what it can do.

Why here, at the top of `bot/` next to `config.py`: adapters import only `bot/domain/`, so the code
that chooses and constructs an adapter must sit in `bot/`; it needs nothing but the settings and the
domain, so it is the lowest layer of `bot/` that may import adapters, below the pipeline, the service,
analytics, Telegram and the CLI, which all call it. Adapter modules are imported inside the builders:
a GMX client pulls in web3, which a Hyperliquid-only command should not pay for.

The paper venue (adapters/paper: follower orders simulated at a real venue's live mids) is built here too
(`open_paper_venue`), and is imported at the top: it is light, and `PaperVenue` is the type `mirrorbot
paper` holds.

The embedded localnet (adapters/localnet: a Hyperliquid-compatible venue on this host) is started here
too, for `mirrorbot localnet` (`serve_localnet`) and `mirrorbot demo` (`embedded_localnet`): it is a venue
the commands bring up, so they reach it through this module like every other venue.

A runner builds the clients it trades and watches with (`build_venue`, `venue_factories`); the service,
Telegram and the CLI read through `Venues.for_reads` — one attempt per read (a person is waiting for
the answer, the runner's retries would make them wait for a venue that is down) and no GMX order
journal (a read never places an order).
"""

from __future__ import annotations

import contextlib
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import TYPE_CHECKING, Any

from adapters.paper import PaperVenue as PaperVenue  # re-exported: the type `mirrorbot paper` holds
from bot.domain import OrderStatus, SourceFill, Venue, VenueCapabilities

if TYPE_CHECKING:
    from adapters.localnet.server import LocalnetThread
    from bot.config import Settings

HYPERLIQUID = "hyperliquid"  # the default follower venue, and every plan's default source venue
GMX = "gmx"
VENUE_NAMES = (HYPERLIQUID, GMX)  # `account add --venue`, `source_venue`, MIRROR_FOLLOWER_VENUE
ACCOUNT_REPORTS = frozenset({GMX})  # venues with their own account view (`account_report`)


class VenueConfigError(Exception):
    """A venue cannot be opened (a setting is missing or wrong): the message names the setting."""


def capabilities(name: str) -> VenueCapabilities:
    """What the venue `name` can do, without connecting to it (ValueError for an unknown name)."""
    if name == HYPERLIQUID:
        from adapters.hyperliquid.venue import HYPERLIQUID_CAPABILITIES

        return HYPERLIQUID_CAPABILITIES
    if name == GMX:
        from adapters.gmx.venue import GMX_CAPABILITIES

        return GMX_CAPABILITIES
    raise ValueError(f"venue: {name!r} is not a venue (accepted: {', '.join(VENUE_NAMES)})")


def watcher_capacity(
    settings: Settings, *, ws_users: int, weight_per_min: int, staleness_s: float
) -> int | None:
    """How many sources one `mirrorbot watch` takes on the budget its IP declared (None: any number).
    Reading a node's fill firehose (MIRROR_HL_NODE_DATA) costs no API weight: any number. Otherwise its
    websocket users (at most the venue's per-IP cap), then the sources its weight budget polls every
    `staleness_s` seconds (0: websocket only) — the venue's watch polls whatever it cannot stream."""
    if settings.hl_node_data is not None:
        return None
    from adapters.hyperliquid.venue import polled_sources

    return min(ws_users, capabilities(HYPERLIQUID).max_ws_users) + polled_sources(staleness_s, weight_per_min)


_PLAN_ON_GMX = "a follow plan has source_venue gmx"


def build_gmx_venue(settings: Settings, *, why: str = _PLAN_ON_GMX, trading: bool = True) -> Venue:
    """The GMX venue of the settings: MIRROR_GMX_RPC_URL, _NETWORK, _DEPLOYMENT_FILE (and, `trading`,
    _POLL_INTERVAL_S and its cloid journal `gmx-orders.json` in MIRROR_DATA_DIR)."""
    if settings.gmx_rpc_url is None:
        raise VenueConfigError(
            f"MIRROR_GMX_RPC_URL: not set; {why}, and GMX is read and traded through this JSON-RPC URL "
            "(an Arbitrum or Avalanche node)"
        )
    from adapters.gmx.venue import GmxVenue

    options: dict[str, object] = {}
    if trading:
        options = {
            "poll_interval_s": settings.gmx_poll_interval_s,
            "data_dir": settings.data_dir,
            # A market order the keeper has not executed yet is an open outcome, not a resting order:
            # its pair waits and the unknown-outcome lookups settle it once the keeper acted.
            "pending_status": OrderStatus.UNKNOWN,
        }
    try:
        return GmxVenue.connect(
            settings.gmx_rpc_url,
            settings.gmx_network.value,
            deployment_file=settings.gmx_deployment_file,
            **options,
        )
    except ValueError as exc:
        raise VenueConfigError(f"MIRROR_GMX_DEPLOYMENT_FILE / MIRROR_GMX_NETWORK: {exc}") from None


def build_hyperliquid_venue(
    settings: Settings,
    *,
    trading: bool = True,
    retry_reads: bool | None = None,
    api_url: str | None = None,
    poll_interval_s: float | None = None,
) -> Venue:
    """The Hyperliquid venue of the settings (MIRROR_NETWORK / MIRROR_HL_API_URL, or `api_url`). With
    `trading` its nonce high-water marks live in MIRROR_DATA_DIR (else in memory: nothing is signed);
    `retry_reads` (default: `trading`) retries a read after a 429 / 5xx / timeout, else tries it once;
    `poll_interval_s` (default: the adapter's) paces a watch's account polls (the demo polls faster);
    MIRROR_HL_NODE_DATA makes its watches read a node's fills firehose instead."""
    from adapters.hyperliquid.budget import DEFAULT_BURST, ReadRetry, WeightBudget
    from adapters.hyperliquid.constants import REST_WEIGHT_PER_MINUTE
    from adapters.hyperliquid.poller import DEFAULT_POLL_INTERVAL_S
    from adapters.hyperliquid.venue import HyperliquidVenue

    retry = trading if retry_reads is None else retry_reads
    limit = settings.hl_weight_per_minute  # the burst keeps its share of the minute (200 of 1200)
    burst = max(1, min(limit - 1, limit * DEFAULT_BURST // REST_WEIGHT_PER_MINUTE))
    return HyperliquidVenue(
        api_url or settings.api_url,
        data_dir=settings.data_dir if trading else None,
        is_mainnet=settings.is_mainnet,
        read_retry=None if retry else ReadRetry(retries=0),
        budget=WeightBudget(limit, burst=burst),
        poll_interval_s=DEFAULT_POLL_INTERVAL_S if poll_interval_s is None else poll_interval_s,
        node_data=settings.hl_node_data,
    )


async def approve_agent(venue: Venue, master_key: str, agent_address: str, name: str) -> None:
    """The master account (`master_key`) approves `agent_address` as its agent wallet on `venue`: what a
    user does in the venue's own app, done here for accounts the process created itself (the demo's
    followers). Venues without `capabilities.agent_wallets` raise NotImplementedError."""
    if not venue.capabilities.agent_wallets:
        raise NotImplementedError(f"{venue.capabilities.display} has no agent wallets to approve")
    from adapters.hyperliquid.venue import HyperliquidVenue

    if not isinstance(venue, HyperliquidVenue):
        raise NotImplementedError(f"{venue.capabilities.display}: approving an agent is not supported")
    await venue.approve_agent(master_key, agent_address, name)


def hyperliquid_reads(api_url: str) -> Venue:
    """A read-only Hyperliquid client on `api_url`, one attempt per read (analytics given a URL)."""
    from adapters.hyperliquid.budget import ReadRetry
    from adapters.hyperliquid.venue import HyperliquidVenue

    return HyperliquidVenue(api_url, data_dir=None, read_retry=ReadRetry(retries=0))


class RecordedFillsError(ValueError):
    """A recorded fill history is not in the venue's format: the message says where and why."""


def recorded_fills(doc: object, name: str, *, cassette: bool) -> list[SourceFill]:
    """The fills of a recorded history in Hyperliquid's own format (the only venue whose histories are
    recorded): a loaded vcrpy cassette of `userFills` / `userFillsByTime` requests (`cassette`), else
    the decoded `userFills` JSON (a list, or a websocket message). `name` (the file's) is quoted in a
    refusal. The caller bounds and decodes the file (bot/fills_file.py, the input boundary)."""
    from adapters.hyperliquid.parsing import ParseError, cassette_pairs, fills_in_cassette, fills_in_message

    try:
        return fills_in_cassette(cassette_pairs(doc, name), name) if cassette else fills_in_message(doc)
    except ParseError as exc:
        raise RecordedFillsError(str(exc)) from None


async def open_paper_venue(settings: Settings, *, state_path: Path, reads: Venue | None = None) -> PaperVenue:
    """`mirrorbot paper`'s venue: follower orders simulated at the live mids of `reads` (default: the
    settings' Hyperliquid venue, reads retried as the runner's are, nothing signed), its paper accounts
    kept in `state_path`. `reads` is closed with it, and here when the state cannot be read."""
    if reads is None:
        reads = build_hyperliquid_venue(settings, trading=False, retry_reads=True)
    try:
        state_path.parent.mkdir(parents=True, exist_ok=True)
        return PaperVenue(reads, state_path=state_path)
    except Exception:
        await reads.close()
        raise


def venue_factories(settings: Settings, *, trading: bool = True) -> dict[str, Callable[[], Venue]]:
    """Each venue's builder (called on first need: a GMX client is built only when something is on GMX)."""
    return {
        HYPERLIQUID: lambda: build_hyperliquid_venue(settings, trading=trading),
        GMX: lambda: build_gmx_venue(
            settings, trading=trading, why="a plan or an account is on gmx" if not trading else _PLAN_ON_GMX
        ),
    }


def build_venue(settings: Settings) -> Venue:
    """The followers' venue client: MIRROR_FOLLOWER_VENUE — Hyperliquid on the configured network, or
    GMX through MIRROR_GMX_* (cloid journal in the data dir). `VenueConfigError` names a missing setting."""
    name = settings.follower_venue.value
    if name == GMX:
        return build_gmx_venue(settings, why=f"MIRROR_FOLLOWER_VENUE is {name}")
    return build_hyperliquid_venue(settings)


def venue_url(settings: Settings) -> str:
    """Where the followers' venue is reached (a log line's `url`: redact it, an RPC URL may hold a key)."""
    return str(settings.gmx_rpc_url) if settings.follower_venue.value == GMX else settings.api_url


async def account_report(settings: Settings, name: str, address: str) -> dict[str, Any]:
    """The venue's own JSON-ready view of `address` (`mirrorbot positions --venue gmx`): what a venue
    holds beyond the `Venue` protocol's netted positions. `VenueConfigError` for a missing setting;
    ValueError for a venue without such a report; any read failure re-raised as RuntimeError naming
    the network."""
    if name not in ACCOUNT_REPORTS:
        raise ValueError(
            f"--venue: {name!r} has no account report (accepted: {', '.join(sorted(ACCOUNT_REPORTS))})"
        )
    from adapters.gmx.report import positions_report
    from adapters.gmx.venue import GmxVenue

    where = f"could not read {address} on {settings.gmx_network.value}"
    try:
        venue = build_gmx_venue(settings, why="the GMX positions are read through it", trading=False)
    except VenueConfigError as exc:
        if settings.gmx_rpc_url is None:
            raise
        raise RuntimeError(f"{where}: {exc}") from None  # a deployment that cannot be read: as a read
    assert isinstance(venue, GmxVenue)
    try:
        return await positions_report(venue, address)
    except Exception as exc:
        raise RuntimeError(f"{where}: {exc}") from None
    finally:
        await venue.close()


class Venues:
    """Venue clients by name for the readers (service, Telegram, CLI): each built on first use by its
    factory, all closed by `close()`. A name without a factory, or whose factory fails, is a
    `VenueConfigError` naming the setting to fix."""

    def __init__(
        self, factories: Mapping[str, Callable[[], Venue]], *, opened: Mapping[str, Venue] = {}
    ) -> None:
        self.factories = dict(factories)
        self.opened: dict[str, Venue] = dict(opened)

    @classmethod
    def of(cls, *venues: Venue) -> Venues:
        """Already-open clients, each under its own name (`capabilities.name`); nothing more is built."""
        return cls({}, opened={venue.capabilities.name: venue for venue in venues})

    @classmethod
    def for_reads(cls, settings: Settings, *, api_url: str | None = None) -> Venues:
        """The settings' venues for one-attempt reads; `api_url` overrides the Hyperliquid URL."""
        factories = venue_factories(settings, trading=False)
        if api_url is not None:
            factories[HYPERLIQUID] = lambda: build_hyperliquid_venue(settings, trading=False, api_url=api_url)
        return cls(factories)

    def configured(self, name: str) -> bool:
        return name in self.opened or name in self.factories

    def get(self, name: str) -> Venue:
        if name not in self.opened:
            factory = self.factories.get(name)
            if factory is None:
                raise VenueConfigError(f"{name}: no venue is configured")
            self.opened[name] = factory()
        return self.opened[name]

    async def close(self) -> None:
        for venue in self.opened.values():
            with contextlib.suppress(Exception):
                await venue.close()
        self.opened.clear()


def serve_localnet(
    *, host: str, port: int, seed: int, signatures: str, allow_remote: bool, node_data: Path | None = None
) -> None:
    """`mirrorbot localnet`: serve the local venue until interrupted (Ctrl-C or SIGTERM); with
    `node_data`, every fill is also written there as a node's `node_fills_by_block` files."""
    from adapters.localnet.server import serve

    serve(
        host=host, port=port, seed=seed, signatures=signatures, allow_remote=allow_remote, node_data=node_data
    )


def embedded_localnet(*, port: int, seed: int, price_walk_ms: int) -> LocalnetThread:
    """The local venue on a thread of this process (`mirrorbot demo`): a context manager whose `.url`
    the demo's clients use; port 0 takes any free port."""
    from adapters.localnet.server import LocalnetThread

    return LocalnetThread(port=port, seed=seed, price_walk_ms=price_walk_ms)
