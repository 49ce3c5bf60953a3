"""`mirrorbot paper`: the real pipeline copying a real leader on the localnet into paper followers."""

from __future__ import annotations

import asyncio
import logging
from decimal import Decimal
from pathlib import Path

import pytest
from eth_account import Account
from eth_utils.crypto import keccak
from hyperliquid.exchange import Exchange
from typer.testing import CliRunner

from adapters.hyperliquid.venue import HyperliquidVenue
from adapters.localnet.server import LocalnetThread
from adapters.paper import PaperVenue
from bench.rig import unpaced
from bot.cli import app
from bot.cli.paper import paper_db_url, paper_runner, parse_followers
from bot.config import Settings, load_settings
from bot.ledger import Ledger
from bot.pipeline.runner import RunnerError, RunnerOptions
from bot.service import Actor, MirrorService
from bot.service.errors import InvalidInput
from bot.service.paper import paper_accounts
from tests.paper.conftest import Net, paper_address
from tests.waiting import wait_until

D = Decimal
QUIET = RunnerOptions(accounts_refresh_s=0, reconcile_s=0, dead_man_rearm_s=0, plans_refresh_s=0.2)


def reads(net: Net) -> HyperliquidVenue:
    """A venue client of its own: the paper venue (and the runner stopping it) closes it."""
    return HyperliquidVenue(net.url, data_dir=None, budget=unpaced())


def settings_for(net: Net, tmp_path: Path) -> Settings:
    settings = load_settings(hl_api_url=net.url, data_dir=tmp_path, network="localnet")
    return settings.model_copy(update={"database_url": paper_db_url(settings, None)})


async def test_a_leader_is_copied_onto_paper_and_the_paper_state_survives_a_restart(
    net: Net, tmp_path: Path
) -> None:
    settings = settings_for(net, tmp_path)
    state = tmp_path / "paper.json"
    follower = paper_address()
    leader = Account.from_key(keccak(text="mirrorbot-paper-run-leader"))
    await net.control({"type": "fund", "user": leader.address, "usdc": "1000000"})
    await net.control({"type": "setMids", "mids": {"ETH": "3000"}})
    runner = await paper_runner(
        settings, followers={follower: D(10_000)}, state_path=state, reads=reads(net), options=QUIET
    )
    async with await Ledger.open(settings.db_url) as ledger:  # the follow, as `follow add` writes it
        await MirrorService(ledger).follow_add(Actor.cli("test"), follower, leader.address.lower())
    await runner.start()
    try:
        exchange = await asyncio.to_thread(lambda: Exchange(leader, base_url=net.url))
        await asyncio.to_thread(exchange.market_open, "ETH", True, 10.0)
        paper = runner.venue
        assert isinstance(paper, PaperVenue)

        async def copied() -> bool:
            return (await paper.account(follower)).size("ETH") == D("0.1")  # ρ = 10,000 / 1,000,000

        await wait_until(copied, "the follower's paper position")
        assert (await net.venue.account(follower)).positions == ()  # nothing was sent to the venue
        (fill,) = await paper.fills_since(follower, 0)

        async def recorded() -> bool:  # the copier records the fill once the order's answer is in
            return bool(await runner.ledger.lineage(f"tid:{fill.tid}"))

        await wait_until(recorded, "the paper fill in the ledger")
        (chain,) = await runner.ledger.lineage(f"tid:{fill.tid}")
        assert chain.leader_event is not None and chain.leader_event.source == leader.address.lower()
        await asyncio.to_thread(exchange.session.close)
    finally:
        await runner.stop()

    again = await paper_runner(settings, followers={}, state_path=state, reads=reads(net), options=QUIET)
    try:
        assert isinstance(again.venue, PaperVenue)
        assert (await again.venue.account(follower)).size("ETH") == D("0.1")
    finally:
        await again.venue.close()


async def test_nobody_to_trade_for_is_refused(net: Net, tmp_path: Path) -> None:
    with pytest.raises(RunnerError, match="--follower ADDRESS"):
        await paper_runner(settings_for(net, tmp_path), followers={}, state_path=tmp_path / "p.json")


def test_follower_options_are_checked() -> None:
    address = paper_address()
    assert parse_followers([address, "0x" + address[2:].upper() + "=250.5"], D(7)) == {
        address.lower(): D("250.5")
    }
    assert parse_followers([address], D(7)) == {address.lower(): D(7)}
    with pytest.raises(InvalidInput, match="--follower: not an address"):
        parse_followers(["0x12=100"], D(1))
    with pytest.raises(InvalidInput, match="--follower: start equity must be positive"):
        parse_followers([f"{address}=-5"], D(1))


Row = tuple[str, str, str | None, str | None, str | None]


async def _paper_db(path: Path) -> tuple[list[Row], list[object]]:
    """The paper database's accounts and its `paper.account.add` audit entries' details."""
    async with await Ledger.open(f"sqlite+aiosqlite:///{path}", create=False) as ledger:
        rows = await ledger.accounts()
        accounts = [(a.address, a.venue, a.label, a.agent_address, a.keystore_path) for a in rows]
        entries = [e.details for e in await ledger.audit_entries() if e.action == "paper.account.add"]
    return accounts, entries


async def test_paper_followers_are_registered_once_through_the_service(tmp_path: Path) -> None:
    first, second = paper_address().lower(), paper_address().lower()
    on = "hyperliquid"
    async with MirrorService.connect(f"sqlite+aiosqlite:///{tmp_path / 'paper.db'}") as service:
        assert await paper_accounts(service, Actor.cli(), {first: D(2500)}, venue_name=on) == [first]
        again = await paper_accounts(service, Actor.cli(), {first: D(9), second: D(100)}, venue_name=on)
        assert sorted(again) == sorted([first, second])
        with pytest.raises(InvalidInput, match="--follower: not an address"):
            await paper_accounts(service, Actor.cli(), {"0x12": D(1)}, venue_name=on)
    _, audited = await _paper_db(tmp_path / "paper.db")
    # a follower already registered keeps its first entry (its equity lives in the paper state)
    assert sorted(audited, key=str) == sorted(
        [{"address": first, "start_equity": "2500"}, {"address": second, "start_equity": "100"}], key=str
    )


def test_the_command_registers_followers_in_its_own_database(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(tmp_path)  # no developer .env
    net = LocalnetThread(seed=3).start()  # on its own thread: the command runs its own event loop
    try:
        for name, value in {
            "MIRROR_HL_API_URL": net.url,
            "MIRROR_DATA_DIR": str(tmp_path),
            "MIRROR_DATABASE_URL": f"sqlite+aiosqlite:///{tmp_path / 'live.db'}",
        }.items():
            monkeypatch.setenv(name, value)
        follower = paper_address()
        result = CliRunner().invoke(app, ["paper", "--once", "--follower", f"{follower}=2500"])
        assert result.exit_code == 0, result.output
        assert (tmp_path / "paper.db").exists() and (tmp_path / "paper.json").exists()
        assert not (tmp_path / "live.db").exists()  # the live ledger is never touched
        registered, audited = asyncio.run(_paper_db(tmp_path / "paper.db"))
        assert registered == [(follower.lower(), "hyperliquid", "paper", None, None)]  # no agent, no key
        assert audited == [{"address": follower.lower(), "start_equity": "2500"}]
        refused = CliRunner().invoke(app, ["paper", "--once", "--equity", "zero"])
        assert refused.exit_code == 2
        assert "--equity: not a number" in refused.output
    finally:
        net.stop()
        root = logging.getLogger()  # the command configured logging onto the runner's (closed) stream
        for handler in [h for h in root.handlers if getattr(h, "_mirror_handler", False)]:
            root.removeHandler(handler)
