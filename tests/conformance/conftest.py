"""The venue factory the conformance suite is parametrised by (one entry per venue harness)."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from tests.conformance.harness import HARNESSES, Harness, unique_sdk_nonce


@pytest.fixture(autouse=True)
def unique_sdk_nonces(monkeypatch: pytest.MonkeyPatch) -> None:
    """A leader trading through the SDK twice in one millisecond must not reuse a nonce."""
    monkeypatch.setattr("hyperliquid.exchange.get_timestamp_ms", unique_sdk_nonce)


@pytest.fixture(params=sorted(HARNESSES))
async def harness(request: pytest.FixtureRequest, tmp_path: Path) -> AsyncIterator[Harness]:
    made = HARNESSES[request.param](tmp_path)
    try:
        yield made
    finally:
        await made.aclose()
