"""Each test's kind comes from where it lives (tests/conftest.py), so `make test-fast` cannot miss one."""

from __future__ import annotations

import pytest

from tests.conftest import KINDS, TESTS, kind_of


@pytest.mark.parametrize(
    ("path", "kind"),
    [
        ("unit/test_layering.py", "unit"),
        ("localnet/test_core_orders.py", "unit"),
        ("localnet/test_wire_exchange.py", "integration"),
        ("e2e/test_demo.py", "e2e"),
        ("simulate/test_worked_examples.py", "e2e"),
        ("simulate/test_scenario_steps.py", "unit"),
        ("pipeline/test_hotpath.py", "integration"),
    ],
)
def test_a_test_gets_the_kind_of_where_it_lives(path: str, kind: str) -> None:
    assert kind_of(TESTS / path) == kind


def test_every_entry_of_the_kind_map_names_something_that_exists() -> None:
    # A renamed file or folder would otherwise fall back to `integration` without a word.
    for prefix in KINDS:
        found = (TESTS / prefix).exists() or any(TESTS.glob(f"{prefix}*.py"))
        assert found, f"tests/conftest.py KINDS names {prefix!r}, which does not exist"


def test_this_test_is_marked_unit(request: pytest.FixtureRequest) -> None:
    assert request.node.get_closest_marker("unit") is not None
    assert request.node.get_closest_marker("integration") is None
