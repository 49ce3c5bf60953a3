"""Replaying the real 500-fill history (tests/fixtures/hyperliquid/test_get_user_fills.yaml).

The trader ends flat in every coin, so "final target = ratio × final position" is checked after every
change of the history, not only at its end.
"""

from __future__ import annotations

from decimal import Decimal
from pathlib import Path

import pytest

from adapters.hyperliquid.parsing import load_fills_file
from bot.domain import SourceChange
from bot.normalise import changes_from_fills
from bot.simulate import FillReplay, infer_markets
from strategies.model import Status
from strategies.num import q_lot
from tests.simulate.helpers import run_cli

FILLS = Path(__file__).parents[1] / "fixtures" / "hyperliquid" / "test_get_user_fills.yaml"


def _changes() -> list[SourceChange]:
    return changes_from_fills("0xsource", load_fills_file(FILLS))


def _replay(equity: str, source_equity: str) -> FillReplay:
    return FillReplay(
        _changes(),
        infer_markets(load_fills_file(FILLS)),
        equity=Decimal(equity),
        source_equity=Decimal(source_equity),
    )


@pytest.mark.parametrize(
    ("equity", "source_equity"), [("1000", "100000"), ("2500", "40000"), ("1000", "30000")]
)
def test_after_every_change_the_target_is_ratio_times_the_source_position(
    equity: str, source_equity: str
) -> None:
    replay = _replay(equity, source_equity)
    follower = replay.follower
    ratio = Decimal(equity) / Decimal(source_equity)
    replay.start()
    flips = 0
    for step, change in enumerate(replay.changes, start=1):
        line = replay.apply(step, change)
        flips += line["event"] == "flip"
        pair = follower.pairs[change.coin]
        if change.new == 0:
            assert (pair.status, pair.ratio, pair.target) == (Status.FLAT, None, Decimal(0))
            assert follower.position(change.coin) == 0  # a close is always sent
            continue
        assert pair.status is Status.TRACKING and pair.ratio is not None
        assert abs(pair.ratio - ratio) < Decimal("1e-25")
        assert abs(pair.target - pair.ratio * change.new) < Decimal("1e-20"), (step, change)
        # the follower holds it, up to a residual below the minimum order value
        residual = abs(
            q_lot(pair.target, follower.markets[change.coin].sz_decimals) - follower.position(change.coin)
        )
        assert residual * follower.mids[change.coin] < follower.min_notional
    assert flips == sum(1 for c in replay.changes if c.old * c.new < 0) > 10
    assert {coin for _, coin in follower.sources} == set(follower.pairs) and len(follower.pairs) == 15


def test_an_exact_ratio_gives_exactly_ratio_times_size_at_every_step() -> None:
    replay = _replay("1000", "100000")
    replay.start()
    for step, change in enumerate(replay.changes, start=1):
        replay.apply(step, change)
        assert replay.follower.pairs[change.coin].target == Decimal("0.01") * change.new


def test_the_command_replays_the_cassette() -> None:
    changes = _changes()
    code, lines, err = run_cli("--fills", str(FILLS), "--equity", "1000", "--source-equity", "100000")
    assert code == 0, err
    replayed = [line for line in lines if line["step"] > 0]
    assert len(replayed) == len(changes)
    assert [line["event_id"] for line in replayed] == [c.event_id for c in changes]
    for line, change in zip(replayed, changes, strict=True):
        assert Decimal(str(line["target"])) == Decimal("0.01") * change.new
    flips = [line for line in replayed if line["event"] == "flip" and line["order"] is not None]
    # a flip is one order that crosses zero, unless it is too small: then only the old side is closed
    assert flips and all(
        not f["order"]["reduce_only"] or f["reason"] == "deferred_min_notional" for f in flips
    )
