"""The venue conformance suite (suite.py) for the real venue adapters: one class per venue."""

from __future__ import annotations

from pathlib import Path

from tests.conformance.harness import Harness, HyperliquidHarness
from tests.conformance.suite import VenueConformance
from tests.gmx.harness import GmxHarness  # GMX's doubles on an in-process EVM (tests/gmx)
from tests.paper import test_conformance as paper


class TestHyperliquid(VenueConformance):
    def make_harness(self, tmp_path: Path) -> Harness:
        return HyperliquidHarness(tmp_path)  # the real localnet on a thread


class TestGmx(VenueConformance):
    def make_harness(self, tmp_path: Path) -> Harness:
        return GmxHarness(tmp_path)


def test_every_declared_skip_names_a_test_of_the_suite() -> None:
    # A renamed or misspelt name would otherwise run the test it meant to skip, or skip nothing.
    suite = {name for name in dir(VenueConformance) if name.startswith("test_")}
    for venue in (TestHyperliquid, TestGmx, paper.TestPaper):
        assert set(venue.cannot) <= suite, venue.__name__
