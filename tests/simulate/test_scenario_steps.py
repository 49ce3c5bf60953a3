"""The step keys beyond the worked examples: follow on/off, Copy Current waiting, mids, fills, pause."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from tests.simulate.helpers import orders, simulate

SOL = {"SOL": {"sz_decimals": 2, "max_leverage": 20}}
EQUITIES = {"source_equity": "20000", "follower_equity": "2000"}


def test_a_follow_started_later_sees_the_sizes_given_with_it(tmp_path: Path) -> None:
    doc: dict[str, Any] = {
        "instruments": SOL,
        "follow": {"copy_current": True},
        "steps": [
            {**EQUITIES, "mids": {"SOL": "150"}, "source": {"SOL": "-40"}, "follow": False},
            {"source": {"SOL": "-20"}},
            {"follow": True, "source": {"SOL": "-30"}},
            {"follow": False, "unfollow": "close", "source": {"SOL": "-10"}},
        ],
    }
    lines = simulate(doc, tmp_path)
    assert orders(lines) == [
        (0, None, "not_following"),
        (1, None, "not_following"),
        (2, "sell", "3", False),  # joined at the follow: ρ = 0.1, −30 → −3
        (3, "buy", "3", True),  # unfollow close
    ]
    assert [line["event"] for line in lines] == ["open", "decrease", "copy_current", "unfollow"]


def test_copy_current_waits_for_the_mid_then_joins_on_a_mid_update(tmp_path: Path) -> None:
    doc: dict[str, Any] = {
        "instruments": SOL,
        "follow": {"copy_current": True, "copy_current_max_deviation": "0.02"},
        "steps": [
            {**EQUITIES, "mids": {"SOL": "150"}, "source": {"SOL": "-40"}, "follow": False},
            {"mids": {"SOL": "160"}, "follow": True},
            {"mids": {"SOL": "155"}},
            {"mids": {"SOL": "152"}},
        ],
    }
    lines = simulate(doc, tmp_path)
    assert orders(lines)[1:] == [
        (1, None, "copy_current_deviation"),
        (2, None, "copy_current_deviation"),
        (3, "sell", "4", False),
    ]
    assert lines[3]["event"] == "copy_current"


def test_a_residual_is_sent_by_a_mid_update_or_a_reconcile(tmp_path: Path) -> None:
    doc: dict[str, Any] = {
        "instruments": SOL,
        "steps": [
            {"source_equity": "100000", "follower_equity": "120", "mids": {"SOL": "150"}},
            {"source": {"SOL": "50"}},  # τ = 0.06: $9, deferred
            {"mids": {"SOL": "170"}},  # $10.2: sent
            {"source": {"SOL": "500"}, "fill": "0.5"},  # τ = 0.6, buy 0.54, half fills
            {"pause": True},
            {"reconcile": True},  # growth withheld while paused
            {"pause": False, "reconcile": True},
        ],
    }
    lines = simulate(doc, tmp_path)
    assert orders(lines)[1:] == [
        (1, None, "deferred_min_notional"),
        (2, "buy", "0.06", False),
        (3, "buy", "0.54", False),
        (4, None, "paused"),
        (5, None, "paused"),
        (6, "buy", "0.27", False),
    ]
    assert [line["position"] for line in lines[3:]] == ["0.33", "0.33", "0.33", "0.6"]


def test_filters_guards_and_leverage_options_in_the_follow(tmp_path: Path) -> None:
    doc: dict[str, Any] = {
        "instruments": {**SOL, "ETH": {"sz_decimals": 4}},
        "follow": {
            "strategy": "fixed_ratio",
            "ratio": "0.1",
            "exclude": ["ETH"],
            "max_source_leverage": "10",
            "max_notional_token": "450",
            "slippage_cap": "0.02",
        },
        "steps": [
            {**EQUITIES, "mids": {"SOL": "150", "ETH": "3000"}},
            {"source": {"SOL": "40", "ETH": "1"}, "source_leverage": {"SOL": "20"}},
            {"source": {"SOL": "80"}},
            {"source": {"SOL": "40"}},
        ],
    }
    lines = simulate(doc, tmp_path)
    assert orders(lines)[:2] == [(0, None, "in_sync"), (0, None, "token_excluded")]  # SOL, then ETH's mid
    assert orders(lines)[2:] == [
        (1, "buy", "2", False),  # 40 × 0.1 × 10/20
        (1, None, "token_excluded"),
        (2, "buy", "1", False),  # wants 4, capped at $450 = 3 SOL
        (3, "sell", "1.5", True),  # −50 % of the capped target
    ]
    assert [line["reason"] for line in lines[2:]] == [
        "source_leverage_capped",
        "token_excluded",
        "max_notional_token",
        None,
    ]


def test_resume_sends_a_residual_that_a_mid_move_made_large_enough_during_the_pause(tmp_path: Path) -> None:
    doc: dict[str, Any] = {
        "instruments": SOL,
        "steps": [
            {"source_equity": "100000", "follower_equity": "120", "mids": {"SOL": "150"}},
            {"source": {"SOL": "50"}},  # τ = 0.06: $9, deferred
            {"pause": True},
            {"mids": {"SOL": "170"}},  # $10.2 now, but withheld while paused
            {"pause": False},  # resuming re-examines the pair: sent
            {"reconcile": True},  # nothing left
        ],
    }
    assert orders(simulate(doc, tmp_path))[1:] == [
        (1, None, "deferred_min_notional"),
        (2, None, "paused"),
        (3, None, "paused"),
        (4, "buy", "0.06", False),
        (5, None, "in_sync"),
    ]
