"""The scenario file of `mirrorbot simulate --scenario` (SPEC §7): parsing and validation.

Everything is checked before anything runs, so a bad scenario prints one error naming the step and
the field and nothing else. Decimals may be JSON strings or numbers (numbers are read exactly, never
through a float); `docs/simulate.md` is the user guide.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from decimal import Decimal
from pathlib import Path
from typing import Any, TypeVar

from bot.service import inputs
from bot.service.errors import InvalidInput
from bot.service.settings import MAX_VENUE_LEVERAGE, RANGES, USD_CAP
from bot.service.sizing_settings import ALLOCATION_KEYS, allocation_sizing
from bot.service.vol_settings import VOL_KEYS, VOL_PCT_MAX, read_vol
from strategies.config import ALL_TOKENS, Filters, FollowConfig, Guards, SideFilter
from strategies.fixed_notional import FixedNotionalSizing
from strategies.fixed_ratio import FixedRatioSizing
from strategies.mirror import MirrorSizing
from strategies.model import Market
from strategies.orders import DEFAULT_MIN_NOTIONAL
from strategies.sizing import Sizing

T = TypeVar("T")

# A scenario is validated whole before it runs, so all of it is in memory: 4 MiB (~70,000 steps)
# keeps that near 230 MB (measured); a longer history belongs in a fills file (`--fills`).
MAX_SCENARIO_BYTES = 4 * 1024 * 1024
MAX_SZ_DECIMALS = 6  # a perp price may carry 6 - szDecimals decimals
STRATEGIES = ("mirror", "fixed_ratio", "fixed_notional", "allocation")
UNFOLLOW_MODES = ("keep", "close")


class ScenarioError(ValueError):
    """A scenario is invalid; the message names where (`step 3: source.ETH`) and why."""


@dataclass(frozen=True, slots=True)
class Step:
    index: int
    source_equity: Decimal | None = None
    follower_equity: Decimal | None = None
    mids: Mapping[str, Decimal] = field(default_factory=dict)
    source: Mapping[str, Decimal] = field(default_factory=dict)
    source_px: Mapping[str, Decimal] = field(default_factory=dict)
    source_entry: Mapping[str, Decimal] = field(default_factory=dict)
    source_leverage: Mapping[str, Decimal] = field(default_factory=dict)
    set_scaling: Mapping[str, Decimal] = field(default_factory=dict)
    follow: bool | None = None
    unfollow: str = "keep"
    copy_current: bool | None = None
    pause: bool | None = None
    reconcile: bool = False
    tick: bool = False  # a rebalance tick (SPEC §9)
    fill: Decimal = Decimal(1)
    vol: Mapping[str, Decimal | None] = field(default_factory=dict)  # σ per coin (SPEC §10); None: unknown


@dataclass(frozen=True, slots=True)
class Scenario:
    markets: Mapping[str, Market]
    min_notional: Decimal
    follow: FollowConfig
    steps: tuple[Step, ...]


# --- reading values ---------------------------------------------------------------------------------


def _type_name(value: object) -> str:
    names = {bool: "a boolean", str: "a string", list: "a list", dict: "an object", type(None): "null"}
    return names.get(type(value), "a number")


def _guard(read: Callable[[object, str], T]) -> Callable[[object, str], T]:
    """A reader of the input boundary (bot/service/inputs.py) whose refusals are ScenarioErrors."""

    def checked(value: object, where: str) -> T:
        try:
            return read(value, where)
        except InvalidInput as exc:
            raise ScenarioError(str(exc)) from None

    return checked


# What only a scenario has (its follow object's keys are the settings' RANGES, docs/inputs.md).
SCENARIO_RANGES: dict[str, inputs.Range] = {
    "source_equity": inputs.Range(Decimal(0), USD_CAP, "USD", open_low=True),
    "follower_equity": inputs.Range(Decimal(0), USD_CAP, "USD"),
    "min_notional": inputs.Range(Decimal(0), USD_CAP, "USD"),
    # 0 is allowed here (a coin silenced for a step); a live follow excludes the token instead
    "set_scaling": inputs.Range(Decimal(0), inputs.MAX_SCALING, "percent"),
    "source_leverage": inputs.Range(Decimal(0), MAX_VENUE_LEVERAGE, "x", open_low=True),
    "fill": inputs.Range(Decimal(0), Decimal(1), "fraction of the order filled"),
    "vol": inputs.Range(Decimal(0), VOL_PCT_MAX, "annualised % volatility (null: unknown)", open_low=True),
}
_decimal = _guard(inputs.decimal)
_positive = _guard(inputs.positive)


def _ranged(key: str) -> Callable[[object, str], Decimal]:
    return _guard((SCENARIO_RANGES.get(key) or RANGES[key]).read)


def _bool(value: object, where: str) -> bool:
    if not isinstance(value, bool):
        raise ScenarioError(f"{where}: expected true or false, got {_type_name(value)}")
    return value


def _int(value: object, where: str, low: int, high: int) -> int:
    return _guard(lambda v, w: inputs.whole(v, w, low, high))(value, where)


def _choice(value: object, where: str, choices: tuple[str, ...]) -> str:
    if value not in choices:
        raise ScenarioError(f"{where}: accepted values are {', '.join(choices)}; got {value!r}")
    assert isinstance(value, str)
    return value


def _object(value: object, where: str) -> dict[str, Any]:
    if not isinstance(value, dict):
        raise ScenarioError(f"{where}: expected an object, got {_type_name(value)}")
    return value


def _check_keys(obj: Mapping[str, Any], allowed: tuple[str, ...], where: str) -> None:
    for key in obj:
        if key not in allowed:
            prefix = f"{where}: " if where else ""
            raise ScenarioError(f"{prefix}{inputs.name(key)}: unknown key (accepted: {', '.join(allowed)})")


def _per_coin(
    value: object,
    where: str,
    coins: Mapping[str, Market],
    read: Callable[[object, str], T],
    *,
    star: bool = False,
) -> dict[str, T]:
    out: dict[str, T] = {}
    for coin, raw in _object(value, where).items():
        if coin not in coins and not (star and coin == ALL_TOKENS):
            known = ", ".join(coins) + (", *" if star else "")
            raise ScenarioError(f"{where}.{inputs.name(coin)}: unknown coin (instruments: {known})")
        out[coin] = read(raw, f"{where}.{coin}")
    return out


def _coin_list(value: object, where: str, coins: Mapping[str, Market]) -> frozenset[str]:
    if not isinstance(value, list):
        raise ScenarioError(f"{where}: expected a list of coins, got {_type_name(value)}")
    for i, coin in enumerate(value):
        if not isinstance(coin, str) or coin not in coins:
            raise ScenarioError(f"{where}[{i}]: unknown coin {coin!r} (instruments: {', '.join(coins)})")
    return frozenset(value)


# --- the file ---------------------------------------------------------------------------------------

TOP_KEYS = ("description", "instruments", "min_notional", "follow", "steps")
INSTRUMENT_KEYS = ("sz_decimals", "max_leverage")
FOLLOW_KEYS = (
    "strategy",
    "ratio",
    "notional",
    "scaling",
    "copy_current",
    "copy_current_max_deviation",
    "copy_increase_as_open",
    "include",
    "exclude",
    "side",
    "reverse",
    "min_source_leverage",
    "max_source_leverage",
    "max_notional_token",
    "max_notional_total",
    "max_leverage",
    "max_price_deviation",
    "slippage_cap",
    *ALLOCATION_KEYS,
    *VOL_KEYS,
)
STEP_KEYS = (
    "comment",
    "source_equity",
    "follower_equity",
    "mids",
    "source",
    "source_px",
    "source_entry",
    "source_leverage",
    "set_scaling",
    "follow",
    "unfollow",
    "copy_current",
    "pause",
    "reconcile",
    "fill",
    "tick",
    "vol",
)


def _reject_constant(name: str) -> Any:
    raise ScenarioError(f"{name} is not a valid JSON number")


def _no_duplicates(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for key, value in pairs:
        if key in out:
            raise ScenarioError(f"{key}: duplicate key")
        out[key] = value
    return out


def load_scenario(path: Path) -> Scenario:
    """Read (at most MAX_SCENARIO_BYTES, nested at most inputs.MAX_NESTING deep) and validate."""
    try:
        text = inputs.read_text(path, "scenario", what="the scenario", limit=MAX_SCENARIO_BYTES)
        doc = json.loads(
            inputs.text_nesting(text, "scenario"),
            parse_float=inputs.json_number,
            parse_int=inputs.json_number,
            parse_constant=_reject_constant,
            object_pairs_hook=_no_duplicates,
        )
        inputs.nesting(doc, "scenario")
    except InvalidInput as exc:
        raise ScenarioError(str(exc)) from None
    except json.JSONDecodeError as exc:
        raise ScenarioError(f"not valid JSON: {exc.msg} (line {exc.lineno}, column {exc.colno})") from None
    except RecursionError:
        raise ScenarioError(f"scenario: nested more than {inputs.MAX_NESTING} levels deep") from None
    return parse_scenario(doc)


def parse_scenario(doc: object) -> Scenario:
    top = _object(doc, "scenario")
    _check_keys(top, TOP_KEYS, "")
    if "instruments" not in top:
        raise ScenarioError('instruments: missing (e.g. {"ETH": {"sz_decimals": 4}})')
    markets = _markets(top["instruments"])
    min_notional = _ranged("min_notional")(top.get("min_notional", DEFAULT_MIN_NOTIONAL), "min_notional")
    follow = _follow(top.get("follow", {}), markets)
    raw_steps = top.get("steps")
    if not isinstance(raw_steps, list) or not raw_steps:
        raise ScenarioError("steps: expected a non-empty list of steps")
    steps: list[Step] = []
    mids: set[str] = set()
    for i, raw in enumerate(raw_steps):
        try:
            step = _step(i, raw, markets, mids)
        except ScenarioError as exc:
            raise ScenarioError(f"step {i}: {exc}") from None
        steps.append(step)
        mids.update(step.mids)
    first = steps[0]
    if first.source_equity is None or first.follower_equity is None:
        missing = "source_equity" if first.source_equity is None else "follower_equity"
        raise ScenarioError(f"step 0: {missing}: missing (the first step sets both equities)")
    return Scenario(markets, min_notional, follow, tuple(steps))


def _markets(value: object) -> dict[str, Market]:
    markets: dict[str, Market] = {}
    instruments = _object(value, "instruments")
    if not instruments:
        raise ScenarioError("instruments: at least one coin is needed")
    for coin, raw in instruments.items():
        where = f"instruments.{inputs.name(coin)}"
        spec = _object(raw, where)
        _check_keys(spec, INSTRUMENT_KEYS, where)
        if "sz_decimals" not in spec:
            raise ScenarioError(f"{where}.sz_decimals: missing (the lot is 10^-sz_decimals)")
        sz = _int(spec["sz_decimals"], f"{where}.sz_decimals", 0, MAX_SZ_DECIMALS)
        lev = spec.get("max_leverage")
        max_lev = None if lev is None else _int(lev, f"{where}.max_leverage", 1, 1000)
        markets[coin] = Market(coin, sz, max_lev)
    return markets


def _sizing(follow: Mapping[str, Any]) -> Sizing:
    strategy = _choice(follow.get("strategy", "mirror"), "follow.strategy", STRATEGIES)
    if strategy == "allocation" or any(key in follow for key in ALLOCATION_KEYS):
        try:
            return allocation_sizing(follow, strategy, prefix="follow.")
        except InvalidInput as exc:
            raise ScenarioError(str(exc)) from None
    needs = {"fixed_ratio": "ratio", "fixed_notional": "notional"}.get(strategy)
    for key in ("ratio", "notional"):
        if key in follow and key != needs:
            raise ScenarioError(
                f"follow.{key}: only for strategy {'fixed_ratio' if key == 'ratio' else 'fixed_notional'}"
            )
    if needs is not None and needs not in follow:
        raise ScenarioError(f"follow.{needs}: missing (strategy {strategy} needs it)")
    if strategy == "fixed_ratio":
        return FixedRatioSizing(_ranged("ratio")(follow["ratio"], "follow.ratio"))
    if strategy == "fixed_notional":
        return FixedNotionalSizing(_ranged("notional")(follow["notional"], "follow.notional"))
    return MirrorSizing()


def _follow(value: object, markets: Mapping[str, Market]) -> FollowConfig:
    follow = _object(value, "follow")
    _check_keys(follow, FOLLOW_KEYS, "follow")

    def opt(key: str) -> Decimal | None:
        return None if follow.get(key) is None else _ranged(key)(follow[key], f"follow.{key}")

    include = follow.get("include")
    filters = Filters(
        include=None if include is None else _coin_list(include, "follow.include", markets),
        exclude=_coin_list(follow.get("exclude", []), "follow.exclude", markets),
        side=SideFilter(
            _choice(follow.get("side", "both"), "follow.side", tuple(s.value for s in SideFilter))
        ),
        reverse=_bool(follow.get("reverse", False), "follow.reverse"),
        min_source_leverage=opt("min_source_leverage"),
        max_source_leverage=opt("max_source_leverage"),
    )
    guards = Guards(
        max_notional_token=opt("max_notional_token"),
        max_notional_total=opt("max_notional_total"),
        max_leverage=opt("max_leverage"),
        max_price_deviation=opt("max_price_deviation"),
    )
    return FollowConfig(
        sizing=_sizing(follow),
        scaling=_per_coin(
            follow.get("scaling", {}), "follow.scaling", markets, _ranged("set_scaling"), star=True
        ),
        copy_current=_bool(follow.get("copy_current", False), "follow.copy_current"),
        copy_current_max_deviation=opt("copy_current_max_deviation"),
        copy_increase_as_open=_bool(
            follow.get("copy_increase_as_open", False), "follow.copy_increase_as_open"
        ),
        filters=filters,
        guards=guards,
        slippage_cap=_ranged("slippage_cap")(follow.get("slippage_cap", "0.01"), "follow.slippage_cap"),
        vol=_guard(lambda _, prefix: read_vol(follow, prefix))(follow, "follow."),
    )


def _step(index: int, value: object, markets: Mapping[str, Market], known_mids: set[str]) -> Step:
    raw = _object(value, "step")
    _check_keys(raw, STEP_KEYS, "")
    if "comment" in raw and not isinstance(raw["comment"], str):
        raise ScenarioError("comment: expected a string")
    follow = None if "follow" not in raw else _bool(raw["follow"], "follow")
    if "unfollow" in raw and follow is not False:
        raise ScenarioError('unfollow: only with "follow": false')
    mids = _per_coin(raw.get("mids", {}), "mids", markets, _positive)
    source = _per_coin(raw.get("source", {}), "source", markets, _decimal)
    for coin, size in source.items():
        if size != 0 and coin not in mids and coin not in known_mids:
            raise ScenarioError(
                f"source.{coin}: no mid for {coin} yet (give mids.{coin} in this or an earlier step)"
            )
    step = Step(
        index=index,
        source_equity=None
        if "source_equity" not in raw
        else _ranged("source_equity")(raw["source_equity"], "source_equity"),
        follower_equity=None
        if "follower_equity" not in raw
        else _ranged("follower_equity")(raw["follower_equity"], "follower_equity"),
        mids=mids,
        source=source,
        source_px=_per_coin(raw.get("source_px", {}), "source_px", markets, _positive),
        source_entry=_per_coin(raw.get("source_entry", {}), "source_entry", markets, _positive),
        source_leverage=_per_coin(
            raw.get("source_leverage", {}), "source_leverage", markets, _ranged("source_leverage")
        ),
        set_scaling=_per_coin(
            raw.get("set_scaling", {}), "set_scaling", markets, _ranged("set_scaling"), star=True
        ),
        follow=follow,
        unfollow=_choice(raw.get("unfollow", "keep"), "unfollow", UNFOLLOW_MODES),
        copy_current=None if "copy_current" not in raw else _bool(raw["copy_current"], "copy_current"),
        pause=None if "pause" not in raw else _bool(raw["pause"], "pause"),
        reconcile=_bool(raw.get("reconcile", False), "reconcile"),
        tick=_bool(raw.get("tick", False), "tick"),
        fill=_ranged("fill")(raw.get("fill", 1), "fill"),
        vol=_per_coin(raw.get("vol", {}), "vol", markets, _sigma),
    )
    return step


def _sigma(value: object, where: str) -> Decimal | None:
    """A step's σ of one coin, annualised %; null: unknown (the venue's candles could not be read)."""
    return None if value is None else _ranged("vol")(value, where)
