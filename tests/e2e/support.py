"""An end-to-end world on a real localnet: leaders trading through the unmodified hyperliquid SDK,
followers registered through the service layer (keystores, agent wallets, vaults), the bot's runner,
and reads of the VENUE's own state (`clearinghouseState`) to check what the followers hold."""

from __future__ import annotations

import asyncio
import itertools
import threading
from dataclasses import dataclass
from decimal import Decimal
from pathlib import Path
from typing import Any

import httpx
from eth_account import Account
from eth_account.signers.local import LocalAccount
from eth_utils.crypto import keccak
from hyperliquid.exchange import Exchange

from adapters.hyperliquid.info import InfoClient
from adapters.hyperliquid.venue import HyperliquidVenue
from adapters.hyperliquid.ws import Backoff
from adapters.localnet.server import LocalnetThread, wall_clock_ms
from bench.rig import unpaced
from bot.alerts import AlertBus
from bot.config import load_settings
from bot.domain import dex_of
from bot.ledger import Ledger
from bot.pipeline.runner import Runner, RunnerOptions
from bot.service import Actor, MirrorService
from tests.waiting import wait_until

PASSWORD = "e2e-keystore-password"
ACTOR = Actor.cli("e2e")
_keys = itertools.count()
_nonce_lock = threading.Lock()
_last_nonce = [0]
# Jobs off: each test drives plan syncs, account refreshes and reconciliation itself, at known moments.
QUIET = RunnerOptions(plans_refresh_s=0, accounts_refresh_s=0, reconcile_s=0, dead_man_rearm_s=0)


def unique_sdk_nonce() -> int:
    """The SDK takes nonces from the wall clock: two actions of one signer in one ms would collide."""
    with _nonce_lock:
        _last_nonce[0] = max(wall_clock_ms(), _last_nonce[0] + 1)
        return _last_nonce[0]


@dataclass
class Leader:
    wallet: LocalAccount
    sdk: Exchange

    @property
    def address(self) -> str:
        return str(self.wallet.address).lower()


class World:
    def __init__(self, net: LocalnetThread, tmp: Path, db_url: str) -> None:
        self.net = net
        self.url = net.url
        self.tmp = tmp
        self.db_url = db_url
        self.http = httpx.AsyncClient(timeout=30)
        self.info = InfoClient(self.url)  # the tests' own reads
        self.reads = HyperliquidVenue(self.url, data_dir=None, budget=unpaced())  # the service's venue
        self.ledger: Ledger | None = None
        self.service: MirrorService | None = None
        self.runner: Runner | None = None
        self.alerts = AlertBus()
        self._sdks: list[Exchange] = []
        self.wallets: dict[str, LocalAccount] = {}  # by lower-case address

    async def open(self) -> World:
        self.ledger = await Ledger.open(self.db_url)
        self.service = MirrorService(self.ledger, self.reads, kdf_iterations=1024)
        return self

    async def close(self) -> None:
        if self.runner is not None:
            await self.runner.stop()
        if self.ledger is not None:
            await self.ledger.close()
        await self.info.aclose()
        await self.reads.close()
        await self.http.aclose()
        for sdk in self._sdks:
            sdk.session.close()
            sdk.info.session.close()

    # --- the venue -------------------------------------------------------------------------------

    async def control(self, message: dict[str, Any]) -> dict[str, Any]:
        response = await self.http.post(f"{self.url}/_localnet", json=message)
        assert response.status_code == 200, response.text
        answer: dict[str, Any] = response.json()
        return answer

    async def set_mids(self, **mids: str) -> None:
        await self.control({"type": "setMids", "mids": mids})

    async def stats(self) -> list[dict[str, Any]]:
        requests: list[dict[str, Any]] = (await self.control({"type": "stats"}))["requests"]
        return requests

    async def clearinghouse(self, address: str, dex: str = "") -> dict[str, Any]:
        """The venue's own `clearinghouseState` of one perp dex, not the bot's tables."""
        body = {"type": "clearinghouseState", "user": address, **({"dex": dex} if dex else {})}
        response = await self.http.post(f"{self.url}/info", json=body)
        answer: dict[str, Any] = response.json()
        return answer

    async def position_entry(self, address: str, coin: str) -> dict[str, Any] | None:
        """`coin`'s position entry on its own perp dex (a builder dex's coin is `dex:COIN`)."""
        for entry in (await self.clearinghouse(address, dex_of(coin)))["assetPositions"]:
            if entry["position"]["coin"] == coin:
                found: dict[str, Any] = entry["position"]
                return found
        return None

    async def position(self, address: str, coin: str) -> Decimal:
        """The venue's own figure (clearinghouseState `szi` on the coin's dex), not the bot's tables."""
        entry = await self.position_entry(address, coin)
        return Decimal(0) if entry is None else Decimal(entry["szi"])

    async def equity(self, address: str, dex: str = "") -> Decimal:
        """One perp dex's account value (the default dex's unless `dex` is named)."""
        return Decimal((await self.clearinghouse(address, dex))["marginSummary"]["accountValue"])

    async def top_up(self, address: str, target: str, dex: str = "") -> None:
        """Fund `address` on `dex` so its account value there is exactly `target` again (fees and spread
        paid since)."""
        missing = Decimal(target) - await self.equity(address, dex)
        assert missing >= 0, f"{address} already holds more than {target}"
        if missing > 0:
            funding = {"type": "fund", "user": address, "usdc": str(missing), **({"dex": dex} if dex else {})}
            await self.control(funding)
        assert await self.equity(address, dex) == Decimal(target)

    # --- accounts --------------------------------------------------------------------------------

    async def wallet(self, usdc: str | None) -> LocalAccount:
        account: LocalAccount = Account.from_key(keccak(text=f"mirrorbot-e2e-{next(_keys)}"))
        self.wallets[account.address.lower()] = account
        if usdc is not None:
            await self.control({"type": "fund", "user": account.address, "usdc": usdc})
        return account

    def sdk(self, wallet: LocalAccount, **kwargs: Any) -> Exchange:
        made = Exchange(wallet, base_url=self.url, **kwargs)
        self._sdks.append(made)
        return made

    async def leader(self, usdc: str, **sdk_options: Any) -> Leader:
        wallet = await self.wallet(usdc)
        return Leader(wallet, await asyncio.to_thread(lambda: self.sdk(wallet, **sdk_options)))

    async def leader_trade(self, leader: Leader, coin: str, *, is_buy: bool, size: str) -> None:
        """One market order of the leader, through the real SDK (it may fill in part)."""

        def trade() -> Any:
            return leader.sdk.market_open(coin, is_buy, float(size))

        answer = await asyncio.to_thread(trade)
        assert "filled" in answer["response"]["data"]["statuses"][0], answer

    async def leader_to(self, leader: Leader, coin: str, size: str) -> None:
        """The leader trades (one order) until it holds exactly `size` of `coin`."""
        delta = Decimal(size) - await self.position(leader.address, coin)
        assert delta != 0
        await self.leader_trade(leader, coin, is_buy=delta > 0, size=str(abs(delta)))
        assert await self.position(leader.address, coin) == Decimal(size)

    async def _keystore(self, key: str, name: str) -> Path:
        assert self.service is not None
        path = self.tmp / "keys" / f"{name}-{next(_keys)}.json"
        await self.service.keystore_import(ACTOR, path, key, PASSWORD)
        return path

    async def master_follower(self, usdc: str, *, agent: bool = False) -> str:
        """A follower master account; with `agent`, an API wallet approved through the SDK signs."""
        assert self.service is not None
        master = await self.wallet(usdc)
        key = master.key.hex()
        if agent:
            result, key = await asyncio.to_thread(self.sdk(master).approve_agent, "mirrorbot")
            assert result["status"] == "ok", result
        keystore = await self._keystore(key, "agent" if agent else "master")
        added = await self.service.account_add(ACTOR, master.address, keystore, check_venue=True)
        return added.account.address

    async def vault_follower(self, usdc: str) -> str:
        """A vault led by a fresh wallet; the leader's key signs with `vaultAddress`."""
        assert self.service is not None
        lead = await self.wallet("100")
        vault = str(
            (await self.control({"type": "createVault", "leader": lead.address, "usdc": usdc}))["vault"]
        )
        keystore = await self._keystore(lead.key.hex(), "vault-leader")
        added = await self.service.account_add(ACTOR, lead.address, keystore, vault=vault, check_venue=True)
        assert added.account.kind == "vault"
        return added.account.address

    async def follow(self, follower: str, source: str, **kwargs: Any) -> None:
        assert self.service is not None
        await self.service.follow_add(ACTOR, follower, source, **kwargs)

    # --- the bot ---------------------------------------------------------------------------------

    def venue(self, **options: Any) -> HyperliquidVenue:
        options.setdefault("data_dir", self.tmp / "venue")
        options.setdefault("backoff", Backoff(base_s=0.05, cap_s=0.2))
        options.setdefault("poll_interval_s", 60.0)
        options.setdefault("budget", unpaced())
        return HyperliquidVenue(self.url, **options)

    async def start_runner(self, options: RunnerOptions = QUIET, **venue_options: Any) -> Runner:
        settings = load_settings(
            hl_api_url=self.url,
            data_dir=self.tmp / "data",
            database_url=self.db_url,
            keystore_password=PASSWORD,
        )
        self.runner = Runner(
            settings,
            venue=self.venue(**venue_options),
            ledger=self.ledger,
            options=options,
            alerts=self.alerts,
        )
        await self.runner.start()
        return self.runner

    async def follower_at(self, follower: str, coin: str, size: str, *, what: str = "") -> None:
        """Wait until the venue shows the follower holding exactly `size`."""
        await wait_until(
            lambda: self.position(follower, coin), what or f"{follower} {coin}", equals=Decimal(size)
        )

    async def settle(self) -> None:
        """Wait until the bot has finished mirroring what it took in (its post-order account reads
        included), then make it read every account afresh: the equities a test just set are ρ(now)."""
        assert self.runner is not None and self.runner.copier is not None
        copier = self.runner.copier

        async def idle() -> bool:
            return copier.idle

        await wait_until(idle, "the copier idle")
        await self.runner.refresh_accounts()
