"""The output of `mirrorbot simulate` (SPEC §7): one JSON object per decision, and the fill at the mid
every replay uses (no network, no clock: the order fills in full, or a fraction rounded down to a lot)."""

from __future__ import annotations

import json
from collections.abc import Iterable
from decimal import Decimal
from typing import TextIO

from strategies.engine import Follower
from strategies.model import Decision
from strategies.num import add, floor_lot, mul, neg, plain

SOURCE = "source"  # the scenario's one source wallet (and a fill history's, whoever it was)


def decision_line(step: int, decision: Decision, position: Decimal) -> dict[str, object]:
    """The SPEC §7 output object, keys in the documented order."""
    order = decision.order
    line: dict[str, object] = {
        "step": step,
        "coin": decision.coin,
        "event": decision.event.value,
        "ratio": None if decision.ratio is None else plain(decision.ratio),
        "target": plain(decision.target),
        "position": plain(position),
        "order": None
        if order is None
        else {"side": order.side, "size": plain(order.size), "reduce_only": order.reduce_only},
        "reason": None if decision.reason is None else decision.reason.value,
    }
    if decision.vol is not None:  # a follow that scales by volatility (SPEC §10): σ and m, after `reason`
        sigma = decision.vol.sigma
        line |= {"vol": None if sigma is None else plain(sigma), "vol_mult": plain(decision.vol.mult)}
    return line


def fill_fraction(follower: Follower, decision: Decision, fraction: Decimal) -> Decimal:
    """Fill the decision's order (at the mid) and return the follower's position afterwards."""
    position = follower.position(decision.coin)
    if decision.order is not None:
        market = follower.markets[decision.coin]
        filled = floor_lot(mul(decision.order.size, fraction), market.sz_decimals)
        position = add(position, filled if decision.order.is_buy else neg(filled))
        follower.set_position(decision.coin, position)
    return position


def write_lines(lines: Iterable[dict[str, object]], out: TextIO) -> None:
    """Line by line as they are decided: a long run never holds its output in memory."""
    for line in lines:
        out.write(json.dumps(line, separators=(", ", ": ")) + "\n")
