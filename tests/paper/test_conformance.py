"""The venue conformance suite (tests/conformance/suite.py) run for `PaperVenue` over the Hyperliquid
localnet: a `PaperHarness` makes paper venues reading the localnet, and its trading accounts are paper
accounts. What a paper venue cannot do, because it executes nothing on the venue, is declared below with
the reason and shows as a skip."""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path
from typing import ClassVar

from tests.conformance.harness import Harness
from tests.conformance.suite import VenueConformance
from tests.paper.harness import PaperHarness

_NOTHING_SENT = "a paper venue sends no order to the venue, so no answer can be lost, time out or fail"


class TestPaper(VenueConformance):
    cannot: ClassVar[Mapping[str, str]] = {
        "test_a_lost_answer_is_unknown_and_the_lookup_finds_what_executed": _NOTHING_SENT,
        "test_a_timeout_is_unknown_never_resent": _NOTHING_SENT,
        "test_a_5xx_is_unknown_and_not_found_means_safe_to_place_again": _NOTHING_SENT,
        "test_a_large_ioc_fills_in_part_and_the_rest_is_cancelled": "a paper IOC fills in full at the mid",
        "test_schedule_cancel_cancels_open_orders_at_the_time_and_can_be_disarmed": (
            "the dead-man switch is a no-op on paper: nothing rests on the venue"
        ),
    }

    def make_harness(self, tmp_path: Path) -> Harness:
        return PaperHarness(tmp_path)
