"""Service calls that ask the venue, against a real localnet driven through the unmodified SDK."""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal
from pathlib import Path

import pytest
from eth_account.signers.local import LocalAccount

from adapters.hyperliquid.info import InfoClient
from adapters.localnet.server import LocalnetThread
from bot.ledger import Ledger
from bot.ledger.repository import instruction_values
from bot.service import Actor, Conflict, InvalidInput, MirrorService, VenueError
from bot.service.views import NOT_JOINED
from strategies.num import div, mul, q_lot, sub
from tests.service.support import control, fixed_key, funded, market_open, sdk_exchange, write_fast_keystore

PASSWORD = "correct horse battery"


@dataclass(frozen=True)
class Master:
    wallet: LocalAccount
    keystore: Path  # an agent the master approved on the venue
    agent: str

    @property
    def address(self) -> str:
        return self.wallet.address.lower()


def approved_agent(url: str, master: LocalAccount, path: Path) -> tuple[Path, str]:
    _, agent_key = sdk_exchange(url, master).approve_agent("mirrorbot")
    return write_fast_keystore(path, PASSWORD, bytes.fromhex(agent_key[2:]))


def master_with_agent(url: str, tmp_path: Path, tag: str) -> Master:
    wallet = funded(url, tag)
    keystore, agent = approved_agent(url, wallet, tmp_path / f"{tag}.json")
    return Master(wallet, keystore, agent)


async def test_an_approved_agent_is_confirmed_by_the_venue(
    venue_service: MirrorService, actor: Actor, localnet: LocalnetThread, tmp_path: Path
) -> None:
    master = master_with_agent(localnet.url, tmp_path, "approved")
    added = await venue_service.account_add(actor, master.address, master.keystore, check_venue=True)
    assert added.venue_checked
    assert (added.account.address, added.account.agent, added.account.kind) == (
        master.address,
        master.agent,
        "master",
    )


async def test_an_unapproved_agent_or_unknown_account_is_refused(
    venue_service: MirrorService, actor: Actor, localnet: LocalnetThread, tmp_path: Path
) -> None:
    master = funded(localnet.url, "unapproved")
    path, agent = write_fast_keystore(tmp_path / "stranger.json", PASSWORD)
    with pytest.raises(VenueError, match=f"agent {agent} is not approved for {master.address.lower()}"):
        await venue_service.account_add(actor, master.address, path)
    with pytest.raises(VenueError, match=r"does not exist on the venue .*fund it first"):
        await venue_service.account_add(actor, fixed_key("nobody").address, path)
    assert await venue_service.account_list(actor) == ()


async def test_sub_accounts_and_vaults_are_recognised(
    venue_service: MirrorService, actor: Actor, localnet: LocalnetThread, tmp_path: Path
) -> None:
    master = master_with_agent(localnet.url, tmp_path, "owner")
    answer = sdk_exchange(localnet.url, master.wallet).create_sub_account("desk1")
    sub_account = answer["response"]["data"].lower()
    added = await venue_service.account_add(actor, master.address, master.keystore, vault=sub_account)
    assert (added.account.address, added.account.kind) == (sub_account, "sub_account")
    vault = control(localnet.url, {"type": "createVault", "leader": master.address, "usdc": "1000"})["vault"]
    second, _ = approved_agent(localnet.url, master.wallet, tmp_path / "vault-agent.json")
    added = await venue_service.account_add(actor, master.address, second, vault=vault)
    assert (added.account.address, added.account.kind) == (vault, "vault")
    with pytest.raises(VenueError, match="is not a vault or sub-account on the venue"):
        await venue_service.account_add(actor, master.address, second, vault=fixed_key("plain").address)


async def test_tokens_are_checked_and_spelled_as_the_venue_lists_them(
    venue_service: MirrorService, actor: Actor, localnet: LocalnetThread, tmp_path: Path
) -> None:
    master = master_with_agent(localnet.url, tmp_path, "tokens")
    await venue_service.account_add(actor, master.address, master.keystore)
    source = fixed_key("token-source").address
    with pytest.raises(InvalidInput, match=r"tokens: NOPE is not listed by the venue \(accepted: .*ETH"):
        await venue_service.follow_add(actor, None, source, tokens="eth,nope")
    with pytest.raises(InvalidInput, match=r"scale: NOPE is not listed by the venue"):
        await venue_service.follow_add(actor, None, source, scale={"nope": 50})
    added = await venue_service.follow_add(actor, None, source, tokens="eth,btc", scale={"eth": 50})
    assert added.venue_checked
    assert added.plan.settings["include"] == ["BTC", "ETH"]
    assert added.plan.settings["scaling"] == {"*": "100", "ETH": "50"}


async def test_reassignment_is_free_while_flat_and_refused_once_the_follower_holds_the_token(
    venue_service: MirrorService, actor: Actor, localnet: LocalnetThread, tmp_path: Path
) -> None:
    master = master_with_agent(localnet.url, tmp_path, "flat")
    await venue_service.account_add(actor, master.address, master.keystore)
    a, b, c = (fixed_key(f"src-{n}").address for n in "abc")
    await venue_service.follow_add(actor, None, a)  # every token
    moved = await venue_service.follow_add(actor, None, b, tokens="ETH")  # flat in ETH: allowed
    assert [(r.source, r.release, r.tokens) for r in moved.released] == [
        (a.lower(), "keep", "every token except ETH")
    ]
    market_open(sdk_exchange(localnet.url, master.wallet), "ETH", True, Decimal("0.01"))
    with pytest.raises(Conflict, match=rf"already copies ETH \(from {b.lower()}, plan v1\)"):
        await venue_service.follow_add(actor, None, c, tokens="ETH")


async def test_positions_side_by_side_with_drift(
    venue_service: MirrorService, actor: Actor, ledger: Ledger, localnet: LocalnetThread, tmp_path: Path
) -> None:
    url = localnet.url
    master = master_with_agent(url, tmp_path, "positions")
    leader = funded(url, "leader", usdc="100000")
    market_open(sdk_exchange(url, leader), "ETH", True, Decimal("2"))  # the source trades through the SDK
    market_open(sdk_exchange(url, leader), "BTC", False, Decimal("0.1"))
    follower_exchange = sdk_exchange(url, master.wallet)
    market_open(follower_exchange, "ETH", True, Decimal("0.05"))
    market_open(follower_exchange, "SOL", True, Decimal("1"))  # a manual trade no follow manages
    await venue_service.account_add(actor, master.address, master.keystore)
    await venue_service.follow_add(actor, None, leader.address, tokens="ETH,BTC", scale={"BTC": 50})

    view = await venue_service.positions(actor)
    rows = {(r.coin, r.source): r for r in view.rows}
    assert set(rows) == {("BTC", leader.address.lower()), ("ETH", leader.address.lower()), ("SOL", None)}
    async with InfoClient(url) as info:
        ef, es = (
            (await info.account_state(master.address)).equity,
            (await info.account_state(leader.address)).equity,
        )
        sz = {i.coin: i.sz_decimals for i in await info.meta()}
    assert view.equities[master.address] == ef and view.equities[leader.address.lower()] == es
    eth = rows["ETH", leader.address.lower()]
    expected = q_lot(mul(div(ef, es), Decimal(2)), sz["ETH"])  # ρ(now) · s at k = 100 %
    assert (eth.source_size, eth.follower_size, eth.target, eth.target_basis) == (
        Decimal(2),
        Decimal("0.05"),
        expected,
        "estimate",
    )
    assert eth.drift == sub(Decimal("0.05"), expected) and eth.drift_usd == mul(eth.drift, eth.mid)  # type: ignore[arg-type]
    btc = rows["BTC", leader.address.lower()]
    # Copy Current off and not held: the source's BTC from before the follow is not joined, not drift.
    assert (btc.follower_size, btc.target, btc.drift, btc.note) == (Decimal(0), None, None, NOT_JOINED)
    await venue_service.follow_update(actor, None, leader.address, copy_current=True)
    btc = next(r for r in (await venue_service.positions(actor)).rows if r.coin == "BTC")
    assert btc.target == q_lot(mul(div(ef, es), Decimal("-0.1"), Decimal("0.5")), sz["BTC"])
    assert btc.target is not None and btc.target < 0
    assert (btc.follower_size, btc.drift) == (Decimal(0), -btc.target)
    sol = rows["SOL", None]
    assert (sol.follower_size, sol.target, sol.drift) == (Decimal(1), None, None)

    # once the engine has decided, the ledger's target is the reference
    await ledger.record_instruction(
        instruction_values(
            follower=master.address,
            source=leader.address,
            coin="ETH",
            source_event_id="e1",
            strategy="mirror",
            target_before=Decimal(0),
            target_after=Decimal("0.04"),
            delta=Decimal("0.04"),
            plan_version=1,
        )
    )
    eth = next(r for r in (await venue_service.positions(actor, master.address)).rows if r.coin == "ETH")
    assert (eth.target, eth.target_basis, eth.drift) == (Decimal("0.04"), "ledger", Decimal("0.01"))


async def test_a_builder_dex_coin_is_listed_filtered_and_scaled(
    venue_service: MirrorService, actor: Actor, localnet: LocalnetThread, tmp_path: Path
) -> None:
    """HIP-3: the venue's builder-dex coins (`test:GOLD`) are tokens a follow may copy, exclude and scale."""
    master = master_with_agent(localnet.url, tmp_path, "hip3")
    await venue_service.account_add(actor, master.address, master.keystore)
    source = fixed_key("hip3-source").address
    with pytest.raises(InvalidInput, match=r"tokens: test:NOPE is not listed by the venue"):
        await venue_service.follow_add(actor, None, source, tokens="test:nope")
    added = await venue_service.follow_add(
        actor, None, source, tokens="eth,TEST:gold,test:MOON", exclude="test:moon", scale={"test:gold": 50}
    )
    assert added.venue_checked
    assert added.plan.settings["include"] == ["ETH", "test:GOLD", "test:MOON"]
    assert added.plan.settings["exclude"] == ["test:MOON"]
    assert added.plan.settings["scaling"] == {"*": "100", "test:GOLD": "50"}
