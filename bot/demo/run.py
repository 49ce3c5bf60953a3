"""`mirrorbot demo`: the whole product, live, on the embedded localnet — nothing leaves the machine.

1. The localnet starts on a thread (seeded price walk). A leader and N followers are funded; each
   follower gets an agent wallet the product's way: a keystore (`keystore new`), approved by the master's
   signature (`approveAgent`), registered with the venue check (`account add`), then followed
   (`follow add`) with its own per-token scalings. Everything lives in a temporary data directory and
   database, so a user's `.mirrorbot/` is never touched.
2. The real copy pipeline (`bot.pipeline.runner.Runner`, what `mirrorbot run` runs) loads those accounts
   from their keystores and copies the leader, who opens, adds, cuts, flips and closes on ETH, BTC and
   SOL through the unmodified hyperliquid SDK, spread over `--duration`.
3. A live table shows source vs follower per coin (ρ₀, target, venue position, drift, last action, copy
   latency). At the end the summary (bot/demo/report.py) is printed and, with `--summary-json`, written.
   The exit code is 0 when every follower ended in sync, 1 otherwise, 2 for bad arguments.

The SDK takes floats at its boundary: leader sizes are exact decimals here, converted only when handed
to it. The bot's side reaches the venue as every reader does, through the `Venue` protocol built by the
venue factory (bot/venues.py); only the leader, a user of the venue, drives the SDK directly.
"""

from __future__ import annotations

import asyncio
import json
import logging
import secrets
import tempfile
import time
from collections.abc import Sequence
from dataclasses import dataclass, field
from decimal import Decimal
from pathlib import Path
from typing import Any, Final

import httpx
from eth_account import Account
from eth_account.signers.local import LocalAccount
from hyperliquid.exchange import Exchange
from rich.console import Console
from rich.live import Live

from bot.alerts import AlertBus
from bot.config import LogFormat, Settings, load_settings
from bot.demo.report import DemoReport, Observation, Profile, render_summary, render_table
from bot.domain import Venue
from bot.ledger import Ledger
from bot.logs import configure_logging
from bot.pipeline.runner import Runner, RunnerOptions
from bot.service import Actor, MirrorService
from bot.venues import approve_agent, build_hyperliquid_venue, embedded_localnet

__all__ = ["COINS", "PROFILES", "SCRIPT", "Profile", "Step", "profile", "run_demo"]

log = logging.getLogger(__name__)

D = Decimal
SEED: Final = 7
PRICE_WALK_MS: Final = 250
LEADER_USDC: Final = D(1_000_000)
LEADER_SLIPPAGE: Final = 0.05  # the SDK's market-order default
# Throwaway agent keys on a localnet: a cheap scrypt (2^10) keeps start-up under a second. The product's
# own `keystore new` keeps eth-account's default (2^18); nothing else changes.
DEMO_KDF_N: Final = 1 << 10
# The localnet imposes no request-weight limit. The bot's budget is Hyperliquid's (1200/min), which
# N followers copying a trade every second or so exceed (each copied order costs ~25 weight: its fills
# and the account are read back), so the demo's run would be paced by the budget, not by the bot. The
# demo gives its venue ten times the venue's budget (MIRROR_HL_WEIGHT_PER_MINUTE; the factory keeps the
# burst's share: 2,000); `mirrorbot run` keeps the real one.
DEMO_WEIGHT_PER_MINUTE: Final = 12_000
DEMO_POLL_INTERVAL_S: Final = 1.0
REFRESH_S: Final = 0.4
SETTLE_MAX_S: Final = 10.0  # after the script, followers get at most this long to reach their targets


@dataclass(frozen=True, slots=True)
class Step:
    coin: str
    label: str  # open / add / cut / flip / close
    target: Decimal  # the leader's position in `coin` after the step


# Interleaved on three coins; BTC ends flipped long and SOL re-opened short, so the final targets are
# not all zero. Follower orders stay above $10 except for the smallest profile (deferrals, by design).
SCRIPT: Final[tuple[Step, ...]] = (
    Step("ETH", "open", D(10)),
    Step("BTC", "open", D("-0.5")),
    Step("SOL", "open", D(200)),
    Step("ETH", "add", D(15)),
    Step("BTC", "add", D("-0.8")),
    Step("SOL", "add", D(300)),
    Step("ETH", "cut", D(6)),
    Step("BTC", "cut", D("-0.3")),
    Step("SOL", "cut", D(120)),
    Step("ETH", "flip", D(-8)),
    Step("BTC", "flip", D("0.6")),
    Step("SOL", "flip", D(-150)),
    Step("ETH", "close", D(0)),
    Step("SOL", "close", D(0)),
    Step("SOL", "open", D(-80)),
)
COINS: Final = ("ETH", "BTC", "SOL")
PROFILES: Final[tuple[Profile, ...]] = (
    Profile(D(10_000), 100),
    Profile(D(25_000), 100, (("ETH", 50), ("BTC", 150))),
    Profile(D(1_000), 100, (("SOL", 25),)),  # small: some SOL orders fall below $10 and are deferred
    Profile(D(5_000), 200, (("SOL", 25),)),
)


def profile(index: int) -> Profile:
    """Follower `index`'s profile: PROFILES in turn, equities doubling with each round."""
    base = PROFILES[index % len(PROFILES)]
    return Profile(base.equity * (index // len(PROFILES) + 1), base.scaling, base.scale)


@dataclass
class Follower:
    master: LocalAccount
    profile: Profile

    @property
    def address(self) -> str:
        return str(self.master.address).lower()


@dataclass
class LeaderLog:
    """What the scripted leader did (the live table's status line and the summary)."""

    steps_done: int = 0
    last: str = "starting"
    errors: list[str] = field(default_factory=list)


def run_demo(duration: float, followers: int, summary_json: Path | None, port: int) -> int:
    console = Console()
    if duration <= 0 or followers < 1:
        console.print("demo: --duration must be positive (seconds) and --followers at least 1")
        return 2
    return asyncio.run(_demo(console, duration, followers, summary_json, port))


async def _demo(console: Console, duration: float, count: int, summary_json: Path | None, port: int) -> int:
    with (
        tempfile.TemporaryDirectory(prefix="mirrorbot-demo-") as tmp,
        embedded_localnet(port=port, seed=SEED, price_walk_ms=PRICE_WALK_MS) as net,
    ):
        data_dir = Path(tmp)
        settings = load_settings(
            network="localnet",
            hl_api_url=net.url,
            data_dir=data_dir,
            database_url=f"sqlite+aiosqlite:///{data_dir / 'demo.db'}",
            keystore_password=secrets.token_urlsafe(16),
            log_format=LogFormat.CONSOLE,
            hl_weight_per_minute=DEMO_WEIGHT_PER_MINUTE,
        )
        leader: LocalAccount = Account.create()
        followers = [Follower(Account.create(), profile(i)) for i in range(count)]
        ledger = await Ledger.open(settings.db_url)
        venue = build_hyperliquid_venue(settings, poll_interval_s=DEMO_POLL_INTERVAL_S)
        # The table's and the summary's reads: a client of their own, outside the bot's weight budget.
        reads = build_hyperliquid_venue(settings, trading=False)
        try:
            await _fund(net.url, leader, followers)
            await _register(settings, ledger, venue, leader, followers)
            report = DemoReport(
                url=net.url,
                seed=SEED,
                leader=str(leader.address).lower(),
                followers={f.address: f.profile for f in followers},
                coins=COINS,
                ledger=ledger,
                reads=reads,
            )
            alerts = AlertBus()
            runner = Runner(
                settings,
                venue=venue,
                ledger=ledger,
                alerts=alerts,
                options=RunnerOptions(accounts_refresh_s=5.0, reconcile_s=5.0),
            )
            summary = await _play(console, runner, report, leader, duration)
        finally:
            await reads.close()
            await venue.close()  # the runner closed it already unless it failed to start
            await ledger.close()
    console.line()
    console.print(render_summary(summary))
    if summary_json is not None:
        await asyncio.to_thread(summary_json.write_text, json.dumps(summary, indent=2) + "\n")
        console.print(f"summary written to {summary_json}")
    return 0 if summary["inSync"] else 1


async def _fund(url: str, leader: LocalAccount, followers: Sequence[Follower]) -> None:
    async with httpx.AsyncClient(timeout=10) as http:
        grants = [(leader.address, LEADER_USDC), *((f.master.address, f.profile.equity) for f in followers)]
        for address, usdc in grants:
            answer = await http.post(
                f"{url}/_localnet", json={"type": "fund", "user": address, "usdc": str(usdc)}
            )
            answer.raise_for_status()


async def _register(
    settings: Settings,
    ledger: Ledger,
    venue: Venue,
    leader: LocalAccount,
    followers: Sequence[Follower],
) -> None:
    """Each follower the way a user sets one up: a new agent keystore, approved by the master account on
    the venue, registered with the venue check, then the follow with its scalings."""
    # The service's venue checks, like the table's reads, stay outside the bot's weight budget.
    checks = build_hyperliquid_venue(settings, trading=False)
    try:
        await _register_with(
            MirrorService(ledger, checks, kdf_iterations=DEMO_KDF_N), settings, venue, leader, followers
        )
    finally:
        await checks.close()


async def _register_with(
    service: MirrorService,
    settings: Settings,
    venue: Venue,
    leader: LocalAccount,
    followers: Sequence[Follower],
) -> None:
    actor = Actor.system("demo")
    password = settings.keystore_password
    assert password is not None
    for number, follower in enumerate(followers, start=1):
        path = settings.data_dir / "keystores" / f"follower{number}.json"
        keystore = await service.keystore_new(actor, path, password.get_secret_value())
        await approve_agent(venue, follower.master.key.hex(), keystore.address, "mirrorbot-demo")
        await service.account_add(actor, follower.address, path, label=f"follower {number}", check_venue=True)
        await service.follow_add(
            actor,
            follower.address,
            str(leader.address).lower(),
            scaling=follower.profile.scaling,
            scale=dict(follower.profile.scale) or None,
            check_venue=True,
        )


async def _play(
    console: Console, runner: Runner, report: DemoReport, leader: LocalAccount, duration: float
) -> dict[str, Any]:
    """Run the bot, play the script over `duration`, let the followers settle, stop, summarise."""
    played = LeaderLog()
    exchange = await asyncio.to_thread(lambda: Exchange(leader, base_url=report.url))
    report.attach(runner)
    with Live(console=console, refresh_per_second=4, transient=False) as live:
        handler = configure_logging("WARNING", LogFormat.CONSOLE)  # above the table (rich redirects)
        try:
            await runner.start()
            script = asyncio.ensure_future(_lead(exchange, played, duration))
            deadline = time.monotonic() + duration + SETTLE_MAX_S
            observation: Observation | None = None
            while True:
                observation = await report.observe()
                live.update(render_table(observation, played.last, played.steps_done, len(SCRIPT)))
                if script.done() and (observation.in_sync or time.monotonic() > deadline):
                    break
                await asyncio.sleep(REFRESH_S)
            await script  # re-raise a failure of the leader's script
        finally:
            await runner.stop()
            logging.getLogger().removeHandler(handler)
            for session in (exchange.session, exchange.info.session):
                session.close()
    return await report.summary(played.steps_done, played.errors)


async def _lead(exchange: Exchange, played: LeaderLog, duration: float) -> None:
    """The leader's script, one step every `duration / (len(SCRIPT) + 1)` seconds."""
    gap = duration / (len(SCRIPT) + 1)
    start = time.monotonic()
    held = dict.fromkeys(COINS, D(0))
    for number, step in enumerate(SCRIPT, start=1):
        await asyncio.sleep(max(0.0, start + gap * number - time.monotonic()))
        delta = step.target - held[step.coin]
        if step.target == 0:
            answer = await asyncio.to_thread(exchange.market_close, step.coin, None, None, LEADER_SLIPPAGE)
        else:
            answer = await asyncio.to_thread(
                exchange.market_open, step.coin, delta > 0, float(abs(delta)), None, LEADER_SLIPPAGE
            )
        held[step.coin] = step.target
        played.steps_done = number
        played.last = f"{step.label} {step.coin} → {step.target}"
        played.errors.extend(f"{played.last}: {e}" for e in _errors(answer))


def _errors(answer: Any) -> list[str]:
    if not isinstance(answer, dict):
        return [f"unexpected answer {answer!r}"]
    if answer.get("status") != "ok":
        return [str(answer.get("response"))]
    statuses = answer.get("response", {}).get("data", {}).get("statuses", [])
    return [s["error"] for s in statuses if isinstance(s, dict) and "error" in s]
