"""A GMX account as JSON-ready data (the `mirrorbot positions --venue gmx` output): the normalised
per-coin positions the engine sees, the GMX positions (per market, collateral and side) they net, and the
positions in markets the deployment data does not map (shown, never mirrored)."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

from adapters.gmx.positions import unmapped, value_position
from adapters.gmx.units import usd
from adapters.gmx.venue import GmxVenue


def decimal_text(value: Decimal) -> str:
    """An exact decimal as plain text, without trailing zeros or an exponent."""
    text = format(value, "f")
    return text.rstrip("0").rstrip(".") if "." in text else text


def _opt(value: Decimal | None) -> str | None:
    return None if value is None else decimal_text(value)


async def positions_report(venue: GmxVenue, address: str) -> dict[str, Any]:
    head = await venue.chain.head()
    state = await venue.state_at(address, head)
    mids = await venue.mids()
    raw = await venue.chain.positions(address, head)
    skipped = unmapped(raw, venue.deployment)
    return {
        "venue": "gmx",
        "network": venue.deployment.network,
        "account": address,
        "block": head,
        "time_ms": state.time_ms,
        "equity": decimal_text(state.equity),
        "positions": [
            {
                "coin": p.coin,
                "size": decimal_text(p.size),
                "entry_px": _opt(p.entry_px),
                "leverage": p.leverage,
                "unrealized_pnl": decimal_text(p.unrealized_pnl),
            }
            for p in state.positions
        ],
        "gmx_positions": [
            {
                "market": v.market.name,
                "market_address": v.market.address,
                "collateral_token": v.position.collateral_token,
                "is_long": v.position.is_long,
                "size": decimal_text(v.size),
                "size_usd": decimal_text(v.size_usd),
                "collateral_usd": decimal_text(v.collateral_usd),
                "unrealized_pnl": decimal_text(v.unrealized_pnl),
            }
            for v in (
                value_position(p, venue.deployment, mids)
                for p in raw
                if p.size_in_tokens and p not in skipped
            )
        ],
        "unmapped_positions": [
            {
                "market_address": p.market,
                "collateral_token": p.collateral_token,
                "is_long": p.is_long,
                "size_usd": decimal_text(usd(p.size_in_usd)),
            }
            for p in skipped
        ],
    }
