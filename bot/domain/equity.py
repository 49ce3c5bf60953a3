"""An account's equity across perp dexes: the one definition of E_S and E_F (docs/decisions/hip3.md).

With HIP-3 a Hyperliquid account has one clearinghouse per perp dex, each with its own collateral and
account value. The equity the sizing (ρ = E_F / E_S), the account guards and analytics read is
`AccountState.equity`, and every venue adapter builds it with `account_equity` from the parts it reads.
"""

from __future__ import annotations

from collections.abc import Mapping
from decimal import Decimal


def account_equity(dex_values: Mapping[str, Decimal], spot_usdc: Decimal = Decimal(0)) -> Decimal:
    """E = Σ over the account's perp dexes of the dex's account value (its collateral plus the
    unrealised PnL of its positions, in the dex's collateral token counted at 1 USD) + spot USDC (where
    unified accounts keep collateral). A dex the account never used adds 0."""
    return sum(dex_values.values(), Decimal(0)) + spot_usdc
