"""/rank through the fake Bot API, on two leaders scripted on the localnet with the unmodified SDK: the
table (the same as the service call `mirrorbot rank` makes) and the PNG chart; and hostile arguments —
generated — each answered with one clear message that changes nothing."""

from __future__ import annotations

import asyncio
from decimal import Decimal

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from adapters.hyperliquid.venue import HyperliquidVenue
from adapters.localnet.server import LocalnetThread
from bot.analytics.rank_report import NOT_ADVICE, rank_inputs, rank_sources
from bot.analytics.render import short_address
from bot.ledger import Ledger
from tests.service.support import funded, market_open, sdk_exchange
from tests.telegram.conftest import ADMIN, Bot
from tests.telegram.test_hostile import POISON, clear, first_answer, snapshot, unchanged_but_refusals

# ETH long 1 → 0.4 → 0, then SOL 30 → 0: one leader trades twice as much as the other
SCRIPT = [("ETH", True, "1"), ("ETH", False, "0.6"), ("SOL", True, "30"), ("ETH", False, "0.4")]
SCRIPT += [("SOL", False, "30")]


def _script(url: str, name: str, scale: Decimal) -> str:
    with pytest.MonkeyPatch.context() as patch:
        from tests.service.support import unique_nonce

        patch.setattr("hyperliquid.exchange.get_timestamp_ms", unique_nonce)
        wallet = funded(url, name, "100000")
        exchange = sdk_exchange(url, wallet)
        for coin, is_buy, size in SCRIPT:
            market_open(exchange, coin, is_buy, Decimal(size) * scale)
        exchange.session.close()
    return wallet.address.lower()


@pytest.fixture(scope="module")
def leaders(localnet: LocalnetThread) -> tuple[str, str]:
    return _script(localnet.url, "rank-leader-a", Decimal(1)), _script(
        localnet.url, "rank-leader-b", Decimal(2)
    )


async def test_rank_answers_the_table_and_the_chart(
    bot: Bot, leaders: tuple[str, str], reads: HyperliquidVenue
) -> None:
    a, b = leaders
    mark = await bot.say(ADMIN, f"/rank {a} {b} 1 equity=2500")
    photo = await bot.api.wait_for(lambda c: c.method == "sendPhoto" and c.chat_id == ADMIN, after=mark)
    end = bot.api.calls.index(photo)
    text = "\n".join(
        c.text for c in bot.api.calls[mark:end] if c.method == "sendMessage" and c.chat_id == ADMIN
    )
    lines = text.splitlines()
    assert lines[0] == "Ranking 2 sources side by side" and lines[1] == NOT_ADVICE
    assert {lines[4].split()[1], lines[5].split()[1]} == {short_address(a), short_address(b)}
    assert "Copyability at follower equity 2,500.00 USD." in text
    assert photo.params["photo_bytes"].startswith(b"\x89PNG") and "not advice" in photo.text
    # the same table as the service call the CLI makes (the localnet has no funding: a note says so)
    direct = await rank_sources(rank_inputs([a, b], days=1, equity="2500"), venue=reads)
    assert lines[3:6] == direct.text().splitlines()[3:6]
    entries = await bot.handle.room.service.ledger.audit_entries()
    assert any(e.action == "rank" and e.details["addresses"] == [a, b] for e in entries)


async def test_rank_refusals_say_what_was_expected(bot: Bot, leaders: tuple[str, str]) -> None:
    a, b = leaders
    cases = [
        ("/rank", "addresses: 0 given (accepted: 2 to 10 sources)"),
        (f"/rank {a}", "addresses: 1 given"),
        (f"/rank {a} {a}", "given twice"),
        (f"/rank {a} 0x12", "not an address: '0x12'"),
        (f"/rank {a} {b} equity=0", "equity: out of range: 0"),
        (f"/rank {a} {b} days=0", "days: out of range: 0"),
        (f"/rank {a} {b} scaling=50", "unknown scaling"),
        ("/rank " + " ".join(f"0x{n:040x}" for n in range(1, 12)), "addresses: 11 given"),
    ]
    for request, expected in cases:
        answer = await bot.ask(ADMIN, request, "Usage: /rank")
        assert expected in answer, (request, answer)
    assert not [c for c in bot.api.calls if c.method == "sendPhoto"]  # nothing was read or drawn


RANK_POISON = st.one_of(
    POISON,
    st.sampled_from(
        [
            "equity=0",
            "equity=-5",
            "equity=nan",
            "days=99999",
            "days=²",
            "0x" + "0" * 40,  # nobody's wallet
            "0x" + "A" * 20 + "a" * 20,  # mixed case, wrong checksum
            "0x1234…",
            "x" * 300,
        ]
    ),
)


@settings(
    max_examples=25,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(data=st.data())
async def test_hostile_rank_arguments_get_one_clear_answer_and_change_nothing(
    bot: Bot, ledger: Ledger, leaders: tuple[str, str], data: st.DataObject
) -> None:
    a, b = leaders
    plausible = st.sampled_from([a, b, a[:8], short_address(b), "7", "equity=2500", "equity=10k", "days=2"])
    words = data.draw(st.lists(plausible, max_size=4), label="before")
    poison = data.draw(RANK_POISON, label="poison")
    after = data.draw(st.lists(plausible, max_size=4), label="after")
    before = await snapshot(ledger)
    mark = len(bot.api.calls)
    bot.api.push_message(ADMIN, " ".join(["/rank", *words, poison, *after]))
    answer = await first_answer(bot, mark)
    clear(answer)
    assert "Usage: /rank" in answer.text  # refused: a poisoned word is never taken
    await asyncio.sleep(0.05)  # a grace period, not a sync: anything else it says comes at once
    for call in bot.api.calls[mark:]:
        if call.method in ("sendMessage", "sendPhoto"):
            clear(call)
            assert call.method != "sendPhoto"
    await unchanged_but_refusals(ledger, before)
