"""The perp markets the localnet lists, with the venue's real size decimals and maximum leverage.

The asset index of a market is its position in `meta.universe`, as on the venue.
"""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal

# The venue's default leverage for a fresh (user, market): 20x cross, capped at the market maximum.
DEFAULT_LEVERAGE = 20


@dataclass(frozen=True, slots=True)
class InstrumentSpec:
    """One perp market. `level_usd` / `level_bps` shape the synthetic book (notional per level and the
    gap between levels); `step_bps` bounds one step of the seeded random walk."""

    coin: str
    sz_decimals: int
    max_leverage: int
    start_mid: Decimal
    level_usd: Decimal = Decimal(50_000)
    level_bps: int = 2
    step_bps: int = 20
    only_isolated: bool = False  # a market that takes isolated margin only (meta `onlyIsolated`)

    @property
    def lot(self) -> Decimal:
        return Decimal(1).scaleb(-self.sz_decimals)

    @property
    def default_leverage(self) -> int:
        return min(DEFAULT_LEVERAGE, self.max_leverage)


@dataclass(frozen=True, slots=True)
class PerpDex:
    """A builder-deployed perp dex (HIP-3): its own markets (coins named `name:COIN`), its own
    collateral token (an index of `spotMeta.tokens`) and a clearinghouse of its own per user."""

    name: str
    full_name: str
    deployer: str
    collateral_token: int
    specs: tuple[InstrumentSpec, ...]


# The first builder dex's asset ids start here; the i-th (0-based) at BUILDER_ASSET_BASE + i × 10000.
BUILDER_ASSET_BASE = 110_000
BUILDER_ASSET_STRIDE = 10_000


# szDecimals as in the venue's `meta` (BTC 5, ETH 4, SOL 2, ARB 1, DOGE 0 in the recorded fixture; HYPE 2),
# maxLeverage as listed today (BTC 40, ETH 25, SOL 20, ARB 10, DOGE 10, HYPE 10).
DEFAULT_INSTRUMENTS: tuple[InstrumentSpec, ...] = (
    InstrumentSpec("BTC", 5, 40, Decimal(60000), level_usd=Decimal(400_000), level_bps=1, step_bps=10),
    InstrumentSpec("ETH", 4, 25, Decimal(3000), level_usd=Decimal(250_000), level_bps=1, step_bps=15),
    InstrumentSpec("SOL", 2, 20, Decimal(150), level_usd=Decimal(100_000)),
    InstrumentSpec("ARB", 1, 10, Decimal("0.8"), level_usd=Decimal(30_000)),
    InstrumentSpec("DOGE", 0, 10, Decimal("0.15"), level_usd=Decimal(40_000)),
    InstrumentSpec("HYPE", 2, 10, Decimal(25), level_usd=Decimal(60_000)),
)

# USDH: a collateral other than USDC, as builder dexes have. Its token index and the dex below are the
# localnet's own (no recorded venue payload was at hand): see docs/localnet.md. The dex is named "test"
# with a market "test:ABC", as the SDK's builder-dex example (basic_order_with_builder_deployed_dex.py)
# expects on testnet, so that example runs here unmodified.
USDH_TOKEN_INDEX = 360
TEST_DEX = PerpDex(
    name="test",
    full_name="Localnet builder dex",
    deployer="0x000000000000000000000000000000000000b11d",
    collateral_token=USDH_TOKEN_INDEX,
    specs=(
        InstrumentSpec("test:ABC", 0, 10, Decimal(10), level_usd=Decimal(20_000)),
        InstrumentSpec("test:GOLD", 4, 20, Decimal(2400), level_usd=Decimal(100_000), step_bps=10),
        InstrumentSpec("test:MOON", 0, 3, Decimal("0.05"), level_usd=Decimal(10_000), only_isolated=True),
    ),
)
DEFAULT_DEXES: tuple[PerpDex, ...] = (TEST_DEX,)


@dataclass(frozen=True, slots=True)
class SpotToken:
    """A token of `spotMeta.tokens`, its fields as the venue lists them."""

    name: str
    index: int
    sz_decimals: int
    wei_decimals: int
    token_id: str
    is_canonical: bool
    evm_contract: tuple[str, int] | None = None  # (address, evm_extra_wei_decimals)

    def wire(self) -> dict[str, object]:
        return {
            "name": self.name,
            "szDecimals": self.sz_decimals,
            "weiDecimals": self.wei_decimals,
            "index": self.index,
            "tokenId": self.token_id,
            "isCanonical": self.is_canonical,
            "evmContract": None
            if self.evm_contract is None
            else {"address": self.evm_contract[0], "evm_extra_wei_decimals": self.evm_contract[1]},
            "fullName": None,
            "deployerTradingFeeShare": "0.0",
        }


@dataclass(frozen=True, slots=True)
class SpotPair:
    """A spot pair of `spotMeta.universe`: asset id 10000 + index; named `BASE/QUOTE` when canonical,
    `@index` otherwise (as on the venue). `start_mid` is the localnet's own."""

    name: str
    index: int
    base: int
    quote: int
    is_canonical: bool
    start_mid: Decimal

    @property
    def asset(self) -> int:
        return SPOT_ASSET_BASE + self.index


SPOT_ASSET_BASE = 10_000
USDC_TOKEN_INDEX = 0
# Tokens 0-2 and pairs 0-1 as recorded by hyperliquid-python-sdk's test cassette
# tests/cassettes/info_test/test_spot_asset_ctx.yaml (`spotMetaAndAssetCtxs` on mainnet, MIT licence);
# the start mids are the localnet's own.
SPOT_TOKENS: tuple[SpotToken, ...] = (
    SpotToken("USDC", 0, 8, 8, "0x6d1e7cde53ba9467b783cb7c530ce054", True),
    SpotToken(
        "PURR",
        1,
        0,
        5,
        "0xc1fb593aeffbeb02f85e0308e9956a90",
        True,
        ("0x9b498c3c8a0b8cd8ba1d9851d40d186f1872b44e", 13),
    ),
    SpotToken(
        "HFUN",
        2,
        2,
        8,
        "0xbaf265ef389da684513d98d68edf4eae",
        False,
        ("0xa320d9f65ec992eff38622c63627856382db726c", 10),
    ),
)
SPOT_PAIRS: tuple[SpotPair, ...] = (
    SpotPair("PURR/USDC", 0, 1, 0, True, Decimal("0.2")),
    SpotPair("@1", 1, 2, 0, False, Decimal(5)),
)
# The builder dex's collateral (TEST_DEX): the recording above quotes HYPE against a token 360, but its
# entry was not at hand, so these fields are the localnet's own.
USDH_TOKEN = SpotToken("USDH", USDH_TOKEN_INDEX, 2, 8, "0x" + "00" * 15 + "68", False)
