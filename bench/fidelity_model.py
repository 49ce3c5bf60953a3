"""The fidelity bench's pure parts: the recorded history, the ideal follower (SPEC §2 computed
independently of the engine) and the tracking-error statistics. No I/O beyond reading the fixture.

Tracking error of one (follower, coin) sample: |p − τ| · mid / (|τ| · mid) = |p − τ| / |τ| while the
ideal τ ≠ 0; while τ = 0 a relative error has no meaning, so the absolute error |p| · mid (USD) is kept.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from decimal import Context, Decimal
from pathlib import Path

from adapters.hyperliquid.parsing import load_fills_file, read_cassette
from bot.domain import SourceChange, SourceFill
from bot.normalise import changes_from_fills
from strategies.model import Market

FIXTURES = Path(__file__).resolve().parents[1] / "tests" / "fixtures" / "hyperliquid"
FILLS_FIXTURE = FIXTURES / "test_get_user_fills.yaml"
META_FIXTURE = FIXTURES / "test_get_info.yaml"  # the same era's universe: the fills' coins and lots
SOURCE = "source"

ZERO = Decimal(0)
_CTX = Context(prec=60)  # as the engine's: exact for every size and ratio met here


@dataclass(frozen=True, slots=True)
class History:
    """The first `len(fills)` fills of the recording in time order, their source changes (one per
    coin and block, SPEC §2 coalescing: see docs/decisions/normalise.md) and their markets."""

    fills: list[SourceFill]
    changes: list[SourceChange]
    markets: dict[str, Market]

    @property
    def coins(self) -> list[str]:
        """Coins in order of first appearance."""
        return list(dict.fromkeys(c.coin for c in self.changes))

    def openings(self) -> dict[str, tuple[Decimal, Decimal]]:
        """Per coin, the size the source held before its first change and that change's price: the
        leader has to build these before the replay (the recording starts mid-history)."""
        out: dict[str, tuple[Decimal, Decimal]] = {}
        for change in self.changes:
            if change.coin not in out:
                assert change.avg_px is not None
                out[change.coin] = (change.old, change.avg_px)
        return out


def load_history(limit: int | None = None) -> History:
    """The recording, oldest first, cut to its first `limit` fills; lots from the recorded `meta`."""
    fills = sorted(load_fills_file(FILLS_FIXTURE), key=lambda f: (f.time_ms, f.oid))
    if limit is not None:
        fills = fills[:limit]
    universe = read_cassette(META_FIXTURE)[0][1]["universe"]
    meta = {u["name"]: Market(u["name"], int(u["szDecimals"]), int(u["maxLeverage"])) for u in universe}
    changes = [c for c in changes_from_fills(SOURCE, fills) if c.old != c.new]
    coins = dict.fromkeys(c.coin for c in changes)
    missing = [c for c in coins if c not in meta]
    if missing:
        raise ValueError(f"{META_FIXTURE.name}: no market for {', '.join(missing)}")
    return History(fills, changes, {c: meta[c] for c in coins})


@dataclass(slots=True)
class IdealPair:
    """SPEC §2 for one (follower, coin): ρ₀ locked at open/flip, τ exact, never rounded."""

    ratio: Decimal | None = None
    target: Decimal = ZERO
    source: Decimal = ZERO

    def move(self, new: Decimal, ratio_now: Decimal | None) -> None:
        """The source moved to `new`; `ratio_now` (ρ at this moment) is needed for an open or a flip."""
        old, self.source = self.source, new
        if new == old:
            return
        if new == 0:
            self.ratio, self.target = None, ZERO
        elif is_open_or_flip(old, new) or self.ratio is None:
            if ratio_now is None:
                raise ValueError(f"an open or flip ({old} → {new}) needs the ratio at this moment")
            self.ratio = ratio_now
            self.target = _CTX.multiply(ratio_now, new)
        elif abs(new) > abs(old):  # increase: the ratio locked at open
            self.target = _CTX.add(self.target, _CTX.multiply(self.ratio, _CTX.subtract(new, old)))
        else:  # decrease: the same percentage
            self.target = _CTX.divide(_CTX.multiply(self.target, new), old)


def is_open_or_flip(old: Decimal, new: Decimal) -> bool:
    return new != 0 and (old == 0 or (old > 0) != (new > 0))


@dataclass(slots=True)
class CoinTracking:
    """One follower's samples in one coin, taken after every leader trade."""

    relative: list[Decimal] = field(default_factory=list)  # |p − τ| / |τ| while τ ≠ 0
    absolute_usd: list[Decimal] = field(default_factory=list)  # |p| · mid while τ = 0 and p ≠ 0
    notional: list[Decimal] = field(default_factory=list)  # |τ| · mid, for the weighted figure
    error_usd: list[Decimal] = field(default_factory=list)  # |p − τ| · mid, every sample

    def add(self, position: Decimal, ideal: Decimal, mid: Decimal) -> None:
        self.error_usd.append(abs(position - ideal) * mid)
        if ideal != 0:
            self.relative.append(_CTX.divide(abs(position - ideal), abs(ideal)))
            self.notional.append(abs(ideal) * mid)
        elif position != 0:
            self.absolute_usd.append(abs(position) * mid)

    @property
    def mean(self) -> Decimal | None:
        return _CTX.divide(sum(self.relative, ZERO), len(self.relative)) if self.relative else None

    @property
    def max(self) -> Decimal | None:
        return max(self.relative) if self.relative else None

    @property
    def weighted(self) -> Decimal | None:
        """Σ |p − τ|·mid / Σ |τ|·mid over the samples: large positions count for more."""
        total = sum(self.notional, ZERO)
        if total == 0:
            return None
        return _CTX.divide(
            sum((r * n for r, n in zip(self.relative, self.notional, strict=True)), ZERO), total
        )


@dataclass(slots=True)
class Tracking:
    """A follower's tracking error per coin, plus the whole book's notional-weighted error per sample."""

    coins: dict[str, CoinTracking] = field(default_factory=dict)
    book: list[Decimal] = field(default_factory=list)  # Σ_coins |p − τ|·mid / Σ_coins |τ|·mid per sample

    def sample(
        self, positions: dict[str, Decimal], ideals: dict[str, Decimal], mids: dict[str, Decimal]
    ) -> None:
        error = notional = ZERO
        for coin in sorted(set(positions) | set(ideals)):
            p, ideal, mid = positions.get(coin, ZERO), ideals.get(coin, ZERO), mids[coin]
            if p == 0 and ideal == 0:
                continue
            self.coins.setdefault(coin, CoinTracking()).add(p, ideal, mid)
            error += abs(p - ideal) * mid
            notional += abs(ideal) * mid
        if notional:
            self.book.append(_CTX.divide(error, notional))


def mean(values: Sequence[Decimal]) -> Decimal | None:
    return _CTX.divide(sum(values, ZERO), len(values)) if values else None


def percent(value: Decimal | None) -> str:
    return "—" if value is None else f"{value * 100:.3f}"


def usd(values: Iterable[Decimal]) -> str:
    items = list(values)
    return "—" if not items else f"{max(items):,.2f}"
