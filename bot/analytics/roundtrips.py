"""Position lifecycles ("round trips") of a source, per coin, from its fills and normalised changes.

A round trip of a coin starts when the position leaves 0 (an open, or the new side of a flip) and
ends when it returns to 0 (a close, or the old side of a flip). A position already held at the first
fill of the window is a round trip opened before the window (`open_ms` None); one still held at the
end is open (`close_ms` None). Fills are attributed by (coin, timestamp): every fill of a block goes to
the round trip the block belongs to; a flip block's `closedPnl` goes to the trip it closes (the venue
only books PnL on the closing part) and its fees are split in proportion `|old| : |new|`, the closing
share rounded to `FEE_QUANTUM` so that the two shares add up to the fill's fee exactly (no 60-digit
remainders in later sums).
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from decimal import Decimal

from bot.domain import SourceChange, SourceFill
from strategies.num import CTX, ZERO, add, div, mag, mul, sign, sub

FEE_QUANTUM = Decimal("1E-18")  # far below the venue's fee precision (USDC, 6 decimals)


@dataclass(slots=True)
class RoundTrip:
    coin: str
    side: int  # +1 long, -1 short
    open_ms: int | None  # None: opened before the window
    close_ms: int | None = None  # None: still open at the end of the window
    closed_pnl: Decimal = ZERO  # Σ closedPnl of its fills in the window
    fees: Decimal = ZERO  # Σ fees attributed to it
    peak_size: Decimal = ZERO  # largest |position| observed

    @property
    def net_pnl(self) -> Decimal:
        return sub(self.closed_pnl, self.fees)

    @property
    def closed(self) -> bool:
        return self.close_ms is not None

    @property
    def complete(self) -> bool:
        """Opened and closed inside the window: its holding time is known."""
        return self.open_ms is not None and self.close_ms is not None

    @property
    def holding_ms(self) -> int | None:
        if self.open_ms is None or self.close_ms is None:
            return None
        return self.close_ms - self.open_ms


@dataclass(slots=True)
class Lifecycles:
    trips: list[RoundTrip] = field(default_factory=list)
    unattributed_pnl: Decimal = ZERO  # fills while flat (a self-trade at 0): in no round trip
    unattributed_fees: Decimal = ZERO


def _blocks(fills: Iterable[SourceFill]) -> dict[str, list[tuple[int, list[SourceFill]]]]:
    """Per coin, the fills grouped by timestamp, oldest first."""
    grouped: dict[str, dict[int, list[SourceFill]]] = defaultdict(dict)
    for fill in fills:
        grouped[fill.coin].setdefault(fill.time_ms, []).append(fill)
    return {coin: sorted(by_time.items()) for coin, by_time in grouped.items()}


def lifecycles(fills: Sequence[SourceFill], changes: Sequence[SourceChange]) -> Lifecycles:
    change_at = {(c.coin, c.time_ms): c for c in changes}
    out = Lifecycles()
    for coin, blocks in sorted(_blocks(fills).items()):
        current: RoundTrip | None = None
        for time_ms, block in blocks:
            pnl = add(*(f.closed_pnl for f in block))
            fee = add(*(f.fee for f in block))
            change = change_at.get((coin, time_ms))
            if current is None:
                start = change.old if change is not None else block[0].start_position
                if start != 0:  # held before the window (or before a gap we jumped over)
                    current = RoundTrip(coin, sign(start), None, peak_size=mag(start))
                    out.trips.append(current)
            if change is None:  # the size did not move (e.g. a self-trade): the fills still count
                if current is None:
                    out.unattributed_pnl = add(out.unattributed_pnl, pnl)
                    out.unattributed_fees = add(out.unattributed_fees, fee)
                else:
                    current.closed_pnl = add(current.closed_pnl, pnl)
                    current.fees = add(current.fees, fee)
                continue
            old, new = change.old, change.new
            new_fee = ZERO
            if current is not None and old * new < 0:  # a flip: split the fee |old| : |new|
                share = mul(fee, div(mag(old), add(mag(old), mag(new))))
                closing_fee = share.quantize(FEE_QUANTUM, context=CTX)
                new_fee, fee = sub(fee, closing_fee), closing_fee
            if current is not None:
                current.closed_pnl = add(current.closed_pnl, pnl)
                current.fees = add(current.fees, fee)
                current.peak_size = max(current.peak_size, mag(new))
                pnl = fee = ZERO
                if new == 0 or old * new < 0:
                    current.close_ms = time_ms
                    current = None
            if new != 0 and current is None:
                current = RoundTrip(coin, sign(new), time_ms, fees=add(new_fee, fee), peak_size=mag(new))
                current.closed_pnl = pnl
                out.trips.append(current)
    return out
