"""The audit export's hash chain (bot/ops/audit_export.py): any edited, removed or reordered line of
any export is found; a chain rebuilt without the key fails its MAC."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from bot.ops.audit_export import (
    MAX_LINE_CHARS,
    AuditFileError,
    Pseudonyms,
    chain_lines,
    read_lines,
    verify_lines,
    verify_text,
)

T0, T1 = datetime(2026, 12, 1, tzinfo=UTC), datetime(2026, 12, 2, tzinfo=UTC)
KEY = bytes(range(32))
ADDRESS = "0x5e9ee1089755c3435139848e47e6635505d5a13a"


def export(records: list[dict[str, Any]], key: bytes = KEY) -> list[str]:
    return list(chain_lines(records, Pseudonyms(key), since=T0, until=T1, made_at=T1))


records = st.lists(
    st.fixed_dictionaries(
        {
            "decision": st.fixed_dictionaries(
                {"coin": st.sampled_from(["ETH", "BTC"]), "delta": st.integers(-5, 5).map(str)}
            )
        }
    ),
    min_size=2,
    max_size=6,
)


@settings(max_examples=60, deadline=None)
@given(records=records, data=st.data())
def test_any_edit_removal_or_reordering_is_found(records: list[dict[str, Any]], data: st.DataObject) -> None:
    lines = export(records)
    assert verify_lines(lines, KEY).conversions == len(records)
    mutation = data.draw(st.sampled_from(["edit", "remove", "swap"]))
    at = data.draw(st.integers(0, len(lines) - 1))
    tampered = list(lines)
    if mutation == "edit":
        doc = json.loads(tampered[at])
        doc["tampered"] = True
        tampered[at] = json.dumps(doc)
    elif mutation == "remove":
        del tampered[at]
    else:
        other = data.draw(st.integers(0, len(lines) - 1).filter(lambda i: i != at))
        tampered[at], tampered[other] = tampered[other], tampered[at]
    with pytest.raises(AuditFileError):
        verify_lines(tampered, KEY)


def _edited(line: str) -> str:
    doc = json.loads(line)
    doc["tampered"] = True
    return json.dumps(doc)


def test_every_single_edit_removal_and_swap_of_one_export_is_found() -> None:
    lines = export([{"n": 1}, {"n": 2}, {"n": 3}])
    cases: list[list[str]] = []
    for at in range(len(lines)):
        cases.append([*lines[:at], _edited(lines[at]), *lines[at + 1 :]])
        cases.append(lines[:at] + lines[at + 1 :])
        if at + 1 < len(lines):
            cases.append([*lines[:at], lines[at + 1], lines[at], *lines[at + 2 :]])
    cases.append([*lines, lines[1]])  # a line repeated after the end
    for case in cases:
        with pytest.raises(AuditFileError):
            verify_lines(case)  # the chain alone finds each (without the key)


def test_the_error_names_the_line_where_the_chain_breaks() -> None:
    lines = export([{"n": 1}, {"n": 2}, {"n": 3}])
    edited = list(lines)
    edited[2] = edited[2].replace('"n":2', '"n":20')
    with pytest.raises(AuditFileError, match=r"^line 4: the chain breaks here \(line 3 was edited"):
        verify_lines(edited)
    with pytest.raises(AuditFileError, match="no end line"):
        verify_lines(lines[:-1])


def test_a_chain_rebuilt_without_the_key_fails_its_mac() -> None:
    """Whoever edits a line and recomputes every hash still cannot forge the end line's MAC."""
    forged = export([{"n": 1}, {"n": 666}], key=bytes(32))
    assert verify_lines(forged).conversions == 2  # the chain alone holds …
    with pytest.raises(AuditFileError, match="MAC"):
        verify_lines(forged, KEY)  # … the operator's key does not


def test_pseudonyms_are_keyed_stable_and_hide_the_address() -> None:
    names, other = Pseudonyms(KEY), Pseudonyms(bytes(32))
    assert names.account(ADDRESS) == names.account(ADDRESS.upper().replace("0X", "0x"))
    assert names.account(ADDRESS) != other.account(ADDRESS)
    assert ADDRESS[2:] not in str(names.account(ADDRESS))
    assert names.actor("telegram:123456") == f"telegram:{names.of('actor', 'telegram:123456')}"
    assert names.text(f"user {ADDRESS} has no margin") == f"user {names.account(ADDRESS)} has no margin"


@pytest.mark.parametrize(
    "hostile",
    [
        "[" * 100_000,  # nesting that blows the parser's recursion
        '{"a":' * 50_000 + "1" + "}" * 50_000,
        '{"type":"conversion","seq":1,"delta":' + "9" * 5_000 + "}",  # an endless number literal
    ],
)
def test_a_hostile_line_is_refused_in_one_line_naming_it(hostile: str) -> None:
    lines = export([{"decision": {"coin": "ETH"}}])
    with pytest.raises(AuditFileError) as caught:
        verify_lines([lines[0], hostile, *lines[2:]])
    message = str(caught.value)
    assert message.startswith("line 2: ") and "\n" not in message and len(message) < 200


def test_a_value_quoted_in_an_error_stays_one_short_line() -> None:
    lines = export([{"decision": {"coin": "ETH"}}])
    end = json.loads(lines[-1]) | {"conversions": "7\n" + "x" * 10_000}
    with pytest.raises(AuditFileError) as caught:
        verify_lines([*lines[:-1], json.dumps(end)])
    message = str(caught.value)
    assert message.startswith(f"line {len(lines)}: ") and "\n" not in message and len(message) < 200


def test_a_line_separator_inside_a_value_does_not_split_its_line() -> None:
    """Values are written as they are (ensure_ascii off): U+2028 or U+0085 in a venue's error is no line
    end. Only "\\n" ends a line of the file (str.splitlines would split there and call it tampered)."""
    lines = export([{"order": {"error": "refused\u2028by\x85venue\x1c"}}, {"decision": {"coin": "ETH"}}])
    text = "".join(line + "\n" for line in lines)
    assert len(text.splitlines()) > len(lines)  # what a naive reader would do
    assert verify_text(text).conversions == 2
    with pytest.raises(AuditFileError, match="no end line"):
        verify_text(text.rsplit("\n", 2)[0] + "\n")  # the end line cut off


def test_a_file_is_read_line_by_line_and_only_newline_ends_a_line(tmp_path: Path) -> None:
    lines = export([{"order": {"error": "refused\u2028by\x85venue"}}, {"decision": {"coin": "ETH"}}])
    path = tmp_path / "audit.jsonl"
    path.write_text("".join(line + "\n" for line in lines), encoding="utf-8")
    assert verify_lines(read_lines(path)).conversions == 2


@pytest.mark.parametrize(
    ("content", "said"),
    [
        (b"x" * (MAX_LINE_CHARS + 10), "line 1: longer than any export line"),
        (b'{"type":"header"}\n\xff\xfe\n', "line 2: not UTF-8 text"),
    ],
)
def test_a_hostile_file_is_refused_before_it_is_held(tmp_path: Path, content: bytes, said: str) -> None:
    path = tmp_path / "audit.jsonl"
    path.write_bytes(content)
    with pytest.raises(AuditFileError, match=said):
        list(read_lines(path))


def test_a_device_that_never_ends_is_refused() -> None:
    with pytest.raises(AuditFileError, match="line 1: longer than any export line"):
        verify_lines(read_lines(Path("/dev/zero")))
