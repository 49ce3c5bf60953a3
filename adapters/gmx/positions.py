"""`Reader.getAccountPositions` output → typed GMX positions → the domain's per-coin `AccountState`.

GMX keys a position by (market, collateral token, isLong): one account can hold a long and a short of one
market (and several collateral variants) at once. The domain knows one signed size per coin, so the
positions of all markets mapped to a coin are NETTED: a 2 ETH long and a 0.5 ETH short are +1.5 ETH.
Equity = wallet USDC + Σ collateral value + Σ unrealised PnL (incl. the pending price impact); USDC is
valued at $1 (GMX's own stable price for it), a long-token collateral at the index price.
Accrued borrowing/funding fees are not subtracted (they need the market's state): equity is slightly high.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from decimal import ROUND_HALF_EVEN, Context, Decimal, localcontext
from typing import Any, Final

from adapters.gmx.network import Deployment, Market
from adapters.gmx.units import from_units, usd
from bot.domain import DEFAULT_DEX, AccountState, Position
from bot.domain.equity import account_equity

_ZERO = Decimal(0)
# 1e30 USD values have up to ~40 significant digits: sums and products at this precision stay exact
# (the default context's 28 digits would round them). Only divisions (entry price, leverage) round.
EXACT: Final = Context(prec=96)


@dataclass(frozen=True, slots=True)
class GmxPosition:
    account: str
    market: str
    collateral_token: str
    is_long: bool
    size_in_usd: int  # 1e30
    size_in_tokens: int  # index token decimals
    collateral_amount: int  # collateral token decimals
    pending_impact_amount: int  # index token decimals, signed (negative: a cost)
    increased_at: int
    decreased_at: int

    @property
    def key(self) -> tuple[str, str, bool]:
        return (self.market, self.collateral_token, self.is_long)


def decode_positions(raw: Sequence[Any]) -> list[GmxPosition]:
    """Position.Props tuples ((account, market, collateralToken), (10 numbers), (isLong,)) as web3 or
    eth_abi return them."""
    out: list[GmxPosition] = []
    for addresses, numbers, flags in raw:
        account, market, collateral = (str(a).lower() for a in addresses)
        out.append(
            GmxPosition(
                account=account,
                market=market,
                collateral_token=collateral,
                is_long=bool(flags[0]),
                size_in_usd=int(numbers[0]),
                size_in_tokens=int(numbers[1]),
                collateral_amount=int(numbers[2]),
                pending_impact_amount=int(numbers[3]),
                increased_at=int(numbers[8]),
                decreased_at=int(numbers[9]),
            )
        )
    return out


@dataclass(frozen=True, slots=True)
class ValuedPosition:
    market: Market
    position: GmxPosition
    size: Decimal  # signed tokens
    size_usd: Decimal
    collateral_usd: Decimal
    unrealized_pnl: Decimal  # incl. the pending price impact

    @property
    def entry_px(self) -> Decimal:
        return self.size_usd / abs(self.size)


def signed_tokens(position: GmxPosition, market: Market) -> Decimal:
    tokens = from_units(position.size_in_tokens, market.index_decimals)
    return tokens if position.is_long else -tokens


def value_position(
    position: GmxPosition, deployment: Deployment, mids: Mapping[str, Decimal]
) -> ValuedPosition:
    with localcontext(EXACT):
        return _value(position, deployment, mids)


def _value(position: GmxPosition, deployment: Deployment, mids: Mapping[str, Decimal]) -> ValuedPosition:
    market = deployment.market(position.market)
    mid = mids[market.coin]
    size = signed_tokens(position, market)
    size_usd = usd(position.size_in_usd)
    pnl = size * mid - size_usd if position.is_long else size_usd + size * mid
    pnl += from_units(position.pending_impact_amount, market.index_decimals) * mid
    collateral = position.collateral_token
    if collateral == deployment.usdc.address.lower():
        collateral_usd = from_units(position.collateral_amount, deployment.usdc.decimals)
    elif collateral == market.long_token.address.lower():
        collateral_usd = from_units(position.collateral_amount, market.long_token.decimals) * mid
    else:
        raise ValueError(f"collateral token {collateral} of {market.name} is neither USDC nor its long token")
    return ValuedPosition(market, position, size, size_usd, collateral_usd, pnl)


def net_positions(valued: Sequence[ValuedPosition]) -> tuple[Position, ...]:
    """One `Position` per coin: sizes netted, the entry the size-weighted one of the net's side,
    leverage = total size / total collateral (rounded to a whole number)."""
    by_coin: dict[str, list[ValuedPosition]] = {}
    for item in valued:
        by_coin.setdefault(item.market.coin, []).append(item)
    out: list[Position] = []
    for coin in sorted(by_coin):
        items = by_coin[coin]
        size = sum((i.size for i in items), _ZERO)
        side = [i for i in items if (i.size > 0) == (size > 0)] if size else items
        tokens = sum((abs(i.size) for i in side), _ZERO)
        entry = sum((i.size_usd for i in side), _ZERO) / tokens if tokens else None
        collateral = sum((i.collateral_usd for i in items), _ZERO)
        notional = sum((i.size_usd for i in items), _ZERO)
        leverage = int((notional / collateral).to_integral_value(ROUND_HALF_EVEN)) if collateral > 0 else None
        pnl = sum((i.unrealized_pnl for i in items), _ZERO)
        out.append(Position(coin, size, entry, leverage, pnl))
    return tuple(out)


def unmapped(positions: Sequence[GmxPosition], deployment: Deployment) -> list[GmxPosition]:
    """The open positions in markets the deployment data does not map to a coin."""
    return [p for p in positions if p.size_in_tokens and deployment.find_market(p.market) is None]


def account_state(
    address: str,
    positions: Sequence[GmxPosition],
    deployment: Deployment,
    mids: Mapping[str, Decimal],
    wallet_usdc: Decimal,
    time_ms: int,
) -> AccountState:
    """The netted account. A position in an unmapped market is not a position the bot can mirror: it is
    left out of `positions`; its USDC collateral still counts in the equity (its value is known exactly),
    its PnL does not (the market has no price feed in the data)."""
    open_ = [p for p in positions if p.size_in_tokens or p.size_in_usd]
    skipped = unmapped(open_, deployment)
    with localcontext(EXACT):
        valued = [_value(p, deployment, mids) for p in open_ if p not in skipped]
        positions_value = sum((v.collateral_usd + v.unrealized_pnl for v in valued), _ZERO)
        usdc = deployment.usdc
        positions_value += sum(
            (
                from_units(p.collateral_amount, usdc.decimals)
                for p in skipped
                if p.collateral_token == usdc.address.lower()
            ),
            _ZERO,
        )
        # GMX is one market list ("dex"): its positions' value; the wallet's USDC is the free collateral.
        equity = account_equity({DEFAULT_DEX: positions_value}, wallet_usdc)
        return AccountState(address, equity, net_positions(valued), time_ms)
