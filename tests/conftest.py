"""Suite-wide test settings, and each test's kind as a marker (`make test-fast` runs the fast kinds)."""

from __future__ import annotations

import os
from pathlib import Path

import pytest
from hypothesis import HealthCheck, settings

# Hypothesis' per-example deadline is a wall-clock assertion: it flakes on a loaded 2-core CI machine,
# so it is off everywhere. CI runs derandomised, so a red build is reproducible from its log.
settings.register_profile("dev", deadline=None, suppress_health_check=[HealthCheck.too_slow])
settings.register_profile("ci", parent=settings.get_profile("dev"), derandomize=True, print_blob=True)
settings.load_profile("ci" if os.environ.get("CI") == "true" else "dev")

TESTS = Path(__file__).resolve().parent

# The kind of a test is given by where it lives (the longest matching path wins), so nobody has to
# remember a decorator. `unit`: in process, no server, no subprocess (a SQLite file is fine);
# `e2e`: the product as a user runs it (processes, the whole pipeline); anything else is `integration`
# (a localnet, a fake Bot API, a database). Hypothesis tests are also marked `property`, wherever they live.
KINDS: dict[str, str] = {
    "unit": "unit",
    "strategies": "unit",
    "normalise": "unit",
    "localnet/test_core_": "unit",  # the exchange core in process, without its server
    "risk/test_guards.py": "unit",
    "risk/test_settings.py": "unit",
    "service/test_settings.py": "unit",
    "service/test_coverage.py": "unit",
    "hyperliquid/test_parsing.py": "unit",
    "hyperliquid/test_signer.py": "unit",
    "hyperliquid/test_wire.py": "unit",
    "hyperliquid/test_nonces.py": "unit",
    "ledger/test_ids.py": "unit",
    "bus/test_codec.py": "unit",
    "ledger/test_types.py": "unit",
    "simulate/test_scenario_errors.py": "unit",
    "simulate/test_scenario_steps.py": "unit",
    "simulate/test_fills_replay.py": "unit",
    "analytics/test_fixture_invariants.py": "unit",
    "analytics/test_properties.py": "unit",
    "analytics/test_stats_hand.py": "unit",
    "analytics/test_backtest_hand.py": "unit",
    "gmx/test_decoding.py": "unit",
    "gmx/test_doubles.py": "unit",
    "protect/test_trigger_wire.py": "unit",
    "ops/test_metrics.py": "unit",
    "ops/test_password_file.py": "unit",
    "ops/test_audit_chain.py": "unit",
    "ops/test_venue_down.py": "e2e",  # `mirrorbot run` as a process
    "ops/test_ops_server.py": "e2e",  # `mirrorbot run` as a process too
    "e2e": "e2e",
    "restart": "e2e",
    "cluster": "e2e",  # the distributed roles as processes (localnet + Redis + PostgreSQL)
    "cluster/test_member.py": "integration",  # shares of the work, in process, on both databases
    "simulate/test_worked_examples.py": "e2e",  # the `mirrorbot simulate` command as a process
    "telegram/test_e2e.py": "e2e",
}
DEFAULT_KIND = "integration"


def kind_of(path: Path) -> str:
    """The kind of the tests in `path` (a file under tests/)."""
    where = path.resolve().relative_to(TESTS).as_posix()
    matches = [p for p in KINDS if where == p or where.startswith(p if p.endswith("_") else p + "/")]
    return KINDS[max(matches, key=len)] if matches else DEFAULT_KIND


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    for item in items:
        item.add_marker(kind_of(item.path))
        if getattr(getattr(item, "obj", None), "is_hypothesis_test", False):
            item.add_marker("property")
