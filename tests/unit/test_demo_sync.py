"""When the demo calls a pair in sync: it ends its run on that word, so it must not say it early."""

from __future__ import annotations

from decimal import Decimal

from bot.demo.report import PairView

MIN = Decimal(10)


def pair(source: str, ratio: str | None, position: str, mid: str = "150") -> PairView:
    rho = None if ratio is None else Decimal(ratio)
    expected = Decimal(0) if rho is None else rho * Decimal(source)
    return PairView(
        "0xf",
        "SOL",
        Decimal(source),
        rho,
        expected,
        expected,
        Decimal(position),
        Decimal(mid),
        "-",
        None,
        deferred=False,
    )


def test_a_leader_position_the_engine_has_not_seen_is_not_in_sync() -> None:
    # The leader re-opened after a close: until the copy locks ρ₀ the pair is catching up, not flat and done.
    assert not pair("-80", None, "0").in_sync(MIN)


def test_a_flat_leader_and_a_flat_follower_are_in_sync() -> None:
    assert pair("0", None, "0").in_sync(MIN)


def test_a_residual_below_the_minimum_order_value_is_in_sync_and_one_above_is_not() -> None:
    assert pair("-80", "0.01", "-0.8").in_sync(MIN)
    assert pair("-80", "0.00025", "0").in_sync(MIN)  # 0.02 SOL at 150: $3 waits, by design
    assert not pair("-80", "0.01", "0").in_sync(MIN)  # 0.8 SOL: $120 off
