"""The pipeline's commission (bot/pipeline/commission.py, SPEC §14) on its own: the approval read is
cached for its TTL, a failed read or a venue without builder codes never holds a copy back, and the
owner is told once per follow, not once per order."""

from __future__ import annotations

import dataclasses
from decimal import Decimal

from adapters.hyperliquid.venue import HyperliquidVenue
from adapters.localnet.server import LocalnetThread
from bot.alerts import AlertBus, AlertKind
from bot.domain import BuilderFee, OrderRequest, OrderResult, OrderStatus, Tif, TradingAccount
from bot.ledger import FollowPlan
from bot.pipeline.commission import NO_BUILDER_CODES, NOT_APPROVED, Commission
from bot.pipeline.desk import Desk, LoadedPlan
from bot.pipeline.tell import Teller
from strategies.engine import Follower
from strategies.model import Market
from tests.service.support import funded

SOURCE = "0x" + "5" * 40
BUILDER = "0x" + "b" * 40
ORDER = OrderRequest("ETH", True, Decimal("0.1"), Decimal(3000), False, Tif.IOC, "0x" + "1" * 32)


class Clock:
    now = 0.0

    def __call__(self) -> float:
        return self.now


def desk_for(address: str, key: str, rate: int = 10) -> Desk:
    desk = Desk(TradingAccount(address, key), Follower({"ETH": Market("ETH", 4)}))
    settings = {"commission_to": BUILDER, "commission_tenths_bp": rate}
    desk.plans[SOURCE] = LoadedPlan.of(
        FollowPlan(follower=address, source=SOURCE, version=1, settings=settings)
    )
    return desk


class Sent:
    """The order path's seam: what was handed to it, answered as filled."""

    def __init__(self) -> None:
        self.requests: list[OrderRequest] = []

    async def __call__(self, request: OrderRequest) -> OrderResult:
        self.requests.append(request)
        return OrderResult(OrderStatus.FILLED, request.cloid, 1, request.size, request.limit_px)


async def test_the_approval_is_read_once_per_ttl_and_an_approved_order_carries_the_builder() -> None:
    with LocalnetThread(seed=1) as net:
        master = funded(net.url, "pipeline-commission", "100")
        venue = HyperliquidVenue(net.url, data_dir=None)
        try:
            await venue.approve_builder_fee(master.key.hex(), BUILDER, 10)
            alerts, clock = AlertBus(), Clock()
            commission = Commission(venue, Teller(alerts, {}), ttl_s=60, clock=clock)
            desk, sent = desk_for(master.address.lower(), master.key.hex()), Sent()
            for _ in range(3):
                request, _ = await commission.send(desk, SOURCE, ORDER, sent)
                assert request.builder == BuilderFee(BUILDER, 10)
            assert commission.reads == 1
            clock.now = 61.0  # the TTL is over: read again
            await commission.send(desk, SOURCE, ORDER, sent)
            assert commission.reads == 2
            assert [r.builder for r in sent.requests] == [BuilderFee(BUILDER, 10)] * 4
            # Asked for more than approved: no builder, told once, the copy goes on.
            higher = desk_for(master.address.lower(), master.key.hex(), rate=11)
            for _ in range(2):
                request, result = await commission.send(higher, SOURCE, ORDER, sent)
                assert request.builder is None and result.status is OrderStatus.FILLED
            told = [a for a in alerts.recent if a.kind is AlertKind.COMMISSION]
            assert [(a.reason, a.details["tenths_bp"]) for a in told] == [(NOT_APPROVED, 11)]
            assert "approved: 10 tenths of a bp" in told[0].message
        finally:
            await venue.close()


async def test_a_failed_read_never_holds_a_copy_back_and_tells_nobody() -> None:
    venue = HyperliquidVenue("http://127.0.0.1:9", data_dir=None)  # discard port: refused at once
    try:
        alerts = AlertBus()
        commission = Commission(venue, Teller(alerts, {}))
        sent = Sent()
        request, result = await commission.send(desk_for("0x" + "f" * 40, "00" * 32), SOURCE, ORDER, sent)
        assert request.builder is None and result.status is OrderStatus.FILLED and sent.requests == [ORDER]
        assert not [a for a in alerts.recent if a.kind is AlertKind.COMMISSION]
    finally:
        await venue.close()


async def test_a_venue_without_builder_codes_copies_without_and_says_so_once() -> None:
    venue = HyperliquidVenue("http://127.0.0.1:9", data_dir=None)
    venue.capabilities = dataclasses.replace(venue.capabilities, builder_codes=False, max_builder_tenths_bp=0)
    try:
        alerts = AlertBus()
        commission = Commission(venue, Teller(alerts, {}))
        desk, sent = desk_for("0x" + "f" * 40, "00" * 32), Sent()
        for _ in range(3):
            request, _ = await commission.send(desk, SOURCE, ORDER, sent)
            assert request.builder is None
        assert commission.reads == 0  # nothing asked of a venue that has no builder codes
        (told,) = [a for a in alerts.recent if a.kind is AlertKind.COMMISSION]
        assert told.reason == NO_BUILDER_CODES and "no builder codes where it trades" in told.message
    finally:
        await venue.close()
