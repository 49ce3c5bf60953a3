"""The one position accounting (bot/domain/accounting.py) the paper venue and analytics share: round
trips, partial closes, flips, averaging and the rounding rule, property-tested with exact decimals."""

from __future__ import annotations

from decimal import Decimal

from hypothesis import given, settings
from hypothesis import strategies as st

from bot.domain.accounting import Book, Holding, apply_fill, settle

D = Decimal
USD = D("0.000001")

sizes = st.integers(1, 100_000).map(lambda n: D(n) / 1000)  # 0.001 … 100, whole lots of 0.001
prices = st.integers(1, 10_000_000).map(lambda n: D(n) / 100)  # 0.01 … 100,000
fees = st.integers(0, 100_000).map(lambda n: D(n) / 10**6)
sides = st.sampled_from((1, -1))
steps = st.sampled_from((None, USD))
fast = settings(max_examples=150, deadline=None)


@fast
@given(size=sizes, side=sides, open_px=prices, close_px=prices, fee_in=fees, fee_out=fees, step=steps)
def test_an_open_then_close_realises_the_price_difference_times_size_less_fees(
    size: Decimal, side: int, open_px: Decimal, close_px: Decimal, fee_in: Decimal, fee_out: Decimal,
    step: Decimal | None,
) -> None:  # fmt: skip
    book = Book(D(1000), step)
    assert book.trade("ETH", side * size, open_px, fee_in) == 0
    realised = book.trade("ETH", -side * size, close_px, fee_out)
    gross = (close_px - open_px) * size * side
    assert realised == gross  # prices of 2 decimals, sizes of 3: already whole micro-dollars
    assert book.holdings == {} and book.size("ETH") == 0
    assert book.equity({"ETH": close_px}) == D(1000) + gross - fee_in - fee_out == book.cash
    assert book.volume == size * (open_px + close_px)


@fast
@given(size=sizes, side=sides, open_px=prices, marks=st.lists(prices, min_size=1, max_size=4))
def test_closing_in_parts_realises_what_closing_at_once_does(
    size: Decimal, side: int, open_px: Decimal, marks: list[Decimal]
) -> None:
    book = Book(D(0))
    book.trade("BTC", side * size, open_px, D(0))
    left, expected = size, D(0)
    for i, px in enumerate(marks):
        part = left if i == len(marks) - 1 else (left / 2).quantize(D("0.001"))
        if part == 0:
            continue
        expected += (px - open_px) * part * side
        book.trade("BTC", -side * part, px, D(0))
        left -= part
        assert book.size("BTC") == side * left
        if left:
            assert book.holdings["BTC"].entry_px == open_px  # a reduction keeps the entry
    assert left == 0 and book.holdings == {}
    assert book.realised == expected


@fast
@given(size=sizes, extra=sizes, side=sides, open_px=prices, flip_px=prices, mark=prices)
def test_a_flip_closes_the_whole_position_and_opens_the_rest_at_the_fill_price(
    size: Decimal, extra: Decimal, side: int, open_px: Decimal, flip_px: Decimal, mark: Decimal
) -> None:
    effect = apply_fill(Holding(side * size, open_px), -side * (size + extra), flip_px)
    assert effect.closed == size
    assert effect.realised_pnl == (flip_px - open_px) * size * side
    assert effect.holding == Holding(-side * extra, flip_px)
    book = Book(D(0), holdings={"SOL": Holding(side * size, open_px)})
    book.trade("SOL", -side * (size + extra), flip_px, D(0))
    assert book.unrealised_of("SOL", mark) == -side * extra * (mark - flip_px)


@fast
@given(
    fills=st.lists(st.tuples(sizes, sides, prices, fees), min_size=1, max_size=20),
    mark=prices,
    step=steps,
)
def test_equity_is_start_plus_cash_flows_plus_the_marked_position(
    fills: list[tuple[Decimal, int, Decimal, Decimal]], mark: Decimal, step: Decimal | None
) -> None:
    book = Book(D(10_000), step)
    cash_flow = size = D(0)
    for sz, side, px, fee in fills:
        book.trade("ETH", side * sz, px, fee)
        cash_flow -= side * sz * px + fee
        size += side * sz
    assert book.size("ETH") == size
    exact = D(10_000) + cash_flow + size * mark
    # Exact but for the averaged entry (60 significant digits); each settled amount moves by at most
    # half a micro-dollar: one per close and the unrealised.
    bound = D("1E-30") if step is None else USD / 2 * (len(fills) + 1)
    assert abs(book.equity({"ETH": mark}) - exact) <= bound


def test_adding_averages_the_entry_and_a_settle_step_rounds_the_realised_pnl_half_even() -> None:
    averaged = apply_fill(Holding(D(1), D(100)), D(2), D(101)).holding
    assert averaged is not None and averaged.size == 3
    third = "100." + "6" * 56 + "7"  # 302 / 3 half-even at 60 significant digits
    assert averaged.entry_px == D(third)
    exact = apply_fill(averaged, D(-1), D(102))
    assert exact.realised_pnl == D("1." + "3" * 57)  # 102 − that entry, exactly
    settled = apply_fill(averaged, D(-1), D(102), step=USD)
    assert settled.realised_pnl == D("1.333333")
    assert settled.holding == exact.holding == Holding(D(2), averaged.entry_px)
    assert (settle(D("0.0000005"), USD), settle(D("0.0000015"), USD)) == (D(0), D("0.000002"))
    assert settle(D("0.0000005"), None) == D("0.0000005")


def test_a_fill_of_nothing_changes_nothing() -> None:
    held = Holding(D(-2), D(50))
    assert apply_fill(held, D(0), D(70)) == apply_fill(held, D(0), D(70), step=USD)
    assert apply_fill(held, D(0), D(70)).holding is held and apply_fill(None, D(0), D(1)).holding is None
