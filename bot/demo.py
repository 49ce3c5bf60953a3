"""`mirrorbot demo`: the embedded localnet serving the unmodified hyperliquid SDK.

For now (the copy pipeline arrives with a later issue) a leader opens, adds to, cuts, flips and
closes positions on two coins while the seeded price walk runs, and a live table shows each coin's
mid, the leader's position and its last fill (pushed over the websocket). Followers are funded and
listed; nothing copies them yet. The SDK takes floats at its boundary: sizes are written here as
exact decimals and converted only when handed to it.
"""

from __future__ import annotations

import json
import threading
import time
from dataclasses import dataclass, field
from decimal import Decimal
from pathlib import Path
from typing import Any

import httpx
from eth_account import Account
from hyperliquid.exchange import Exchange
from hyperliquid.info import Info
from rich.console import Console, Group
from rich.live import Live
from rich.table import Table
from rich.text import Text

from adapters.localnet.server import LocalnetThread

SEED = 7
PRICE_WALK_MS = 200
LEADER_USDC = "100000"
FOLLOWER_USDC = "10000"
SLIPPAGE = 0.01


@dataclass(frozen=True, slots=True)
class Step:
    coin: str
    label: str  # open / add / cut / flip / close
    is_buy: bool
    size: Decimal | None  # None: close the whole position


# Leader script: long ETH and short SOL, each opened, added to, cut, flipped and closed, interleaved.
SCRIPT: tuple[Step, ...] = (
    Step("ETH", "open", True, Decimal("0.05")),
    Step("SOL", "open", False, Decimal("1")),
    Step("ETH", "add", True, Decimal("0.03")),
    Step("SOL", "add", False, Decimal("0.5")),
    Step("ETH", "cut", False, Decimal("0.04")),
    Step("SOL", "cut", True, Decimal("0.7")),
    Step("ETH", "flip", False, Decimal("0.08")),
    Step("SOL", "flip", True, Decimal("1.6")),
    Step("ETH", "close", True, None),
    Step("SOL", "close", False, None),
)
COINS = ("ETH", "SOL")


@dataclass
class DemoState:
    orders: int = 0
    errors: list[str] = field(default_factory=list)
    fills: list[dict[str, Any]] = field(default_factory=list)
    last_fill: dict[str, str] = field(default_factory=dict)
    last_step: str = "starting"
    lock: threading.Lock = field(default_factory=threading.Lock)

    def on_user_fills(self, message: Any) -> None:
        """websocket `userFills` callback (the SDK's thread): note live fills, skip the snapshot."""
        data = message.get("data", {})
        if data.get("isSnapshot"):
            return
        with self.lock:
            for fill in data.get("fills", []):
                self.fills.append(fill)
                self.last_fill[fill["coin"]] = f"{fill['dir']} {fill['sz']} @ {fill['px']}"


def _control(url: str, message: dict[str, Any]) -> dict[str, Any]:
    response = httpx.post(f"{url}/_localnet", json=message, timeout=10)
    response.raise_for_status()
    answer: dict[str, Any] = response.json()
    return answer


def _statuses_errors(response: Any) -> list[str]:
    if not isinstance(response, dict):
        return [f"unexpected answer {response!r}"]
    if response.get("status") != "ok":
        return [str(response.get("response"))]
    data = response.get("response", {}).get("data", {})
    return [s["error"] for s in data.get("statuses", []) if isinstance(s, dict) and "error" in s]


def _run_step(exchange: Exchange, step: Step) -> Any:
    if step.size is None:
        return exchange.market_close(step.coin, slippage=SLIPPAGE)
    return exchange.market_open(step.coin, step.is_buy, float(step.size), slippage=SLIPPAGE)


def _table(info: Info, leader: str, state: DemoState, url: str, remaining: float) -> Group:
    mids = info.all_mids()
    positions = {
        p["position"]["coin"]: p["position"] for p in info.user_state(leader).get("assetPositions", [])
    }
    table = Table(title=f"mirrorbot demo — localnet {url}")
    for column in ("coin", "mid", "leader position", "entry", "unrealised PnL", "last fill"):
        table.add_column(column)
    with state.lock:
        for coin in COINS:
            position = positions.get(coin, {})
            table.add_row(
                coin,
                mids.get(coin, "-"),
                position.get("szi", "0"),
                position.get("entryPx") or "-",
                position.get("unrealizedPnl", "-"),
                state.last_fill.get(coin, "-"),
            )
        footer = Text(
            f"step: {state.last_step}   orders: {state.orders}   fills: {len(state.fills)}   "
            f"{remaining:.0f}s left"
        )
    return Group(table, footer)


def run_demo(duration: float, followers: int, summary_json: Path | None, port: int) -> int:
    console = Console()
    if duration <= 0 or followers < 0:
        console.print("demo: --duration must be positive and --followers at least 0")
        return 2
    with LocalnetThread(port=port, seed=SEED, price_walk_ms=PRICE_WALK_MS) as localnet:
        url = localnet.url
        leader = Account.create()
        follower_wallets = [Account.create() for _ in range(followers)]
        _control(url, {"type": "fund", "user": leader.address, "usdc": LEADER_USDC})
        for wallet in follower_wallets:
            _control(url, {"type": "fund", "user": wallet.address, "usdc": FOLLOWER_USDC})
        state = DemoState()
        info = Info(url, skip_ws=False)
        exchange = Exchange(leader, base_url=url)
        try:
            info.subscribe({"type": "userFills", "user": leader.address}, state.on_user_fills)
            _drive(console, info, exchange, leader.address.lower(), state, url, duration)
            final = info.user_state(leader.address)
            fills = len(info.user_fills(leader.address))
            received = _control(url, {"type": "stats"})["count"]
        finally:
            info.disconnect_websocket()
            for session in (info.session, exchange.session, exchange.info.session):
                session.close()
    console.line()
    summary = {
        "localnetUrl": url,
        "durationS": duration,
        "leader": leader.address.lower(),
        "followers": [wallet.address.lower() for wallet in follower_wallets],
        "orders": state.orders,
        "fills": fills,
        "errors": state.errors,
        "exchangeRequests": received,
        "leaderAccountValue": final["marginSummary"]["accountValue"],
    }
    console.print(
        f"demo done: {summary['orders']} orders, {summary['fills']} fills, "
        f"{len(state.errors)} errors; leader account value {summary['leaderAccountValue']} USDC; "
        f"{followers} followers funded (copying arrives with the copy pipeline); localnet was {url}"
    )
    if summary_json is not None:
        summary_json.write_text(json.dumps(summary, indent=2) + "\n")
        console.print(f"summary written to {summary_json}")
    return 0


def _drive(
    console: Console, info: Info, exchange: Exchange, leader: str, state: DemoState, url: str, duration: float
) -> None:
    """Play SCRIPT spread over `duration` seconds, refreshing the table as prices walk."""
    start = time.monotonic()
    deadline = start + duration
    gap = duration / (len(SCRIPT) + 1)
    next_step = 0
    with Live(console=console, refresh_per_second=4, transient=False) as live:
        while True:
            now = time.monotonic()
            if next_step < len(SCRIPT) and now >= start + gap * (next_step + 1):
                step = SCRIPT[next_step]
                response = _run_step(exchange, step)
                with state.lock:
                    state.orders += 1
                    state.last_step = f"{step.label} {step.coin}"
                    state.errors.extend(f"{step.label} {step.coin}: {e}" for e in _statuses_errors(response))
                next_step += 1
            live.update(_table(info, leader, state, url, max(0.0, deadline - now)))
            if now >= deadline and next_step >= len(SCRIPT):
                return
            time.sleep(min(0.25, max(0.0, deadline - now)) or 0.05)
