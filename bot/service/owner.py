"""Controls and owner-scoped reads (SPEC §4 controls, §8): pause / resume / stop, limits, alert
preferences, P&L, history, status and lineage restricted to the caller's accounts. The CLI
(bot/cli/control.py) and Telegram (bot/telegram/) are thin views over these calls.

Pause and stop are recorded durably (ControlState rows; stop also writes an unfollow-with-close plan
version for every active follow, which the runner already applies); a running pipeline is told at once
through `ControlHooks` when one is attached, and reads `OwnerService.states()` otherwise.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from decimal import Decimal
from typing import Any, Protocol

from bot.alerts import AlertKind
from bot.ledger import Fill, Lineage
from bot.ledger.models import utcnow
from bot.ledger.types import decimal_text
from bot.risk.guards import DRAWDOWN_ACTIONS
from bot.service import inputs
from bot.service.actor import Actor
from bot.service.errors import InvalidInput, NotFound, VenueUnreachable
from bot.service.inactivity import InactiveFollow, inactive_now
from bot.service.service import MirrorService
from bot.service.settings import (
    FRACTION_KEYS,
    fraction_accepted,
    read_setting,
    settings_from_json,
    shown_setting,
)
from bot.service.sizing_settings import SIZING_KEYS
from bot.service.views import DecisionView, FollowView, PlanChange, WhyView
from bot.service.why import lookup as why_lookup

RUNNING, PAUSED, STOPPED = "running", "paused", "stopped"


@dataclass(frozen=True, slots=True)
class LimitKey:
    """One follow setting `/limits` shows and sets: its unit, and which way it loosens."""

    unit: str
    looser: str  # "higher": a higher value loosens (a cap); "lower": a lower one does (a floor)
    choices: tuple[str, ...] = ()  # a word setting (max_drawdown_action); the LAST choice is the looser
    required: bool = False  # cannot be turned off


# The follow settings `/limits` shows and sets: SPEC §4 guards, the slippage cap, the runtime guards.
# Turning a limit off always loosens it; adding one where there was none only tightens.
LIMITS: dict[str, LimitKey] = {
    "max_notional_token": LimitKey("USD", "higher"),
    "max_notional_total": LimitKey("USD", "higher"),
    "max_leverage": LimitKey("x equity", "higher"),
    "max_price_deviation": LimitKey("fraction of the source's fill price", "higher"),
    "slippage_cap": LimitKey("fraction of the mid", "higher", required=True),
    "daily_loss_limit": LimitKey("fraction of the UTC day's start equity", "higher"),
    "max_drawdown": LimitKey("fraction of the peak equity", "higher"),
    "max_drawdown_action": LimitKey("close or keep the positions", "higher", DRAWDOWN_ACTIONS),
    "equity_floor": LimitKey("USD", "lower"),
    "source_leverage_cap": LimitKey("x (source leverage: above it, unfollow)", "higher"),
    "source_max_drawdown": LimitKey("fraction of the source's peak equity (past it, unfollow)", "higher"),
    # Per position, kept on the venue as reduce-only trigger orders (bot/pipeline/protect.py).
    "stop_loss_pct": LimitKey("% of the entry price (a venue stop-loss trigger)", "higher"),
    "take_profit_pct": LimitKey("% of the entry price (a venue take-profit trigger)", "higher"),
}
LIMIT_KEYS = tuple(LIMITS)
STRATEGY_KEYS = (*SIZING_KEYS, "out_of_sync")  # what `/strategy` shows and sets
DAILY_SUMMARY = "daily_summary"
ALERT_KINDS = (*(k.value for k in AlertKind), DAILY_SUMMARY)
ALERT_MODES = ("on", "silent", "off")
# A fault the bot handled by its rule (a 429 backed off, a dropped websocket reconnected) is worth a
# record, not a notification sound: silent until the owner asks for more (`/alerts fault on`).
DEFAULT_ALERT_MODES = {kind: "on" for kind in ALERT_KINDS} | {AlertKind.FAULT.value: "silent"}


class ControlHooks(Protocol):
    """What a running pipeline does when a control changes (bot/telegram/runner_link.py for the Runner)."""

    async def paused(self, follower: str, paused: bool) -> None: ...

    async def stopped(self, follower: str) -> None: ...


@dataclass(frozen=True, slots=True)
class ControlResult:
    action: str  # pause / resume / stop
    followers: tuple[str, ...]
    changed: tuple[str, ...]  # the followers whose state this call changed
    released: tuple[FollowView, ...] = ()  # stop: the follows turned off (positions closed)
    runner_told: bool = False  # a running pipeline acted at once (else it picks the change up itself)


@dataclass(frozen=True, slots=True)
class CoinPnl:
    coin: str
    realized: Decimal  # closed P&L of fills, before fees
    fees: Decimal
    unrealized: Decimal | None  # from the venue now (None: not asked)
    fills: int
    builder_fees: Decimal = Decimal(0)  # the part of `fees` paid to builders (leader commissions)


@dataclass(frozen=True, slots=True)
class PnlView:
    since: datetime | None  # None: all time
    coins: tuple[CoinPnl, ...]
    equity: Mapping[str, Decimal]  # per follower, from the venue now (empty: not asked)

    @property
    def net(self) -> Decimal:
        return sum((c.realized - c.fees + (c.unrealized or 0) for c in self.coins), Decimal(0))


@dataclass(frozen=True, slots=True)
class FillView:
    time: datetime
    account: str
    coin: str
    side: str
    size: Decimal
    price: Decimal
    fee: Decimal
    closed_pnl: Decimal
    trade_id: str
    cloid: str | None


@dataclass(frozen=True, slots=True)
class OwnerStatus:
    followers: Mapping[str, str]  # address -> running / paused / stopped
    labels: Mapping[str, str | None]
    follows: tuple[FollowView, ...]
    decisions: tuple[DecisionView, ...]
    inactive: tuple[InactiveFollow, ...] = ()  # follows whose source went quiet (SPEC §12)


class OwnerService:
    """What an owner asks of their own accounts: controls (pause, resume, stop), limits, alert
    preferences, and the owner-scoped reads. Records the request; the running pipeline carries the
    controls out (`OwnerControls`, bot/pipeline/owner_controls.py)."""

    def __init__(self, service: MirrorService, hooks: ControlHooks | None = None) -> None:
        self.service = service
        self.ledger = service.ledger
        self.hooks = hooks

    async def _audit(self, actor: Actor, action: str, details: Mapping[str, Any]) -> None:
        await self.ledger.audit(actor=actor.name, channel=actor.channel, action=action, details=dict(details))

    # ---- pause / resume / stop -------------------------------------------------------------------

    async def states(self, followers: Iterable[str] | None = None) -> dict[str, str]:
        """Each follower's control state (running when never set). For the runner, too."""
        return await self.ledger.control_states(followers)  # the runner reads them the same way

    async def _set(self, actor: Actor, followers: Sequence[str], state: str) -> tuple[str, ...]:
        """Record the state; returns the followers it changed. A resume is recorded even when already
        running: the runner carries each resume row out once, lifting the guards' trips
        (bot/pipeline/owner_controls.py)."""
        now = await self.states(followers)
        changed = tuple(f for f in followers if now.get(f, RUNNING) != state)
        written = followers if state == RUNNING else changed
        await self.ledger.add_control_states(written, state, actor.name)
        return changed

    async def pause(self, actor: Actor, followers: Sequence[str]) -> ControlResult:
        """No new exposure: opens, increases and flip-opens are skipped; reductions still mirror."""
        return await self._pause(actor, followers, True)

    async def resume(self, actor: Actor, followers: Sequence[str]) -> ControlResult:
        """Back to running. After a stop the follows stay off: copying restarts with a new /follow."""
        return await self._pause(actor, followers, False)

    async def _pause(self, actor: Actor, followers: Sequence[str], paused: bool) -> ControlResult:
        action = "pause" if paused else "resume"
        followers = _required(followers)
        changed = await self._set(actor, followers, PAUSED if paused else RUNNING)
        told = False
        if self.hooks is not None:
            for follower in followers:
                await self.hooks.paused(follower, paused)
            told = True
        await self._audit(
            actor, f"control.{action}", {"followers": list(followers), "changed": list(changed)}
        )
        return ControlResult(action, tuple(followers), changed, runner_told=told)

    async def stop(self, actor: Actor, followers: Sequence[str]) -> ControlResult:
        """The kill switch: copying stops for good (every active follow is turned off with its positions
        closed: a plan version each), the state says stopped, and a running pipeline cancels our open
        orders and closes the mirrored positions now."""
        followers = _required(followers)
        changed = await self._set(actor, followers, STOPPED)
        released: list[FollowView] = []
        for plan in await self.ledger.current_plans():
            if plan.follower in followers and settings_from_json(plan.settings).active:
                change = await self.service.follow_remove(actor, plan.follower, plan.source, close=True)
                released.append(change.plan)
        told = False
        if self.hooks is not None:
            for follower in followers:
                await self.hooks.stopped(follower)
            told = True
        await self._audit(
            actor,
            "control.stop",
            {
                "followers": list(followers),
                "changed": list(changed),
                "closed": [f"{v.source} v{v.version}" for v in released],
            },
        )
        return ControlResult("stop", tuple(followers), changed, tuple(released), told)

    # ---- limits ----------------------------------------------------------------------------------

    async def limits(self, actor: Actor, follower: str, source: str) -> dict[str, str | None]:
        """The follow's limits as stored (decimal strings; None = off)."""
        return await self._shown(actor, follower, source, "limits.show", LIMIT_KEYS)

    async def strategy(self, actor: Actor, follower: str, source: str) -> dict[str, str | None]:
        """The follow's sizing strategy, its keys and its out-of-sync policy, as stored."""
        return await self._shown(actor, follower, source, "strategy.show", STRATEGY_KEYS)

    async def _shown(
        self, actor: Actor, follower: str, source: str, action: str, keys: Sequence[str]
    ) -> dict[str, str | None]:
        plan = await self.ledger.current_plan(follower, inputs.address(source, "source"))
        if plan is None or not settings_from_json(plan.settings).active:
            raise NotFound(f"{follower} does not follow {source}")
        await self._audit(actor, action, {"follower": follower, "source": plan.source})
        return {key: None if plan.settings.get(key) is None else str(plan.settings[key]) for key in keys}

    @staticmethod
    def parse_limits(changes: Mapping[str, object]) -> dict[str, Decimal | str | None]:
        """`off`/`none` turns a limit off; a word setting takes one of its choices; everything else must
        be an exact decimal (the settings check ranges). Unknown keys are refused, naming the accepted
        ones."""
        out: dict[str, Decimal | str | None] = {}
        for key, value in changes.items():
            spec = LIMITS.get(key)
            if spec is None:
                raise InvalidInput(inputs.name(key), "not a limit", ", ".join(LIMIT_KEYS))
            if isinstance(value, str) and value.strip().lower() in ("off", "none"):
                if spec.required:
                    raise InvalidInput(key, "cannot be turned off", fraction_accepted(key) or "a decimal")
                out[key] = None
            elif spec.choices:
                word = value.strip().lower() if isinstance(value, str) else value
                out[key] = inputs.choice(word, key, spec.choices)
            else:
                out[key] = read_setting(key, value)  # its documented range (docs/inputs.md)
        return out

    @staticmethod
    def raised(
        current: Mapping[str, str | None], changes: Mapping[str, Decimal | str | None]
    ) -> tuple[str, ...]:
        """The limits a change loosens, per key (a cap raised, a floor lowered, `keep` instead of
        `close`, any limit turned off): those need a confirmation (and a group's approval)."""
        return tuple(key for key, new in changes.items() if _loosens(LIMITS[key], current.get(key), new))

    async def set_limits(
        self, actor: Actor, follower: str, source: str, changes: Mapping[str, Decimal | str | None]
    ) -> PlanChange:
        options: dict[str, Any] = {
            k: decimal_text(v) if isinstance(v, Decimal) else v for k, v in changes.items()
        }
        return await self.service.follow_update(actor, follower, source, **options)

    # ---- alert preferences -----------------------------------------------------------------------

    async def alert_modes(self, owner: str) -> dict[str, str]:
        rows = await self.ledger.alert_preferences(owner)
        modes = dict(DEFAULT_ALERT_MODES)
        modes.update({row.kind: row.mode for row in rows if row.kind in modes})
        return modes

    async def set_alert_mode(self, actor: Actor, owner: str, kind: str, mode: str) -> dict[str, str]:
        """Set one kind (or `all`) to on, silent (pushed without a notification sound) or off."""
        mode = inputs.choice(mode.strip().lower() if isinstance(mode, str) else mode, "mode", ALERT_MODES)
        kinds = ALERT_KINDS if kind == "all" else (inputs.choice(kind, "kind", (*ALERT_KINDS, "all")),)
        await self.ledger.set_alert_preferences(owner, kinds, mode)
        await self._audit(actor, "alerts.set", {"owner": owner, "kinds": list(kinds), "mode": mode})
        return await self.alert_modes(owner)

    # ---- reads -----------------------------------------------------------------------------------

    async def _fills(self, followers: Sequence[str], since: datetime | None, limit: int | None) -> list[Fill]:
        return await self.ledger.fills_of(followers, since, limit)

    async def pnl(self, actor: Actor, followers: Sequence[str], *, days: int | None = None) -> PnlView:
        """Realized P&L and fees per coin from the ledger's fills (all time, or the last `days`), with
        the unrealized P&L and equity from the venue when one answers."""
        if days is not None and (isinstance(days, bool) or not 1 <= days <= 3650):
            raise InvalidInput("days", f"{inputs.shown(days)}", "1 to 3650")
        since = None if days is None else utcnow() - timedelta(days=days)
        fills = await self._fills(followers, since, None)
        realized: dict[str, Decimal] = {}
        fees: dict[str, Decimal] = {}
        builder: dict[str, Decimal] = {}
        counts: dict[str, int] = {}
        for fill in fills:
            realized[fill.coin] = realized.get(fill.coin, Decimal(0)) + fill.closed_pnl
            fees[fill.coin] = fees.get(fill.coin, Decimal(0)) + fill.fee
            builder[fill.coin] = builder.get(fill.coin, Decimal(0)) + (fill.builder_fee or 0)
            counts[fill.coin] = counts.get(fill.coin, 0) + 1
        unrealized: dict[str, Decimal] | None = None
        equity: dict[str, Decimal] = {}
        if self.service.venues is not None and followers:
            try:
                states = await self.service.follower_states(followers)
            except VenueUnreachable:
                states = {}
            if states:
                unrealized = {}
                for state in states.values():
                    equity[state.address] = state.equity
                    for p in state.positions:
                        unrealized[p.coin] = unrealized.get(p.coin, Decimal(0)) + p.unrealized_pnl
        coins = sorted(set(realized) | set(unrealized or {}))
        rows = tuple(
            CoinPnl(
                coin,
                realized.get(coin, Decimal(0)),
                fees.get(coin, Decimal(0)),
                None if unrealized is None else unrealized.get(coin, Decimal(0)),
                counts.get(coin, 0),
                builder.get(coin, Decimal(0)),
            )
            for coin in coins
        )
        await self._audit(actor, "pnl", {"followers": list(followers), "days": days})
        return PnlView(since, rows, equity)

    async def history(
        self, actor: Actor, followers: Sequence[str], *, limit: int = 20
    ) -> tuple[FillView, ...]:
        """The latest fills of the followers, newest first (`/why <trade id>` explains any of them)."""
        if isinstance(limit, bool) or not isinstance(limit, int) or not 1 <= limit <= 200:
            raise InvalidInput("count", f"{inputs.shown(limit)}", "1 to 200")
        rows = await self._fills(followers, None, limit)
        await self._audit(actor, "history", {"followers": list(followers), "limit": limit})
        return tuple(
            FillView(
                f.time, f.account, f.coin, f.side, f.size, f.price, f.fee, f.closed_pnl, f.trade_id, f.cloid
            )
            for f in rows
        )

    async def status(self, actor: Actor, followers: Sequence[str], *, decisions: int = 8) -> OwnerStatus:
        states = await self.states(followers)
        labels = {a.address: a.label for a in await self.ledger.accounts() if a.address in followers}
        plans = [p for p in await self.ledger.current_plans() if p.follower in followers]
        follows = tuple(FollowView.of(p) for p in plans)
        latest = tuple(
            DecisionView.of(row) for row in await self.ledger.recent_decisions(followers, decisions)
        )
        await self._audit(actor, "status", {"followers": list(followers)})
        return OwnerStatus(states, labels, follows, latest, await inactive_now(self.ledger, plans, utcnow()))

    async def tracking(
        self, actor: Actor, followers: Sequence[str], coin: str, *, limit: int = 500
    ) -> list[tuple[datetime, Decimal, Decimal | None]]:
        """(time, target τ after, position p before) of the latest decisions for one coin, oldest first."""
        coin = inputs.token(coin, "coin")
        rows = await self.ledger.coin_decisions(followers, coin, limit)
        await self._audit(actor, "tracking", {"followers": list(followers), "coin": coin})
        return [(r.created_at, r.target_after, r.position) for r in reversed(rows)]

    async def why(self, actor: Actor, followers: Sequence[str], ref: str) -> WhyView:
        """`MirrorService.why` restricted to the caller's accounts: another owner's chains are not shown
        (nor counted)."""
        mine = set(followers)

        def owned(chain: Lineage) -> bool:
            return (
                (chain.instruction is not None and chain.instruction.follower in mine)
                or (chain.intent is not None and chain.intent.account in mine)
                or any(f.account in mine for f in chain.fills)
            )

        view, recorded = await why_lookup(self.ledger, ref, owned)
        await self._audit(actor, "why", {"ref": recorded, "chains": view.chains})
        return view


def limit_lines(values: Mapping[str, str | None]) -> list[str]:
    """`key: value unit` per limit (`off` when unset), for the CLI and Telegram."""
    lines = []
    for key, value in values.items():
        spec = LIMITS.get(key)
        if value is None:
            shown = "close (default)" if spec is not None and spec.choices else "off"
        elif spec is None or spec.choices:
            shown = value
        elif key in FRACTION_KEYS:  # stored as a fraction: the percent it means is written next to it
            shown = f"{shown_setting(key, value)} {spec.unit}"
        else:
            shown = f"{value} {spec.unit}"
        unit = f" ({spec.unit})" if spec is not None and (value is None or spec.choices) else ""
        lines.append(f"{key}: {shown}{unit}")
    return lines


def _loosens(spec: LimitKey, old: str | None, new: Decimal | str | None) -> bool:
    if spec.choices:  # unset is the first (strictest) choice: close
        return spec.choices.index(str(new or spec.choices[0])) > spec.choices.index(old or spec.choices[0])
    if old is None:
        return False  # adding a limit only tightens
    if new is None:
        return True  # turning one off always loosens
    before, after = Decimal(old), Decimal(str(new))
    return after > before if spec.looser == "higher" else after < before


def _required(followers: Sequence[str]) -> list[str]:
    if not followers:
        raise NotFound("no follower account to act on: connect one first")
    return [inputs.address(f, "account") for f in followers]
