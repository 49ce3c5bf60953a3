"""`dex:COIN` (HIP-3 builder-dex coins) at the input boundary and in the Telegram token lists: the dex
in lower case as the venue names dexes, the coin by the usual rule; malformed names refused in one line."""

from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from bot.domain import dex_of
from bot.service import InvalidInput, inputs
from bot.telegram.parse import token_spec


@pytest.mark.parametrize(
    ("typed", "spelled"),
    [("test:gold", "test:GOLD"), ("TEST:GOLD", "test:GOLD"), ("xyz:kPEPE", "xyz:kPEPE"), ("eth", "ETH")],
)
def test_a_builder_dex_coin_keeps_its_dex_in_lower_case(typed: str, spelled: str) -> None:
    assert inputs.token(typed, "tokens") == spelled


@pytest.mark.parametrize("typed", ["test:", "1x:GOLD", "a:b:c", "te-st:GOLD"])
def test_a_malformed_dex_coin_is_refused_naming_the_field_and_the_form(typed: str) -> None:
    with pytest.raises(InvalidInput, match=r"^tokens: .*accepted: .*dex:COIN"):
        inputs.token(typed, "tokens")


def test_a_list_mixes_both_dexes() -> None:
    assert inputs.tokens("ETH,test:gold,test:GOLD", "tokens") == ("ETH", "test:GOLD")


def test_telegram_lists_tell_a_dex_coin_from_a_scaling() -> None:
    assert token_spec("test:GOLD,ETH:50,test:MOON:200%") == (
        ["test:GOLD", "ETH", "test:MOON"],
        {"ETH": "50", "test:MOON": "200"},
    )


@settings(max_examples=60, deadline=None)
@given(
    dex=st.from_regex(r"[a-z][a-z0-9]{0,7}", fullmatch=True),
    coin=st.from_regex(r"[A-Z][A-Z0-9]{0,9}", fullmatch=True),
)
def test_any_dex_coin_round_trips_to_its_dex(dex: str, coin: str) -> None:
    spelled = inputs.token(f"{dex.upper()}:{coin.lower()}", "tokens")
    assert spelled == f"{dex}:{coin}" and dex_of(spelled) == dex
