"""The stats report: cloids named by each action kind, and outcomes read from responses."""

from __future__ import annotations

from typing import Any

import pytest

from adapters.localnet.stats import ExchangeStats, cloids_of, outcome_of

C1 = "0x" + "00" * 15 + "01"
C2 = "0x" + "00" * 15 + "02"


@pytest.mark.parametrize(
    ("action", "expected"),
    [
        ({"type": "order", "orders": [{"a": 1, "c": C1}, {"a": 1}, {"a": 2, "c": C2}]}, [C1, C2]),
        ({"type": "cancelByCloid", "cancels": [{"asset": 1, "cloid": C2}]}, [C2]),
        ({"type": "modify", "oid": 5, "order": {"a": 1, "c": C1}}, [C1]),
        (
            {"type": "batchModify", "modifies": [{"oid": 5, "order": {"c": C2}}, {"oid": 6, "order": {}}]},
            [C2],
        ),
        ({"type": "cancel", "cancels": [{"a": 1, "o": 5}]}, []),
        ({"type": "order", "orders": "garbage"}, []),
    ],
)
def test_cloids_of(action: dict[str, Any], expected: list[str]) -> None:
    assert cloids_of(action) == expected


def test_outcomes() -> None:
    resting = {"status": "ok", "response": {"type": "order", "data": {"statuses": [{"resting": {"oid": 1}}]}}}
    refused = {
        "status": "ok",
        "response": {"type": "order", "data": {"statuses": [{"error": "Order has invalid size."}]}},
    }
    assert outcome_of(200, resting)["outcome"] == "ok"
    assert outcome_of(200, refused) == {
        "outcome": "rejected",
        "error": "Order has invalid size.",
        "statuses": [{"error": "Order has invalid size."}],
    }
    assert outcome_of(200, {"status": "err", "response": "Action already expired"}) == {
        "outcome": "err",
        "error": "Action already expired",
    }
    assert outcome_of(200, {"status": "ok", "response": {"type": "default"}}) == {
        "outcome": "ok",
        "error": None,
    }
    assert outcome_of(429, "Too many")["outcome"] == "http429"


def test_report_since_and_clear() -> None:
    stats = ExchangeStats()
    first = stats.open(10)
    first.signer, first.user, first.action, first.nonce = "0xs", "0xu", {"type": "noop"}, 7
    first.response = {"status": "ok", "response": {"type": "default"}}
    stats.open(20).response = {"status": "err", "response": "nope"}
    assert [r["recvNs"] for r in stats.report()] == [10, 20]
    assert stats.report(1)[0]["error"] == "nope"
    assert stats.report()[0] == {
        "recvNs": 10,
        "signer": "0xs",
        "user": "0xu",
        "action": "noop",
        "cloids": [],
        "nonce": 7,
        "httpStatus": 200,
        "outcome": "ok",
        "error": None,
    }
    stats.clear()
    assert len(stats) == 0
