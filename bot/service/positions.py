"""Source vs follower, side by side, per coin, with the drift from the follower's target (pure)."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from decimal import Decimal

from bot.domain import AccountState, Instrument, Position
from bot.service.coverage import Coverage
from bot.service.settings import FollowSettings
from bot.service.views import NOT_JOINED, STOPPED, PositionRow
from strategies.num import mul, q_lot, sub
from strategies.sizing import SizingInputs, SizingUnavailable


@dataclass(frozen=True, slots=True)
class FollowState:
    """One active follow with what the venue and the ledger say about it now."""

    follower: AccountState
    source: AccountState
    settings: FollowSettings
    ledger_targets: Mapping[str, Decimal]  # coin -> τ of the latest decision


def estimate_target(follow: FollowState, coin: str, mid: Decimal | None) -> Decimal | None:
    """What a join now would target (the engine's own sizing at today's equities), None if unknown."""
    config = follow.settings.config
    size = config.filters.effective(follow.source.size(coin))
    if size == 0:
        return Decimal(0)
    inputs = SizingInputs(follow.follower.equity, follow.source.equity, config.k(coin), mid)
    try:
        return config.sizing.open(size, inputs).target
    except SizingUnavailable:
        return None


def _held(state: AccountState, coin: str) -> Position | None:
    return next((p for p in state.positions if p.coin == coin and p.size != 0), None)


def _lot_decimals(instruments: Mapping[str, Instrument], coin: str) -> int | None:
    instrument = instruments.get(coin)
    return None if instrument is None else instrument.sz_decimals


def follow_rows(
    follow: FollowState, instruments: Mapping[str, Instrument], mids: Mapping[str, Decimal]
) -> list[PositionRow]:
    coverage = Coverage.of(follow.settings.config.filters)
    held = {p.coin for p in follow.source.positions} | {p.coin for p in follow.follower.positions}
    rows: list[PositionRow] = []
    for coin in sorted(c for c in held if coverage.covers(c)):
        mid = mids.get(coin)
        target, basis = follow.ledger_targets.get(coin), "ledger"
        actual = follow.follower.size(coin)
        if target is None and actual == 0 and not follow.settings.config.copy_current:
            # The source held it before the follow and Copy Current is off: not joined on purpose.
            rows.append(source_only_row(follow.follower, follow.source, coin, mid, NOT_JOINED, instruments))
            continue
        if target is None:
            target, basis = estimate_target(follow, coin, mid), "estimate"
        instrument = instruments.get(coin)
        if target is not None and instrument is not None:
            target = q_lot(target, instrument.sz_decimals)
        own = _held(follow.follower, coin)
        drift = None if target is None else sub(actual, target)
        rows.append(
            PositionRow(
                follower=follow.follower.address,
                source=follow.source.address,
                coin=coin,
                source_size=follow.source.size(coin),
                follower_size=actual,
                target=target,
                target_basis=basis if target is not None else None,
                drift=drift,
                mid=mid,
                drift_usd=None if drift is None or mid is None else mul(drift, mid),
                entry_px=None if own is None else own.entry_px,
                unrealized_pnl=None if own is None else own.unrealized_pnl,
                sz_decimals=_lot_decimals(instruments, coin),
            )
        )
    return rows


def source_only_row(
    follower: AccountState,
    source: AccountState,
    coin: str,
    mid: Decimal | None,
    note: str,
    instruments: Mapping[str, Instrument],
) -> PositionRow:
    """A source position the follower does not track (`note` says why): no target, no drift; the
    follower's own position in the coin (if any) with its entry price and unrealised PnL."""
    own = _held(follower, coin)
    return PositionRow(
        follower.address,
        source.address,
        coin,
        source.size(coin),
        follower.size(coin),
        None,
        None,
        None,
        mid,
        None,
        note,
        entry_px=None if own is None else own.entry_px,
        unrealized_pnl=None if own is None else own.unrealized_pnl,
        sz_decimals=_lot_decimals(instruments, coin),
    )


def stopped_rows(
    follower: AccountState,
    source: AccountState,
    mids: Mapping[str, Decimal],
    instruments: Mapping[str, Instrument],
) -> list[PositionRow]:
    """After /stop: what the source still holds (and whatever the follower still has in those coins)."""
    return [
        source_only_row(follower, source, p.coin, mids.get(p.coin), STOPPED, instruments)
        for p in sorted(source.positions, key=lambda p: p.coin)
    ]


def unmanaged_rows(
    follower: AccountState,
    managed: set[str],
    mids: Mapping[str, Decimal],
    instruments: Mapping[str, Instrument] | None = None,
) -> list[PositionRow]:
    """Follower positions no active follow covers (manual trades, detached positions)."""
    return [
        PositionRow(
            follower=follower.address,
            source=None,
            coin=p.coin,
            source_size=None,
            follower_size=p.size,
            target=None,
            target_basis=None,
            drift=None,
            mid=mids.get(p.coin),
            drift_usd=None,
            entry_px=p.entry_px,
            unrealized_pnl=p.unrealized_pnl,
            sz_decimals=_lot_decimals(instruments or {}, p.coin),
        )
        for p in sorted(follower.positions, key=lambda p: p.coin)
        if p.coin not in managed
    ]
