"""JSON from outside (venue answers and pushes, node files, requests to the localnet) parsed with its
nesting bounded BEFORE the parser sees it.

CPython's C JSON scanner recurses once per `[`/`{`: it stops at the interpreter's recursion limit with a
RecursionError, which most callers do not expect, and once a library has raised that limit (py-evm and
py_ecc set 100,000 on import) deep input overflows the C stack first: a segfault, the whole process
gone. So the depth is checked on the text, without recursion and without a Python loop per byte: the
strings are cut out and the brackets kept (two C-speed regex passes), then the innermost pairs are
removed once per level. Text with fewer brackets than the limit needs none of it.
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable
from typing import Any, AnyStr, Final

MAX_DEPTH: Final = 64  # deeper than anything Hyperliquid, a node file or a client of the localnet sends

_STRINGS: Final = re.compile(r'"(?:[^"\\]|\\.)*"', re.DOTALL)
_STRINGS_B: Final = re.compile(rb'"(?:[^"\\]|\\.)*"', re.DOTALL)
_NOT_BRACKET: Final = re.compile(r"[^\[\]{}]")
_NOT_BRACKET_B: Final = re.compile(rb"[^\[\]{}]")
_PAIR: Final = re.compile(r"\[\]|\{\}")
_PAIR_B: Final = re.compile(rb"\[\]|\{\}")


class TooDeep(ValueError):
    """Nested deeper than the limit, or brackets that do not pair up (never valid JSON)."""


def nesting_problem(text: str | bytes, limit: int = MAX_DEPTH) -> str | None:
    """None when `text`'s brackets outside strings nest at most `limit` deep; else what is wrong."""
    if isinstance(text, str):
        if text.count("[") + text.count("{") <= limit:
            return None  # too few brackets to nest deeper (a mismatch is the parser's to name)
        return _peel(_NOT_BRACKET.sub("", _STRINGS.sub("", text)), _PAIR, "", limit)
    if text.count(b"[") + text.count(b"{") <= limit:
        return None
    return _peel(_NOT_BRACKET_B.sub(b"", _STRINGS_B.sub(b"", text)), _PAIR_B, b"", limit)


def _peel(brackets: AnyStr, pair: re.Pattern[AnyStr], empty: AnyStr, limit: int) -> str | None:
    for _ in range(limit):  # one level a pass, innermost first
        if not brackets:
            return None
        brackets, removed = pair.subn(empty, brackets)
        if not removed:
            return "its brackets do not pair up"
    return None if not brackets else f"nested more than {limit} levels deep"


def loads(
    text: str | bytes,
    *,
    parse_float: Callable[[str], Any] | None = None,
    parse_int: Callable[[str], Any] | None = None,
    limit: int = MAX_DEPTH,
) -> Any:
    """`json.loads` for input from outside: TooDeep (a ValueError, as every malformed text raises) when
    it nests deeper than `limit` or its brackets do not pair up."""
    problem = nesting_problem(text, limit)
    if problem is not None:
        raise TooDeep(f"not JSON: {problem}")
    return json.loads(text, parse_float=parse_float, parse_int=parse_int)
