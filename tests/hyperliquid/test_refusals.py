"""Hyperliquid's refusal texts are written once on the client side (bot/domain/hyperliquid.py, classified
by bot/domain/refusals.py); the localnet words them on its own, and both must agree (issue #13); likewise
the taker fee."""

from __future__ import annotations

from decimal import Decimal

import pytest

from adapters.localnet import rules
from adapters.localnet.transfers import ERR_BUILDER_NOT_APPROVED
from adapters.paper.venue import DEFAULT_FEE_RATE
from bot import faults
from bot.analytics.market import DEFAULT_TAKER_FEE
from bot.domain.hyperliquid import HYPERLIQUID_WORDS, TAKER_FEE
from bot.domain.refusals import Refusal, refusal_of


@pytest.mark.parametrize(
    ("client", "localnet", "kind"),
    [
        (HYPERLIQUID_WORDS.margin.format(asset=1), rules.err_margin(1), Refusal.MARGIN),
        (HYPERLIQUID_WORDS.price, rules.ERR_PRICE, Refusal.TICK),
        (HYPERLIQUID_WORDS.size, rules.ERR_SIZE, Refusal.SIZE),
        (HYPERLIQUID_WORDS.reduce_only.format(asset=1), rules.err_reduce_only(1), Refusal.REDUCE_ONLY),
        (HYPERLIQUID_WORDS.min_value.format(min=10, asset=1), rules.err_min_value(1), Refusal.MIN_VALUE),
        (HYPERLIQUID_WORDS.ioc.format(asset=1), rules.err_ioc(1), Refusal.UNFILLED_IOC),
        (HYPERLIQUID_WORDS.builder_fee, ERR_BUILDER_NOT_APPROVED, Refusal.BUILDER_FEE),
    ],
)
def test_the_client_and_the_localnet_word_refusals_alike(client: str, localnet: str, kind: Refusal) -> None:
    assert client == localnet
    assert refusal_of(client) is kind


def test_words_without_a_known_fragment_are_another_refusal() -> None:
    for words in (
        HYPERLIQUID_WORDS.duplicate_cloid,
        HYPERLIQUID_WORDS.leverage,
        HYPERLIQUID_WORDS.alo.format(bid=Decimal(1), ask=Decimal(2), asset=1),
        None,
    ):
        assert refusal_of(words) is None
        assert faults.rejection_code(words) == faults.REJECTED_OTHER


def test_an_unfilled_ioc_is_told_apart_from_a_rejection() -> None:
    assert faults.unfilled_ioc(rules.err_ioc(3))
    assert not faults.unfilled_ioc(rules.err_margin(3)) and not faults.unfilled_ioc(None)
    assert faults.rejection_code(rules.err_ioc(3)) == faults.REJECTED_OTHER  # as before: not coded


def test_the_localnet_charges_the_taker_fee_the_client_side_assumes() -> None:
    # Written twice on purpose (the localnet is an independent double); compared here, so they cannot drift.
    assert rules.TAKER_FEE == TAKER_FEE
    assert (
        DEFAULT_FEE_RATE is TAKER_FEE and DEFAULT_TAKER_FEE is TAKER_FEE
    )  # paper and analytics: one constant
