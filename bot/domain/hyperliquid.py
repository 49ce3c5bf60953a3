"""Hyperliquid's data that the house uses beyond its adapter, written once: the words it refuses orders
in (the wording every venue of the house answers in, so that one classification, bot/domain/refusals.py,
serves all) and its base-tier taker fee (the paper venue's fee, analytics' default cost). The adapter
(adapters/hyperliquid) reads them from here; the localnet keeps its own copies on purpose
(adapters/localnet/rules.py: an independent double of the venue, compared with these in tests).
"""

from __future__ import annotations

from decimal import Decimal
from typing import Final

from bot.domain.refusals import VenueWords

TAKER_FEE: Final = Decimal("0.00045")  # base tier, 0.045 % of the notional

# As the venue and the localnet answer them (tests/paper compare them live).
HYPERLIQUID_WORDS: Final = VenueWords(
    size="Order has invalid size.",
    price="Order has invalid price.",
    duplicate_cloid="Duplicate cloid: an order with this cloid was already placed by this user.",
    leverage="Invalid leverage value.",
    min_value="Order must have minimum value of ${min}. asset={asset}",
    reduce_only="Reduce only order would increase position. asset={asset}",
    ioc="Order could not immediately match against any resting orders. asset={asset}",
    alo="Post only order would have immediately matched, bbo was {bid}@{ask}. asset={asset}",
    margin="Insufficient margin to place order. asset={asset}",
    no_user="User or API Wallet {address} does not exist.",
    builder_fee="Builder fee has not been approved.",
)
