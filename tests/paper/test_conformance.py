"""The venue conformance suite (tests/conformance/) run for `PaperVenue` over the Hyperliquid localnet.

Imported here so they run with this directory's `harness`: a `PaperHarness`, whose venues are paper
venues reading the localnet and whose trading accounts are paper accounts. Left out, because a paper
venue executes nothing on the venue: the lost-answer / timeout / 5xx tests (no request is sent), the
partial fill of a large IOC (the paper fills in full at the mid), the dead-man switch (a no-op: nothing
rests on the venue) and the stream-cap test (it patches the capabilities of the venue under test, while
the paper's watch is the wrapped venue's).
"""

from __future__ import annotations

from tests.conformance.test_venue import (
    test_a_vault_follower_trades_through_vault_address,
    test_a_venue_without_agent_wallets_refuses_role_reads,
    test_account_equity_and_positions_after_a_trade,
    test_account_roles_name_masters_agents_and_unknown_addresses,
    test_an_agent_wallet_trades_for_its_master,
    test_an_ioc_that_fills_moves_the_position_by_its_size,
    test_an_order_below_the_minimum_value_is_refused_in_the_venues_words,
    test_an_unknown_cloid_is_not_found,
    test_fills_between_is_the_history_cut_at_both_ends,
    test_funding_history_is_read_or_refused_in_the_venues_words,
    test_instruments,
    test_mids_cover_the_instruments,
    test_order_book_has_both_sides_around_the_mid,
    test_place_then_status_by_cloid_then_cancel_by_cloid,
    test_reduce_only_that_would_increase_is_refused,
    test_update_leverage_applies_and_an_invalid_value_is_refused,
    test_watch_yields_each_fill_once_across_a_dropped_stream,
)

__all__ = [
    "test_a_vault_follower_trades_through_vault_address",
    "test_a_venue_without_agent_wallets_refuses_role_reads",
    "test_account_equity_and_positions_after_a_trade",
    "test_account_roles_name_masters_agents_and_unknown_addresses",
    "test_an_agent_wallet_trades_for_its_master",
    "test_an_ioc_that_fills_moves_the_position_by_its_size",
    "test_an_order_below_the_minimum_value_is_refused_in_the_venues_words",
    "test_an_unknown_cloid_is_not_found",
    "test_fills_between_is_the_history_cut_at_both_ends",
    "test_funding_history_is_read_or_refused_in_the_venues_words",
    "test_instruments",
    "test_mids_cover_the_instruments",
    "test_order_book_has_both_sides_around_the_mid",
    "test_place_then_status_by_cloid_then_cancel_by_cloid",
    "test_reduce_only_that_would_increase_is_refused",
    "test_update_leverage_applies_and_an_invalid_value_is_refused",
    "test_watch_yields_each_fill_once_across_a_dropped_stream",
]
