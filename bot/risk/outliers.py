"""Price-feed outliers (SPEC §11) as pure rules: no I/O, no clock (the caller passes the time).

A mid may price an order only when the venue's own reference agrees with it (`|mid − ref| / ref ≤
outlier_pct`) and it has not jumped more than `jump_pct` from the last accepted mid of the coin within
`jump_window_ms` without confirmation. What confirms a jump: the venue's reference (read fresh, see
bot/pipeline/prices.py) having moved with it — a market move, not a bad print; with no reference
(a venue without one apart from its mids, or reads failing), persisting until the window since the
last accepted mid has passed. Decision: docs/decisions/price-outliers.md.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from decimal import Decimal

from strategies.num import div, mag, mul, sub

OUTLIER_PCT = Decimal("1.5")
JUMP_PCT = Decimal(5)
JUMP_WINDOW_MS = 10_000
ALERT_AFTER_MS = 30_000  # a decision held this long is alerted (once)
HUNDRED = Decimal(100)


@dataclass(frozen=True, slots=True)
class PriceLimits:
    outlier_pct: Decimal = OUTLIER_PCT
    jump_pct: Decimal = JUMP_PCT
    jump_window_ms: int = JUMP_WINDOW_MS
    alert_after_ms: int = ALERT_AFTER_MS


def off_by_pct(value: Decimal, base: Decimal) -> Decimal:
    """|value − base| / base in percent (base > 0)."""
    return mul(div(mag(sub(value, base)), base), HUNDRED)


@dataclass
class PriceCheck:
    """The last accepted mid per coin, and the verdict on a new one."""

    limits: PriceLimits = field(default_factory=PriceLimits)
    _accepted: dict[str, tuple[Decimal, int]] = field(default_factory=dict)  # coin → (mid, ms)

    def sound(self, coin: str, mid: Decimal, ref: Decimal | None, now_ms: int) -> bool:
        """Whether `mid` may price an order now (nothing is recorded: `accept` does that)."""
        if mid <= 0:
            return False
        if ref is not None and ref > 0:
            return off_by_pct(mid, ref) <= self.limits.outlier_pct  # agreeing, it confirms a jump too
        last = self._accepted.get(coin)
        if last is None or now_ms - last[1] > self.limits.jump_window_ms:
            return True
        return off_by_pct(mid, last[0]) <= self.limits.jump_pct

    def accept(self, coin: str, mid: Decimal, now_ms: int) -> None:
        self._accepted[coin] = (mid, now_ms)

    def check(self, coin: str, mid: Decimal, ref: Decimal | None, now_ms: int) -> bool:
        """`sound`, and the mid accepted when it is."""
        ok = self.sound(coin, mid, ref, now_ms)
        if ok:
            self.accept(coin, mid, now_ms)
        return ok
