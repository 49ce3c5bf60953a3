"""A recorded fill history (`mirrorbot simulate --fills`) replayed through the engine: the follow starts
before the source's first change with Copy Current on, then mirrors each change."""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Mapping
from decimal import Decimal

from bot.domain import SourceChange, SourceFill
from bot.normalise import changes_from_fills
from bot.simulate.lines import SOURCE, decision_line, fill_fraction
from strategies.config import FollowConfig
from strategies.engine import Follower
from strategies.model import Change, Market


def infer_markets(fills: Iterable[SourceFill]) -> dict[str, Market]:
    """Lots from the history itself: the finest size step seen per coin (sizes are whole lots)."""
    decimals: dict[str, int] = {}
    for fill in fills:
        for size in (fill.sz, fill.start_position):
            exponent = size.normalize().as_tuple().exponent
            assert isinstance(exponent, int)
            decimals[fill.coin] = max(decimals.get(fill.coin, 0), -exponent)
    return {coin: Market(coin, min(d, 6)) for coin, d in sorted(decimals.items())}


class FillReplay:
    """Follow the source from before its first change with Copy Current on, then mirror each change.

    Mids are the changes' own fill prices; the follow starts at each coin's first known price, so every
    position the history shows is mirrored from its start.
    """

    def __init__(
        self,
        changes: list[SourceChange],
        markets: Mapping[str, Market],
        *,
        equity: Decimal,
        source_equity: Decimal,
        config: FollowConfig | None = None,
    ) -> None:
        self.changes = changes
        self.source = changes[0].source if changes else SOURCE
        self.config = config or FollowConfig(copy_current=True)
        self.follower = Follower(markets, equity=equity)
        self.follower.source_equity[self.source] = source_equity

    @classmethod
    def from_fills(cls, history: list[SourceFill], *, equity: Decimal, source_equity: Decimal) -> FillReplay:
        """The replay of a validated fill history (bot/fills_file.py), lots inferred from its sizes."""
        changes = changes_from_fills(SOURCE, history)
        return cls(changes, infer_markets(history), equity=equity, source_equity=source_equity)

    def start(self) -> list[dict[str, object]]:
        f = self.follower
        for change in self.changes:
            if (self.source, change.coin) not in f.sources:
                f.observe_source(self.source, change.coin, size=change.old, entry_px=change.avg_px)
                if change.avg_px is not None:
                    f.set_mid(change.coin, change.avg_px)
        return [
            decision_line(0, d, fill_fraction(f, d, Decimal(1))) for d in f.follow(self.source, self.config)
        ]

    def apply(self, step: int, change: SourceChange) -> dict[str, object]:
        f = self.follower
        if change.avg_px is not None:
            f.set_mid(change.coin, change.avg_px)
        d = f.on_change(Change(self.source, change.coin, change.old, change.new, fill_px=change.avg_px))
        line = decision_line(step, d, fill_fraction(f, d, Decimal(1)))
        line["time_ms"] = change.time_ms
        line["event_id"] = change.event_id
        return line

    def run(self) -> list[dict[str, object]]:
        return list(self.lines())

    def lines(self) -> Iterator[dict[str, object]]:
        """The output lines, each computed when it is asked for."""
        yield from self.start()
        for i, change in enumerate(self.changes, start=1):
            yield self.apply(i, change)
