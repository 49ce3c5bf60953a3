"""A paper state written before fills kept their builder fee (SPEC §14) still loads: the fee reads 0."""

from __future__ import annotations

import json
from decimal import Decimal

from adapters.paper.state import _fill_from_json, _fill_json
from bot.domain import Side, SourceFill

FILL = SourceFill("ETH", Decimal(3000), Decimal("0.1"), Side.BUY, 1, 2, 3, Decimal(0), fee=Decimal("0.135"))


def test_a_fill_kept_before_builder_fees_reads_with_none_paid() -> None:
    old = json.loads(json.dumps(_fill_json(FILL)))
    del old["builder_fee"]
    assert _fill_from_json(old) == FILL and FILL.builder_fee == 0
    paid = SourceFill(
        "ETH", Decimal(3000), Decimal("0.1"), Side.BUY, 1, 2, 3, Decimal(0), builder_fee=Decimal("0.03")
    )
    assert _fill_from_json(json.loads(json.dumps(_fill_json(paid)))) == paid  # the state file is JSON
