"""The cross-venue tests run the bot on a real localnet (the e2e world) with the GMX double as source,
reached over HTTP JSON-RPC (`bridge`) as a real node would be."""

from collections.abc import AsyncIterator
from decimal import Decimal

import pytest

from tests.e2e.conftest import db_url, localnet, unique_sdk_nonces, world
from tests.gmx.evm import GmxChainDouble
from tests.gmx.harness import shared_chain
from tests.gmx.rpc import RpcBridge

__all__ = ["bridge", "chain", "db_url", "localnet", "unique_sdk_nonces", "world"]


@pytest.fixture
async def chain() -> GmxChainDouble:
    """The shared chain, its keeper executing at once, at known prices."""
    chain = shared_chain()
    chain.keeper_auto, chain.cancel_reason, chain.freeze_reason = True, None, None
    await chain.set_price("WETH", Decimal(3000))
    await chain.set_price("BTC", Decimal(60000))
    return chain


@pytest.fixture
async def bridge(chain: GmxChainDouble) -> AsyncIterator[RpcBridge]:
    served = await RpcBridge(chain).start()
    try:
        yield served
    finally:
        await served.stop()
