"""The deployment data of one GMX network (adapters/gmx/data/<network>/deployment.json) as typed objects,
and the GMX market → Hyperliquid coin mapping it carries.

The files are data copied from gmx-synthetics' `deployments/` and `config/tokens.ts` (see data/README.md);
tests point the same types at the contract doubles' addresses with `with_contracts`.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, replace
from functools import cache
from pathlib import Path
from typing import Any, Final

from eth_utils.address import to_checksum_address

DATA_DIR: Final = Path(__file__).parent / "data"
NETWORKS: Final = ("arbitrum", "avalanche")


class UnmappedMarket(LookupError):
    """A GMX market this network's data does not map to a coin."""

    def __init__(self, market: str, network: str, known: list[str]) -> None:
        super().__init__(
            f"GMX market {market} on {network} has no coin mapping; mapped markets: {', '.join(known)} "
            f"(add it to adapters/gmx/data/{network}/deployment.json)"
        )
        self.market = market


@dataclass(frozen=True, slots=True)
class Token:
    address: str
    decimals: int


@dataclass(frozen=True, slots=True)
class PriceFeed:
    address: str
    decimals: int


@dataclass(frozen=True, slots=True)
class Market:
    address: str  # the market token address, checksummed
    name: str  # e.g. "ETH/USD [WETH-USDC]"
    coin: str  # the Hyperliquid coin it mirrors to
    index_token: str  # symbol, key of `price_feeds`
    index_decimals: int  # decimals of sizeInTokens and of the per-unit price
    sz_decimals: int  # the lot the engine rounds targets to (Hyperliquid's for the coin)
    long_token: Token  # the market's long collateral token (priced as the index); the short one is USDC


@dataclass(frozen=True, slots=True)
class Contracts:
    reader: str
    data_store: str
    exchange_router: str
    router: str
    order_vault: str
    event_emitter: str


@dataclass(frozen=True, slots=True)
class Deployment:
    network: str
    chain_id: int
    contracts: Contracts
    usdc: Token
    wnt: Token
    price_feeds: dict[str, PriceFeed]
    markets: tuple[Market, ...]
    default_max_leverage: int

    def market(self, address: str) -> Market:
        """The market at `address`; `UnmappedMarket` (naming the mapped ones) if the data lacks it."""
        found = self.find_market(address)
        if found is not None:
            return found
        raise UnmappedMarket(address, self.network, [f"{m.name} ({m.address})" for m in self.markets])

    def find_market(self, address: str) -> Market | None:
        """The market at `address`, or None when the data does not map it."""
        wanted = address.lower()
        return next((m for m in self.markets if m.address.lower() == wanted), None)

    def markets_of(self, coin: str) -> list[Market]:
        return [m for m in self.markets if m.coin == coin]

    def trading_market(self, coin: str) -> Market:
        """The market orders in `coin` go to: the first listed for it."""
        found = self.markets_of(coin)
        if not found:
            coins = sorted({m.coin for m in self.markets})
            raise ValueError(f"coin: {coin!r} has no GMX market on {self.network}; mapped coins: {coins}")
        return found[0]

    def feed(self, market: Market) -> PriceFeed:
        return self.price_feeds[market.index_token]

    def with_contracts(self, **addresses: str) -> Deployment:
        """The same deployment with some contract addresses replaced (a fork, the test doubles)."""
        return replace(self, contracts=replace(self.contracts, **addresses))


def _checksum(value: Any, where: str) -> str:
    try:
        return str(to_checksum_address(str(value)))
    except ValueError:
        raise ValueError(f"{where}: {value!r} is not an address") from None


def deployment_from_dict(data: dict[str, Any]) -> Deployment:
    name = str(data["network"])
    c = data["contracts"]
    contracts = Contracts(
        reader=_checksum(c["Reader"], "contracts.Reader"),
        data_store=_checksum(c["DataStore"], "contracts.DataStore"),
        exchange_router=_checksum(c["ExchangeRouter"], "contracts.ExchangeRouter"),
        router=_checksum(c["Router"], "contracts.Router"),
        order_vault=_checksum(c["OrderVault"], "contracts.OrderVault"),
        event_emitter=_checksum(c["EventEmitter"], "contracts.EventEmitter"),
    )
    tokens = data["tokens"]
    feeds = {
        symbol: PriceFeed(_checksum(f["address"], f"price_feeds.{symbol}"), int(f["decimals"]))
        for symbol, f in data["price_feeds"].items()
    }
    markets = tuple(
        Market(
            address=_checksum(m["address"], f"markets[{i}]"),
            name=str(m["name"]),
            coin=str(m["coin"]),
            index_token=str(m["index_token"]),
            index_decimals=int(m["index_decimals"]),
            sz_decimals=int(m["sz_decimals"]),
            long_token=Token(
                _checksum(m["long_token"]["address"], f"markets[{i}].long_token"),
                int(m["long_token"]["decimals"]),
            ),
        )
        for i, m in enumerate(data["markets"])
    )
    for market in markets:
        if market.index_token not in feeds:
            raise ValueError(f"markets: {market.name} needs a price feed for {market.index_token!r}")
    return Deployment(
        network=name,
        chain_id=int(data["chain_id"]),
        contracts=contracts,
        usdc=Token(_checksum(tokens["USDC"]["address"], "tokens.USDC"), int(tokens["USDC"]["decimals"])),
        wnt=Token(_checksum(tokens["WNT"]["address"], "tokens.WNT"), int(tokens["WNT"]["decimals"])),
        price_feeds=feeds,
        markets=markets,
        default_max_leverage=int(data.get("defaults", {}).get("max_leverage", 100)),
    )


def deployment_to_dict(deployment: Deployment) -> dict[str, Any]:
    """The data file's form of `deployment` (what `deployment_from_dict` reads back)."""
    c = deployment.contracts

    def token(t: Token) -> dict[str, Any]:
        return {"address": t.address, "decimals": t.decimals}

    return {
        "network": deployment.network,
        "chain_id": deployment.chain_id,
        "contracts": {
            "Reader": c.reader,
            "DataStore": c.data_store,
            "ExchangeRouter": c.exchange_router,
            "Router": c.router,
            "OrderVault": c.order_vault,
            "EventEmitter": c.event_emitter,
        },
        "tokens": {"USDC": token(deployment.usdc), "WNT": token(deployment.wnt)},
        "price_feeds": {
            s: {"address": f.address, "decimals": f.decimals} for s, f in deployment.price_feeds.items()
        },
        "markets": [
            {
                "address": m.address,
                "name": m.name,
                "coin": m.coin,
                "index_token": m.index_token,
                "index_decimals": m.index_decimals,
                "sz_decimals": m.sz_decimals,
                "long_token": token(m.long_token),
            }
            for m in deployment.markets
        ],
        "defaults": {"max_leverage": deployment.default_max_leverage},
    }


def load_deployment_file(path: Path) -> Deployment:
    """A deployment file of one's own (a fork, a testnet): the packaged files' format. A missing file or a
    bad entry is an error naming the file and the entry."""
    try:
        with path.open(encoding="utf-8") as handle:
            data = json.load(handle)
        return deployment_from_dict(data)
    except OSError as exc:
        raise ValueError(f"GMX deployment file {path}: cannot be read ({exc.strerror})") from None
    except json.JSONDecodeError as exc:
        raise ValueError(f"GMX deployment file {path}: not JSON ({exc.msg}, line {exc.lineno})") from None
    except KeyError as exc:
        raise ValueError(f"GMX deployment file {path}: missing entry {exc}") from None
    except (TypeError, ValueError) as exc:
        raise ValueError(f"GMX deployment file {path}: {exc}") from None


@cache
def load_deployment(network: str) -> Deployment:
    """The packaged deployment of `network` (one of `NETWORKS`)."""
    if network not in NETWORKS:
        raise ValueError(
            f"GMX network: {network!r} is not supported; accepted values are {', '.join(NETWORKS)}"
        )
    with (DATA_DIR / network / "deployment.json").open(encoding="utf-8") as handle:
        return deployment_from_dict(json.load(handle))
