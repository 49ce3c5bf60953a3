"""The orders' share of the weight budget (bench/capacity.py, issue #7's watch capacity): per order
before, per follower and interval now."""

from __future__ import annotations

from bench import capacity
from bot.pipeline.fills import FillReaderOptions


def test_orders_weight_no_longer_grows_with_orders_beyond_one_read_per_follower_and_interval() -> None:
    options = FillReaderOptions(min_interval_s=15)
    for followers in (1, 10):
        small, large = (capacity.orders_weight_now(n * followers, followers, options) for n in (40, 400))
        # Ten times the orders: still four reads a minute per follower; only the answers' size (one
        # weight per 20 fills) grows. Before, the weight grew with every order.
        assert small == followers * 4 * 20
        assert small < large < 2 * small
        assert capacity.orders_weight_before(400 * followers) == 10 * capacity.orders_weight_before(
            40 * followers
        )
    assert capacity.orders_weight_now(0, 10) == 0


def test_sparse_orders_cost_one_read_each_and_budget_left_feeds_sources() -> None:
    options = FillReaderOptions(min_interval_s=15)
    assert capacity.orders_weight_now(2, 1, options) == 2 * 20  # orders 30 s apart: a read each
    now, before = capacity.orders_weight_now(40, 1, options), capacity.orders_weight_before(40)
    assert capacity.polled_sources(5, orders_weight=now) > capacity.polled_sources(5, orders_weight=before)
    assert capacity.polled_sources(5, orders_weight=10_000) == 0
