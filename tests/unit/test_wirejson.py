"""Nesting bounded before the JSON parser sees outside input (bot/domain/wirejson.py)."""

from __future__ import annotations

import json
import subprocess
import sys
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from bot.domain import wirejson

# strings full of what the bracket scan must skip: brackets, quotes, backslashes, escapes
tricky_text = st.text(alphabet='[]{}"\\/ab\n\u00e9', max_size=8)
values = st.recursive(
    st.none() | st.booleans() | st.integers() | tricky_text,
    lambda inner: st.lists(inner, max_size=3) | st.dictionaries(tricky_text, inner, max_size=3),
    max_leaves=40,
)


def depth(value: Any) -> int:
    if isinstance(value, list):
        return 1 + max((depth(v) for v in value), default=0)
    if isinstance(value, dict):
        return 1 + max((depth(v) for v in value.values()), default=0)
    return 0


@settings(max_examples=300, deadline=None)
@given(value=values, limit=st.integers(min_value=0, max_value=8), as_bytes=st.booleans())
def test_the_bound_is_the_documents_depth(value: Any, limit: int, as_bytes: bool) -> None:
    text = json.dumps(value, ensure_ascii=False)
    data: str | bytes = text.encode() if as_bytes else text
    if depth(value) <= limit:
        assert wirejson.nesting_problem(data, limit) is None
        assert wirejson.loads(data, limit=limit) == value
    else:
        assert wirejson.nesting_problem(data, limit) == f"nested more than {limit} levels deep"
        with pytest.raises(wirejson.TooDeep):
            wirejson.loads(data, limit=limit)


def test_unpaired_brackets_are_refused_before_parsing() -> None:
    assert wirejson.nesting_problem("[" * 100, 64) == "its brackets do not pair up"
    assert wirejson.nesting_problem("[" * 70 + "}" * 70, 64) == "its brackets do not pair up"
    assert wirejson.nesting_problem('["' + "[" * 100 + '"]', 64) is None  # inside a string: text
    with pytest.raises(ValueError, match="do not pair up"):
        wirejson.loads(b"[" * 100)


def test_deep_input_cannot_crash_a_process_whose_recursion_limit_was_raised() -> None:
    """py-evm and py_ecc raise the limit to 100,000 on import; then `json.loads` of 200,000 `[`
    overflows the C stack (a segfault: this test's process ended with -11 before wirejson)."""
    script = (
        "import sys\n"
        "sys.setrecursionlimit(100_000)\n"
        "from bot.domain import wirejson\n"
        "for deep in ('[' * 200_000, b'{\"a\":' * 200_000):\n"
        "    try:\n"
        "        wirejson.loads(deep)\n"
        "    except ValueError as exc:\n"
        "        print(exc)\n"
    )
    done = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, timeout=60)
    assert done.returncode == 0, done.stderr[-500:]
    assert done.stdout.splitlines() == ["not JSON: its brackets do not pair up"] * 2
