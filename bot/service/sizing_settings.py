"""A follow's sizing strategy as its settings document holds it (`strategy` and the keys each one
takes), read and written at the settings boundary (bot/service/settings.py uses it; so does a
scenario's `follow` object, `prefix` naming it there).

`allocation` (SPEC §9) takes `rebalance_band_pct`, `rebalance_trigger_pct` and `rebalance_every`; any
other strategy refuses them, and a trigger band narrower than the no-trade band is refused.
"""

from __future__ import annotations

from collections.abc import Mapping
from decimal import Decimal
from typing import Any

from bot.ledger.types import decimal_text
from bot.service import inputs
from bot.service.errors import InvalidInput
from strategies.allocation import DEFAULT_BAND_PCT, DEFAULT_EVERY_S, DEFAULT_TRIGGER_PCT, AllocationSizing
from strategies.fixed_notional import FixedNotionalSizing
from strategies.fixed_ratio import FixedRatioSizing
from strategies.mirror import MirrorSizing
from strategies.sizing import Sizing

STRATEGIES = ("mirror", "fixed_ratio", "fixed_notional", "allocation")
# Portfolio-allocation mode's own settings (SPEC §9), only for strategy allocation.
ALLOCATION_KEYS = ("rebalance_band_pct", "rebalance_trigger_pct", "rebalance_every")
SIZING_KEYS = ("strategy", "ratio", "notional", *ALLOCATION_KEYS)
USD_CAP = Decimal(10) ** 12  # a trillion USD: above any account's notional, far below the numbers' domain
_ZERO, _HUNDRED = Decimal(0), Decimal(100)

# Their documented ranges (part of settings.RANGES: docs/inputs.md lists them, a test compares).
SIZING_RANGES: dict[str, inputs.Range] = {
    "ratio": inputs.Range(_ZERO, Decimal(1000), "x the source's size", open_low=True),
    "notional": inputs.Range(_ZERO, USD_CAP, "USD per open/increase", open_low=True),
    "rebalance_band_pct": inputs.Range(_ZERO, _HUNDRED, "% of the follower's equity"),
    "rebalance_trigger_pct": inputs.Range(_ZERO, _HUNDRED, "% of the follower's equity"),
    "rebalance_every": inputs.Range(Decimal(1), Decimal(86_400), "seconds, whole"),
}


def sizing_json(sizing: Sizing) -> dict[str, Any]:
    """Every key of SIZING_KEYS: the strategy and its own keys, the others null."""
    doc: dict[str, Any] = dict.fromkeys(SIZING_KEYS)
    if isinstance(sizing, FixedRatioSizing):
        return doc | {"strategy": "fixed_ratio", "ratio": decimal_text(sizing.ratio)}
    if isinstance(sizing, FixedNotionalSizing):
        return doc | {"strategy": "fixed_notional", "notional": decimal_text(sizing.notional)}
    if isinstance(sizing, MirrorSizing):
        return doc | {"strategy": "mirror"}
    if isinstance(sizing, AllocationSizing):
        return doc | {
            "strategy": "allocation",
            "rebalance_band_pct": decimal_text(sizing.band_pct),
            "rebalance_trigger_pct": decimal_text(sizing.trigger_pct),
            "rebalance_every": sizing.every_s,
        }
    raise TypeError(f"no settings form for sizing {sizing!r}")


def read_sizing(doc: Mapping[str, Any], *, prefix: str = "") -> Sizing:
    """The sizing a document names (default `mirror`); a key of another strategy is refused."""
    strategy = inputs.choice(doc.get("strategy", "mirror"), f"{prefix}strategy", STRATEGIES)
    if strategy == "allocation" or any(doc.get(key) is not None for key in ALLOCATION_KEYS):
        return allocation_sizing(doc, strategy, prefix=prefix)
    needs = {"fixed_ratio": "ratio", "fixed_notional": "notional"}.get(strategy)
    for key in ("ratio", "notional"):
        if doc.get(key) is not None and key != needs:
            owner = "fixed_ratio" if key == "ratio" else "fixed_notional"
            raise InvalidInput(f"{prefix}{key}", f"only for strategy {owner}, not {strategy}")
    if needs is not None and doc.get(needs) is None:
        raise InvalidInput(f"{prefix}{needs}", f"missing: strategy {strategy} needs it", "a decimal > 0")
    if strategy == "fixed_ratio":
        return FixedRatioSizing(SIZING_RANGES["ratio"].read(doc["ratio"], f"{prefix}ratio"))
    if strategy == "fixed_notional":
        return FixedNotionalSizing(SIZING_RANGES["notional"].read(doc["notional"], f"{prefix}notional"))
    return MirrorSizing()


def allocation_sizing(doc: Mapping[str, Any], strategy: str, *, prefix: str = "") -> AllocationSizing:
    """The allocation keys of a document: refused for any other strategy; the trigger band is never
    narrower than the no-trade band (so nothing but a close or a flip trades inside the band)."""
    given = [key for key in ALLOCATION_KEYS if doc.get(key) is not None]
    if strategy != "allocation":
        if given:
            raise InvalidInput(f"{prefix}{given[0]}", f"only for strategy allocation, not {strategy}")
        raise ValueError("not an allocation follow")  # callers ask only when one of the two holds

    def read(key: str, default: Decimal) -> Decimal:
        value = doc.get(key)
        return default if value is None else SIZING_RANGES[key].read(value, f"{prefix}{key}")

    band = read("rebalance_band_pct", DEFAULT_BAND_PCT)
    trigger = read("rebalance_trigger_pct", max(band, DEFAULT_TRIGGER_PCT))
    if trigger < band:
        raise InvalidInput(
            f"{prefix}rebalance_trigger_pct",
            f"{decimal_text(trigger)} is narrower than rebalance_band_pct {decimal_text(band)}",
            f"a percent in [{decimal_text(band)}, 100]",
        )
    every = read("rebalance_every", Decimal(DEFAULT_EVERY_S))
    if every != every.to_integral_value():
        raise InvalidInput(
            f"{prefix}rebalance_every", f"not a whole number: {decimal_text(every)}", "1 to 86400"
        )
    return AllocationSizing(band, trigger, int(every))
