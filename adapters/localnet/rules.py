"""The venue's number rules (tick, lot, formatting) and its error texts, in one place.

Every size is a multiple of the lot `10^-szDecimals` and every price has at most `6 - szDecimals`
decimals, so `size * price` never has more than 6 decimals: notionals, PnL and cost bases stay exact
at USDC precision (6 decimals) without any rounding.
"""

from __future__ import annotations

from decimal import ROUND_CEILING, ROUND_FLOOR, ROUND_HALF_EVEN, ROUND_HALF_UP, Decimal, InvalidOperation

MAX_PERP_DECIMALS = 6
MAX_SIG_FIGS = 5
USD = Decimal("0.000001")  # USDC precision on the venue
MIN_NOTIONAL = Decimal(10)
TAKER_FEE = Decimal("0.00045")  # base tier (the venue's own, apart from the client's: see below)
MAKER_FEE = Decimal("0.00015")
MARKET_SLIPPAGE = Decimal("0.05")  # what the SDK's market_open uses (Exchange.DEFAULT_SLIPPAGE)

# --- the venue's wording -------------------------------------------------------------------------------
# Written here apart from the client's table (bot/domain/hyperliquid.py) on purpose: the localnet is
# an independent double of the venue, so a client that drifts from the venue's words fails against it.
ERR_SIZE = "Order has invalid size."
ERR_PRICE = "Order has invalid price."


def err_min_value(asset: int) -> str:
    return f"Order must have minimum value of $10. asset={asset}"


def err_margin(asset: int) -> str:
    return f"Insufficient margin to place order. asset={asset}"


def err_reduce_only(asset: int) -> str:
    return f"Reduce only order would increase position. asset={asset}"


def err_ioc(asset: int) -> str:
    return f"Order could not immediately match against any resting orders. asset={asset}"


def err_alo(bid: Decimal | None, ask: Decimal | None, asset: int) -> str:
    bbo = f"{fmt_opt(bid)}@{fmt_opt(ask)}"
    return f"Post only order would have immediately matched, bbo was {bbo}. asset={asset}"


def err_trigger_px(asset: int) -> str:
    return f"Invalid TP/SL price. asset={asset}"


def err_missing_order(asset: int) -> str:
    return f"Order was never placed, already canceled, or filled. asset={asset}"


def err_unknown_asset(asset: object) -> str:
    return f"Unknown asset {asset}: the localnet lists assets 0..N-1 of meta.universe."


ERR_DUPLICATE_CLOID = "Duplicate cloid: an order with this cloid was already placed by this user."
ERR_LEVERAGE = "Invalid leverage value."
ERR_SWITCH_LEVERAGE = "Cannot switch leverage type with open position."
ERR_NOT_ISOLATED = "Position does not use isolated margin."
ERR_MODIFY = "Cannot modify canceled or filled order"
ERR_SCHEDULE_TOO_EARLY = "Scheduled cancel time too early, must be at least 5 seconds from now."


def err_no_user(address: str) -> str:
    return f"User or API Wallet {address} does not exist."


def err_must_deposit(address: str) -> str:
    return f"Must deposit before performing actions. User: {address}"


# --- formatting ----------------------------------------------------------------------------------------
def fmt(x: Decimal) -> str:
    """A number as the venue writes it: plain digits, at least one decimal ("3000.0", "0.1", "-2.5")."""
    if x == 0:
        return "0.0"
    text = format(x.normalize(), "f")
    return text if "." in text else text + ".0"


def fmt_opt(x: Decimal | None) -> str | None:
    return None if x is None else fmt(x)


def usd(x: Decimal, rounding: str = ROUND_HALF_EVEN) -> Decimal:
    return x.quantize(USD, rounding=rounding)


def fee(notional: Decimal, rate: Decimal) -> Decimal:
    return usd(notional * rate, ROUND_HALF_UP)


def sig(x: Decimal, digits: int = 8) -> Decimal:
    """`x` rounded to `digits` significant figures (display of derived prices such as entryPx)."""
    if x == 0:
        return Decimal(0)
    return x.quantize(Decimal(1).scaleb(x.adjusted() - digits + 1), rounding=ROUND_HALF_EVEN)


# --- parsing -------------------------------------------------------------------------------------------
def parse_decimal(value: object) -> Decimal | None:
    """A wire number (the SDK sends strings from `float_to_wire`); None if it is not a finite number."""
    if isinstance(value, bool) or not isinstance(value, str | int):
        return None
    try:
        number = Decimal(value)
    except InvalidOperation:
        return None
    return number if number.is_finite() else None


# --- tick and lot --------------------------------------------------------------------------------------
def valid_size(sz: Decimal, sz_decimals: int) -> bool:
    try:
        return sz > 0 and sz == sz.quantize(Decimal(1).scaleb(-sz_decimals), rounding=ROUND_FLOOR)
    except InvalidOperation:  # more digits than the context holds: not a lot multiple anyway
        return False


def valid_price(px: Decimal, sz_decimals: int) -> bool:
    """At most 5 significant figures and at most `6 - szDecimals` decimals; integers are always valid."""
    if px <= 0:
        return False
    if px == px.to_integral_value():
        return True
    normal = px.normalize()
    decimals = -int(normal.as_tuple().exponent)
    return len(normal.as_tuple().digits) <= MAX_SIG_FIGS and decimals <= MAX_PERP_DECIMALS - sz_decimals


def price_tick(px: Decimal, sz_decimals: int) -> Decimal:
    """The price increment at `px`: the 5th significant figure, never finer than the decimal limit and
    never coarser than 1 (integers are always valid)."""
    by_sig = Decimal(1).scaleb(px.adjusted() - MAX_SIG_FIGS + 1)
    by_decimals = Decimal(1).scaleb(-(MAX_PERP_DECIMALS - sz_decimals))
    return min(max(by_sig, by_decimals), Decimal(1))


def round_price(px: Decimal, sz_decimals: int, *, up: bool | None = None) -> Decimal:
    """The nearest valid price (`up` True: at or above, False: at or below, None: nearest)."""
    mode = ROUND_HALF_EVEN if up is None else (ROUND_CEILING if up else ROUND_FLOOR)
    result = px
    for _ in range(3):  # a rounding can cross a power of ten and change the tick once
        tick = price_tick(result, sz_decimals)
        result = (px / tick).to_integral_value(rounding=mode) * tick
        if valid_price(result, sz_decimals):
            return result.normalize()
    return result.normalize()


def round_size_down(sz: Decimal, sz_decimals: int) -> Decimal:
    return sz.quantize(Decimal(1).scaleb(-sz_decimals), rounding=ROUND_FLOOR)


def slippage_price(mid: Decimal, is_buy: bool, sz_decimals: int) -> Decimal:
    """The aggressive limit price of a market order, computed as the SDK's `_slippage_price` does."""
    factor = 1 + MARKET_SLIPPAGE if is_buy else 1 - MARKET_SLIPPAGE
    return round_price(mid * factor, sz_decimals, up=is_buy)
