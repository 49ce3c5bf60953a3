"""`mirrorbot positions --venue gmx` and `mirrorbot follow add --source-venue gmx`."""

from __future__ import annotations

import asyncio
import json
from decimal import Decimal
from pathlib import Path

import pytest
from typer.testing import CliRunner, Result

from adapters.gmx.report import positions_report
from adapters.gmx.venue import GmxVenue
from bot.cli import app
from bot.domain import OrderRequest, Tif, TradingAccount
from bot.ledger import Ledger
from tests.gmx.evm import GmxChainDouble, new_wallet
from tests.gmx.harness import shared_chain
from tests.gmx.rpc import RpcBridge, write_deployment

SOURCE = "0x" + "5e" * 20


def run(tmp_path: Path, *args: str, **env: str) -> Result:
    base = {
        "MIRROR_DATA_DIR": str(tmp_path / "data"),
        "MIRROR_DATABASE_URL": f"sqlite+aiosqlite:///{tmp_path / 'ledger.db'}",
        "MIRROR_HL_API_URL": "http://127.0.0.1:9",  # no venue: refused at once
    }
    return CliRunner().invoke(app, list(args), env=base | env)


def test_positions_venue_gmx_names_what_is_missing(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)
    no_account = run(tmp_path, "positions", "--venue", "gmx")
    assert (
        no_account.exit_code == 2 and "--account: expected the GMX account's 0x address" in no_account.stderr
    )
    no_rpc = run(tmp_path, "positions", "--venue", "gmx", "--account", SOURCE)
    assert no_rpc.exit_code == 2 and "MIRROR_GMX_RPC_URL: not set" in no_rpc.stderr
    bad_network = run(
        tmp_path, "positions", "--venue", "gmx", "--account", SOURCE, MIRROR_GMX_NETWORK="solana"
    )
    assert bad_network.exit_code != 0 and "MIRROR_GMX_NETWORK" in bad_network.stderr
    missing_file = run(
        tmp_path,
        "positions",
        "--venue",
        "gmx",
        "--account",
        SOURCE,
        MIRROR_GMX_RPC_URL="http://127.0.0.1:9",
        MIRROR_GMX_DEPLOYMENT_FILE=str(tmp_path / "nowhere.json"),
    )
    assert missing_file.exit_code == 1 and "nowhere.json: cannot be read" in missing_file.stderr
    unknown = run(tmp_path, "positions", "--venue", "dydx")
    assert unknown.exit_code == 2 and "accepted: hyperliquid, gmx" in unknown.stderr


def test_follow_add_stores_the_source_venue_in_the_plan(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(tmp_path)
    from tests.service.support import fixed_key, write_fast_keystore

    keystore, _ = write_fast_keystore(tmp_path / "agent.json", "correct horse")
    master = fixed_key("gmx-cli-master").address
    env = {"MIRROR_KEYSTORE_PASSWORD": "correct horse"}
    added = run(tmp_path, "account", "add", "--address", master, "--keystore", str(keystore), **env)
    assert added.exit_code == 0, added.stderr
    followed = run(tmp_path, "follow", "add", SOURCE, "--source-venue", "gmx", "--json", **env)
    assert followed.exit_code == 0, followed.stderr
    listed = run(tmp_path, "follow", "list", "--json", **env)
    assert listed.exit_code == 0, listed.stderr
    assert '"source_venue": "gmx"' in listed.stdout or '"source_venue":"gmx"' in listed.stdout
    refused = run(tmp_path, "follow", "add", "0x" + "6f" * 20, "--source-venue", "ftx", **env)
    assert (
        refused.exit_code == 2 and "source_venue" in refused.stderr and "hyperliquid, gmx" in refused.stderr
    )


async def test_the_positions_report_is_the_netted_account_as_json(tmp_path: Path) -> None:
    chain = shared_chain()
    chain.keeper_auto, chain.cancel_reason, chain.freeze_reason = True, None, None
    venue = GmxVenue(chain.venue_w3(), chain.deployment, poll_interval_s=0.02, keeper_timeout_s=5)
    wallet = new_wallet("report")
    await chain.fund(wallet.address, Decimal(20000))
    account = TradingAccount(wallet.address, wallet.key.hex())
    await venue.place(account, [OrderRequest("ETH", True, Decimal("0.5"), Decimal(3030), False, Tif.IOC)])
    report = json.loads(json.dumps(await positions_report(venue, wallet.address)))
    assert report["positions"] == [
        {"coin": "ETH", "size": "0.5", "entry_px": "3000", "leverage": 5, "unrealized_pnl": "0"}
    ]
    assert report["equity"] == "19999.25"  # 20000 − the 0.05% fee on $1500
    (gmx,) = report["gmx_positions"]
    assert (gmx["market"], gmx["is_long"], gmx["size_usd"]) == ("ETH/USD [WETH-USDC]", True, "1500")


async def test_positions_venue_gmx_prints_the_netted_and_the_gmx_positions(
    chain: GmxChainDouble, bridge: RpcBridge, tmp_path: Path
) -> None:
    """The success path, end to end: the CLI reads the account over HTTP JSON-RPC (the double's bridge)."""
    trader = GmxVenue(chain.venue_w3(), chain.deployment, poll_interval_s=0.02, keeper_timeout_s=5)
    wallet = new_wallet("cli-positions")
    await chain.fund(wallet.address, Decimal(20000))
    account = TradingAccount(wallet.address, wallet.key.hex())
    for is_buy, size, px in [(True, "2", 3030), (False, "0.5", 2970)]:  # a long, then a partial close
        await trader.place(account, [OrderRequest("ETH", is_buy, Decimal(size), Decimal(px), False, Tif.IOC)])
    await chain.set_price("WETH", Decimal(3100))
    env = {
        "MIRROR_GMX_RPC_URL": bridge.url,
        "MIRROR_GMX_DEPLOYMENT_FILE": str(write_deployment(chain, tmp_path / "gmx.json")),
    }
    # The CLI runs its own event loop: on a worker thread, while the bridge serves on this one.
    shown = await asyncio.to_thread(
        run, tmp_path, "positions", "--venue", "gmx", "--account", wallet.address, **env
    )
    assert shown.exit_code == 0, shown.stderr
    report = json.loads(shown.stdout)
    assert (report["venue"], report["network"], report["account"]) == ("gmx", "arbitrum", wallet.address)
    assert report["positions"] == [
        {"coin": "ETH", "size": "1.5", "entry_px": "3000", "leverage": 5, "unrealized_pnl": "150"}
    ]
    (gmx,) = report["gmx_positions"]
    assert (gmx["market"], gmx["is_long"], gmx["size"], gmx["size_usd"]) == (
        "ETH/USD [WETH-USDC]",
        True,
        "1.5",
        "4500",
    )
    # 20000 − fees (0.05% of $6000 and of $1500) + uPnL 1.5 × 100
    assert report["equity"] == "20146.25"
    assert report["unmapped_positions"] == []
    assert report["block"] > 0 and bridge.requests > 0


def test_a_bad_follower_venue_stops_with_exit_2_naming_it(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(tmp_path)
    refused = run(tmp_path, "run", "--once", MIRROR_FOLLOWER_VENUE="dydx")
    assert refused.exit_code == 2
    assert "MIRROR_FOLLOWER_VENUE" in refused.stderr and "'hyperliquid' or 'gmx'" in refused.stderr


def test_account_add_venue_gmx_registers_the_key_owner_without_a_venue_check(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(tmp_path)
    owner, other = new_wallet("cli-gmx-owner"), new_wallet("cli-gmx-other")
    env = {"MIRROR_KEYSTORE_PASSWORD": "gmx-cli-password"}
    for name, wallet in (("own.json", owner), ("other.json", other)):
        made = CliRunner().invoke(
            app,
            ["keystore", "import", str(tmp_path / name)],
            input=f"{wallet.key.hex()}\n",
            env={"MIRROR_DATA_DIR": str(tmp_path / "data")} | env,
        )
        assert made.exit_code == 0, made.output
    agent = run(
        tmp_path,
        "account",
        "add",
        "--venue",
        "gmx",
        "--address",
        owner.address,
        "--keystore",
        "other.json",
        **env,  # `account add` opens the keystore with it (issue #14)
    )
    assert agent.exit_code == 2 and "GMX has no agent wallets" in agent.stderr
    added = run(
        tmp_path,
        "account",
        "add",
        "--venue",
        "gmx",
        "--address",
        owner.address,
        "--keystore",
        "own.json",
        "--json",
        **env,
    )
    assert added.exit_code == 0, added.stderr
    shown = json.loads(added.stdout)
    assert (shown["account"]["address"], shown["venue_checked"]) == (owner.address.lower(), False)

    async def registered() -> list[tuple[str, str]]:
        ledger = await Ledger.open(f"sqlite+aiosqlite:///{tmp_path / 'ledger.db'}")
        try:
            return [(row.venue, row.address) for row in await ledger.accounts()]
        finally:
            await ledger.close()

    assert asyncio.run(registered()) == [("gmx", owner.address.lower())]
