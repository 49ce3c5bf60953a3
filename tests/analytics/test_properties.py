"""Property tests: on any consistent history of one coin, the round trips partition the fills, the
drawdown stays within the curve's range, and a cost-free copy of a source that ends flat ends flat."""

from __future__ import annotations

from decimal import Decimal

from hypothesis import given, settings
from hypothesis import strategies as st

from bot.analytics.backtest import Backtest, BacktestParams, Outcome
from bot.analytics.history import make_history
from bot.analytics.market import SlippageModel
from bot.analytics.roundtrips import lifecycles
from bot.analytics.stats import compute_stats
from bot.domain import SourceFill
from strategies.model import Market
from tests.analytics.histories import SOURCE, fill

D = Decimal
Step = tuple[int, int, int, int]  # (size change in tenths, price, closedPnl in cents, fee in cents)
moves = st.lists(
    st.tuples(
        st.integers(-30, 30).filter(lambda n: n != 0),  # size change, in tenths of a coin
        st.integers(1500, 2500),  # price
        st.integers(-500, 500),  # closedPnl in cents (any: the venue's number is taken as given)
        st.integers(0, 300),  # fee in cents
    ),
    min_size=1,
    max_size=25,
)


def _history(steps: list[Step], *, close: bool) -> list[SourceFill]:
    fills: list[SourceFill] = []
    position = D(0)
    for i, (tenths, px, pnl, fee) in enumerate(steps):
        size = D(tenths) / 10
        side = "B" if size > 0 else "A"
        fills.append(
            fill("ETH", str(i), side, str(abs(size)), str(px), str(position), pnl=f"{D(pnl) / 100}",
                 fee=f"{D(fee) / 100}", oid=i + 1)
        )  # fmt: skip
        position += size
    if close and position != 0:
        side = "A" if position > 0 else "B"
        fills.append(fill("ETH", str(len(steps)), side, str(abs(position)), "2000", str(position), oid=999))
    return fills


@given(moves)
@settings(max_examples=60)
def test_round_trips_partition_the_fills_and_drawdown_is_bounded(steps: list[Step]) -> None:
    history = make_history(SOURCE, _history(steps, close=False))
    life = lifecycles(history.fills, history.changes)
    stats = compute_stats(history)
    assert sum((t.closed_pnl for t in life.trips), life.unattributed_pnl) == stats.realised_pnl
    assert sum((t.fees for t in life.trips), life.unattributed_fees) == stats.fees
    closes = sum(1 for c in history.changes if c.new == 0 or c.old * c.new < 0)
    assert stats.round_trips == closes
    values = [p.value for p in stats.curve]
    assert 0 <= stats.drawdown.amount <= max(values) - min(values)
    assert stats.win_rate is None or 0 <= stats.win_rate <= 1
    assert stats.closing_fill_win_rate is None or 0 <= stats.closing_fill_win_rate <= 1


@given(moves)
@settings(max_examples=30)
def test_a_cost_free_copy_of_a_source_that_ends_flat_ends_flat(steps: list[Step]) -> None:
    history = make_history(SOURCE, _history(steps, close=True))
    params = BacktestParams(
        source_equity=D(10_000), follower_equity=D(10_000), taker_fee=D(0), slippage=SlippageModel(D(0), None)
    )
    result = Backtest(history, {"ETH": Market("ETH", 4)}, params).run()
    assert result.end_positions == ()
    assert sum(result.count(o) for o in Outcome) == len(result.decisions) == len(history.changes) + 1
    assert result.count(Outcome.SKIPPED) == 0
