"""The conformance tests' environment (each venue's harness is named by its test class: suite.py)."""

from __future__ import annotations

import pytest

from tests.conformance.harness import unique_sdk_nonce


@pytest.fixture(autouse=True)
def unique_sdk_nonces(monkeypatch: pytest.MonkeyPatch) -> None:
    """A leader trading through the SDK twice in one millisecond must not reuse a nonce."""
    monkeypatch.setattr("hyperliquid.exchange.get_timestamp_ms", unique_sdk_nonce)
