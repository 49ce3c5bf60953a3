"""Hyperliquid facts the adapter relies on (API docs, "Rate limits and user limits")."""

from __future__ import annotations

from typing import Final

INFO_PATH: Final = "/info"

# REST requests share 1200 weight per minute per IP.
REST_WEIGHT_PER_MINUTE: Final = 1200
INFO_WEIGHT_DEFAULT: Final = 20
INFO_WEIGHT: Final[dict[str, int]] = {
    "l2Book": 2,
    "allMids": 2,
    "clearinghouseState": 2,
    "orderStatus": 2,
    "spotClearinghouseState": 2,
    "exchangeStatus": 2,
    "userRole": 60,
}
# These add weight per 20 items in the answer (candleSnapshot: per 60).
INFO_ITEMS_PER_EXTRA_WEIGHT: Final[dict[str, int]] = {
    **dict.fromkeys(
        (
            "recentTrades",
            "historicalOrders",
            "userFills",
            "userFillsByTime",
            "fundingHistory",
            "userFunding",
            "nonUserFundingUpdates",
            "twapHistory",
            "userTwapSliceFills",
            "userTwapSliceFillsByTime",
            "delegatorHistory",
            "delegatorRewards",
            "validatorStats",
        ),
        20,
    ),
    "candleSnapshot": 60,
}

# userFills returns the 2,000 most recent fills; userFillsByTime at most 2,000 per answer.
FILLS_PAGE_LIMIT: Final = 2000


def info_weight(request_type: str, items: int = 0) -> int:
    """The venue's weight for one /info request whose answer held `items` list entries."""
    weight = INFO_WEIGHT.get(request_type, INFO_WEIGHT_DEFAULT)
    per = INFO_ITEMS_PER_EXTRA_WEIGHT.get(request_type)
    return weight + (items // per if per else 0)
