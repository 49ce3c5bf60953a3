"""The live volatility tests: a localnet whose clock starts 31 hours in the past, so a test can give it
an hourly price history (each hour's mid set while its clock stands in that hour) before it catches up
with the wall clock; the e2e world (SQLite) on it."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from adapters.localnet.server import LocalnetThread
from tests.conformance.harness import SteppedClock
from tests.e2e.conftest import db_url, unique_sdk_nonces, world

__all__ = ["db_url", "unique_sdk_nonces", "world"]

HOUR_MS = 3_600_000
HISTORY_HOURS = 31


@pytest.fixture
def clock() -> SteppedClock:
    stepped = SteppedClock()
    stepped.offset_ms = -HISTORY_HOURS * HOUR_MS
    return stepped


@pytest.fixture
def localnet(clock: SteppedClock) -> Iterator[LocalnetThread]:
    with LocalnetThread(seed=3, clock_ms=clock) as net:
        yield net
