"""A follow's settings as stored in a FollowPlan version (JSON) and as the engine reads them.

The JSON uses the option names of `mirrorbot simulate`'s `follow` object (docs/simulate.md), so a plan
can be pasted into a scenario; `to_config` gives the engine's `FollowConfig` and `from_config` goes
back: `settings_from_json(settings_to_json(s)) == s` for every valid `s` (tested).
Service-level keys next to the engine's: `schema`, `active`, `out_of_sync`, `release`.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field, replace
from decimal import Decimal
from typing import Any

from bot.domain import BuilderFee
from bot.ledger.types import decimal_text
from bot.risk.guards import DRAWDOWN_ACTIONS, RiskLimits
from bot.service import inputs
from bot.service.errors import InvalidInput
from bot.service.inactivity import INACTIVE_AFTER, INACTIVE_KEYS, Inactivity, inactivity_json, read_inactivity
from bot.service.sizing_settings import (
    ALLOCATION_KEYS,
    SIZING_KEYS,
    SIZING_RANGES,
    STRATEGIES,
    USD_CAP,
    read_sizing,
    sizing_json,
)
from bot.service.vol_settings import VOL_KEYS, VOL_RANGES, read_vol, vol_json
from bot.venues import HYPERLIQUID, VENUE_NAMES
from strategies.config import ALL_TOKENS, Filters, FollowConfig, Guards, SideFilter

SCHEMA = 1
__all__ = ["ALLOCATION_KEYS", "STRATEGIES", "USD_CAP"]  # re-exported: the settings' whole vocabulary
# SPEC §6, and §9's recovery: `rebalance` takes an off-target follow to today's targets once
OUT_OF_SYNC = ("catch_up", "restrict", "pause", "rebalance")
RELEASE = ("close", "keep")  # what happens to positions a version stops managing
SIDES = tuple(s.value for s in SideFilter)
_ZERO, _ONE = Decimal(0), Decimal(1)
MAX_VENUE_LEVERAGE = Decimal(100)  # the highest any venue offers (GMX v2: 100x; Hyperliquid: 50x)

Reader = Callable[[object, str], Any]


def _range(low: Decimal, high: Decimal, unit: str, *, open_low: bool = False, **kw: bool) -> inputs.Range:
    return inputs.Range(low, high, unit, open_low=open_low, **kw)


# The documented range of every decimal setting (docs/inputs.md holds the same table; a test compares).
# A value outside is refused naming the range, before anything else is done with it.
RANGES: dict[str, inputs.Range] = {
    "scaling": inputs.SCALING,
    **SIZING_RANGES,  # ratio, notional, the allocation keys
    "copy_current_max_deviation": _range(_ZERO, _ONE, "fraction of the source's entry price"),
    "min_source_leverage": _range(_ZERO, MAX_VENUE_LEVERAGE, "x", open_low=True),
    "max_source_leverage": _range(_ZERO, MAX_VENUE_LEVERAGE, "x", open_low=True),
    "max_notional_token": _range(_ZERO, USD_CAP, "USD"),
    "max_notional_total": _range(_ZERO, USD_CAP, "USD"),
    "max_leverage": _range(_ZERO, MAX_VENUE_LEVERAGE, "x equity", open_low=True),
    "max_price_deviation": _range(_ZERO, _ONE, "fraction of the source's fill price"),
    "slippage_cap": _range(_ZERO, Decimal("0.5"), "fraction of the mid", open_low=True),
    "daily_loss_limit": _range(_ZERO, _ONE, "fraction of the UTC day's start equity", open_low=True),
    "max_drawdown": _range(_ZERO, _ONE, "fraction of the peak equity", open_low=True),
    "equity_floor": _range(_ZERO, USD_CAP, "USD", open_low=True),
    "source_leverage_cap": _range(_ZERO, MAX_VENUE_LEVERAGE, "x", open_low=True),
    "source_max_drawdown": _range(_ZERO, _ONE, "fraction of the source's peak equity", open_low=True),
    # A stop-loss of 100 % or more could never trigger before liquidation.
    "stop_loss_pct": _range(_ZERO, Decimal(100), "% of the entry price", open_low=True, open_high=True),
    "take_profit_pct": _range(_ZERO, Decimal(10_000), "% of the entry price", open_low=True),
    **VOL_RANGES,  # volatility scaling (SPEC §10)
    "inactive_after": INACTIVE_AFTER,  # source inactivity (SPEC §12)
}
MAX_SLIPPAGE = RANGES["slippage_cap"].high


def _reader(key: str) -> Reader:
    return RANGES[key].read


# The runtime guards' limits (bot/risk; None = off): fractions of an equity, a USD floor, a leverage.
RISK_OPTIONS: dict[str, Reader] = {
    key: _reader(key)
    for key in (
        "daily_loss_limit",
        "max_drawdown",
        "equity_floor",
        "source_max_drawdown",
        "source_leverage_cap",
    )
}
RISK_KEYS = (*RISK_OPTIONS, "max_drawdown_action")


# Per-position protection placed as venue trigger orders (bot/pipeline/protect.py): percent of the
# position's entry price.
PROTECTION_KEYS = ("stop_loss_pct", "take_profit_pct")
_OFF = ("off", "none")
# The leader commission (SPEC §14): a builder paid on the follow's copied orders, both set or neither.
COMMISSION_KEYS = ("commission_to", "commission_tenths_bp")


def read_setting(key: str, value: object) -> Decimal:
    """A decimal setting typed by a person (`limits`, `/limits`) in its documented range (RANGES); the
    refusal names the key, the range and, for a percent or a fraction, the unit (`5` typed for a
    fraction of 0.05 is refused saying so). Stored documents and scenarios keep the plain range text."""
    accepted = f"a percent in {RANGES[key].text()}, or off" if key in PROTECTION_KEYS else None
    return RANGES[key].read(value, key, accepted or fraction_accepted(key))


def _protection(doc: Mapping[str, Any], key: str) -> Decimal | None:
    """`stop_loss_pct` in (0, 100), `take_profit_pct` in (0, 10000]; null (or "off") turns it off."""
    value = doc.get(key)
    if value is None or (isinstance(value, str) and value.strip().lower() in _OFF):
        return None
    return read_setting(key, value)


# Optional decimals of the engine config and how each is read (None = off).
DECIMAL_OPTIONS: dict[str, Reader] = {
    key: _reader(key)
    for key in (
        "copy_current_max_deviation",
        "min_source_leverage",
        "max_source_leverage",
        "max_notional_token",
        "max_notional_total",
        "max_leverage",
        "max_price_deviation",
    )
}
BOOL_OPTIONS = ("copy_current", "copy_increase_as_open", "reverse", "active")
# What `follow add/update` accept as **options (besides tokens, scaling, scale, copy_current).
OPTION_KEYS = (
    *SIZING_KEYS,
    "copy_increase_as_open",
    "exclude",
    "side",
    "reverse",
    *DECIMAL_OPTIONS,
    "slippage_cap",
    "out_of_sync",
    "source_venue",
    *RISK_KEYS,
    *PROTECTION_KEYS,
    *COMMISSION_KEYS,
    *VOL_KEYS,
    *INACTIVE_KEYS,
)
# The venue the source trades on (the follower trades on Hyperliquid either way).
SOURCE_VENUES = VENUE_NAMES
KEYS = (
    "schema",
    "active",
    *SIZING_KEYS,
    "scaling",
    "copy_current",
    "include",
    "exclude",
    "side",
    "reverse",
    "copy_increase_as_open",
    *DECIMAL_OPTIONS,
    "slippage_cap",
    "out_of_sync",
    "release",
    "source_venue",
    *RISK_KEYS,
    *PROTECTION_KEYS,
    *COMMISSION_KEYS,
    *VOL_KEYS,
    *INACTIVE_KEYS,
)


@dataclass(frozen=True, slots=True)
class FollowSettings:
    config: FollowConfig = field(default_factory=FollowConfig)
    active: bool = True
    out_of_sync: str = "catch_up"
    release: str | None = None  # close / keep: positions this version no longer manages (unfollow)
    source_venue: str = HYPERLIQUID  # where the source trades (SOURCE_VENUES)
    risk: RiskLimits = field(default_factory=RiskLimits)  # the runtime guards (bot/risk)
    stop_loss_pct: Decimal | None = None  # venue trigger orders per position (bot/pipeline/protect.py)
    take_profit_pct: Decimal | None = None
    commission: BuilderFee | None = None  # the builder paid on copied orders (SPEC §14)
    inactivity: Inactivity = field(default_factory=Inactivity)  # SPEC §12 (bot/service/inactivity.py)

    def with_config(self, **changes: Any) -> FollowSettings:
        return replace(self, config=replace(self.config, **changes))


def _text(value: Decimal | None) -> str | None:
    return None if value is None else decimal_text(value)


def settings_to_json(settings: FollowSettings) -> dict[str, Any]:
    """The canonical JSON form: every key of KEYS present (null when off), decimals as exact strings,
    lists sorted."""
    config, filters, guards = settings.config, settings.config.filters, settings.config.guards
    scaling = dict(sorted(config.scaling.items(), key=lambda kv: (kv[0] != ALL_TOKENS, kv[0])))
    doc: dict[str, Any] = {"schema": SCHEMA, "active": settings.active}
    doc |= sizing_json(config.sizing)
    doc |= {
        "scaling": {coin: decimal_text(k) for coin, k in scaling.items()},
        "copy_current": config.copy_current,
        "include": None if filters.include is None else sorted(filters.include),
        "exclude": sorted(filters.exclude),
        "side": filters.side.value,
        "reverse": filters.reverse,
        "copy_increase_as_open": config.copy_increase_as_open,
        "copy_current_max_deviation": _text(config.copy_current_max_deviation),
        "min_source_leverage": _text(filters.min_source_leverage),
        "max_source_leverage": _text(filters.max_source_leverage),
        "max_notional_token": _text(guards.max_notional_token),
        "max_notional_total": _text(guards.max_notional_total),
        "max_leverage": _text(guards.max_leverage),
        "max_price_deviation": _text(guards.max_price_deviation),
        "slippage_cap": decimal_text(config.slippage_cap),
        "out_of_sync": settings.out_of_sync,
        "release": settings.release,
        "source_venue": settings.source_venue,
    }
    doc |= {key: _text(getattr(settings.risk, key)) for key in RISK_OPTIONS}
    doc["max_drawdown_action"] = settings.risk.max_drawdown_action
    doc |= {key: _text(getattr(settings, key)) for key in PROTECTION_KEYS}
    commission = settings.commission
    doc["commission_to"] = None if commission is None else commission.address
    doc["commission_tenths_bp"] = None if commission is None else commission.tenths_bp
    doc |= vol_json(config.vol)
    doc |= inactivity_json(settings.inactivity)
    return {key: doc[key] for key in KEYS}  # one key order everywhere (KEYS)


def _scaling(value: object) -> dict[str, Decimal]:
    if not isinstance(value, Mapping):
        raise InvalidInput("scaling", "expected an object of token -> percent", '{"*": 100, "ETH": 50}')
    out: dict[str, Decimal] = {}
    for coin, k in value.items():
        key = coin if coin == ALL_TOKENS else inputs.token(coin, "scaling")
        out[key] = inputs.scaling(k, f"scaling.{key}")
    return out


def _optional(doc: Mapping[str, Any], key: str) -> Decimal | None:
    value = doc.get(key)
    return None if value is None else DECIMAL_OPTIONS[key](value, key)


def settings_from_json(doc: object) -> FollowSettings:
    """Validate a settings document (stored, or built from user input); refusals name the key."""
    if not isinstance(doc, Mapping):
        raise InvalidInput("settings", "expected a JSON object")
    for key in doc:
        if key not in KEYS:
            raise InvalidInput(inputs.name(key), "unknown setting", ", ".join(KEYS))
    if doc.get("schema", SCHEMA) != SCHEMA:
        raise InvalidInput(
            "schema", f"unsupported settings schema {inputs.shown(doc.get('schema'))}", str(SCHEMA)
        )
    include = doc.get("include")
    exclude = doc.get("exclude") or []
    filters = Filters(
        include=None if include is None else frozenset(_coins(include, "include")),
        exclude=frozenset(_coins(exclude, "exclude")) if exclude else frozenset(),
        side=SideFilter(inputs.choice(doc.get("side", "both"), "side", SIDES)),
        reverse=inputs.flag(doc.get("reverse", False), "reverse"),
        min_source_leverage=_optional(doc, "min_source_leverage"),
        max_source_leverage=_optional(doc, "max_source_leverage"),
    )
    if filters.include and filters.include <= filters.exclude:
        coins = ", ".join(sorted(filters.include))
        problem = f"excludes every token the follow copies ({coins})"
        raise InvalidInput("exclude", problem, "tokens not in --tokens")
    guards = Guards(
        max_notional_token=_optional(doc, "max_notional_token"),
        max_notional_total=_optional(doc, "max_notional_total"),
        max_leverage=_optional(doc, "max_leverage"),
        max_price_deviation=_optional(doc, "max_price_deviation"),
    )
    config = FollowConfig(
        sizing=read_sizing(doc),
        scaling=_scaling(doc.get("scaling", {})),
        copy_current=inputs.flag(doc.get("copy_current", False), "copy_current"),
        copy_current_max_deviation=_optional(doc, "copy_current_max_deviation"),
        copy_increase_as_open=inputs.flag(doc.get("copy_increase_as_open", False), "copy_increase_as_open"),
        filters=filters,
        guards=guards,
        slippage_cap=RANGES["slippage_cap"].read(doc.get("slippage_cap", "0.01"), "slippage_cap"),
        vol=read_vol(doc),
    )
    release = doc.get("release")
    active = inputs.flag(doc.get("active", True), "active")
    return FollowSettings(
        config=config,
        active=active,
        out_of_sync=inputs.choice(doc.get("out_of_sync", "catch_up"), "out_of_sync", OUT_OF_SYNC),
        release=None if release is None else inputs.choice(release, "release", RELEASE),
        source_venue=inputs.choice(doc.get("source_venue", HYPERLIQUID), "source_venue", SOURCE_VENUES),
        risk=_risk(doc),
        stop_loss_pct=_protection(doc, "stop_loss_pct"),
        take_profit_pct=_protection(doc, "take_profit_pct"),
        commission=_commission(doc),
        inactivity=read_inactivity(doc),
    )


def _commission(doc: Mapping[str, Any]) -> BuilderFee | None:
    """`commission_to` (an address) and `commission_tenths_bp` (1..100), both or neither; off: none."""
    to, rate = (_off(doc.get(key)) for key in COMMISSION_KEYS)
    if to is None and rate is None:
        return None
    if to is None or rate is None:
        missing = "commission_to" if to is None else "commission_tenths_bp"
        raise InvalidInput(
            missing, "missing: a commission needs both its address and its rate", "set both, or off"
        )
    return BuilderFee(
        inputs.address(to, "commission_to"), inputs.commission_rate(rate, "commission_tenths_bp")
    )


def _off(value: object) -> object:
    return None if isinstance(value, str) and value.strip().lower() in _OFF else value


def _risk(doc: Mapping[str, Any]) -> RiskLimits:
    values = {
        key: None if doc.get(key) is None else read(doc[key], key) for key, read in RISK_OPTIONS.items()
    }
    action = doc.get("max_drawdown_action")
    if action is not None and values["max_drawdown"] is None:
        raise InvalidInput("max_drawdown_action", "only with max_drawdown set", "set max_drawdown too")
    return RiskLimits(
        **values,
        max_drawdown_action=None
        if action is None
        else inputs.choice(action, "max_drawdown_action", DRAWDOWN_ACTIONS),
    )


def _coins(value: object, where: str) -> tuple[str, ...]:
    if isinstance(value, list | tuple) and not value and where == "include":
        return ()  # an emptied include list (every token moved to other sources) stays valid
    return inputs.tokens(value, where)


def to_config(doc: object) -> FollowConfig:
    """The engine's configuration for a stored plan."""
    return settings_from_json(doc).config


# --- units (issue #19): one unit per kind of setting, named wherever a value is shown ----------------
# Scaling and every `_pct` key are percent; the fraction keys keep the unit they are stored in (their
# names are contracts, and stored plans are not migrated), so every reply writes them with the percent
# they mean: `0.05 (= 5 %)`.
PERCENT_KEYS = ("scaling", *PROTECTION_KEYS, "vol_target_pct", "vol_skip_above_pct")
FRACTION_KEYS = tuple(key for key, spec in RANGES.items() if spec.unit.startswith("fraction"))
_HUNDRED = Decimal(100)


def _percent_of(fraction: Decimal) -> str:
    return decimal_text(fraction * _HUNDRED)


def shown_setting(key: str, value: object) -> str:
    """A setting's value as every reply writes it: `5 %`, `0.05 (= 5 %)`, `2500 USD`, `5x`, `off`."""
    if value is None:
        return "off"
    if isinstance(value, bool):
        return "on" if value else "off"
    if isinstance(value, list | tuple):
        return ", ".join(str(v) for v in value) or "none"
    text = decimal_text(value) if isinstance(value, Decimal) else str(value)
    unit = RANGES[key].unit if key in RANGES else ""
    try:
        number = Decimal(text)
    except ArithmeticError:
        return text
    if key in PERCENT_KEYS:
        return f"{text} %"
    if key == "commission_tenths_bp":  # 10 tenths of a basis point = 0.01 %
        return f"{text} tenths of a bp (= {decimal_text(number.scaleb(-3))} %)"
    if key in FRACTION_KEYS:
        return f"{text} (= {_percent_of(number)} %)"
    if unit.startswith("USD"):
        return f"{text} USD"
    if unit.startswith("x"):
        return f"{text}x"
    return text


def fraction_accepted(key: str) -> str | None:
    """What a fraction key accepts, its unit named (`5` typed for 5 % is refused with this)."""
    if key not in FRACTION_KEYS:
        return None
    return f"{RANGES[key].text()}, a fraction: 0.05 = 5 % ({RANGES[key].unit})"


def unit_doubt(key: str, value: Decimal, coin: str | None = None) -> str | None:
    """In plain words, what a value that looks like the other unit will do, or None when it does not
    (a percent below 1 looks like a fraction; a scaling of 1 or less like a factor; a fraction of 1
    like a percent). Such a value is applied only once confirmed (Telegram: a button; CLI: --yes)."""
    meant = decimal_text(value * _HUNDRED)
    if key == "scaling" and value <= 1:
        what = f"{coin} " if coin else ""
        return (
            f"scaling {what}{decimal_text(value)} % copies {decimal_text(value)} % of the source's risk "
            f"proportion ({decimal_text(value / _HUNDRED)}x of it). Scaling is a percent: for "
            f"{meant} %, type {meant}."
        )
    if key == "stop_loss_pct" and value < 1:
        return (
            f"stop_loss_pct {decimal_text(value)} %: the stop-loss closes a position once the price moves "
            f"{decimal_text(value)} % against its entry. It is a percent: for {meant} %, type {meant}."
        )
    if key == "take_profit_pct" and value < 1:
        return (
            f"take_profit_pct {decimal_text(value)} %: the take-profit closes a position once it gains "
            f"{decimal_text(value)} % on its entry. It is a percent: for {meant} %, type {meant}."
        )
    if key in ("vol_target_pct", "vol_skip_above_pct") and value < 1:
        return (
            f"{key} {decimal_text(value)} %: an annualised volatility below 1 % (listed perps run at "
            f"30–150 %). It is a percent: for {meant} %, type {meant}."
        )
    if key in FRACTION_KEYS and value >= 1:
        return (
            f"{key} {decimal_text(value)} is a fraction: {_percent_of(value)} % of "
            f"{RANGES[key].unit.removeprefix('fraction of ')}. For {decimal_text(value)} %, type "
            f"{decimal_text(value / _HUNDRED)}."
        )
    return None


def unit_doubts(changes: Mapping[str, object]) -> list[str]:
    """`unit_doubt` for every value of a change (`scaling`, `scale` {coin: k}, any decimal key); a value
    outside its range is skipped here: it is refused, with its range, where it is read."""
    out: list[str] = []
    for key, value in changes.items():
        pairs: list[tuple[str, object, str | None]]
        if key == "scale" and isinstance(value, Mapping):
            pairs = [("scaling", k, str(coin)) for coin, k in value.items()]
        else:
            pairs = [(key, value, None)]
        for name, raw, coin in pairs:
            if name not in RANGES or raw is None:
                continue
            try:
                number = RANGES[name].read(raw, name)
            except InvalidInput:
                continue
            doubt = unit_doubt(name, number, coin)
            if doubt:
                out.append(doubt)
    return out


def setting_changes(before: Mapping[str, Any], after: Mapping[str, Any]) -> list[str]:
    """Each setting a new plan version changed, with its unit and the value it had:
    `stop_loss_pct 5 % (was off)`, `scaling ETH 50 % (was 100 %)`."""
    out: list[str] = []
    for key in KEYS:
        old, new = before.get(key), after.get(key)
        if key in ("schema", "release") or old == new:
            continue
        if key == "scaling" and isinstance(new, Mapping):
            was = old if isinstance(old, Mapping) else {}
            default = was.get(ALL_TOKENS, "100")
            for coin, k in new.items():
                if was.get(coin) != k:
                    out.append(f"scaling {coin} {k} % (was {was.get(coin, default)} %)")
            continue
        out.append(f"{key} {shown_setting(key, new)} (was {shown_setting(key, old)})")
    return out
