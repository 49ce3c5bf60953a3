"""`mirrorbot demo` (for now: the leader trading on the embedded localnet), run briefly."""

from __future__ import annotations

import json
from pathlib import Path

from bot.demo import SCRIPT, run_demo


def test_demo_trades_and_writes_its_summary(tmp_path: Path) -> None:
    summary_path = tmp_path / "summary.json"
    assert run_demo(duration=2.0, followers=2, summary_json=summary_path, port=0) == 0
    summary = json.loads(summary_path.read_text())
    assert summary["errors"] == []
    assert summary["orders"] == len(SCRIPT)
    assert summary["fills"] >= len(SCRIPT)  # every step is an IOC that fills (possibly in pieces)
    assert summary["exchangeRequests"] == len(SCRIPT)
    assert len(summary["followers"]) == 2
    assert summary["localnetUrl"].startswith("http://127.0.0.1:")


def test_demo_refuses_a_nonsense_duration() -> None:
    assert run_demo(duration=0, followers=1, summary_json=None, port=0) == 2
