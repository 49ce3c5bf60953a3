"""Parsing of every recorded /info answer (values checked against the YAML) and of today's shapes."""

from __future__ import annotations

import json
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest

from adapters.hyperliquid.parsing import (
    ParseError,
    builder_asset_offset,
    load_fills_file,
    parse_all_mids,
    parse_clearinghouse_state,
    parse_historical_orders,
    parse_l2_book,
    parse_meta,
    parse_open_orders,
    parse_order_status,
    parse_perp_dexs,
    parse_spot_usdc,
    parse_user_fills,
    parse_user_rate_limit,
    read_cassette,
)
from bot.domain import Side, SourceFill
from tests.hyperliquid.recorded import FIXTURES, USER_FILLS, USER_FILLS_BY_TIME, response

D = Decimal
ADDRESS = "0x5e9ee1089755c3435139848e47e6635505d5a13a"

# Today's userFills item (shape from the venue's API docs: tid, feeToken, builderFee, twapId).
TODAY_FILL: dict[str, Any] = {
    "coin": "ETH",
    "px": "3012.5",
    "sz": "0.0500",
    "side": "A",
    "time": 1755863118217,
    "startPosition": "0.03",
    "dir": "Long > Short",
    "closedPnl": "1.2",
    "hash": "0xabc",
    "oid": 141682155424,
    "crossed": True,
    "fee": "0.067781",
    "tid": 904455566273117,
    "feeToken": "USDC",
    "builderFee": "0.001",
    "twapId": None,
}


def test_every_fixture_is_a_readable_cassette() -> None:
    names = sorted(p.name for p in FIXTURES.glob("*.yaml"))
    assert len(names) == 9
    for name in names:
        pairs = read_cassette(FIXTURES / name)
        assert pairs and all("type" in request for request, _ in pairs), name


def test_meta() -> None:
    instruments = parse_meta(response("test_get_info.yaml", "meta"))
    assert len(instruments) == 28
    by_coin = {i.coin: i for i in instruments}
    assert (
        by_coin["BTC"].asset == 0 and by_coin["BTC"].sz_decimals == 5 and by_coin["BTC"].lot == D("0.00001")
    )
    assert by_coin["ETH"].asset == 1 and by_coin["ETH"].sz_decimals == 4
    assert by_coin["kPEPE"].sz_decimals == 0 and by_coin["kPEPE"].lot == 1
    assert by_coin["APT"].asset == 27 and by_coin["APT"].max_leverage == 50


def test_meta_skips_delisted_but_keeps_asset_ids() -> None:
    payload = {
        "universe": [
            {"name": "BTC", "szDecimals": 5, "maxLeverage": 40},
            {"name": "OLD", "szDecimals": 1, "maxLeverage": 3, "isDelisted": True},
            {"name": "ETH", "szDecimals": 4, "maxLeverage": 25, "marginTableId": 2},
        ]
    }
    assert [(i.coin, i.asset) for i in parse_meta(payload)] == [("BTC", 0), ("ETH", 2)]


def test_all_mids() -> None:
    mids = parse_all_mids(response("test_get_all_mids.yaml", "allMids"))
    assert len(mids) == 28
    assert mids["BTC"] == D("30135.0") and mids["kPEPE"] == D("0.001565") and mids["SOL"] == D("26.516")
    assert all(isinstance(v, Decimal) for v in mids.values())


def test_clearinghouse_state_2023() -> None:
    state = parse_clearinghouse_state(ADDRESS, response("test_get_user_state.yaml", "clearinghouseState"))
    assert state.address == ADDRESS
    assert state.equity == D("1182.312496")
    assert state.time_ms == 0  # not in 2023 answers: unknown
    assert [p.coin for p in state.positions][:3] == ["BTC", "ETH", "ATOM"]
    assert len(state.positions) == 12
    btc = state.positions[0]
    assert btc.size == D("-0.00785") and btc.entry_px == D("26951.0") and btc.leverage == 20
    assert btc.unrealized_pnl == D("-0.08007")
    assert state.size("ARB") == D("246.5") and state.size("SUI") == 0


def test_clearinghouse_state_today_adds_spot_usdc() -> None:
    payload: dict[str, Any] = {
        "assetPositions": [
            {
                "type": "oneWay",
                "position": {
                    "coin": "ETH",
                    "szi": "-1.25",
                    "entryPx": "3000.1",
                    "leverage": {"type": "isolated", "value": 5, "rawUsd": "4000"},
                    "unrealizedPnl": "-12.5",
                    "cumFunding": {"allTime": "1.0", "sinceOpen": "0.5", "sinceChange": "0.1"},
                    "liquidationPx": None,
                    "marginUsed": "750.0",
                    "maxLeverage": 25,
                    "positionValue": "3762.6",
                    "returnOnEquity": "-0.01",
                },
            },
            {"type": "oneWay", "position": {"coin": "BTC", "szi": "0.0", "entryPx": None, "leverage": None}},
        ],
        "marginSummary": {"accountValue": "1000.5", "totalMarginUsed": "750.0"},
        "crossMarginSummary": {"accountValue": "250.5"},
        "withdrawable": "250.0",
        "time": 1755863118000,
    }
    spot = parse_spot_usdc({"balances": [{"coin": "HYPE", "total": "3"}, {"coin": "USDC", "total": "99.25"}]})
    state = parse_clearinghouse_state("0xabc", payload, spot)
    assert state.equity == D("1099.75")
    assert state.time_ms == 1755863118000
    assert [(p.coin, p.size, p.leverage) for p in state.positions] == [("ETH", D("-1.25"), 5)]
    assert parse_clearinghouse_state("0xabc", payload, time_ms=7).time_ms == 7
    assert parse_spot_usdc({"balances": []}) == 0


def test_an_account_on_several_dexes_sums_their_values_and_lists_every_position() -> None:
    """HIP-3: each perp dex answers its own clearinghouseState; E = Σ accountValue + spot USDC."""

    def answer(coin: str, szi: str, value: str) -> dict[str, object]:
        position = {"coin": coin, "szi": szi, "entryPx": "1", "leverage": {"type": "isolated", "value": 3}}
        return {
            "assetPositions": [{"type": "oneWay", "position": position}],
            "marginSummary": {"accountValue": value},
        }

    state = parse_clearinghouse_state(
        "0xabc",
        answer("ETH", "1", "1000.5"),
        D("10"),
        time_ms=1,
        dexes={"test": answer("test:GOLD", "-2", "250.25")},
    )
    assert state.equity == D("1260.75")
    assert [(p.coin, p.size) for p in state.positions] == [("ETH", D(1)), ("test:GOLD", D(-2))]
    with pytest.raises(ParseError, match=r"clearinghouseState\[dex=test\]\.marginSummary: missing"):
        parse_clearinghouse_state("0xabc", answer("ETH", "1", "1"), dexes={"test": {"assetPositions": []}})


def test_builder_dex_ids_and_the_perp_dexs_answer() -> None:
    assert [builder_asset_offset(i) for i in (1, 2, 3)] == [110_000, 120_000, 130_000]
    with pytest.raises(ValueError, match="default dex"):
        builder_asset_offset(0)
    assert parse_perp_dexs([None, {"name": "xyz"}, {"name": "flx"}]) == ["", "xyz", "flx"]
    with pytest.raises(ParseError, match=r"perpDexs\[0\]: expected null"):
        parse_perp_dexs([{"name": "xyz"}])
    meta = {"universe": [{"name": "xyz:TSLA", "szDecimals": 3, "maxLeverage": 10, "onlyIsolated": True}]}
    (tsla,) = parse_meta(meta, builder_asset_offset(1))
    assert (tsla.asset, tsla.dex, tsla.only_isolated) == (110_000, "xyz", True)


def test_user_fills_2023() -> None:
    fills = load_fills_file(USER_FILLS)
    assert len(fills) == 500
    first = fills[0]  # the venue lists newest first
    assert first == SourceFill(
        coin="SUI",
        px=D("1.3189"),
        sz=D("142.7"),
        side=Side.SELL,
        time_ms=1683245884863,
        oid=189324432,
        tid=None,
        start_position=D("4623.5"),
        hash="0x3d4770d0527317ef77c404017559cb0103000b34010cc95e97b437cbc3b6087a",
        dir="Close Long",
        closed_pnl=D("-0.25686"),
        fee=D("0.0"),
        crossed=True,
    )
    assert first.signed_sz == D("-142.7")
    assert {f.coin for f in fills} >= {"SUI", "INJ", "BTC", "ETH"}
    assert sum(f.dir in {"Long > Short", "Short > Long"} for f in fills) == 22
    assert all(f.tid is None for f in fills)


def test_user_fills_by_time_is_the_same_history() -> None:
    assert load_fills_file(USER_FILLS_BY_TIME) == load_fills_file(USER_FILLS)


def test_user_fills_today_shape() -> None:
    (fill,) = parse_user_fills([TODAY_FILL])
    assert fill.tid == 904455566273117 and fill.side is Side.SELL and fill.sz == D("0.05")
    assert fill.start_position == D("0.03") and fill.signed_sz == D("-0.05") and fill.fee == D("0.067781")


def test_load_fills_file_accepts_json_list_and_websocket_messages(tmp_path: Path) -> None:
    for name, doc in {
        "list.json": [TODAY_FILL],
        "data.json": {"isSnapshot": True, "user": "0xabc", "fills": [TODAY_FILL]},
        "message.json": {"channel": "userFills", "data": {"user": "0xabc", "fills": [TODAY_FILL]}},
    }.items():
        path = tmp_path / name
        path.write_text(json.dumps(doc))
        assert load_fills_file(path) == parse_user_fills([TODAY_FILL]), name


def test_load_fills_file_refuses_a_cassette_without_fills() -> None:
    with pytest.raises(ParseError, match="no userFills"):
        load_fills_file(FIXTURES / "test_get_all_mids.yaml")


def test_l2_book() -> None:
    book = parse_l2_book(response("test_get_l2_snapshot.yaml", "l2Book"))
    assert book.coin == "DYDX" and book.time_ms == 1689630203930
    assert len(book.bids) == 20 and len(book.asks) == 20
    assert (book.bids[0].px, book.bids[0].sz, book.bids[0].n) == (D("2.111"), D("134.4"), 1)
    assert (book.asks[0].px, book.asks[0].sz, book.asks[0].n) == (D("2.1124"), D("352.3"), 2)
    assert book.bids[0].px < book.asks[0].px


def test_open_orders() -> None:
    orders = parse_open_orders(response("test_get_open_orders.yaml", "openOrders"))
    assert len(orders) == 196
    first = orders[0]
    assert (first.coin, first.side, first.limit_px, first.sz, first.oid, first.timestamp_ms) == (
        "MATIC",
        Side.BUY,
        D("1.0357"),
        D("208.7"),
        62269971,
        1679940217356,
    )
    assert orders[-1].coin == "AVAX" and orders[-1].sz == D("232.88")


def test_historical_orders_and_order_status() -> None:
    items = parse_historical_orders(response("test_historical_orders.yaml", "historicalOrders"))
    assert len(items) == 5
    assert items[0].status == "iocCancelRejected" and items[0].order.coin == "TON"
    assert items[0].order.tif == "Ioc" and items[0].order.cloid is None
    assert items[-1].status == "canceled" and items[-1].order.orig_sz == D("1614.3")
    raw = response("test_historical_orders.yaml", "historicalOrders")[0]
    status = parse_order_status({"status": "order", "order": raw})
    assert status == items[0]
    assert parse_order_status({"status": "unknownOid"}) is None


def test_user_rate_limit() -> None:
    limit = parse_user_rate_limit(response("test_user_rate_limit.yaml", "userRateLimit"))
    assert limit.cum_vlm == D("170043721737.450012207")
    assert (limit.n_requests_used, limit.n_requests_cap) == (36589831368, 170043731737)


@pytest.mark.parametrize(
    ("change", "message"),
    [
        ({"sz": None}, r"userFills\[0\]\.sz: expected a decimal string"),
        ({"sz": 0.05}, r"userFills\[0\]\.sz: expected a decimal string, got float"),
        ({"sz": "-1"}, r"userFills\[0\]\.sz: expected a positive decimal"),
        ({"px": "NaN"}, r"userFills\[0\]\.px: expected a finite decimal"),
        ({"px": "abc"}, r"userFills\[0\]\.px: expected a decimal string, got 'abc'"),
        ({"side": "S"}, r"userFills\[0\]\.side: expected 'B' \(buy\) or 'A' \(sell\), got 'S'"),
        ({"time": "1683245884863"}, r"userFills\[0\]\.time: expected an integer"),
        ({"oid": True}, r"userFills\[0\]\.oid: expected an integer"),
        ({"tid": "x"}, r"userFills\[0\]\.tid: expected an integer"),
        ({"crossed": "yes"}, r"userFills\[0\]\.crossed: expected true or false"),
    ],
)
def test_bad_fill_names_the_field(change: dict[str, Any], message: str) -> None:
    with pytest.raises(ParseError, match=message):
        parse_user_fills([{**TODAY_FILL, **change}])


def test_missing_field_is_named() -> None:
    raw = {k: v for k, v in TODAY_FILL.items() if k != "startPosition"}
    with pytest.raises(ParseError, match=r"userFills\[0\]\.startPosition: missing"):
        parse_user_fills([raw])


@pytest.mark.parametrize(
    ("call", "message"),
    [
        (lambda: parse_user_fills({"fills": []}), r"userFills: expected a list, got dict"),  # type: ignore[arg-type]
        (lambda: parse_meta({"universe": [{"name": "X", "szDecimals": -1, "maxLeverage": 3}]}), "szDecimals"),
        (lambda: parse_all_mids({"BTC": 1.5}), r"allMids\.BTC: expected a decimal string, got float"),
        (
            lambda: parse_clearinghouse_state("0x", {"assetPositions": []}),
            r"\.marginSummary: missing",
        ),
        (lambda: parse_l2_book({"coin": "X", "levels": [[]], "time": 1}), r"l2Book\.levels: expected"),
        (lambda: parse_order_status({"status": "weird"}), "expected 'order' or 'unknownOid'"),
    ],
)
def test_bad_payloads_raise_parse_error(call: Any, message: str) -> None:
    with pytest.raises(ParseError, match=message):
        call()


def test_bad_json_file(tmp_path: Path) -> None:
    path = tmp_path / "fills.json"
    path.write_text("[{")
    with pytest.raises(ParseError, match=r"fills\.json: not JSON"):
        load_fills_file(path)
    path.write_text(json.dumps({"channel": "trades", "data": []}))
    with pytest.raises(ParseError, match="channel: expected 'userFills'"):
        load_fills_file(path)
