"""Volatility scaling's follow settings (SPEC §10), read and written once: `vol_target_pct` (off when
unset), `vol_mult_min`, `vol_mult_max`, `vol_skip_above_pct`. The settings document (bot/service/
settings.py) and a scenario's `follow` object (bot/simulate/scenario.py) both read them here."""

from __future__ import annotations

from collections.abc import Mapping
from decimal import Decimal
from typing import Any

from bot.ledger.types import decimal_text
from bot.service import inputs
from bot.service.errors import InvalidInput
from strategies.volatility import MULT_MAX, MULT_MIN, VolTarget

VOL_PCT_MAX = Decimal(10_000)  # annualised %: far above any listed perp's (memecoins reach ~300 %)
VOL_RANGES: dict[str, inputs.Range] = {
    "vol_target_pct": inputs.Range(Decimal(0), VOL_PCT_MAX, "annualised % volatility", open_low=True),
    "vol_mult_min": inputs.Range(Decimal(0), Decimal(1), "x the ratio", open_low=True),
    "vol_mult_max": inputs.Range(Decimal(0), Decimal(1), "x the ratio", open_low=True),
    "vol_skip_above_pct": inputs.Range(Decimal(0), VOL_PCT_MAX, "annualised % volatility", open_low=True),
}
VOL_KEYS = tuple(VOL_RANGES)
_TARGET_ONLY = ("vol_mult_min", "vol_mult_max", "vol_skip_above_pct")


def read_vol(doc: Mapping[str, Any], prefix: str = "") -> VolTarget | None:
    """The follow's VolTarget (None: `vol_target_pct` unset or null). The clamps and the skip threshold
    are refused without a target (they would do nothing), and `vol_mult_min` above `vol_mult_max`."""

    def read(key: str) -> Decimal | None:
        value = doc.get(key)
        return None if value is None else VOL_RANGES[key].read(value, prefix + key)

    target = read("vol_target_pct")
    if target is None:
        for key in _TARGET_ONLY:
            if doc.get(key) is not None:
                raise InvalidInput(prefix + key, "only with vol_target_pct set", "set vol_target_pct too")
        return None
    low, high = read("vol_mult_min") or MULT_MIN, read("vol_mult_max") or MULT_MAX
    if low > high:
        problem = f"{decimal_text(low)} is above vol_mult_max {decimal_text(high)}"
        raise InvalidInput(prefix + "vol_mult_min", problem, f"at most vol_mult_max ({decimal_text(high)})")
    return VolTarget(target, low, high, read("vol_skip_above_pct"))


def vol_json(vol: VolTarget | None) -> dict[str, str | None]:
    """The canonical form: every key present, null when off (defaults written out when on)."""
    if vol is None:
        return dict.fromkeys(VOL_KEYS)
    skip = vol.skip_above_pct
    return {
        "vol_target_pct": decimal_text(vol.target_pct),
        "vol_mult_min": decimal_text(vol.mult_min),
        "vol_mult_max": decimal_text(vol.mult_max),
        "vol_skip_above_pct": None if skip is None else decimal_text(skip),
    }
