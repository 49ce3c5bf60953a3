"""Equity history (bot/service/equity.py) on SQLite and PostgreSQL, and `/chart equity` through the fake
Bot API: the owner's follower against the sources it follows, nobody else's accounts."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from datetime import UTC, datetime
from decimal import Decimal

import pytest

from adapters.localnet.server import LocalnetThread
from bot.ledger import Ledger, LedgerError, create_engine
from bot.service.equity import EquityPoint, equity_history, record_equity
from bot.telegram.render import returns
from tests.service.support import funded
from tests.telegram.conftest import ADMIN, Bot
from tests.telegram.support import connect

MINUTE = 60_000
T0 = 1_700_000_040_000  # a whole minute (epoch ms)
ADDRESS = "0x" + "Ab" * 20


@pytest.fixture
async def store(db_url: str) -> AsyncIterator[Ledger]:
    ledger = Ledger(create_engine(db_url))
    try:
        yield ledger
    finally:
        await ledger.close()


async def test_one_reading_per_address_role_and_minute_the_first_wins(store: Ledger) -> None:
    await record_equity(store, address=ADDRESS, equity=Decimal("1000.50"), time_ms=T0 + 5, role="follower")
    await record_equity(
        store, address=ADDRESS.lower(), equity=Decimal(999), time_ms=T0 + 59_999, role="follower"
    )
    await record_equity(store, address=ADDRESS, equity=Decimal(7), time_ms=T0 + 10, role="source")
    await record_equity(store, address=ADDRESS, equity=Decimal("1010"), time_ms=T0 + MINUTE, role="follower")
    mine = await equity_history(store, address=ADDRESS.upper().replace("0X", "0x"), role="follower")
    assert [(p.equity, p.time) for p in mine] == [
        (Decimal("1000.5"), datetime.fromtimestamp((T0 + 5) / 1000, UTC)),
        (Decimal(1010), datetime.fromtimestamp((T0 + MINUTE) / 1000, UTC)),
    ]
    assert [p.equity for p in await equity_history(store, address=ADDRESS, role="source")] == [Decimal(7)]
    window = await equity_history(store, address=ADDRESS, role="follower", since_ms=T0 + 6)
    assert [p.equity for p in window] == [Decimal(1010)]
    until = await equity_history(store, address=ADDRESS, role="follower", until_ms=T0 + 6)
    assert [p.equity for p in until] == [Decimal("1000.5")]


@pytest.mark.parametrize(
    ("equity", "role", "message"),
    [
        (1000.5, "follower", "never a float"),
        (Decimal(-1), "follower", "must not be negative"),
        (Decimal("NaN"), "follower", "equity"),
        (Decimal(1), "leader", "role must be one of follower, source"),
    ],
)
async def test_bad_readings_are_refused_and_nothing_is_written(
    store: Ledger, equity: object, role: str, message: str
) -> None:
    with pytest.raises(LedgerError, match=message):
        await record_equity(store, address=ADDRESS, equity=equity, time_ms=T0, role=role)  # type: ignore[arg-type]
    for kind in ("follower", "source"):
        assert await equity_history(store, address=ADDRESS, role=kind) == []


def test_returns_are_exact_and_a_zero_base_has_none() -> None:
    t = datetime(2026, 1, 1, tzinfo=UTC)
    points = [EquityPoint(t, Decimal(1000)), EquityPoint(t, Decimal("1012.5")), EquityPoint(t, Decimal(990))]
    assert [r for _, r in returns(points)] == [Decimal(0), Decimal("1.25"), Decimal(-1)]
    assert returns([EquityPoint(t, Decimal(0)), EquityPoint(t, Decimal(5))]) == []


async def test_chart_equity_draws_you_against_your_sources_only(
    bot: Bot, localnet: LocalnetThread, ledger: Ledger
) -> None:
    assert "no equity recorded" in await bot.ask(ADMIN, "/chart equity", "no equity")
    master, _ = await connect(bot, localnet, ADMIN, "equity")
    follower = master.address.lower()
    source = (await asyncio.to_thread(funded, localnet.url, "equity-source", "50000")).address.lower()
    stranger = "0x" + "5" * 40
    assert "Following" in await bot.ask(ADMIN, f"/follow {source} ETH 100", "Following")
    now = int(datetime.now(UTC).timestamp() * 1000) // MINUTE * MINUTE
    readings = [
        (follower, "follower", ["10000", "10100", "10050"]),
        (source, "source", ["50000", "51000", "50500"]),
        (stranger, "follower", ["1", "2", "3"]),  # someone else's account: never shown
    ]
    for address, role, values in readings:
        for i, value in enumerate(values):
            time_ms = now - (len(values) - i) * MINUTE
            await record_equity(ledger, address=address, equity=Decimal(value), time_ms=time_ms, role=role)
    mark = await bot.say(ADMIN, "/chart equity 1")
    photo = await bot.api.wait_for(lambda c: c.method == "sendPhoto" and c.chat_id == ADMIN, after=mark)
    assert photo.params["photo_bytes"].startswith(b"\x89PNG")
    lines = photo.text.splitlines()
    assert f"you {follower[:6]}…{follower[-4:]}: $10,000.00 → $10,050.00 (+0.5 %), 3 readings" in lines
    assert f"source {source[:6]}…{source[-4:]}: $50,000.00 → $50,500.00 (+1 %), 3 readings" in lines
    assert len(lines) == 3  # the title and the two series: not the stranger's
    bad = await bot.ask(ADMIN, "/chart equity forever", "days")
    assert "not a whole number: 'forever'" in bad
